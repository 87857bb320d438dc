from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from facetrack.faces import Faces
from facetrack.geometry import (
    apply_affine,
    cxcywh_to_xyxy,
    invert_affine,
    iou_matrix,
    rotated_square_transform,
    xyxy_to_cxcywh,
)
from tests.builders import faces_at

coord = st.floats(-1000, 1000, allow_nan=False)
size = st.floats(1, 500, allow_nan=False)


@st.composite
def boxes(draw: st.DrawFn, n: int = 3) -> np.ndarray:
    out = []
    for _ in range(n):
        x, y, w, h = draw(coord), draw(coord), draw(size), draw(size)
        out.append([x, y, x + w, y + h])
    return np.array(out)


@given(boxes(), boxes(2))
def test_iou_is_symmetric_and_bounded(a: np.ndarray, b: np.ndarray) -> None:
    m = iou_matrix(a, b)
    assert m.shape == (3, 2)
    assert np.all((m >= 0) & (m <= 1 + 1e-9))
    np.testing.assert_allclose(m, iou_matrix(b, a).T)


@given(boxes())
def test_iou_with_itself_is_one(a: np.ndarray) -> None:
    np.testing.assert_allclose(np.diag(iou_matrix(a, a)), 1.0, atol=1e-6)


@given(boxes())
def test_box_format_roundtrip(a: np.ndarray) -> None:
    np.testing.assert_allclose(cxcywh_to_xyxy(xyxy_to_cxcywh(a)), a, atol=1e-6)


@given(coord, coord, size, st.floats(-3.1, 3.1), st.integers(32, 256))
def test_rotated_square_maps_centre_to_middle_and_inverts(
    cx: float, cy: float, side: float, angle: float, out: int
) -> None:
    m = rotated_square_transform((cx, cy), side, angle, out)
    np.testing.assert_allclose(apply_affine(m, [[cx, cy]]), [[out / 2, out / 2]], atol=1e-6)
    pts = np.array([[cx + 3, cy - 2], [cx - side / 3, cy]])
    np.testing.assert_allclose(apply_affine(invert_affine(m), apply_affine(m, pts)), pts,
                               atol=1e-5)


def test_iou_known_values() -> None:
    assert iou_matrix([[0, 0, 10, 10]], [[5, 0, 15, 10]])[0, 0] == pytest.approx(1 / 3)
    assert iou_matrix([[0, 0, 10, 10]], [[20, 20, 30, 30]])[0, 0] == 0
    assert iou_matrix(np.zeros((0, 4)), [[0, 0, 1, 1]]).shape == (0, 1)


def test_faces_validation_names_shapes() -> None:
    with pytest.raises(ValueError, match=r"Faces.score must have shape \(2,\), got \(3,\)"):
        Faces(np.zeros((2, 4), np.float32), np.zeros(3, np.float32),
              np.zeros((2, 5, 2), np.float32), np.zeros(2, np.int64))
    with pytest.raises(ValueError, match="unknown Faces attr 'eyes_shut'"):
        faces_at([[0, 0, 10, 10]]).with_attrs(eyes_shut=np.zeros(1, bool))


def test_faces_indexing_selects_every_field() -> None:
    f = faces_at([[0, 0, 10, 10], [5, 5, 20, 20], [1, 1, 2, 2]], [0.9, 0.5, 0.7])
    f = f.with_attrs(looking=np.array([True, False, True]))
    sub = f[f.score > 0.6]
    assert len(sub) == 2
    np.testing.assert_array_equal(sub.attrs["looking"], [True, True])
    np.testing.assert_array_equal(sub.xyxy[1], [1, 1, 2, 2])
    assert len(f[1]) == 1 and f[1].keypoints.shape == (1, 5, 2)
    assert len(Faces.empty()) == 0
    # the original is untouched
    assert len(f) == 3
