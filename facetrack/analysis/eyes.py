"""How open each eye is: the lid gap of each eye, with a confidence, from MediaPipe's iris model.

Face Mesh alone places the eyelids poorly: on ZJU Eyeblink its eye aspect ratio barely moves
when the eyes close (through the same per-track levels it finds none of the 152 labelled blinks,
docs/benchmarks.md). MediaPipe's own answer is its iris landmark model, which refines 71
eye-contour points and 5 iris points on a 64x64 crop of one eye (blink F1 0.977 there). The
crop follows MediaPipe's iris graph: a square centred between the eye corners, 2.3 x their
distance wide, rotated so the corners are level; the subject's left eye is mirrored, because
the model is trained on one side.

The lid gap is the mean distance between five upper-lid and five lower-lid contour points,
divided by the corner distance (an eye aspect ratio on the refined contour: ~0.3 open, ~0.1
closed, glasses and an upward view keep it higher when closed). ``MeshEyes`` reads the same
ratio from Face Mesh's own eye points (Soukupova & Cech's EAR), for tests and as the baseline.

Column order everywhere is the subject's left eye, then the right one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np
import numpy.typing as npt

from facetrack import models
from facetrack.analysis.landmarks import load_tflite
from facetrack.analysis.signals import eye_aspect_ratio
from facetrack.errors import ModelError
from facetrack.geometry import apply_affine, invert_affine, rotated_square_transform

FloatArray = npt.NDArray[np.float32]

#: Face Mesh corners of (subject's left eye, subject's right eye), each in the image's
#: left-to-right order of an upright face (the crop is rotated to make that line level); the
#: subject's left eye is then mirrored, the right eye being the side the model is trained on
CORNERS = ((362, 263), (33, 133))
CROP_SCALE = 2.3  # MediaPipe's iris graph: crop side / corner distance
CROP = 64
#: contour indices of the iris model: 0 and 8 the corners, 1..7 the lower lid, 9..15 the upper
#: lid from the same corner; pairs facing each other across the eye
UPPER, LOWER = (10, 11, 12, 13, 14), (2, 3, 4, 5, 6)
#: an eye narrower than MIN_EYE_PX between its corners cannot be read; from GOOD_EYE_PX on it
#: is read with full confidence (ZJU's 320x240 webcam faces have eyes of ~25 px)
MIN_EYE_PX, GOOD_EYE_PX = 6.0, 12.0
#: an eye whose corners are under this share of the other eye's width is turned away
MIN_WIDTH_SHARE = 0.35
#: grey-level spread (0-255) of the eye itself (the crop's middle: the eye spans 1/2.3 of its
#: width) under which nothing is visible in it (sunglasses, a hand; ~1-2), full confidence from
#: twice that. Closed eyes are smooth too, but keep their lashes and lid crease: on ZJU
#: Eyeblink their spread is 9 and more (open eyes 12 and more)
MIN_CONTRAST = 3.0
EYE_BOX = (slice(24, 40), slice(18, 46))


#: gaze is read from the iris only on eyes at least this wide (px): the iris moves ~0.1 eye width
#: for a 15-degree glance, a pixel or two below this size
GAZE_MIN_EYE_PX = 20.0


def iris_gaze(points: FloatArray, seen: npt.NDArray[np.bool_]) -> FloatArray:
    """Where the irises point, ``(n,2)``: the iris centre's offset from the middle of the eye
    corners, along the corner line (+ = towards the image's right) and across it (+ = down),
    in eye widths, averaged over the eyes ``seen`` and at least ``GAZE_MIN_EYE_PX`` wide; NaN
    where none is. ``points`` are ``EyeReading.points`` (the subject's left eye's contour runs
    from the image's right corner, the right eye's from the image's left one)."""
    p = np.asarray(points, np.float64)
    left_to_right = np.stack([p[:, 0, 0] - p[:, 0, 8], p[:, 1, 8] - p[:, 1, 0]], 1)
    first = np.stack([p[:, 0, 8], p[:, 1, 0]], 1)  # the corner on the image's left
    width = np.linalg.norm(left_to_right, axis=-1)
    along = left_to_right / np.maximum(width, 1e-6)[..., None]
    across = np.stack([-along[..., 1], along[..., 0]], -1)  # 90 degrees clockwise: down
    rel = p[:, :, 71] - (first + left_to_right / 2)
    offset = np.stack([(rel * along).sum(-1), (rel * across).sum(-1)], -1) / np.maximum(
        width, 1e-6)[..., None]
    ok = np.asarray(seen, bool) & (width >= GAZE_MIN_EYE_PX) & np.isfinite(offset).all(-1)
    out = np.full((len(p), 2), np.nan)
    for i in np.flatnonzero(ok.any(axis=1)):
        out[i] = offset[i, ok[i]].mean(axis=0)
    return out.astype(np.float32)


@dataclass(frozen=True)
class EyeReading:
    """The eyes of ``n`` faces: lid gap ratio ``(n,2)``, confidence ``(n,2)`` in 0..1 and,
    from the iris model, the 71 contour + 5 iris points of each eye ``(n,2,76,2)``."""

    lid: FloatArray
    confidence: FloatArray
    points: FloatArray | None = None


def join_readings(parts: list[EyeReading]) -> EyeReading:
    """The readings of several groups of faces as one, in order."""
    if len(parts) == 1:
        return parts[0]
    points = None if any(p.points is None for p in parts) else np.concatenate(
        [p.points for p in parts if p.points is not None])
    return EyeReading(np.concatenate([p.lid for p in parts]),
                      np.concatenate([p.confidence for p in parts]), points)


class EyeReader(Protocol):
    #: the lid ratio of an open eye assumed until a track has its own history
    open_prior: float

    def read(self, image: npt.NDArray[np.uint8], mesh: FloatArray) -> EyeReading: ...


def _size_confidence(widths: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    size = np.clip((widths - MIN_EYE_PX) / (GOOD_EYE_PX - MIN_EYE_PX), 0.0, 1.0)
    share = widths / np.maximum(widths.max(axis=1, keepdims=True), 1e-6)
    turned = np.clip((share - MIN_WIDTH_SHARE) / MIN_WIDTH_SHARE, 0.0, 1.0)
    return np.asarray(np.minimum(size, turned))


def _corner_widths(mesh: FloatArray) -> npt.NDArray[np.float64]:
    pts = np.asarray(mesh, np.float64)[..., :2]
    return np.stack([np.linalg.norm(pts[:, a] - pts[:, b], axis=-1) for a, b in CORNERS], 1)


class MeshEyes:
    """The lid ratio from Face Mesh's eye points (no second model)."""

    open_prior = 0.28

    def read(self, image: npt.NDArray[np.uint8], mesh: FloatArray) -> EyeReading:
        lid = eye_aspect_ratio(mesh).astype(np.float32)
        return EyeReading(lid, _size_confidence(_corner_widths(mesh)).astype(np.float32))


class IrisEyes:
    """The lid ratio from the iris model's refined eye contour, one model call per eye big
    enough to read. Not thread-safe: one per worker."""

    open_prior = 0.30

    def __init__(self, model_path: Path | None = None, threads: int = 1) -> None:
        path = model_path if model_path is not None else models.locate("iris")
        self._net = load_tflite(path, threads)
        inp = self._net.get_input_details()
        shape = tuple(int(v) for v in inp[0]["shape"])
        by_len = {int(np.prod(o["shape"])): int(o["index"]) for o in self._net.get_output_details()}
        if shape != (1, CROP, CROP, 3) or 213 not in by_len or 15 not in by_len:
            raise ModelError(f"{path}: not MediaPipe's iris landmark model (input {shape})")
        self._input, self._contour, self._iris = int(inp[0]["index"]), by_len[213], by_len[15]
        self._buffer = np.empty((1, CROP, CROP, 3), np.float32)

    def read(self, image: npt.NDArray[np.uint8], mesh: FloatArray) -> EyeReading:
        n = len(mesh)
        points = np.full((n, 2, 76, 2), np.nan, np.float32)
        contrast = np.zeros((n, 2))
        size = _size_confidence(_corner_widths(mesh))
        for i, k in zip(*np.nonzero(size > 0), strict=True):  # too small to read: no call
            a, b = CORNERS[k]
            points[i, k], contrast[i, k] = self._eye(image, mesh[i, a, :2], mesh[i, b, :2],
                                                     mirror=k == 0)
        contour = points[:, :, :71].astype(np.float64)
        gap = np.linalg.norm(contour[:, :, UPPER] - contour[:, :, LOWER], axis=-1).mean(-1)
        width = np.linalg.norm(contour[:, :, 0] - contour[:, :, 8], axis=-1)
        lid = (gap / np.maximum(width, 1e-6)).astype(np.float32)
        seen = np.clip((contrast - MIN_CONTRAST) / MIN_CONTRAST, 0.0, 1.0)
        confidence = np.minimum(size, seen)
        return EyeReading(lid, confidence.astype(np.float32), points)

    def _eye(self, image: npt.NDArray[np.uint8], a: FloatArray, b: FloatArray, *, mirror: bool
             ) -> tuple[FloatArray, float]:
        """The 76 points of one eye in image pixels and the grey-level spread of its crop."""
        p0, p1 = np.asarray(a, np.float64), np.asarray(b, np.float64)
        centre, v = (p0 + p1) / 2, p1 - p0
        side = max(float(np.hypot(v[0], v[1])) * CROP_SCALE, 1e-3)
        m = rotated_square_transform((float(centre[0]), float(centre[1])), side,
                                     float(np.arctan2(v[1], v[0])), CROP)
        crop = cv2.warpAffine(image, m, (CROP, CROP), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_REPLICATE)
        if mirror:
            crop = np.ascontiguousarray(crop[:, ::-1])
        rgb = cv2.cvtColor(crop, cv2.COLOR_BGR2RGB)
        np.multiply(rgb, np.float32(1 / 255), out=self._buffer[0], casting="unsafe")
        self._net.set_tensor(self._input, self._buffer)
        self._net.invoke()
        pts = np.concatenate([self._net.get_tensor(self._contour).reshape(71, 3)[:, :2],
                              self._net.get_tensor(self._iris).reshape(5, 3)[:, :2]])
        if mirror:
            pts[:, 0] = CROP - pts[:, 0]
        centre_grey = cv2.cvtColor(crop[EYE_BOX], cv2.COLOR_BGR2GRAY)
        return apply_affine(invert_affine(m), pts).astype(np.float32), float(centre_grey.std())
