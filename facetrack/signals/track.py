"""A track's signals, accumulated sample by sample: the one place each is defined.

``TrackSignalState`` lives in the track's ``TrackHistory`` (written only by ``SignalStage``)
and exports a frozen ``TrackSignals`` for the track's snapshot. Blinks, eye closures and yawns
are spells (``spells.Spell``): a lid movement (the analyser's ``eyes_closing``) up to
``blink_max_s`` is a blink, kept as an interval (``Blink``: start, end, time fully closed); a
fully-closed spell (``eyes_closed``) is a closure (``closed_for_s``, the longest one, PERCLOS);
a mouth spell of at least ``yawn_min_s`` is a yawn. A frame whose eyes could not be read
(``eyes_visible`` False) is not in PERCLOS and steps no eye spell: an eye spell continues across
such frames as across frames not analysed, up to ``max_gap_s``. A gap in the samples (the
face not analysed for longer than ``max_gap_s``) ends every open spell, so none stretches
across it. PERCLOS is
``perclos.Perclos``. Zones: the time each current visit started (box centre inside).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from facetrack.signals.perclos import Perclos
from facetrack.signals.spells import Spell
from facetrack.tracks import Blink, TrackSignals


@dataclass(frozen=True)
class SignalSettings:
    """What the signals are measured with: ``period_s`` is the time one sample stands for
    (1/fps of a file; of the processed rate live), ``max_gap_s`` the longest pause between
    two analysed samples that still continues a spell."""

    period_s: float
    max_gap_s: float
    blink_max_s: float
    perclos_window_s: float
    yawn_threshold: float
    yawn_min_s: float


@dataclass(frozen=True)
class Sample:
    """One analysed face of a track at one frame."""

    t: float
    closing: bool  # in a lid movement
    closed: bool  # fully closed
    eyes_visible: bool
    looking: bool
    mouth_open: float
    pose: npt.NDArray[np.float64]  # yaw, pitch, roll
    quality: float
    gaze: npt.NDArray[np.float64] | None = None  # iris offset (x, y) in eye widths


class TrackSignalState:
    def __init__(self) -> None:
        self._settings: SignalSettings | None = None
        self.analysed = 0
        self.looking = 0
        self.last_analysed_frame: int | None = None
        self.last_t: float | None = None
        self.closed_now = False
        self.eyes_visible = False
        self.eyes_unseen_since: float | None = None
        self.pose_now: npt.NDArray[np.float64] | None = None
        self.gaze_now: npt.NDArray[np.float64] | None = None
        self.blinks = 0
        self.last_blink: Blink | None = None
        self._closed_in_movement = 0.0
        self.longest_closed = 0.0
        self.yawns = 0
        self.pose_sum = np.zeros(3)
        self.pose_sq = np.zeros(3)
        self.best_quality = -1.0
        self.box_sum = np.zeros(2)
        self.zones: dict[str, float] = {}
        self.lids = self.eyes = self.mouth = self.away = Spell(0.0)
        self.perclos: Perclos | None = None

    def _setup(self, s: SignalSettings) -> None:
        if self._settings is None:
            self._settings = s
            self.lids, self.eyes, self.mouth, self.away = (Spell(s.period_s) for _ in range(4))
            self.perclos = Perclos(s.perclos_window_s, s.period_s, s.max_gap_s)

    def seen(self, wh: npt.NDArray[np.float32], inside: dict[str, bool], t: float) -> None:
        """The face was seen (analysed or not): its box size and the zones it is in."""
        self.box_sum += np.asarray(wh, np.float64)
        for name, now_inside in inside.items():
            if now_inside:
                self.zones.setdefault(name, t)
            else:
                self.zones.pop(name, None)

    def analysed_sample(self, s: SignalSettings, frame_index: int, x: Sample) -> None:
        self._setup(s)
        if self.last_t is not None and x.t - self.last_t > s.max_gap_s:
            self._end_spells()  # the face was gone or unreadable: nothing stretches over it
        self.last_t, self.last_analysed_frame = x.t, frame_index
        self.analysed += 1
        self.looking += x.looking
        self.pose_sum += x.pose
        self.pose_sq += x.pose * x.pose
        self.pose_now = x.pose
        self.gaze_now = x.gaze if x.gaze is not None and np.isfinite(x.gaze).all() else None
        self.best_quality = max(self.best_quality, x.quality)
        self._eye_sample(x)
        yawn = self.mouth.step(x.mouth_open >= s.yawn_threshold, x.t)
        if yawn is not None:
            self.yawns += yawn >= s.yawn_min_s
        self.away.step(not x.looking, x.t)

    def _eye_sample(self, x: Sample) -> None:
        assert self.perclos is not None and self._settings is not None
        self.closed_now = x.closed and x.eyes_visible
        self.eyes_visible = x.eyes_visible
        if not x.eyes_visible:
            # unreadable eyes are neither open nor closed: nothing is stepped, and a spell
            # continues across them like across frames not analysed, up to max_gap_s
            if self.eyes_unseen_since is None:
                self.eyes_unseen_since = x.t
            self.perclos.pause()
            return
        self.eyes_unseen_since = None
        last = self.lids.last  # a closure is inside a lid movement: its last is the later
        if last is not None and x.t - last > self._settings.max_gap_s:
            self._end_eye_spells()
        self._closed_spell(self.eyes.step(x.closed, x.t))
        start = self.lids.start
        self._movement(start, self.lids.step(x.closing, x.t))
        self.perclos.add(x.t, x.closed)

    def _closed_spell(self, duration: float | None) -> None:
        if duration is not None:
            self.longest_closed = max(self.longest_closed, duration)
            self._closed_in_movement += duration

    def _movement(self, start: float | None, duration: float | None) -> None:
        """A lid movement ended: up to ``blink_max_s`` it was a blink."""
        assert self._settings is not None
        if start is None or duration is None:
            return
        if duration <= self._settings.blink_max_s:
            self.blinks += 1
            self.last_blink = Blink(start, start + duration, self._closed_in_movement)
        self._closed_in_movement = 0.0

    def _end_eye_spells(self) -> None:
        self._closed_spell(self.eyes.close())
        start = self.lids.start
        self._movement(start, self.lids.close())

    def _end_spells(self) -> None:
        self._end_eye_spells()
        mouth = self.mouth.close()
        if mouth is not None and self._settings is not None:
            self.yawns += mouth >= self._settings.yawn_min_s
        self.away.close()

    def finish(self) -> None:
        """The track ended: its open spells end with it."""
        if self._settings is not None:
            self._end_spells()

    def export(self) -> TrackSignals:
        """The signals now, open spells counted as if they ended here."""
        s = self._settings
        blinks, longest, yawns = self.blinks, self.longest_closed, self.yawns
        if s is not None and self.lids.start is not None:
            blinks += self.lids.duration <= s.blink_max_s
        longest = max(longest, self.eyes.duration)
        if s is not None and self.mouth.start is not None:
            yawns += self.mouth.duration >= s.yawn_min_s
        n = self.analysed
        mean, std = pose_moments(self.pose_sum, self.pose_sq, n)
        closed_time, eye_time = self.perclos.track_times if self.perclos is not None else (
            0.0, 0.0)
        return TrackSignals(
            frames_analysed=n, looking_frames=self.looking,
            last_analysed_frame=self.last_analysed_frame,
            eyes_closed=self.closed_now and self.eyes.start is not None,
            closed_since=self.eyes.start, closed_for_s=self.eyes.duration,
            away_since=self.away.start, away_for_s=self.away.duration,
            perclos=None if self.perclos is None else self.perclos.value,
            perclos_max=None if self.perclos is None else self.perclos.max_value,
            perclos_track=None if self.perclos is None else self.perclos.track_value,
            blinks=int(blinks), last_blink=self.last_blink, longest_closed_s=longest,
            yawns=int(yawns),
            pose_now=_triple(self.pose_now), gaze_now=None if self.gaze_now is None else (
                float(self.gaze_now[0]), float(self.gaze_now[1])),
            eyes_visible=self.eyes_visible, eyes_unseen_since=self.eyes_unseen_since,
            eye_time_s=eye_time, closed_time_s=closed_time,
            pose_mean=None if mean is None else (float(mean[0]), float(mean[1]), float(mean[2])),
            pose_std=None if std is None else (float(std[0]), float(std[1]), float(std[2])),
            best_quality=max(self.best_quality, 0.0),
            box_sum=(float(self.box_sum[0]), float(self.box_sum[1])),
            zones=dict(self.zones),
        )


def pose_moments(total: npt.NDArray[np.float64], squares: npt.NDArray[np.float64], n: int
                 ) -> tuple[npt.NDArray[np.float64] | None, npt.NDArray[np.float64] | None]:
    """Mean and standard deviation of ``n`` head poses from their sum and sum of squares
    (None, None without any)."""
    if not n:
        return None, None
    mean = total / n
    return mean, np.sqrt(np.maximum(squares / n - mean**2, 0.0))


def _triple(v: npt.NDArray[np.float64] | None) -> tuple[float, float, float] | None:
    return None if v is None else (float(v[0]), float(v[1]), float(v[2]))
