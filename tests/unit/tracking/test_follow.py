"""Following faces from their landmarks between detections (``tracking.detect_interval``):
the detector's terms kept, and every case where the detector must run after all."""

from __future__ import annotations

import numpy as np

from facetrack.config import TrackingConfig
from facetrack.faces import Faces
from facetrack.tracking import FaceTrackerCore
from facetrack.tracking.follow import Follow, followed, mesh_box, mesh_keypoints
from tests.builders import faces_at, make_frame

SIZE = (640, 480)


def mesh_in(box: list[float]) -> np.ndarray:
    """468 points spread over the inner part of ``box`` (a stand-in mesh)."""
    rng = np.random.default_rng(0)
    x0, y0, x1, y1 = box
    pts = np.zeros((468, 3), np.float32)
    pts[:, 0] = rng.uniform(x0 + 5, x1 - 5, 468)
    pts[:, 1] = rng.uniform(y0 + 8, y1 - 2, 468)
    return pts


def confirmed(box: list[float], frames: int = 3) -> FaceTrackerCore:
    tr = FaceTrackerCore(TrackingConfig(credence_count=3), appearance=None)
    for i in range(frames):
        tr.update(make_frame(i), faces_at([box]))
    return tr


def read_mesh(tr: FaceTrackerCore, box: list[float], frame: int, *, detected: bool) -> Follow:
    track = tr.tracks[0]
    assert track.history is not None
    follow = track.history.state_of(Follow)
    det = faces_at([box])
    follow.read(frame, mesh_in(box), det.xyxy[0] if detected else None,
                det.keypoints[0] if detected else None)
    return follow


def test_read_on_a_detected_frame_gives_back_the_detectors_box_and_keypoints() -> None:
    box = [100.0, 100.0, 160.0, 170.0]
    follow = Follow()
    det = faces_at([box])
    follow.read(4, mesh_in(box), det.xyxy[0], det.keypoints[0])
    assert follow.frame == 4
    np.testing.assert_allclose(follow.xyxy, det.xyxy[0], atol=1e-3)
    np.testing.assert_allclose(follow.keypoints, det.keypoints[0], atol=1e-3)


def test_a_moved_mesh_moves_the_box_in_the_detectors_terms() -> None:
    box = [100.0, 100.0, 160.0, 170.0]
    follow = Follow()
    det = faces_at([box])
    follow.read(4, mesh_in(box), det.xyxy[0], det.keypoints[0])
    moved = mesh_in(box)
    moved[:, 0] += 30
    follow.read(5, moved, None, None)
    assert follow.frame == 5
    np.testing.assert_allclose(follow.xyxy, det.xyxy[0] + [30, 0, 30, 0], atol=1e-3)


def test_never_measured_against_the_detector_means_not_followable() -> None:
    follow = Follow()
    follow.read(3, mesh_in([0, 0, 50, 50]), None, None)
    assert follow.frame == -1 and follow.xyxy is None


def test_mesh_keypoints_are_in_the_detectors_order() -> None:
    pts = np.zeros((468, 3), np.float32)
    pts[[33, 133], 0], pts[[362, 263], 0] = 10, 50  # eye on the image's left, then right
    pts[1, 0], pts[61, 0], pts[291, 0] = 30, 15, 45
    kps = mesh_keypoints(pts)
    assert kps[:, 0].tolist() == [10, 50, 30, 15, 45]
    assert mesh_box(pts)[[0, 2]].tolist() == [0, 50]


def test_a_face_read_on_the_frame_before_is_followed_with_its_track_id() -> None:
    box = [100.0, 100.0, 160.0, 170.0]
    tr = confirmed(box)
    read_mesh(tr, box, 2, detected=True)
    faces = followed(tr, 3, SIZE)
    assert faces is not None and faces.track_id.tolist() == [tr.tracks[0].track_id]
    out = tr.update(make_frame(3), faces, followed=True)
    assert out.track_id.tolist() == faces.track_id.tolist()
    assert len(tr.tracks) == 1 and tr.tracks[0].last_frame == 3


def test_a_face_without_landmarks_on_the_frame_before_needs_the_detector() -> None:
    box = [100.0, 100.0, 160.0, 170.0]
    tr = confirmed(box)
    read_mesh(tr, box, 1, detected=True)  # read one frame too early: stale
    assert followed(tr, 3, SIZE) is None


def test_a_face_awaiting_confirmation_needs_the_detector() -> None:
    box = [100.0, 100.0, 160.0, 170.0]
    tr = confirmed(box)
    read_mesh(tr, box, 2, detected=True)
    tr.update(make_frame(3), faces_at([[100, 100, 160, 170], [400, 100, 460, 170]]))
    read_mesh(tr, box, 3, detected=True)
    assert any(not t.confirmed for t in tr.tracks)
    assert followed(tr, 4, SIZE) is None


def test_touching_faces_need_the_detector() -> None:
    a, b = [100.0, 100.0, 160.0, 170.0], [130.0, 100.0, 190.0, 170.0]  # IoU 0.33
    tr = FaceTrackerCore(TrackingConfig(credence_count=1), appearance=None)
    tr.update(make_frame(0), faces_at([a, b]))
    for track, box in zip(tr.tracks, (a, b), strict=True):
        assert track.history is not None
        det = faces_at([box])
        track.history.state_of(Follow).read(0, mesh_in(box), det.xyxy[0], det.keypoints[0])
    assert followed(tr, 1, SIZE) is None


def test_followed_boxes_are_clipped_to_the_frame() -> None:
    box = [600.0, 100.0, 640.0, 170.0]
    tr = confirmed(box)
    follow = read_mesh(tr, box, 2, detected=True)
    assert follow.xyxy is not None
    follow.xyxy = follow.xyxy + np.array([30, 0, 30, 0], np.float32)  # walked off the edge
    faces = followed(tr, 3, SIZE)
    assert faces is not None and float(faces.xyxy[0, 2]) == 640.0


def test_no_face_seen_on_the_frame_before_is_an_empty_follow() -> None:
    tr = FaceTrackerCore(TrackingConfig(), appearance=None)
    tr.update(make_frame(0), Faces.empty())
    faces = followed(tr, 1, SIZE)
    assert faces is not None and len(faces) == 0
