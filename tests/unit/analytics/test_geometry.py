"""The one geometric attention test: a face's ray, the camera cone, a rectangle in the camera's
plane and an image polygon at a depth, checked against hand-worked geometry."""

from __future__ import annotations

import numpy as np
import pytest

from facetrack.analytics.geometry import Target, View, forward_ray, gaze_refined
from facetrack.config.analytics import CameraModel, RectTarget, TargetConfig
from facetrack.errors import ConfigError

VIEW = View(1280, 720, CameraModel(hfov_deg=60.0, face_height_m=0.18))


def face_box(u: float, v: float, height_px: float) -> np.ndarray:
    return np.array([u - height_px / 2, v - height_px / 2, u + height_px / 2, v + height_px / 2])


def test_distance_from_the_box_height() -> None:
    f = 640 / np.tan(np.radians(30))
    pos = VIEW.position(face_box(640, 360, 100))
    assert pos[2] == pytest.approx(-f * 0.18 / 100)
    assert pos[0] == pytest.approx(0) and pos[1] == pytest.approx(0)
    right_up = VIEW.position(face_box(940, 160, 100))  # right of centre and up in the image
    assert right_up[0] > 0 and right_up[1] > 0
    assert VIEW.to_image(right_up) == pytest.approx((940, 160))


def test_a_frontal_face_points_at_the_lens_wherever_it_is() -> None:
    for u, v in ((640, 360), (100, 600), (1200, 50)):
        pos = VIEW.position(face_box(u, v, 80))
        ray = forward_ray(pos, 0.0, 0.0)
        np.testing.assert_allclose(ray, -pos / np.linalg.norm(pos), atol=1e-9)


def test_yaw_to_the_image_left_turns_the_ray_to_the_left() -> None:
    pos = VIEW.position(face_box(640, 360, 80))
    ray = forward_ray(pos, 30.0, 0.0)
    assert ray[0] < 0 and ray[2] > 0  # to the image's left, still towards the camera plane
    assert np.degrees(np.arccos(ray[2])) == pytest.approx(30.0)
    assert forward_ray(pos, 0.0, 20.0)[1] > 0  # chin up: the ray rises


def camera() -> Target:
    return Target(TargetConfig(name="camera", kind="camera"), cone_deg=25.0)


def test_the_camera_target_is_the_looking_cone_with_hysteresis() -> None:
    pos = VIEW.position(face_box(300, 200, 80))
    assert camera().hit(VIEW, pos, forward_ray(pos, 24.0, 0.0), 0.0)[0]
    assert not camera().hit(VIEW, pos, forward_ray(pos, 26.0, 0.0), 0.0)[0]
    assert camera().hit(VIEW, pos, forward_ray(pos, 26.0, 0.0), 0.1)[0]  # 25 x 1.1 = 27.5
    assert not camera().hit(VIEW, pos, forward_ray(pos, 28.0, 0.0), 0.1)[0]


def test_a_screen_below_the_camera() -> None:
    """A face 2 m straight ahead looking 10 deg down lands 2 tan(10) = 0.35 m below the lens."""
    screen = Target(TargetConfig(name="s", kind="rect", rect=RectTarget(
        x_m=0.0, y_m=-0.35, width_m=0.8, height_m=0.2)), cone_deg=25.0)
    f = VIEW.focal_px
    pos = VIEW.position(face_box(640, 360, f * 0.18 / 2.0))
    assert pos[2] == pytest.approx(-2.0)
    hit, point = screen.hit(VIEW, pos, forward_ray(pos, 0.0, -10.0), 0.0)
    assert hit and point is not None
    assert point[1] == pytest.approx(-2.0 * np.tan(np.radians(10.0)), abs=1e-6)
    assert not screen.hit(VIEW, pos, forward_ray(pos, 0.0, 5.0), 0.0)[0]  # above it
    assert not screen.hit(VIEW, pos, forward_ray(pos, 0.0, 120.0), 0.0)[0]  # away: no crossing


def test_a_shelf_behind_the_audience_is_hit_only_by_faces_turned_away() -> None:
    shelf = Target(TargetConfig(name="shelf", kind="polygon", depth_m=6.0,
                                polygon=[(100, 100), (500, 100), (500, 400), (100, 400)]), 25.0)
    pos = VIEW.position(face_box(900, 360, VIEW.focal_px * 0.18 / 2.0))  # 2 m away
    assert not shelf.hit(VIEW, pos, forward_ray(pos, 0.0, 0.0), 0.0)[0]
    # turned away from the camera, to the image's left: the shelf is at about yaw 137 (150 from
    # the camera's axis, less the 13.5 deg at which this face sees the lens)
    hits = {y: shelf.hit(VIEW, pos, forward_ray(pos, y, 0.0), 0.0) for y in range(90, 181, 5)}
    assert [y for y, (hit, _) in hits.items() if hit] and not hits[180][0]
    hit, (u, v) = hits[135]
    assert hit and 100 <= u <= 500 and v == pytest.approx(360, abs=1)


def test_a_polygon_outside_the_image_is_refused() -> None:
    t = Target(TargetConfig(name="x", kind="polygon", depth_m=3.0,
                            polygon=[(0, 0), (2000, 0), (2000, 100)]), 25.0)
    with pytest.raises(ConfigError, match="outside the 1280x720 image"):
        t.check_inside(VIEW)


@pytest.mark.parametrize("bad, message", [
    ({"name": "a", "kind": "rect"}, "needs `rect`"),
    ({"name": "a", "kind": "polygon", "polygon": [[0, 0], [1, 1], [2, 2]], "depth_m": 2},
     "no area"),
    ({"name": "a", "kind": "camera", "depth_m": 2}, "not used"),
    ({"name": "a b", "kind": "camera"}, "pattern"),
])
def test_bad_targets_are_refused(bad: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TargetConfig.model_validate(bad)


def test_gaze_turns_the_ray_where_the_irises_point() -> None:
    assert gaze_refined(10.0, 5.0, None) == (10.0, 5.0)
    yaw, pitch = gaze_refined(0.0, 0.0, (0.1, 0.0))  # irises to the image's right
    assert yaw < 0 and pitch == 0.0
    assert gaze_refined(0.0, 0.0, (float("nan"), 0.0)) == (0.0, 0.0)
