"""``FaceAnalyzer``: Face Mesh landmarks and the per-face signals read from them.

``process`` adds to each tracked face ``landmarks`` and the attrs ``head_pose`` (with
``pose_source`` and ``pose_confidence``), ``eye_openness``, ``eye_confidence``,
``eyes_visible``, ``eyes_closing``, ``eyes_closed``, ``eye_points`` and ``gaze`` (iris model),
``mouth_open``, ``looking``, ``quality``, ``sharpness``, ``landmark_score`` and ``analysed``.
Faces smaller than ``min_face_size`` are not analysed (``analysed`` False, values NaN/False),
nor are faces whose Face Mesh presence score is below ``min_landmark_score`` (occluded, cut-off
or falsely detected faces).

Head pose: from the mesh where it was read (``pose_source`` ``POSE_MESH``, confidence its
presence score), else, with ``analysis.pose_fallback`` on, from the detector's 5 keypoints
(``POSE_KEYPOINTS``, ``analysis.keypoint_pose``; confidence at most 0.45), so a face turned away
still counts as not ``looking`` instead of vanishing from the statistics.

Eyes: each eye's lid ratio (``analysis.eyes``, the iris model by default) on the track's own
scale between its closed and open levels (``analysis.openness``), so people with narrow eyes or
glasses are read on their own terms; an eye seen without confidence is NaN, and a face with
neither eye readable has ``eyes_visible`` False (its eyes are uncertain, not open). Head pose
and mouth openness are smoothed per track with an exponential filter; eye openness is not, so
short blinks survive. The per-track state
(``FaceState``) lives in the track's ``TrackHistory``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from facetrack.analysis.eyes import (
    EyeReader,
    EyeReading,
    IrisEyes,
    MeshEyes,
    iris_gaze,
    join_readings,
)
from facetrack.analysis.keypoint_pose import keypoint_confidence, keypoint_pose
from facetrack.analysis.openness import EyeLevels
from facetrack.analysis.quality import face_quality
from facetrack.analysis.signals import facing_angle, mouth_openness
from facetrack.config.pipeline import AnalysisConfig
from facetrack.faces import POSE_KEYPOINTS, POSE_MESH, POSE_NONE, Faces
from facetrack.frames import Frame
from facetrack.geometry import crop
from facetrack.results import FrameResult
from facetrack.runtime.pool import SplitWork
from facetrack.tracking.history import TrackHistory


@dataclass
class FaceState:
    """What the analyser keeps for one track."""

    eyes: EyeLevels = field(default_factory=EyeLevels)
    pose: npt.NDArray[np.float64] | None = None
    mouth: float | None = None
    #: with ``analysis.face_rate_hz``: the video time from which the face is read again
    next_read: float | None = None


@dataclass
class _Out:
    """The attrs being filled for one frame's faces."""

    n: int
    pose: npt.NDArray[np.float32] = field(init=False)
    pose_source: npt.NDArray[np.int8] = field(init=False)
    pose_conf: npt.NDArray[np.float32] = field(init=False)
    openness: npt.NDArray[np.float32] = field(init=False)
    eye_conf: npt.NDArray[np.float32] = field(init=False)
    visible: npt.NDArray[np.bool_] = field(init=False)
    closing: npt.NDArray[np.bool_] = field(init=False)
    eye_points: npt.NDArray[np.float32] | None = None
    gaze: npt.NDArray[np.float32] = field(init=False)
    mouth: npt.NDArray[np.float32] = field(init=False)
    lm_score: npt.NDArray[np.float32] = field(init=False)
    sharpness: npt.NDArray[np.float32] = field(init=False)
    quality: npt.NDArray[np.float32] = field(init=False)
    closed: npt.NDArray[np.bool_] = field(init=False)
    looking: npt.NDArray[np.bool_] = field(init=False)
    landmarks: npt.NDArray[np.float32] | None = None

    def __post_init__(self) -> None:
        n = self.n
        self.pose = np.full((n, 3), np.nan, np.float32)
        self.pose_source = np.zeros(n, np.int8)
        self.pose_conf = np.zeros(n, np.float32)
        self.openness = np.full((n, 2), np.nan, np.float32)
        self.eye_conf = np.zeros((n, 2), np.float32)
        self.visible = np.zeros(n, bool)
        self.closing = np.zeros(n, bool)
        self.gaze = np.full((n, 2), np.nan, np.float32)
        self.mouth = np.full(n, np.nan, np.float32)
        self.lm_score = np.full(n, np.nan, np.float32)
        self.sharpness = np.full(n, np.nan, np.float32)
        self.quality = np.zeros(n, np.float32)
        self.closed = np.zeros(n, bool)
        self.looking = np.zeros(n, bool)


