"""Face detectors: ``detect(frame) -> Faces`` (boxes, scores, 5 keypoints, no track ids)."""

from __future__ import annotations

from typing import Protocol

from facetrack.config import DetectorConfig
from facetrack.faces import Faces
from facetrack.frames import Frame


class Detector(Protocol):
    def detect(self, frame: Frame) -> Faces: ...


def make_detector(config: DetectorConfig) -> Detector:
    from facetrack.detection.yunet import YuNetDetector

    return YuNetDetector(config)


__all__ = ["Detector", "make_detector"]
