"""``Faces``: every face of one frame as parallel, validated numpy arrays.

A stage never mutates a ``Faces``; it returns a new one (``replace`` / ``with_attrs``). Boolean or
integer indexing selects rows across every field at once.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
ObjectArray = npt.NDArray[np.object_]

#: ``attrs["pose_source"]`` codes: no pose, Face Mesh's fit, the detector's 5 keypoints
POSE_NONE, POSE_MESH, POSE_KEYPOINTS = 0, 1, 2
#: how faces.jsonl and the analytics name them
POSE_SOURCE_NAMES = {POSE_MESH: "mesh", POSE_KEYPOINTS: "keypoints"}

#: Documented keys of ``Faces.attrs`` and the per-row shape of each.
ATTR_SHAPES: dict[str, tuple[int, ...]] = {
    "head_pose": (3,),  # yaw, pitch, roll in degrees (AFLW2000-3D convention, docs/schema.md)
    "pose_source": (),  # int8: 0 none, 1 Face Mesh, 2 the 5-keypoint fallback
    "pose_confidence": (),  # 0..1: mesh presence score, or the fallback's (at most 0.45)
    "eye_openness": (2,),  # subject's left, right eye; 0 = the track's closed, 1 its open level
    "eye_confidence": (2,),  # 0..1 per eye (size, turned away, covered); NaN openness below bar
    "eyes_visible": (),  # bool: at least one eye read with confidence (else eyes uncertain)
    "eyes_closing": (),  # bool: in a lid movement (a blink or a longer closure)
    "eyes_closed": (),  # bool: fully closed (PERCLOS, closures)
    "eye_points": (2, 76, 2),  # iris model: 71 contour + 5 iris points per eye, image pixels
    "gaze": (2,),  # iris offset in eye widths (+x image right, +y down); NaN: not read
    "mouth_open": (),  # 0..1
    "looking": (),  # bool: facing the camera within the configured cone (any pose source)
    "expressions": (3,),  # analytics: smile, brow_raise, jaw_open proxies 0..1; NaN: not read
    "landmark_score": (),  # Face Mesh presence score 0..1
    "quality": (),  # 0..1 face quality used for thumbnails (size, frontalness, sharpness)
    "analysed": (),  # bool: landmarks ran on this face (False: too small; values are NaN/False)
    "sharpness": (),  # 0..1 from the variance of the Laplacian of the face (analysis)
}


def _check(name: str, arr: np.ndarray[Any, Any], n: int, tail: tuple[int, ...]) -> None:
    expected = (n, *tail)
    if arr.shape != expected:
        raise ValueError(f"Faces.{name} must have shape {expected}, got {arr.shape}")


@dataclass(frozen=True)
class Identity:
    """Who each face is (recognition on), one row per face: ``person_id`` (-1 = nobody
    enrolled matched, or not embedded yet), ``name`` (the enrolled name, or None),
    ``similarity`` (cosine, NaN before the track's first embedding) and ``confirmed`` (the
    track's vote passed ``credence_count``). The values are the track's vote, not just this
    frame's match."""

    person_id: IntArray
    name: ObjectArray
    similarity: FloatArray
    confirmed: BoolArray

    def __post_init__(self) -> None:
        n = len(self.person_id)
        for name in ("person_id", "name", "similarity", "confirmed"):
            _check(f"identity.{name}", getattr(self, name), n, ())

    def __len__(self) -> int:
        return len(self.person_id)

    @classmethod
    def unknown(cls, n: int) -> Identity:
        return cls(np.full(n, -1, np.int64), np.full(n, None, object),
                   np.full(n, np.nan, np.float32), np.zeros(n, bool))

    def __getitem__(self, index: Any) -> Identity:
        return Identity(self.person_id[index], self.name[index], self.similarity[index],
                        self.confirmed[index])


@dataclass(frozen=True)
class Faces:
    """n faces: ``xyxy (n,4)``, ``score (n,)``, ``keypoints (n,5,2)``, ``track_id (n,)``.

    Keypoints follow YuNet's order: the eye on the image's left, the eye on the image's right,
    nose tip, mouth corner on the image's left, mouth corner on the image's right. ``track_id``
    is -1 for faces not (yet) assigned to a confirmed track. ``landmarks`` are Face Mesh points
    (n,468,3) in image pixels (z in the same scale, larger = farther) when analysis ran;
    ``embedding`` (n,D) only when faces were embedded (recognition on, or
    ``find_faces_in_file``): unit vectors for the faces embedded in this frame, NaN rows for
    the others; ``identity`` (recognition on): who each face is (``Identity``).
    """

    xyxy: FloatArray
    score: FloatArray
    keypoints: FloatArray
    track_id: IntArray
    landmarks: FloatArray | None = None
    attrs: Mapping[str, np.ndarray[Any, Any]] = field(default_factory=dict)
    embedding: FloatArray | None = None
    identity: Identity | None = None

    def __post_init__(self) -> None:
        n = len(self.xyxy)
        _check("xyxy", self.xyxy, n, (4,))
        _check("score", self.score, n, ())
        _check("keypoints", self.keypoints, n, (5, 2))
        _check("track_id", self.track_id, n, ())
        if self.landmarks is not None and (self.landmarks.ndim != 3 or len(self.landmarks) != n):
            raise ValueError(
                f"Faces.landmarks must have shape ({n}, K, 2|3), got {self.landmarks.shape}"
            )
        if self.embedding is not None and (self.embedding.ndim != 2 or len(self.embedding) != n):
            raise ValueError(
                f"Faces.embedding must have shape ({n}, D), got {self.embedding.shape}"
            )
        if self.identity is not None and len(self.identity) != n:
            raise ValueError(f"Faces.identity must have {n} rows, got {len(self.identity)}")
        for key, value in self.attrs.items():
            if key not in ATTR_SHAPES:
                raise ValueError(f"unknown Faces attr {key!r}; known: {sorted(ATTR_SHAPES)}")
            _check(f"attrs[{key!r}]", value, n, ATTR_SHAPES[key])

    @classmethod
    def empty(cls) -> Faces:
        return cls(
            xyxy=np.zeros((0, 4), np.float32),
            score=np.zeros((0,), np.float32),
            keypoints=np.zeros((0, 5, 2), np.float32),
            track_id=np.zeros((0,), np.int64),
        )

    @classmethod
    def from_arrays(
        cls,
        xyxy: npt.ArrayLike,
        score: npt.ArrayLike,
        keypoints: npt.ArrayLike | None = None,
        track_id: npt.ArrayLike | None = None,
    ) -> Faces:
        """Build from array-likes, filling keypoints with zeros and track ids with -1."""
        boxes = np.asarray(xyxy, np.float32).reshape(-1, 4)
        n = len(boxes)
        kps = (
            np.zeros((n, 5, 2), np.float32)
            if keypoints is None
            else np.asarray(keypoints, np.float32).reshape(n, 5, 2)
        )
        ids = np.full(n, -1, np.int64) if track_id is None else np.asarray(track_id, np.int64)
        return cls(boxes, np.asarray(score, np.float32).reshape(n), kps, ids)

    def __len__(self) -> int:
        return len(self.xyxy)

    def __getitem__(self, index: Any) -> Faces:
        """Select rows with a boolean mask, integer array, slice or int (kept 2-D)."""
        if isinstance(index, (int, np.integer)):
            index = [int(index)]
        return Faces(
            xyxy=self.xyxy[index],
            score=self.score[index],
            keypoints=self.keypoints[index],
            track_id=self.track_id[index],
            landmarks=None if self.landmarks is None else self.landmarks[index],
            attrs={k: v[index] for k, v in self.attrs.items()},
            embedding=None if self.embedding is None else self.embedding[index],
            identity=None if self.identity is None else self.identity[index],
        )

    def replace(self, **changes: Any) -> Faces:
        return dataclasses.replace(self, **changes)

    def with_attrs(self, **attrs: np.ndarray[Any, Any]) -> Faces:
        return dataclasses.replace(self, attrs={**self.attrs, **attrs})

    @property
    def wh(self) -> FloatArray:
        return self.xyxy[:, 2:4] - self.xyxy[:, 0:2]
