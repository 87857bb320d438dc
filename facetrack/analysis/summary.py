"""Per-track summaries built from the per-frame results: dwell, attention, blinks, PERCLOS,
yawns, head-pose statistics and (only when asked) the best-quality face crop."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from facetrack.config import AnalysisConfig
from facetrack.faces import Faces
from facetrack.frames import Frame


@dataclass(frozen=True)
class TrackSummary:
    """Read-only export of one confirmed track. Times are seconds from the start of the input;
    ratios are over the frames where the face was analysed (``frames_analysed``)."""

    track_id: int
    first_frame: int
    last_frame: int
    first_time: float
    last_time: float
    dwell_s: float
    frames_seen: int
    frames_analysed: int
    mean_box_w: float
    mean_box_h: float
    attention_ratio: float | None
    blinks: int
    blinks_per_min: float | None
    perclos: float | None
    perclos_max_window: float | None
    longest_eyes_closed_s: float
    yawns: int
    yaw_mean: float | None
    yaw_std: float | None
    pitch_mean: float | None
    pitch_std: float | None
    roll_mean: float | None
    roll_std: float | None
    best_quality: float
    thumbnail: str | None = None
    person: str | None = None
    person_id: int | None = None
    person_similarity: float | None = None
    identity_confirmed: bool | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Spell:
    """A run of frames where a condition held (eyes closed, mouth wide open)."""

    start: float | None = None
    last: float | None = None

    def step(self, active: bool, t: float) -> float | None:
        """Feed one frame; return the spell's duration when it ends, else None."""
        if active:
            if self.start is None:
                self.start = t
            self.last = t
            return None
        return self.close()

    def close(self) -> float | None:
        if self.start is None or self.last is None:
            return None
        duration = self.last - self.start
        self.start = self.last = None
        return duration


@dataclass
class _Acc:
    first_frame: int
    first_time: float
    last_frame: int = 0
    last_time: float = 0.0
    last_analysed: int | None = None
    frames: int = 0
    analysed: int = 0
    looking: int = 0
    closed: int = 0
    sum_w: float = 0.0
    sum_h: float = 0.0
    pose_sum: npt.NDArray[np.float64] = field(default_factory=lambda: np.zeros(3))
    pose_sq: npt.NDArray[np.float64] = field(default_factory=lambda: np.zeros(3))
    blinks: int = 0
    longest_closed: float = 0.0
    yawns: int = 0
    eyes: _Spell = field(default_factory=_Spell)
    mouth: _Spell = field(default_factory=_Spell)
    window: deque[tuple[float, bool]] = field(default_factory=deque)
    window_closed: int = 0
    perclos_max: float | None = None
    best_quality: float = -1.0
    best_crop: npt.NDArray[np.uint8] | None = None
    identity: tuple[int, float, bool] | None = None  # last (person id, similarity, confirmed)


_WINDOW_COVER = 0.8  # share of a PERCLOS window that analysed frames must cover


