"""Face detectors: ``detect(frame) -> Faces`` (boxes, scores, 5 keypoints, no track ids).

A backend is a module here with its config class (a ``kind`` literal, strict) and its
detector class, listed once in ``BACKENDS``; ``DetectorConfig`` is the union of the configs,
told apart by ``kind``, so ``detector: {kind: ...}`` in YAML picks the backend.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from facetrack.detection.yunet import YuNetConfig, YuNetDetector
from facetrack.faces import Faces
from facetrack.frames import Frame
from facetrack.results import FrameResult


class Detector(Protocol):
    def detect(self, frame: Frame) -> Faces: ...


#: every detector config (a discriminated union on ``kind`` once there are two)
DetectorConfig = YuNetConfig

#: ``kind`` -> the detector class built from that config
BACKENDS: dict[str, Callable[[DetectorConfig], Detector]] = {
    "yunet": YuNetDetector,
}


def make_detector(config: DetectorConfig) -> Detector:
    return BACKENDS[config.kind](config)


class DetectStage:
    """The detector as a pipeline stage: the frame's faces (no track ids yet)."""

    def __init__(self, detector: Detector) -> None:
        self.detector = detector

    def process(self, result: FrameResult) -> FrameResult:
        return result.replace(faces=self.detector.detect(result.frame))

    def reset(self) -> None:
        """Detection keeps no state between frames."""

    def close(self) -> None:
        """The model is released with the object."""


__all__ = ["BACKENDS", "DetectStage", "Detector", "DetectorConfig", "YuNetConfig",
           "make_detector"]
