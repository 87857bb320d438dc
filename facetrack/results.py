"""``FrameResult``: everything one processed frame produced, the one thing sinks consume, and
its JSON form (the faces.jsonl schema, docs/schema.md)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from facetrack.events import Alert, Event
from facetrack.faces import POSE_SOURCE_NAMES, Faces, FloatArray
from facetrack.frames import Frame
from facetrack.tracks import TrackSnapshot

if TYPE_CHECKING:
    from facetrack.tracking.history import TrackHistory


@dataclass(frozen=True)
class FrameResult:
    """A frame; its confirmed faces (boxes, track ids, analysis attrs, identity column); the
    snapshots of the tracks alive in it or ended on it; the events rules and alerts raised.

    ``records`` are the live per-track records behind ``tracks``, for the stages after the
    tracker (they keep changing after this frame): sinks read ``tracks``, never ``records``.
    ``hidden`` (n, 4) xyxy: what a picture of this frame must hide when faces are blurred
    (``facetrack.privacy``): every detection, confirmed or not, and the box of every track
    the detector missed while the tracker still follows it. Never written to a results file.
    ``detected``: the detector ran on this frame; False where the faces were followed from
    their landmarks on the frame before (``tracking.detect_interval``).
    """

    frame: Frame
    faces: Faces = field(default_factory=Faces.empty)
    tracks: tuple[TrackSnapshot, ...] = ()
    events: tuple[Event, ...] = ()
    records: Mapping[int, TrackHistory] = field(default_factory=dict, compare=False,
                                                repr=False)
    hidden: FloatArray = field(default_factory=lambda: np.zeros((0, 4), np.float32),
                               compare=False, repr=False)
    detected: bool = True

    def replace(self, **changes: Any) -> FrameResult:
        return dataclasses.replace(self, **changes)

    @property
    def alerts(self) -> tuple[Alert, ...]:
        return tuple(e for e in self.events if isinstance(e, Alert))

    def track(self, track_id: int) -> TrackSnapshot | None:
        return next((t for t in self.tracks if t.track_id == track_id), None)

    def to_json(self) -> dict[str, Any]:
        """The faces.jsonl record (docs/schema.md). Unknown values are null, never NaN."""
        frame = self.frame
        return {
            "frame": frame.index,
            "timestamp": round(frame.timestamp, 4),
            "source": str(frame.path) if frame.path is not None else frame.source_id,
            "faces": [face_json(self.faces, i) for i in range(len(self.faces))],
        }


def _num(v: Any, nd: int = 2) -> float | None:
    f = float(v)
    return None if math.isnan(f) else round(f, nd)


def face_json(faces: Faces, i: int) -> dict[str, Any]:
    attrs = faces.attrs
    analysed = bool(attrs["analysed"][i]) if "analysed" in attrs else False
    out: dict[str, Any] = {
        "track_id": int(faces.track_id[i]),
        "box": [round(float(v), 1) for v in faces.xyxy[i]],
        "score": round(float(faces.score[i]), 4),
        "keypoints": [[round(float(x), 1), round(float(y), 1)] for x, y in faces.keypoints[i]],
        "head_pose": None,
        "pose_source": None,
        "pose_confidence": None,
        "eye_openness": None,
        "eye_confidence": None,
        "eyes_closing": None,
        "eyes_closed": None,
        "mouth_open": None,
        "looking": None,
    }
    source = int(attrs["pose_source"][i]) if "pose_source" in attrs else int(analysed)
    if source:
        out["head_pose"] = [_num(v, 1) for v in attrs["head_pose"][i]]
        out["pose_source"] = POSE_SOURCE_NAMES.get(source)
        if "pose_confidence" in attrs:
            out["pose_confidence"] = _num(attrs["pose_confidence"][i], 2)
        out["looking"] = bool(attrs["looking"][i]) if "looking" in attrs else None
    if analysed:
        out["eye_openness"] = [_num(v, 3) for v in attrs["eye_openness"][i]]
        if "eye_confidence" in attrs:
            out["eye_confidence"] = [_num(v, 2) for v in attrs["eye_confidence"][i]]
        if "eyes_visible" not in attrs or attrs["eyes_visible"][i]:  # else uncertain: null
            out["eyes_closing"] = bool(attrs["eyes_closing"][i]) if "eyes_closing" in attrs \
                else None
            out["eyes_closed"] = bool(attrs["eyes_closed"][i])
        out["mouth_open"] = _num(attrs["mouth_open"][i], 3)
    if "expressions" in attrs:  # analytics on: the expression proxies (docs/audience.md)
        for name, value in zip(("smile", "brow_raise", "jaw_open"), attrs["expressions"][i],
                               strict=True):
            out[name] = _num(value, 3)
    if faces.identity is not None:  # recognition on: the track's identity (docs/schema.md)
        out["identity"] = identity_json(faces, i)
    return out


def identity_json(faces: Faces, i: int) -> dict[str, Any] | None:
    """null before the track's first embedding; else the voted person (null = unknown)."""
    who = faces.identity
    assert who is not None
    similarity = float(who.similarity[i])
    if math.isnan(similarity):
        return None
    person_id = int(who.person_id[i])
    known = person_id >= 0
    return {
        "person": who.name[i] if known else None,
        "person_id": person_id if known else None,
        "similarity": round(similarity, 4),
        "confirmed": bool(who.confirmed[i]),
    }
