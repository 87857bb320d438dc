"""``TrackStage``: the tracker as a pipeline stage.

It gives each face its track id, and the frame's result the snapshots of every track alive in
it (seen or coasting) or ended on it, plus their live records for the stages after it. At a hard
cut of edited video (``tracking.scene_cuts``) or between unrelated photos every track ends and
the next frame starts fresh (ids keep counting).

On a frame the detect stage skipped (``tracking.detect_interval``, ``result.detected`` False)
the faces seen on the frame before are followed from their landmarks
(``facetrack.tracking.follow``), or, when one cannot be, the detector runs here after all."""

from __future__ import annotations

import numpy as np

from facetrack.detection import Detector
from facetrack.faces import FloatArray
from facetrack.results import FrameResult
from facetrack.tracking.follow import followed
from facetrack.tracking.scenecut import SceneCutDetector
from facetrack.tracking.tracker import FaceTrackerCore


class TrackStage:
    def __init__(self, tracker: FaceTrackerCore, *, cuts: SceneCutDetector | None = None,
                 independent: bool = False, detector: Detector | None = None) -> None:
        self.tracker = tracker
        self.cuts = cuts
        self.independent = independent
        #: runs on skipped frames where a face cannot be followed (needed only with skips)
        self.detector = detector

    def process(self, result: FrameResult) -> FrameResult:
        frame = result.frame
        ended = []
        cut = self.independent or (self.cuts is not None and self.cuts.is_cut(frame))
        if cut:
            ended = self.tracker.reset()  # a new photo or a new shot: nobody continues
        follow = None if result.detected or cut else followed(
            self.tracker, frame.index, (frame.image.shape[1], frame.image.shape[0]))
        if not result.detected and follow is None:
            if self.detector is None:
                raise RuntimeError("a frame without detection needs TrackStage's detector")
            result = result.replace(faces=self.detector.detect(frame), detected=True)
        if follow is not None:
            result = result.replace(faces=follow)
        detections = result.faces.xyxy
        faces = self.tracker.update(frame, result.faces, followed=follow is not None)
        records = [*ended, *self.tracker.records()]
        return result.replace(faces=faces, tracks=tuple(r.snapshot() for r in records),
                              records={r.track_id: r for r in records},
                              hidden=self._hidden(detections, frame.index))

    def _hidden(self, detections: FloatArray, index: int) -> FloatArray:
        """Every detection of the frame (a face not yet confirmed is still a face), and the
        box of every track the detector missed this frame, where the tracker predicts it."""
        boxes = np.asarray(detections, np.float32).reshape(-1, 4)
        missed = [t.predicted_xyxy for t in self.tracker.tracks if t.last_frame != index]
        if not missed:
            return boxes
        return np.vstack([boxes, np.asarray(missed, np.float32)])

    def end_all(self, result: FrameResult) -> FrameResult:
        """The input ended (or the camera stopped): every track ends on ``result``'s frame.
        The returned result has no faces, only the ended tracks, for the rules to close."""
        ended = self.tracker.reset()
        return FrameResult(result.frame, tracks=tuple(r.snapshot() for r in ended),
                           records={r.track_id: r for r in ended})

    def reset(self) -> None:
        self.tracker.reset()
        if self.cuts is not None:
            self.cuts.reset()

    def close(self) -> None:
        """Nothing held."""
