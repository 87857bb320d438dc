"""The 5-keypoint head pose: the canonical face's own points, turned through known angles and
projected, give those angles back; degenerate input gives NaN, never an exception."""

from __future__ import annotations

import numpy as np
import pytest

from facetrack.analysis.headpose import CANONICAL_FACE, rotation_matrix
from facetrack.analysis.keypoint_pose import (
    MAX_KEYPOINT_CONFIDENCE,
    keypoint_confidence,
    keypoint_pose,
)

#: YuNet's order: the image-left eye (subject's right), image-right eye, nose, mouth corners
_POINTS = np.stack([(CANONICAL_FACE[33] + CANONICAL_FACE[133]) / 2,
                    (CANONICAL_FACE[362] + CANONICAL_FACE[263]) / 2,
                    CANONICAL_FACE[1], CANONICAL_FACE[61], CANONICAL_FACE[291]])


def project(yaw: float, pitch: float, roll: float, scale: float = 10.0) -> np.ndarray:
    """Weak perspective: rotate (X right, Y up, Z to the camera), drop Z, flip Y to pixels."""
    rotated = _POINTS @ rotation_matrix(yaw, pitch, roll).T
    return np.stack([300 + scale * rotated[:, 0], 300 - scale * rotated[:, 1]], axis=1)


@pytest.mark.parametrize("yaw, pitch, roll", [
    (0, 0, 0), (20, 0, 0), (-35, 0, 0), (0, 15, 0), (0, -20, 0), (0, 0, 25), (0, 0, -30),
    (25, -10, 10), (-15, 12, -8)])
def test_the_canonical_face_turned_gives_its_angles_back(yaw: float, pitch: float,
                                                         roll: float) -> None:
    got = keypoint_pose(project(yaw, pitch, roll)[None])[0]
    # each angle alone comes back within 4 deg; together they couple (yaw and pitch tilt the
    # projected eye line, read as roll), within 6
    single = sum(a != 0 for a in (yaw, pitch, roll)) <= 1
    np.testing.assert_allclose(got, [yaw, pitch, roll], atol=4.0 if single else 6.0)


def test_signs_follow_the_mesh_convention() -> None:
    """Turned to the image's left = yaw > 0, chin up = pitch > 0, clockwise = roll > 0."""
    assert keypoint_pose(project(40, 0, 0)[None])[0, 0] > 30
    assert keypoint_pose(project(0, 25, 0)[None])[0, 1] > 15
    assert keypoint_pose(project(0, 0, 20)[None])[0, 2] > 15


def test_a_profile_with_both_eyes_on_one_spot_reads_as_turned_away() -> None:
    pts = project(85, 0, 0)
    pts[0] = pts[1]  # YuNet puts the hidden far eye on the near one
    yaw, _, roll = keypoint_pose(pts[None])[0]
    assert yaw > 60 and abs(roll) < 15
    mirrored = pts.copy()
    mirrored[:, 0] = 600 - mirrored[:, 0]
    mirrored[[0, 1]], mirrored[[3, 4]] = mirrored[[1, 0]], mirrored[[4, 3]]
    assert keypoint_pose(mirrored[None])[0, 0] < -60


def test_bad_rows_are_nan_and_shapes_are_checked() -> None:
    pts = np.stack([project(0, 0, 0), np.full((5, 2), np.nan), np.zeros((5, 2))])
    got = keypoint_pose(pts)
    assert np.isfinite(got[0]).all() and np.isnan(got[1:]).all()
    assert keypoint_pose(np.zeros((0, 5, 2))).shape == (0, 3)
    with pytest.raises(ValueError, match="shape"):
        keypoint_pose(np.zeros((2, 4, 2)))


def test_confidence_grows_with_size_and_score_and_stays_under_the_mesh() -> None:
    c = keypoint_confidence([12, 48, 200], [0.9, 0.9, 1.0])
    assert c[0] < c[1] <= c[2] == pytest.approx(MAX_KEYPOINT_CONFIDENCE)
