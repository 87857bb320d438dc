"""YuNet, the default detector, and its config (``detector: {kind: yunet, ...}``)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Literal

import cv2
import numpy as np
from pydantic import Field

from facetrack import models
from facetrack._native import native_stderr_silenced
from facetrack.config.base import Strict
from facetrack.errors import ModelError
from facetrack.faces import Faces
from facetrack.frames import Frame

log = logging.getLogger(__name__)


class YuNetConfig(Strict):
    kind: Literal["yunet"] = Field("yunet", description="Detector backend.")
    model_path: Path | None = Field(
        None,
        description="Your own YuNet-compatible ONNX file instead of the packaged, sha256-checked "
        "default.",
    )
    input_long_side: int | None = Field(
        640,
        ge=160,
        le=4096,
        description="Resize each frame (down or up) so its long side has this many pixels "
        "before detection (null = native size). 640 keeps 720p and 1080p real-time, finds "
        "faces down to ~20 px tall at this scale and the very large faces YuNet misses at "
        "native resolution; small inputs are upscaled, which costs time (320x240: ~2x).",
    )
    score_threshold: float = Field(
        0.1,
        ge=0.0,
        le=1.0,
        description="Lowest detector score kept. Faces between this and "
        "tracking.high_score are only used to continue existing tracks (second pass).",
    )
    nms_threshold: float = Field(0.3, ge=0.0, le=1.0, description="Detector NMS IoU.")
    min_face_size: float = Field(
        12.0, ge=0.0, description="Drop faces whose box is shorter than this (original pixels)."
    )
    threads: int = Field(
        1, ge=1, le=64,
        description="OpenCV threads (process-wide in OpenCV). 1 leaves the other core to "
        "decoding and Face Mesh, which run on their own pipeline threads.",
    )


class YuNetDetector:
    """YuNet 2023mar through ``cv2.FaceDetectorYN``: boxes, scores and 5 keypoints.

    Frames are resized so the long side is ``input_long_side`` before detection and the results
    scaled back: 640 keeps 720p detection around 15 ms on one core and recovers the very large
    faces YuNet misses at native resolution, at the cost of faces under ~20 px at that scale.
    """

    def __init__(self, config: YuNetConfig) -> None:
        self._config = config
        path = config.model_path if config.model_path is not None else models.locate("yunet")
        if not path.is_file():
            raise ModelError(f"{path}: detector model file not found")
        cv2.setNumThreads(config.threads)
        try:
            with native_stderr_silenced():
                self._net = cv2.FaceDetectorYN.create(
                    str(path), "", (320, 320), config.score_threshold, config.nms_threshold, 5000
                )
        except cv2.error as exc:
            raise ModelError(f"{path}: cannot load as a YuNet model ({exc.err})") from None
        self._input_size: tuple[int, int] = (0, 0)

    def detect(self, frame: Frame) -> Faces:
        image = frame.image
        h, w = image.shape[:2]
        long_side = self._config.input_long_side
        scale = 1.0 if long_side is None else long_side / max(h, w)
        if scale != 1.0:
            size = (max(1, round(w * scale)), max(1, round(h * scale)))
            interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
            image = np.asarray(cv2.resize(image, size, interpolation=interp), np.uint8)
        ih, iw = image.shape[:2]
        if (iw, ih) != self._input_size:
            self._net.setInputSize((iw, ih))
            self._input_size = (iw, ih)
        _, raw = self._net.detect(image)
        if raw is None or len(raw) == 0:
            return Faces.empty()
        raw = np.asarray(raw, np.float32)
        sx, sy = w / iw, h / ih
        xywh = raw[:, 0:4] * np.array([sx, sy, sx, sy], np.float32)
        xyxy = np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], axis=1)
        xyxy = np.clip(xyxy, 0, np.array([w, h, w, h], np.float32))
        keypoints = raw[:, 4:14].reshape(-1, 5, 2) * np.array([sx, sy], np.float32)
        faces = Faces.from_arrays(xyxy, raw[:, 14], keypoints)
        keep = (faces.wh[:, 1] >= self._config.min_face_size) & (faces.wh[:, 0] > 0)
        return faces[keep]
