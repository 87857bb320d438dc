"""Face detectors: ``detect(frame) -> Faces`` (boxes, scores, 5 keypoints, no track ids).

A backend is a module here with its config class (a ``kind`` literal, strict) and its
detector class, listed once in ``BACKENDS``; ``DetectorConfig`` is the union of the configs,
told apart by ``kind``, so ``detector: {kind: ...}`` in YAML picks the backend.
"""

from __future__ import annotations

import threading
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


class SharedDetector:
    """One detector used from two threads (the detect stage and, on frames it skipped, the
    track stage), one call at a time."""

    def __init__(self, detector: Detector) -> None:
        self.detector = detector
        self._lock = threading.Lock()

    def detect(self, frame: Frame) -> Faces:
        with self._lock:
            return self.detector.detect(frame)


class DetectStage:
    """The detector as a pipeline stage: the frame's faces (no track ids yet), on the first of
    every ``interval`` frames; the others pass with ``detected`` False and no faces (the track
    stage follows the faces there, ``facetrack.tracking.follow``)."""

    def __init__(self, detector: Detector, interval: int = 1) -> None:
        self.detector = detector
        self.interval = interval
        self._count = 0

    def process(self, result: FrameResult) -> FrameResult:
        due = self._count % self.interval == 0
        self._count += 1
        if not due:
            return result.replace(faces=Faces.empty(), detected=False)
        return result.replace(faces=self.detector.detect(result.frame))

    def reset(self) -> None:
        """The schedule starts again."""
        self._count = 0

    def close(self) -> None:
        """The model is released with the object."""


__all__ = ["BACKENDS", "DetectStage", "Detector", "DetectorConfig", "SharedDetector",
           "YuNetConfig", "make_detector"]
