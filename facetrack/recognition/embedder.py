"""Face embeddings: a face image aligned on its 5 keypoints -> a unit vector (cosine space).

Only used when recognition is enabled: with it off, facetrack never computes an embedding.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Annotated, Any, Literal, Protocol

import cv2
import numpy as np
import numpy.typing as npt
from pydantic import Field

from facetrack import models
from facetrack._native import native_stderr_silenced
from facetrack.config.base import Strict
from facetrack.errors import ModelError

FloatArray = npt.NDArray[np.float32]


class SFaceConfig(Strict):
    """The packaged, sha256-checked SFace on OpenCV (or your own SFace file)."""

    kind: Literal["sface"] = Field("sface", description="Embedder backend.")
    model_path: Path | None = Field(
        None, description="Your own SFace ONNX file instead of the packaged one.")


class OnnxEmbedderConfig(Strict):
    """Any ArcFace-style ONNX model (112x112 aligned face in, one embedding out) on
    onnxruntime (``pip install 'facetrack[onnx]'``). The aligned crop becomes the input as
    ``(pixel - mean) / std`` in the given channel order; size and layout (NCHW or NHWC) are
    read from the model. Defaults are InsightFace's ArcFace convention; SFace (which normalises
    inside) wants mean 0, std 1."""

    kind: Literal["onnx"] = Field("onnx", description="Embedder backend.")
    model_path: Path = Field(..., description="The ONNX model file (required).")
    mean: float = Field(127.5, description="Subtracted from every 0..255 pixel value.")
    std: float = Field(127.5, gt=0.0, description="Divides the pixel value after the mean.")
    channels: Literal["rgb", "bgr"] = Field("rgb", description="Channel order the model expects.")


#: ``recognition.embedder``: one of the backends' configs, told apart by ``kind``
EmbedderConfig = Annotated[SFaceConfig | OnnxEmbedderConfig, Field(discriminator="kind")]


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

    def __init__(self, config: SFaceConfig | None = None) -> None:
        model_path = None if config is None else config.model_path
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


class OnnxEmbedder:
    """Any ArcFace-style ONNX model on onnxruntime: the face aligned on the ArcFace template at
    the model's input size, ``(pixel - mean) / std`` in the configured channel order, NCHW or
    NHWC as the model declares; its first output, L2-normalised, is the embedding.

    Batches every face of a call in one run when the model's batch axis is dynamic."""

    def __init__(self, config: OnnxEmbedderConfig, threads: int = 1) -> None:
        try:
            import onnxruntime as ort
        except ImportError:
            raise ModelError("recognition.embedder: onnx needs onnxruntime: "
                             "pip install 'facetrack[onnx]'") from None
        path = Path(config.model_path)
        if not path.is_file():
            raise ModelError(f"{path}: embedding model file not found")
        options = ort.SessionOptions()
        options.log_severity_level = 3  # loader warnings about the graph are not the user's
        options.intra_op_num_threads = threads
        try:
            self._session = ort.InferenceSession(
                str(path), options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own exception types
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ModelError(f"{path}: cannot load as an ONNX model ({first[:200]})") from None
        inputs = self._session.get_inputs()
        if len(inputs) != 1:
            names = ", ".join(i.name for i in inputs[:5])
            raise ModelError(f"{path}: an embedding model takes one input (an image), this one "
                             f"takes {len(inputs)} ({names})")
        shape = list(inputs[0].shape)
        if len(shape) != 4:
            raise ModelError(f"{path}: input {inputs[0].name!r} has shape {shape}; an embedding "
                             "model takes a batch of images (4 axes)")
        self._input = inputs[0].name
        self._nhwc = shape[3] == 3 and shape[1] != 3
        size = shape[1] if self._nhwc else shape[2]
        self._size = size if isinstance(size, int) and size > 0 else 112
        # a fixed batch axis (an int) takes exactly that many crops: run one face at a time
        # (only a batch of 1 is supported then); a named or unknown axis takes any number
        if isinstance(shape[0], int) and shape[0] > 1:
            raise ModelError(f"{path}: input {inputs[0].name!r} has a fixed batch of "
                             f"{shape[0]}; an embedding model needs batch 1 or a dynamic batch")
        self._batched = not isinstance(shape[0], int)
        self._mean, self._std = float(config.mean), float(config.std)
        self._rgb = config.channels == "rgb"
        self._dim = self._probe_dim(path)
        digest = models.sha256_of(path)[:12]
        pre = f"m{self._mean:g}s{self._std:g}{config.channels}"
        self._model_id = f"onnx:{digest}:{pre}"

    def _probe_dim(self, path: Path) -> int:
        try:
            out = self._run(np.zeros((1, self._size, self._size, 3), np.uint8))
        except ModelError as exc:
            raise ModelError(f"{path}: {exc}") from None
        except Exception as exc:  # a model that cannot run on a face crop is not usable
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ModelError(f"{path}: cannot run on a {self._size}x{self._size} face crop "
                             f"({first[:200]})") from None
        return int(out.shape[1])

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def dim(self) -> int:
        return self._dim

    def _run(self, crops: npt.NDArray[np.uint8]) -> FloatArray:
        x = crops[..., ::-1] if self._rgb else crops  # crops are BGR (OpenCV)
        blob = (x.astype(np.float32) - self._mean) / self._std
        if not self._nhwc:
            blob = blob.transpose(0, 3, 1, 2)
        blob = np.ascontiguousarray(blob)
        if self._batched:
            outs: list[Any] = [self._session.run(None, {self._input: blob})[0]]
        else:
            outs = [self._session.run(None, {self._input: b[None]})[0] for b in blob]
        rows = []
        for o in outs:
            arr = np.asarray(o, np.float32)
            if arr.ndim < 2:
                raise ModelError(f"the embedding model's first output has shape {arr.shape}; "
                                 "expected (batch, dim)")
            rows.append(arr.reshape(arr.shape[0], -1))
        return np.concatenate(rows)

    def embed(self, image: npt.NDArray[np.uint8], keypoints: npt.ArrayLike) -> FloatArray:
        kps = np.asarray(keypoints, np.float32).reshape(-1, 5, 2)
        if not len(kps):
            return np.zeros((0, self._dim), np.float32)
        crops = np.stack([align_crop(image, k, self._size) for k in kps])
        feats = self._run(crops)
        norms = np.maximum(np.linalg.norm(feats, axis=1, keepdims=True), 1e-12)
        return np.asarray(feats / norms, np.float32)


#: ``kind`` -> the embedder class built from that config
BACKENDS: dict[str, Any] = {"sface": SFaceEmbedder, "onnx": OnnxEmbedder}


def make_embedder(config: SFaceConfig | OnnxEmbedderConfig) -> Embedder:
    """The embedder ``config`` names (``recognition.embedder``)."""
    embedder: Embedder = BACKENDS[config.kind](config)
    return embedder


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
