"""FaceAnalyzer's per-track eye normalisation, with a scripted landmarker (real geometry, no
model): the eye aspect ratio is set by moving the lid points of the canonical face."""

from __future__ import annotations

import numpy as np

from facetrack.analysis.analyzer import FaceAnalyzer
from facetrack.analysis.headpose import CANONICAL_FACE
from facetrack.analysis.signals import LEFT_EYE, RIGHT_EYE, eye_aspect_ratio
from facetrack.config import AnalysisConfig
from tests.conftest import faces_at, make_frame


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


def run(analyzer: FaceAnalyzer, lm: ScriptedLandmarker, ears: list[float]) -> list[bool]:
    out = []
    for i, ear in enumerate(ears):
        lm.ear = ear
        f = faces_at([[200, 200, 400, 440]]).replace(track_id=np.array([1]))
        out.append(bool(analyzer.analyze(make_frame(i, np.zeros((600, 600, 3), np.uint8)), f)
                        .attrs["eyes_closed"][0]))
    return out


def test_scripted_ear_is_what_the_signal_reads() -> None:
    lm = ScriptedLandmarker()
    pts, _ = lm.landmarks(None, None, np.zeros((1, 4)))
    np.testing.assert_allclose(eye_aspect_ratio(pts), [[0.3, 0.3]], atol=1e-3)


def test_long_closure_stays_closed() -> None:
    """10 s open then 10 s closed at 25 fps: every closed frame reads closed (the open level is
    learnt from open frames only)."""
    lm = ScriptedLandmarker()
    analyzer = FaceAnalyzer(AnalysisConfig(), landmarker=lm)
    closed = run(analyzer, lm, [0.30] * 250 + [0.06] * 250)
    assert not any(closed[:250])
    assert all(closed[250:])


def test_narrow_eyes_are_not_read_as_closed() -> None:
    lm = ScriptedLandmarker()
    analyzer = FaceAnalyzer(AnalysisConfig(), landmarker=lm)
    closed = run(analyzer, lm, [0.17] * 200 + [0.04] * 5 + [0.17] * 20)
    assert not any(closed[20:200])
    assert all(closed[200:205])


def test_low_presence_score_is_not_analysed() -> None:
    lm = ScriptedLandmarker()
    lm.score = 0.2
    analyzer = FaceAnalyzer(AnalysisConfig(), landmarker=lm)
    f = faces_at([[200, 200, 400, 440]]).replace(track_id=np.array([1]))
    out = analyzer.analyze(make_frame(0, np.zeros((600, 600, 3), np.uint8)), f)
    assert not out.attrs["analysed"][0]
    assert np.isnan(out.attrs["head_pose"][0]).all()
