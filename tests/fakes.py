"""Fakes for unit tests of logic: a scripted landmarker (real geometry, no model), stages and
sinks that record what passes, a source of ready-made frames."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from facetrack.analysis.headpose import CANONICAL_FACE
from facetrack.analysis.signals import LEFT_EYE, RIGHT_EYE
from facetrack.frames import Frame, SourceInfo
from facetrack.results import FrameResult


class ScriptedLandmarker:
    """Returns the canonical face (frontal, in pixels) with the eyes opened to ``ear``."""

    def __init__(self) -> None:
        self.ear = 0.3
        self.score = 0.99

    def landmarks(self, image, keypoints, xyxy):
        pts = CANONICAL_FACE * np.array([10.0, -10.0, -10.0]) + np.array([300.0, 300.0, 0.0])
        for eye in (LEFT_EYE, RIGHT_EYE):
            p1, p4 = pts[eye[0], :2], pts[eye[3], :2]
            centre, width = (p1 + p4) / 2, np.linalg.norm(p4 - p1)
            half = self.ear * width / 2  # EAR = 2 * (2 * half) / (2 * width)
            for upper, lower in ((eye[1], eye[5]), (eye[2], eye[4])):
                pts[upper, 1], pts[lower, 1] = centre[1] - half, centre[1] + half
        n = len(xyxy)
        return np.repeat(pts[None].astype(np.float32), n, 0), np.full(n, self.score, np.float32)


class FrameSource:
    """A source of ready-made frames (a context manager, like every source)."""

    def __init__(self, frames: Sequence[Frame], kind: str = "stream", fps: float = 10.0) -> None:
        self.frames = list(frames)
        first = self.frames[0].image if self.frames else np.zeros((8, 8, 3), np.uint8)
        self.info = SourceInfo("fake", kind, first.shape[1], first.shape[0], fps,
                               len(self.frames))
        self.closed = False

    def __iter__(self) -> Iterator[Frame]:
        yield from self.frames

    def close(self) -> None:
        self.closed = True

    def __enter__(self) -> FrameSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class RecordingSink:
    """Keeps every result it is given; ``fail_on`` makes ``consume`` raise on those frames."""

    def __init__(self, fail_on: Sequence[int] = ()) -> None:
        self.results: list[FrameResult] = []
        self.fail_on = set(fail_on)
        self.closed = False

    def consume(self, result: FrameResult) -> None:
        if result.frame.index in self.fail_on:
            raise RuntimeError(f"sink failed on frame {result.frame.index}")
        self.results.append(result)

    def close(self) -> None:
        self.closed = True

    @property
    def events(self) -> list:
        return [e for r in self.results for e in r.events]
