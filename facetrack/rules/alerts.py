"""``AlertStage``: which events alert, the hold-off per person, and each alert's clip.

An alert fires at most once per person and reason per ``holdoff_s``. A person is an enrolled id
(``person:ID``); an unknown face is matched by appearance to the unknown faces that alerted
before (the track's mean embedding, cosine >= ``same_threshold``; ``unknown:N``); without
embeddings it is the track (``track:ID``).

With clips on, each alert's clip link is decided here, from the alerts alone: an alert inside
the open clip's span (``pre_s`` before the first alert to ``post_s`` after the latest, at most
``max_s``) joins that clip, any other opens a new one named after it. The clip recorder follows
the links it reads in the alerts; nothing is written back.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

import numpy as np
import numpy.typing as npt

from facetrack.config.camera import AlertsConfig, ClipsConfig
from facetrack.events import Alert, Event, IdentityMatched, UnknownFace
from facetrack.results import FrameResult
from facetrack.tracks import TrackSnapshot


class ClipPlan:
    """Which clip each alert belongs to (see the module docstring)."""

    def __init__(self, camera: str, config: ClipsConfig, link: Callable[[str], str]) -> None:
        self.camera, self.config, self.link = camera, config, link
        self._open: tuple[str, float, float] | None = None  # key, start, end (source time)

    def assign(self, alert: Alert) -> str:
        cfg, t = self.config, alert.timestamp
        if self._open is not None:
            key, start, end = self._open
            if t <= end and t + cfg.post_s - start <= cfg.max_s:
                self._open = (key, start, max(end, t + cfg.post_s))
                return self.link(key)
        self._open = (clip_key(self.camera, alert), t - cfg.pre_s, t + cfg.post_s)
        return self.link(self._open[0])


def clip_key(camera: str, alert: Alert) -> str:
    """``CAMERA/YYYYMMDD/CAMERA-YYYYMMDDTHHMMSSffffff-REASON`` from the alert's UTC time."""
    when = datetime.fromisoformat(alert.wall_time)
    return f"{camera}/{when:%Y%m%d}/{camera}-{when:%Y%m%dT%H%M%S%f}-{alert.reason}"


class AlertStage:
    def __init__(self, config: AlertsConfig, same_threshold: float = 0.333,
                 clips: ClipPlan | None = None) -> None:
        self.config = config
        self.same_threshold = same_threshold
        self.clips = clips
        self._last: dict[tuple[str, str], float] = {}
        # unknown faces that alerted: number -> (mean embedding, last alert time)
        self._unknowns: dict[int, tuple[npt.NDArray[np.float32], float]] = {}
        self._next_unknown = 1

    def _wanted(self, event: Event) -> bool:
        mode = self.config.mode
        if isinstance(event, IdentityMatched):
            return mode in ("ON_KNOWNS", "ON_ALL")
        if isinstance(event, UnknownFace):
            return mode in ("ON_UNKNOWNS", "ON_ALL")
        return event.kind in self.config.on

    def _person(self, event: Event, track: TrackSnapshot | None) -> tuple[str, int, str | None]:
        who = track.identity if track is not None else None
        if who is not None and who.confirmed and who.person_id >= 0:
            return f"person:{who.person_id}", who.person_id, who.name
        pid = getattr(event, "person_id", -1)
        if pid >= 0:
            return f"person:{pid}", pid, getattr(event, "person", None)
        emb = who.embedding if who is not None else None
        if emb is None:
            return f"track:{event.track_id}", -1, None
        for n, (known, _) in self._unknowns.items():
            if float(known @ emb) >= self.same_threshold:
                self._unknowns[n] = (known, event.timestamp)
                return f"unknown:{n}", -1, None
        n, self._next_unknown = self._next_unknown, self._next_unknown + 1
        self._unknowns[n] = (emb, event.timestamp)
        return f"unknown:{n}", -1, None

    def _prune(self, now: float) -> None:
        """Forget hold-offs that have expired (a monitor runs for days: these must not
        grow without bound)."""
        horizon = now - self.config.holdoff_s
        self._last = {k: t for k, t in self._last.items() if t >= horizon}
        self._unknowns = {n: v for n, v in self._unknowns.items() if v[1] >= horizon}

    def consider(self, events: Sequence[Event], tracks: dict[int, TrackSnapshot]
                 ) -> list[Alert]:
        alerts: list[Alert] = []
        if events and len(self._last) + len(self._unknowns) > 1000:
            self._prune(events[0].timestamp)
        for event in events:
            if not self._wanted(event):
                continue
            key, pid, name = self._person(event, tracks.get(event.track_id))
            last = self._last.get((key, event.kind))
            if last is not None and event.timestamp - last < self.config.holdoff_s:
                continue
            self._last[(key, event.kind)] = event.timestamp
            alert = Alert(event.camera, event.frame, event.timestamp, event.track_id,
                          event.wall_time, reason=event.kind, person_key=key, person_id=pid,
                          person=name, detail=event.specifics())
            if self.clips is not None:
                alert = alert.with_clip(self.clips.assign(alert))
            alerts.append(alert)
        return alerts

    def process(self, result: FrameResult) -> FrameResult:
        if not result.events:
            return result
        alerts = self.consider(result.events, {t.track_id: t for t in result.tracks})
        return result.replace(events=(*result.events, *alerts)) if alerts else result

    def reset(self) -> None:
        """Hold-offs outlive a camera's reconnect: nothing to reset."""

    def close(self) -> None:
        """Nothing held."""
