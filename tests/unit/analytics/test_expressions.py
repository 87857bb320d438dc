"""Expression proxies on the canonical face: a widened mouth reads as a smile on the track's own
scale, a narrow-mouthed track is not smiling at its own neutral."""

from __future__ import annotations

import numpy as np
import pytest

from facetrack.analysis.headpose import CANONICAL_FACE
from facetrack.analytics.expressions import MIN_READINGS, MOUTH, ExpressionScale, raw_expressions


def face(mouth_scale: float = 1.0) -> np.ndarray:
    pts = CANONICAL_FACE[:, :2] * np.array([10.0, -10.0]) + 300  # pixels, y down
    centre = (pts[MOUTH[0]] + pts[MOUTH[1]]) / 2
    for i in MOUTH:
        pts[i] = centre + (pts[i] - centre) * mouth_scale
    return pts[None]


def test_raw_ratios_do_not_depend_on_the_face_size() -> None:
    small, big = raw_expressions(face()), raw_expressions(face() * 3)
    np.testing.assert_allclose(small, big)


def test_a_widened_mouth_is_a_smile_on_the_tracks_own_scale() -> None:
    scale = ExpressionScale()
    for _ in range(40):
        neutral = scale.read(raw_expressions(face())[0])
    assert scale.settled and neutral == pytest.approx((0.0, 0.0, 0.0))
    smile, brow, jaw = scale.read(raw_expressions(face(1.2))[0])  # 20% wider: a broad smile
    assert smile == 1.0 and brow == 0.0 and jaw == 0.0
    assert scale.read(raw_expressions(face(1.06))[0])[0] == pytest.approx(0.4, abs=0.02)


def test_not_settled_before_its_own_neutral() -> None:
    scale = ExpressionScale()
    for _ in range(MIN_READINGS - 1):
        scale.read(raw_expressions(face())[0])
    assert not scale.settled