class FaceAnalyzer:
    def __init__(self, config: AnalysisConfig, landmarker: Any | None = None,
                 eyes: EyeReader | None = None) -> None:
        self._config = config
        #: given models are used as they are, on one thread; else each thread makes its own
        self._given = landmarker is not None or eyes is not None
        if landmarker is None and config.landmarks:
            from facetrack.analysis.landmarks import FaceMeshLandmarker

            landmarker = FaceMeshLandmarker()
        if eyes is None and config.landmarks:
            eyes = IrisEyes() if config.eye_model == "iris" else MeshEyes()
        self._models: list[tuple[Any, EyeReader]] = [(landmarker, eyes or MeshEyes())]
        self._landmarker = landmarker
        self._eyes: EyeReader = self._models[0][1]
        self._split = SplitWork(1, "analysis")

    def set_threads(self, threads: int) -> None:
        """Read the faces of one frame on up to ``threads`` cores (their models run outside
        the GIL); each thread has its own models, loaded on first use. 1 with given models."""
        threads = 1 if self._given or self._landmarker is None else max(1, threads)
        if threads != self._split.threads:
            self._split.close()
            self._split = SplitWork(threads, "analysis")

    def _models_of(self, k: int) -> tuple[Any, EyeReader]:
        while len(self._models) <= k:  # one set per thread, made on the calling thread
            from facetrack.analysis.landmarks import FaceMeshLandmarker

            eyes = IrisEyes() if self._config.eye_model == "iris" else MeshEyes()
            self._models.append((FaceMeshLandmarker(), eyes))
        return self._models[k]

    def process(self, result: FrameResult) -> FrameResult:
        return result.replace(faces=self.analyze(result.frame, result.faces, result.records))

    def reset(self) -> None:
        """Nothing to forget: the per-track state is in each track's record."""

    def close(self) -> None:
        """Stops the helper threads; the models are released with the object."""
        self._split.close()

    def analyze(self, frame: Frame, faces: Faces, records: Mapping[int, TrackHistory]
                ) -> Faces:
        out = _Out(len(faces))
        heights = faces.wh[:, 1] if len(faces) else np.zeros(0, np.float32)
        analysed = (heights >= self._config.min_face_size) if self._landmarker is not None \
            else np.zeros(len(faces), bool)
        rows = np.flatnonzero(analysed)
        waiting = np.zeros(len(faces), bool)  # not due for a read at the face rate
        if self._config.face_rate_hz and len(rows):
            due = self._due(frame.timestamp, faces, records, rows)
            waiting[rows[~due]] = True
            analysed[rows[~due]] = False
            rows = rows[due]
        if len(rows):
            pts, score, eyes = self._infer(frame.image, faces, rows)
            out.lm_score[rows] = score
            # the mesh's own "is this a face" output: below the bar its points are guesses
            good = score >= self._config.min_landmark_score
            analysed[rows[~good]] = False
            rows, pts, score = rows[good], pts[good], score[good]
            if len(rows):
                self._read(frame, faces, records, rows, pts, score, eyes, out)
        if self._config.pose_fallback:
            self._keypoint_pose(faces, records, out, waiting)
        posed = np.flatnonzero(out.pose_source != POSE_NONE)
        out.looking[posed] = facing_angle(out.pose[posed, :2]) <= self._config.looking_cone_deg
        extra = {} if out.eye_points is None else {"eye_points": out.eye_points}
        return faces.replace(landmarks=out.landmarks).with_attrs(
            head_pose=out.pose, pose_source=out.pose_source, pose_confidence=out.pose_conf,
            eye_openness=out.openness, eye_confidence=out.eye_conf,
            eyes_visible=out.visible, eyes_closing=out.closing, eyes_closed=out.closed,
            gaze=out.gaze, **extra,
            mouth_open=out.mouth, looking=out.looking, landmark_score=out.lm_score,
            quality=out.quality, sharpness=out.sharpness, analysed=analysed)

    def _due(self, t: float, faces: Faces, records: Mapping[int, TrackHistory],
             rows: npt.NDArray[np.intp]) -> npt.NDArray[np.bool_]:
        """Which faces at ``rows`` are read at ``t`` under ``analysis.face_rate_hz``: a track
        is read when first seen, then once every 1/rate s of video time on average (each read
        moves its next one on by the period, so 10 Hz at 25 fps reads 2 or 3 frames apart)."""
        period = 1.0 / self._config.face_rate_hz
        due = np.ones(len(rows), bool)
        for k, row in enumerate(rows):
            record = records.get(int(faces.track_id[row]))
            if record is None:
                continue
            st = record.state_of(FaceState)
            if st.next_read is not None and t < st.next_read - 1e-6:
                due[k] = False
            elif st.next_read is None or t - st.next_read >= period:
                st.next_read = t + period  # first read, or a period late (a gap): start again
            else:
                st.next_read += period
        return due

    def _infer(self, image: npt.NDArray[np.uint8], faces: Faces, rows: npt.NDArray[np.intp]
               ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32], EyeReading]:
        """The models' part: mesh points and presence of the faces at ``rows``, and the eyes
        of those whose presence passes; the faces split over the threads."""
        bar = self._config.min_landmark_score

        def piece(k: int, part: npt.NDArray[np.intp]) -> tuple[Any, Any, EyeReading]:
            landmarker, eyes = self._models[k]
            pts, score = landmarker.landmarks(image, faces.keypoints[part], faces.xyxy[part])
            return pts, score, eyes.read(image, pts[score >= bar])

        parts = [p for p in np.array_split(rows, min(self._split.threads, len(rows))) if len(p)]
        for k in range(1, len(parts)):
            self._models_of(k)  # loaded here, not on a helper thread
        done = self._split.map(piece, parts)
        pts = np.concatenate([d[0] for d in done])
        score = np.concatenate([d[1] for d in done])
        return pts, score, join_readings([d[2] for d in done])

    def _read(self, frame: Frame, faces: Faces, records: Mapping[int, TrackHistory],
              rows: npt.NDArray[np.intp], pts: npt.NDArray[np.float32],
              score: npt.NDArray[np.float32], eyes: EyeReading, out: _Out) -> None:
        from facetrack.analysis.headpose import head_pose

        cfg = self._config
        out.landmarks = np.full((out.n, pts.shape[1], 3), np.nan, np.float32)
        out.landmarks[rows] = pts
        raw_pose, raw_mouth = head_pose(pts), mouth_openness(pts)
        out.eye_conf[rows] = eyes.confidence
        if eyes.points is not None:
            out.eye_points = np.full((out.n, *eyes.points.shape[1:]), np.nan, np.float32)
            out.eye_points[rows] = eyes.points
        seen = eyes.confidence >= cfg.min_eye_confidence
        if eyes.points is not None:
            out.gaze[rows] = iris_gaze(eyes.points, seen)
        thresholds = (cfg.eyes_closing_threshold, cfg.eyes_closed_threshold)
        for k, row in enumerate(rows):
            record = records.get(int(faces.track_id[row]))
            st = record.state_of(FaceState) if record is not None else FaceState()
            self._smooth(st, raw_pose[k], float(raw_mouth[k]))
            out.pose_source[row], out.pose_conf[row] = POSE_MESH, score[k]
            state = st.eyes.step(frame.timestamp, eyes.lid[k], seen[k], self._eyes.open_prior,
                                 thresholds)
            out.openness[row] = state.openness
            out.visible[row], out.closing[row], out.closed[row] = (
                state.visible, state.closing, state.closed)
            out.pose[row], out.mouth[row] = st.pose, st.mouth
        out.gaze[out.closing] = np.nan  # a closing lid hides the iris: no gaze from it
        angle = facing_angle(out.pose[rows, :2])
        out.sharpness[rows] = _sharpness(frame.image, faces.xyxy[rows])
        out.quality[rows] = face_quality(
            faces.wh[rows, 1], faces.score[rows], frontal=np.cos(np.radians(angle)),
            sharpness=out.sharpness[rows], landmark_score=score)

    def _keypoint_pose(self, faces: Faces, records: Mapping[int, TrackHistory], out: _Out,
                       waiting: npt.NDArray[np.bool_]) -> None:
        """The 5-keypoint pose of every face the mesh gave none, except faces ``waiting`` for
        their next read at the face rate (their mesh pose holds, in the signals)."""
        rows = np.flatnonzero((out.pose_source == POSE_NONE) & ~waiting)
        if not len(rows):
            return
        raw = keypoint_pose(faces.keypoints[rows])
        conf = keypoint_confidence(faces.wh[rows, 1], faces.score[rows])
        for k, row in enumerate(rows):
            if not np.isfinite(raw[k]).all():
                continue
            record = records.get(int(faces.track_id[row]))
            st = record.state_of(FaceState) if record is not None else FaceState()
            self._smooth_pose(st, raw[k])
            out.pose[row], out.pose_source[row], out.pose_conf[row] = st.pose, POSE_KEYPOINTS, \
                conf[k]

    def _smooth_pose(self, st: FaceState, pose: npt.NDArray[np.float32]) -> None:
        alpha = self._config.smoothing
        p = pose.astype(np.float64)
        st.pose = p if st.pose is None else alpha * p + (1 - alpha) * st.pose

    def _smooth(self, st: FaceState, pose: npt.NDArray[np.float32], mouth: float) -> None:
        alpha = self._config.smoothing
        self._smooth_pose(st, pose)
        st.mouth = mouth if st.mouth is None else alpha * mouth + (1 - alpha) * st.mouth


def _sharpness(image: npt.NDArray[np.uint8], boxes: npt.NDArray[np.float32]
               ) -> npt.NDArray[np.float32]:
    """0..1 from the variance of the Laplacian of each face, resized to 64x64."""
    out = np.zeros(len(boxes), np.float32)
    for i, box in enumerate(boxes):
        face = crop(image, box)
        if face.shape[0] < 4 or face.shape[1] < 4:
            continue
        grey = cv2.cvtColor(cv2.resize(face, (64, 64), interpolation=cv2.INTER_AREA),
                            cv2.COLOR_BGR2GRAY)
        var = float(cv2.Laplacian(grey, cv2.CV_32F).var())
        out[i] = 1.0 - np.exp(-var / 200.0)
    return out
