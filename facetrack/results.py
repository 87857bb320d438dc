"""What one processed frame produced, and its JSON form (the faces.jsonl schema)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from facetrack.faces import Faces
from facetrack.frames import Frame


@dataclass(frozen=True)
class FrameResult:
    """A frame and the confirmed, analysed faces in it: what sinks consume."""

    frame: Frame
    faces: Faces
    #: enrolled names by person id (recognition only)
    names: Mapping[int, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The faces.jsonl record (docs/schema.md). Unknown values are null, never NaN."""
        frame = self.frame
        return {
            "frame": frame.index,
            "timestamp": round(frame.timestamp, 4),
            "source": str(frame.path) if frame.path is not None else frame.source_id,
            "faces": [face_json(self.faces, i, self.names) for i in range(len(self.faces))],
        }


def _num(v: Any, nd: int = 2) -> float | None:
    f = float(v)
    return None if math.isnan(f) else round(f, nd)


def face_json(faces: Faces, i: int, names: Mapping[int, str] | None = None) -> dict[str, Any]:
    attrs = faces.attrs
    analysed = bool(attrs["analysed"][i]) if "analysed" in attrs else False
    out: dict[str, Any] = {
        "track_id": int(faces.track_id[i]),
        "box": [round(float(v), 1) for v in faces.xyxy[i]],
        "score": round(float(faces.score[i]), 4),
        "keypoints": [[round(float(x), 1), round(float(y), 1)] for x, y in faces.keypoints[i]],
        "head_pose": None,
        "eye_openness": None,
        "eyes_closed": None,
        "mouth_open": None,
        "looking": None,
    }
    if analysed:
        out["head_pose"] = [_num(v, 1) for v in attrs["head_pose"][i]]
        out["eye_openness"] = [_num(v, 3) for v in attrs["eye_openness"][i]]
        out["eyes_closed"] = bool(attrs["eyes_closed"][i])
        out["mouth_open"] = _num(attrs["mouth_open"][i], 3)
        out["looking"] = bool(attrs["looking"][i])
    if "person_id" in attrs:  # recognition on: the track's identity (docs/schema.md)
        out["identity"] = identity_json(
            int(attrs["person_id"][i]), float(attrs["similarity"][i]),
            bool(attrs["identity_confirmed"][i]), names or {},
        )
    return out


def identity_json(
    person_id: int, similarity: float, confirmed: bool, names: Mapping[int, str]
) -> dict[str, Any] | None:
    """null before the track's first embedding; else the voted person (null = unknown)."""
    if math.isnan(similarity):
        return None
    known = person_id >= 0
    return {
        "person": names.get(person_id) if known else None,
        "person_id": person_id if known else None,
        "similarity": round(similarity, 4),
        "confirmed": confirmed,
    }


