from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import cv2
import numpy as np
import numpy.typing as npt

from facetrack.analysis.signals import eye_aspect_ratio, facing_angle, mouth_openness
from facetrack.config import AnalysisConfig
from facetrack.faces import Faces
from facetrack.frames import Frame

_EAR_HISTORY = 250  # open frames kept per track for its open-eye reference (10 s at 25 fps)
_PRIOR_WEIGHT = 15.0  # how many samples the population prior counts for
_FORGET_FRAMES = 750  # drop the state of a track unseen this long


@dataclass
class _TrackState:
    ears: deque[float] = field(default_factory=lambda: deque(maxlen=_EAR_HISTORY))
    pose: npt.NDArray[np.float64] | None = None
    mouth: float | None = None
    last_frame: int = 0


class FaceAnalyzer:
    """Adds Face Mesh landmarks and per-face signals to tracked faces.

    ``analyze(frame, faces)`` returns new Faces with ``landmarks`` and the attrs ``head_pose``,
    ``eye_openness``, ``eyes_closed``, ``mouth_open``, ``looking``, ``quality`` and ``analysed``.
    Faces smaller than ``min_face_size`` are not analysed (``analysed`` False, values NaN/False).

    Eye openness is the eye aspect ratio divided by the track's own open-eye level (a high
    percentile of the EAR of its recent open frames, blended with a population prior while the
    track is young), so people with narrow eyes are not read as drowsy, and a long closure does
    not become the new normal. Faces whose Face Mesh presence score is below
    ``min_landmark_score`` are not analysed. Head pose and mouth openness are smoothed per
    track with an exponential filter; eye openness is not, so short blinks survive.
    """

    def __init__(self, config: AnalysisConfig, landmarker: object | None = None) -> None:
        self._config = config
        if landmarker is None and config.landmarks:
            from facetrack.analysis.landmarks import FaceMeshLandmarker

            landmarker = FaceMeshLandmarker()
        self._landmarker = landmarker
        self._state: dict[int, _TrackState] = {}

    def reset(self) -> None:
        self._state.clear()

    def analyze(self, frame: Frame, faces: Faces) -> Faces:
        from facetrack.analysis.headpose import head_pose

        n = len(faces)
        cfg = self._config
        pose = np.full((n, 3), np.nan, np.float32)
        openness = np.full((n, 2), np.nan, np.float32)
        closed = np.zeros(n, bool)
        mouth = np.full(n, np.nan, np.float32)
        looking = np.zeros(n, bool)
        quality = np.zeros(n, np.float32)
        sharpness = np.full(n, np.nan, np.float32)
        lm_score = np.full(n, np.nan, np.float32)
        heights = faces.wh[:, 1] if n else np.zeros(0, np.float32)
        analysed = (heights >= cfg.min_face_size) if self._landmarker is not None else np.zeros(
            n, bool
        )
        landmarks: npt.NDArray[np.float32] | None = None
        rows = np.flatnonzero(analysed)
        if len(rows):
            pts, score = self._landmarker.landmarks(  # type: ignore[union-attr]
                frame.image, faces.keypoints[rows], faces.xyxy[rows]
            )
            lm_score[rows] = score
            # the mesh's own "is this a face" output: below the bar its points are guesses
            # (occluded, cut off or a false detection), so no signal is read from them
            good = score >= cfg.min_landmark_score
            analysed[rows[~good]] = False
            rows, pts, score = rows[good], pts[good], score[good]
        if len(rows):
            landmarks = np.full((n, pts.shape[1], 3), np.nan, np.float32)
            landmarks[rows] = pts
            raw_pose = head_pose(pts)
            ears = eye_aspect_ratio(pts)
            raw_mouth = mouth_openness(pts)
            alpha = cfg.smoothing
            for k, row in enumerate(rows):
                tid = int(faces.track_id[row])
                st = self._state.setdefault(tid, _TrackState())
                st.last_frame = frame.index
                p = raw_pose[k].astype(np.float64)
                st.pose = p if st.pose is None else alpha * p + (1 - alpha) * st.pose
                m = float(raw_mouth[k])
                st.mouth = m if st.mouth is None else alpha * m + (1 - alpha) * st.mouth
                ref = self._open_reference(st)
                openness[row] = np.clip(ears[k] / ref, 0.0, 1.0)
                # only frames judged open teach the track its open level, so a long closure
                # (the drowsy case) cannot drag the reference down and read as open
                if openness[row].mean() >= cfg.eyes_closed_threshold:
                    st.ears.append(float(ears[k].mean()))
                pose[row] = st.pose
                mouth[row] = st.mouth
            closed[rows] = openness[rows].mean(axis=1) < cfg.eyes_closed_threshold
            angle = facing_angle(pose[rows, :2])
            looking[rows] = angle <= cfg.looking_cone_deg
            frontal = np.clip(np.cos(np.radians(angle)), 0.0, 1.0)
            sharpness[rows] = _sharpness(frame.image, faces.xyxy[rows])
            quality[rows] = (
                np.clip(heights[rows] / 112.0, 0.0, 1.0)
                * frontal
                * sharpness[rows]
                * faces.score[rows]
                * np.clip(score, 0.0, 1.0)
            )
        self._forget(frame.index)
        return faces.replace(landmarks=landmarks).with_attrs(
            head_pose=pose,
            eye_openness=openness,
            eyes_closed=closed,
            mouth_open=mouth,
            looking=looking,
            landmark_score=lm_score,
            quality=quality,
            sharpness=sharpness,
            analysed=analysed,
        )

    def _open_reference(self, st: _TrackState) -> float:
        """The track's open-eye EAR: the 90th percentile of its recent open frames, blended
        with the population prior while it has few of them."""
        prior = self._config.open_ear_prior
        if not st.ears:
            return prior
        own = float(np.percentile(np.fromiter(st.ears, np.float64), 90))
        n = len(st.ears)
        return max((_PRIOR_WEIGHT * prior + n * own) / (_PRIOR_WEIGHT + n), 1e-6)

    def _forget(self, index: int) -> None:
        stale = [t for t, s in self._state.items() if index - s.last_frame > _FORGET_FRAMES]
        for t in stale:
            del self._state[t]


def _sharpness(image: npt.NDArray[np.uint8], boxes: npt.NDArray[np.float32]) -> npt.NDArray[
    np.float32
]:
    """0..1 from the variance of the Laplacian of each face, resized to 64x64."""
    h, w = image.shape[:2]
    out = np.zeros(len(boxes), np.float32)
    for i, (x1, y1, x2, y2) in enumerate(boxes):
        xa, ya, xb, yb = max(0, int(x1)), max(0, int(y1)), min(w, int(x2)), min(h, int(y2))
        if xb - xa < 4 or yb - ya < 4:
            continue
        grey = cv2.cvtColor(
            cv2.resize(image[ya:yb, xa:xb], (64, 64), interpolation=cv2.INTER_AREA),
            cv2.COLOR_BGR2GRAY,
        )
        var = float(cv2.Laplacian(grey, cv2.CV_32F).var())
        out[i] = 1.0 - np.exp(-var / 200.0)
    return out