class TrackSummarizer:
    """Consumes ``(frame, faces)`` in order and keeps running per-track statistics.

    A closed-eye spell up to ``blink_max_s`` counts as a blink; longer ones count towards the
    longest eyes-closed spell. PERCLOS is the share of analysed frames with eyes closed over the
    whole track and, as ``perclos_max_window``, the highest share over any ``perclos_window_s``
    sliding window (reported once analysed frames cover 80% of a window). A gap in a track
    (frames where it was not seen or not analysed) ends any open closed-eye or open-mouth
    spell, so spells never stretch across it. Thumbnails keep one crop
    per track in memory and only when ``keep_crops`` is set.
    """

    def __init__(self, config: AnalysisConfig, fps: float, keep_crops: bool = False) -> None:
        self._config = config
        self._frame_s = 1.0 / fps if fps > 0 else 0.0
        self._keep_crops = keep_crops
        self._acc: dict[int, _Acc] = {}
        self._names: dict[int, str] = {}

    def consume(self, frame: Frame, faces: Faces, names: Mapping[int, str] | None = None
                ) -> None:
        cfg = self._config
        if names:
            self._names.update(names)
        t = frame.timestamp
        attrs = faces.attrs
        analysed = attrs.get("analysed", np.zeros(len(faces), bool))
        for i, tid in enumerate(faces.track_id.tolist()):
            if tid < 0:
                continue
            a = self._acc.get(tid)
            if a is None:
                a = self._acc[tid] = _Acc(first_frame=frame.index, first_time=t)
            a.last_frame, a.last_time = frame.index, t
            a.frames += 1
            w, h = (float(v) for v in faces.wh[i])
            a.sum_w += w
            a.sum_h += h
            if "person_id" in attrs and not np.isnan(attrs["similarity"][i]):
                a.identity = (int(attrs["person_id"][i]), float(attrs["similarity"][i]),
                              bool(attrs["identity_confirmed"][i]))
            if not analysed[i]:
                continue
            if a.last_analysed is not None and frame.index != a.last_analysed + 1:
                # the face was gone or unreadable in between: what was open ends there, it
                # does not stretch over the gap
                self._end_spells(a)
            a.last_analysed = frame.index
            a.analysed += 1
            closed = bool(attrs["eyes_closed"][i])
            a.looking += bool(attrs["looking"][i])
            a.closed += closed
            pose = attrs["head_pose"][i].astype(np.float64)
            a.pose_sum += pose
            a.pose_sq += pose * pose
            spell = a.eyes.step(closed, t)
            if spell is not None:
                self._end_closed_spell(a, spell)
            yawn = a.mouth.step(float(attrs["mouth_open"][i]) >= cfg.yawn_threshold, t)
            if yawn is not None:
                self._end_mouth_spell(a, yawn)
            a.window.append((t, closed))
            a.window_closed += closed
            while a.window and a.window[0][0] <= t - cfg.perclos_window_s:
                a.window_closed -= a.window.popleft()[1]
            # a window counts once analysed frames cover most of it (gaps do not inflate it)
            if len(a.window) * self._frame_s >= _WINDOW_COVER * cfg.perclos_window_s:
                share = a.window_closed / len(a.window)
                a.perclos_max = share if a.perclos_max is None else max(a.perclos_max, share)
            q = float(attrs["quality"][i])
            if q > a.best_quality:
                a.best_quality = q
                if self._keep_crops:
                    a.best_crop = _crop(frame.image, faces.xyxy[i])

    def _end_spells(self, a: _Acc) -> None:
        eyes, mouth = a.eyes.close(), a.mouth.close()
        if eyes is not None:
            self._end_closed_spell(a, eyes)
        if mouth is not None:
            self._end_mouth_spell(a, mouth)

    def _end_mouth_spell(self, a: _Acc, duration: float) -> None:
        if duration + self._frame_s >= self._config.yawn_min_s:
            a.yawns += 1

    def _end_closed_spell(self, a: _Acc, duration: float) -> None:
        duration += self._frame_s  # a spell seen in k frames lasts k frame intervals
        if duration <= self._config.blink_max_s:
            a.blinks += 1
        a.longest_closed = max(a.longest_closed, duration)

    def _identity(self, a: _Acc) -> dict[str, Any]:
        """The track's identity as last voted (recognition on); unknown = person None."""
        if a.identity is None:
            return {}
        pid, sim, confirmed = a.identity
        return {
            "person": self._names.get(pid) if pid >= 0 else None,
            "person_id": pid if pid >= 0 else None,
            "person_similarity": round(sim, 4),
            "identity_confirmed": confirmed,
        }

    def crops(self) -> dict[int, npt.NDArray[np.uint8]]:
        return {t: a.best_crop for t, a in self._acc.items() if a.best_crop is not None}

    def summaries(self, thumbnails: dict[int, str] | None = None) -> list[TrackSummary]:
        """Summaries of every track so far, in id order (open spells are counted as ended)."""
        out = []
        thumbnails = thumbnails or {}
        for tid in sorted(self._acc):
            a = self._acc[tid]
            blinks, longest, yawns = a.blinks, a.longest_closed, a.yawns
            if a.eyes.start is not None and a.eyes.last is not None:
                d = a.eyes.last - a.eyes.start + self._frame_s
                blinks += d <= self._config.blink_max_s
                longest = max(longest, d)
            if (
                a.mouth.start is not None
                and a.mouth.last is not None
                and a.mouth.last - a.mouth.start + self._frame_s >= self._config.yawn_min_s
            ):
                yawns += 1
            dwell = a.last_time - a.first_time + self._frame_s
            n = a.analysed
            mean = a.pose_sum / n if n else None
            std = np.sqrt(np.maximum(a.pose_sq / n - mean**2, 0.0)) if mean is not None else None
            out.append(
                TrackSummary(
                    track_id=tid,
                    first_frame=a.first_frame,
                    last_frame=a.last_frame,
                    first_time=round(a.first_time, 4),
                    last_time=round(a.last_time, 4),
                    dwell_s=round(dwell, 4),
                    frames_seen=a.frames,
                    frames_analysed=n,
                    mean_box_w=round(a.sum_w / a.frames, 2),
                    mean_box_h=round(a.sum_h / a.frames, 2),
                    attention_ratio=_r(a.looking / n) if n else None,
                    blinks=blinks,
                    blinks_per_min=_r(blinks / (dwell / 60.0)) if n and dwell > 0 else None,
                    perclos=_r(a.closed / n) if n else None,
                    perclos_max_window=_r(a.perclos_max),
                    longest_eyes_closed_s=round(longest, 4),
                    yawns=yawns,
                    yaw_mean=_r(mean, 0), yaw_std=_r(std, 0),
                    pitch_mean=_r(mean, 1), pitch_std=_r(std, 1),
                    roll_mean=_r(mean, 2), roll_std=_r(std, 2),
                    best_quality=round(max(a.best_quality, 0.0), 4),
                    thumbnail=thumbnails.get(tid),
                    **self._identity(a),
                )
            )
        return out


def _r(value: float | npt.NDArray[np.float64] | None, index: int | None = None) -> float | None:
    if value is None:
        return None
    v = float(value[index]) if index is not None else float(value)  # type: ignore[index]
    return None if math.isnan(v) else round(v, 4)


def _crop(image: npt.NDArray[np.uint8], box: npt.NDArray[np.float32]) -> npt.NDArray[np.uint8]:
    h, w = image.shape[:2]
    x1, y1, x2, y2 = box
    pad = 0.15 * max(x2 - x1, y2 - y1)
    xa, ya = max(0, int(x1 - pad)), max(0, int(y1 - pad))
    xb, yb = min(w, int(x2 + pad)), min(h, int(y2 + pad))
    return image[ya:yb, xa:xb].copy()
