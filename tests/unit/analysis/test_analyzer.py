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


class _Counting(ScriptedLandmarker):
    """Counts the faces the landmarker was asked to read."""

    def __init__(self) -> None:
        super().__init__()
        self.read = 0

    def landmarks(self, image, keypoints, xyxy):
        self.read += len(xyxy)
        return super().landmarks(image, keypoints, xyxy)


def _rated(frames: list[int], tracks: list[int], rate: float = 10.0
           ) -> tuple[_Counting, list[dict[int, tuple[bool, int]]]]:
    """Each of ``frames`` (25 fps) with a face per track: (analysed, pose source) by track."""
    lm = _Counting()
    analyzer = FaceAnalyzer(AnalysisConfig(face_rate_hz=rate), landmarker=lm, eyes=MeshEyes())
    known: dict = {}
    out = []
    for i in frames:
        f = faces_at([[200 + 220 * k, 200, 400 + 220 * k, 440] for k in range(len(tracks))]
                     ).replace(track_id=np.array(tracks))
        frame = make_frame(i, np.zeros((600, 1200, 3), np.uint8))
        a = analyzer.analyze(frame, f, records_for(f, frame, known)).attrs
        out.append({t: (bool(a["analysed"][k]), int(a["pose_source"][k]))
                    for k, t in enumerate(tracks)})
    return lm, out


def test_a_face_rate_reads_each_face_that_often_on_average() -> None:
    """10 Hz at 25 fps: 20 reads in 2 s, 2 or 3 frames apart, the first frame read; between
    reads the face is not analysed and gets no keypoint pose (its mesh reading holds)."""
    lm, out = _rated(list(range(50)), [1])
    reads = [i for i, o in enumerate(out) if o[1][0]]
    assert lm.read == len(reads) == 20 and reads[0] == 0
    assert set(np.diff(reads).tolist()) == {2, 3}
    assert all(o[1] == (False, POSE_NONE) for i, o in enumerate(out) if i not in reads)
    assert all(out[i][1][1] == POSE_MESH for i in reads)


def test_a_face_rate_reads_a_new_or_returning_face_at_once() -> None:
    _, out = _rated([0, 1, 2], [1, 2])
    assert out[0] == {1: (True, POSE_MESH), 2: (True, POSE_MESH)}
    assert not out[1][1][0] and not out[1][2][0]
    # after a gap longer than the period the schedule starts again from that frame
    _, out = _rated([0, 1, 40, 41, 42, 43], [1])
    assert [o[1][0] for o in out] == [True, False, True, False, False, True]


def test_face_rate_zero_reads_every_frame() -> None:
    lm, out = _rated(list(range(10)), [1], rate=0.0)
    assert lm.read == 10 and all(o[1][0] for o in out)
