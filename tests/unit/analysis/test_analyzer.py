"""FaceAnalyzer's per-track eye normalisation, with a scripted landmarker (real geometry, no
model) and the mesh eye reader: the eye aspect ratio is set by moving the lid points of the
canonical face."""

from __future__ import annotations

import numpy as np

from facetrack.analysis.analyzer import FaceAnalyzer
from facetrack.analysis.eyes import MeshEyes
from facetrack.analysis.signals import eye_aspect_ratio
from facetrack.config import AnalysisConfig
from facetrack.faces import POSE_KEYPOINTS, POSE_MESH, POSE_NONE
from tests.builders import faces_at, make_frame, records_for
from tests.fakes import ScriptedLandmarker


def run(analyzer: FaceAnalyzer, lm: ScriptedLandmarker, ears: list[float], track: int = 1,
        known: dict | None = None) -> list[bool]:
    out = []
    known = {} if known is None else known
    for i, ear in enumerate(ears):
        lm.ear = ear
        f = faces_at([[200, 200, 400, 440]]).replace(track_id=np.array([track]))
        frame = make_frame(i, np.zeros((600, 600, 3), np.uint8))
        out.append(bool(analyzer.analyze(frame, f, records_for(f, frame, known))
                        .attrs["eyes_closed"][0]))
    return out


def test_scripted_ear_is_what_the_signal_reads() -> None:
    lm = ScriptedLandmarker()
    pts, _ = lm.landmarks(None, None, np.zeros((1, 4)))
    np.testing.assert_allclose(eye_aspect_ratio(pts), [[0.3, 0.3]], atol=1e-3)


def test_long_closure_stays_closed() -> None:
    """10 s open then 10 s closed at 25 fps: every closed frame reads closed (a 90th percentile
    over the last minute stays at the open level)."""
    lm = ScriptedLandmarker()
    analyzer = FaceAnalyzer(AnalysisConfig(), landmarker=lm, eyes=MeshEyes())
    closed = run(analyzer, lm, [0.30] * 250 + [0.06] * 250)
    assert not any(closed[:250])
    assert all(closed[250:])


def test_narrow_eyes_are_not_read_as_closed() -> None:
    lm = ScriptedLandmarker()
    analyzer = FaceAnalyzer(AnalysisConfig(), landmarker=lm, eyes=MeshEyes())
    closed = run(analyzer, lm, [0.17] * 200 + [0.04] * 5 + [0.17] * 20)
    assert not any(closed[20:200])
    assert all(closed[200:205])


def test_low_presence_score_is_not_analysed() -> None:
    lm = ScriptedLandmarker()
    lm.score = 0.2
    analyzer = FaceAnalyzer(AnalysisConfig(), landmarker=lm, eyes=MeshEyes())
    f = faces_at([[200, 200, 400, 440]]).replace(track_id=np.array([1]))
    frame = make_frame(0, np.zeros((600, 600, 3), np.uint8))
    out = analyzer.analyze(frame, f, records_for(f, frame))
    assert not out.attrs["analysed"][0]
    assert np.isnan(out.attrs["eye_openness"][0]).all()
    # the face still gets a pose, from the detector's keypoints, marked and less trusted
    assert out.attrs["pose_source"][0] == POSE_KEYPOINTS
    assert np.isfinite(out.attrs["head_pose"][0]).all()
    assert 0 < out.attrs["pose_confidence"][0] <= 0.45


def test_without_the_fallback_an_unread_face_has_no_pose() -> None:
    lm = ScriptedLandmarker()
    lm.score = 0.2
    analyzer = FaceAnalyzer(AnalysisConfig(pose_fallback=False), landmarker=lm, eyes=MeshEyes())
    f = faces_at([[200, 200, 400, 440]]).replace(track_id=np.array([1]))
    frame = make_frame(0, np.zeros((600, 600, 3), np.uint8))
    out = analyzer.analyze(frame, f, records_for(f, frame))
    assert out.attrs["pose_source"][0] == POSE_NONE
    assert np.isnan(out.attrs["head_pose"][0]).all()
    assert not out.attrs["looking"][0]


def test_a_read_face_has_the_mesh_pose() -> None:
    lm = ScriptedLandmarker()
    analyzer = FaceAnalyzer(AnalysisConfig(), landmarker=lm, eyes=MeshEyes())
    f = faces_at([[200, 200, 400, 440]]).replace(track_id=np.array([1]))
    frame = make_frame(0, np.zeros((600, 600, 3), np.uint8))
    out = analyzer.analyze(frame, f, records_for(f, frame))
    assert out.attrs["pose_source"][0] == POSE_MESH
    assert out.attrs["pose_confidence"][0] == lm.score


def test_the_open_eye_level_lives_in_the_tracks_record() -> None:
    """A narrow-eyed track learns its own level; a new track starts from its own first frames
    (at least 0.6 x the prior: a closed eye there reads closed), and the first track's level
    goes when its record goes (no second per-track dict)."""
    lm = ScriptedLandmarker()
    analyzer = FaceAnalyzer(AnalysisConfig(), landmarker=lm, eyes=MeshEyes())
    known: dict = {}
    assert not any(run(analyzer, lm, [0.17] * 200, track=1, known=known)[20:])
    assert run(analyzer, lm, [0.14], track=1, known=known) == [False]  # its own level
    assert run(analyzer, lm, [0.05], track=2, known=known) == [True]  # closed from the start
    from facetrack.analysis.analyzer import FaceState

    left, right = known[1].state_of(FaceState).eyes.open_levels(MeshEyes.open_prior)
    assert abs(left - 0.17) < 0.01 and abs(right - 0.17) < 0.01
