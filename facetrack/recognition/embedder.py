"""Face embeddings: a face image aligned on its 5 keypoints -> a unit vector (cosine space).

Only used when recognition is enabled: with it off, facetrack never computes an embedding.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np
import numpy.typing as npt

from facetrack import models
from facetrack._native import native_stderr_silenced
from facetrack.errors import ModelError

FloatArray = npt.NDArray[np.float32]


class Embedder(Protocol):
    """``embed(image, keypoints (n,5,2)) -> (n, dim)`` unit vectors; ``model_id`` names the
    model (and its file hash), so a database never mixes vectors of two models."""

    @property
    def model_id(self) -> str: ...

    @property
    def dim(self) -> int: ...

    def embed(self, image: npt.NDArray[np.uint8], keypoints: npt.ArrayLike) -> FloatArray: ...


# SFace's reference positions of the 5 keypoints in its 112x112 input (ArcFace's template)
ARCFACE_TEMPLATE = np.array(
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366],
     [41.5493, 92.3655], [70.7299, 92.2041]], np.float32,
)


def align_crop(image: npt.NDArray[np.uint8], keypoints: npt.ArrayLike, size: int = 112
               ) -> npt.NDArray[np.uint8]:
    """The face warped so its 5 keypoints land on the ArcFace template (similarity transform,
    least squares), ``size`` x ``size``."""
    src = np.asarray(keypoints, np.float32).reshape(5, 2)
    dst = ARCFACE_TEMPLATE * (size / 112.0)
    matrix, _ = cv2.estimateAffinePartial2D(src, dst, method=cv2.LMEDS)
    if matrix is None:
        raise ValueError("keypoints are degenerate: cannot align the face")
    return np.asarray(cv2.warpAffine(image, matrix, (size, size), borderValue=0))


class SFaceEmbedder:
    """SFace 2021dec (128-d) through ``cv2.FaceRecognizerSF``, on the packaged, sha256-checked
    model file by default. ~30-50 ms a face on one core."""

    def __init__(self, model_path: Path | None = None) -> None:
        path = model_path if model_path is not None else models.locate("sface")
        if not path.is_file():
            raise ModelError(f"{path}: embedding model file not found")
        try:
            with native_stderr_silenced():
                self._net = cv2.FaceRecognizerSF.create(str(path), "")
        except cv2.error as exc:
            raise ModelError(f"{path}: cannot load as an SFace model ({exc.err})") from None
        digest = models.sha256_of(path)[:12]
        self._model_id = f"sface-2021dec:{digest}"

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def dim(self) -> int:
        return 128

    def embed(self, image: npt.NDArray[np.uint8], keypoints: npt.ArrayLike) -> FloatArray:
        kps = np.asarray(keypoints, np.float32).reshape(-1, 5, 2)
        out = np.zeros((len(kps), 128), np.float32)
        for i, k in enumerate(kps):
            crop = align_crop(image, k)
            feat = np.asarray(self._net.feature(crop), np.float32).reshape(-1)
            out[i] = feat / max(float(np.linalg.norm(feat)), 1e-12)
        return out


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
