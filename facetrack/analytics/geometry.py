"""Where a face is and whether its ray hits a target: the one geometric test of attention.

Frame: the camera at the origin, X to the image's right, Y up, Z from the scene towards the
camera (the head-pose frame of ``facetrack.analysis.headpose``), so a face ``d`` metres in front
of the lens is at ``Z = -d``. The camera is a pinhole with its principal point at the image
centre and a focal length from ``analytics.camera.hfov_deg``; a face's distance is
``face_height_m`` over its box height, times that focal length (docs/audience.md says where the
assumption comes from).

Head-pose angles are read off the face's appearance, so they are relative to the line from the
face to the camera (a face off to the side that faces the lens reads yaw 0): the face's forward
ray is the pose's forward axis turned from that line of sight. Targets:

- ``camera``: the angle between the ray and the line of sight is within the looking cone;
- ``rect``: the ray crosses the camera's plane (Z = 0) inside the rectangle;
- ``polygon``: the ray crosses the plane at the target's depth at a point that projects into the
  polygon.

A look already under way continues while the ray hits the target grown by ``hysteresis`` of its
size on each side (the cone grown by that share), so a pose that jitters at the edge does not
split one look into many.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np
import numpy.typing as npt

from facetrack.config.analytics import CameraModel, TargetConfig
from facetrack.errors import ConfigError

Vec = npt.NDArray[np.float64]


@dataclass(frozen=True)
class View:
    """One camera's pinhole for a ``width`` x ``height`` image."""

    width: int
    height: int
    model: CameraModel

    @property
    def focal_px(self) -> float:
        return (self.width / 2) / float(np.tan(np.radians(self.model.hfov_deg) / 2))

    def position(self, xyxy: npt.ArrayLike) -> Vec:
        """A face's position in metres from its box (its centre, its height)."""
        x1, y1, x2, y2 = (float(v) for v in np.asarray(xyxy, np.float64).reshape(4))
        depth = self.focal_px * self.model.face_height_m / max(y2 - y1, 1.0)
        u, v = (x1 + x2) / 2 - self.width / 2, (y1 + y2) / 2 - self.height / 2
        return np.array([u * depth / self.focal_px, -v * depth / self.focal_px, -depth])

    def to_image(self, point: Vec) -> tuple[float, float]:
        """Where a point in front of the camera (Z < 0) appears in the image."""
        depth = -float(point[2])
        return (self.width / 2 + self.focal_px * float(point[0]) / depth,
                self.height / 2 - self.focal_px * float(point[1]) / depth)


def forward_ray(position: Vec, yaw: float, pitch: float) -> Vec:
    """The unit direction a face at ``position`` points, from its yaw and pitch (roll does not
    move the forward axis), turned from its line of sight to the camera's frame.

    The forward axis is ``rotation_matrix(yaw, pitch, 0) @ (0, 0, 1)`` =
    ``(-sin yaw, sin pitch cos yaw, cos pitch cos yaw)`` in a frame whose Z is the line of
    sight; the smallest rotation taking Z to the line of sight (Rodrigues) carries it over.
    Plain floats: this runs for every face of every frame."""
    y, p = math.radians(yaw), math.radians(pitch)
    lx, ly, lz = -math.sin(y), math.sin(p) * math.cos(y), math.cos(p) * math.cos(y)
    px, py, pz = (float(v) for v in position)
    norm = math.sqrt(px * px + py * py + pz * pz) or 1e-9
    sx, sy, sz = -px / norm, -py / norm, -pz / norm  # the line of sight, face to camera
    if sz < -1 + 1e-9:  # the camera straight behind the face: a half-turn about X
        return np.array([lx, -ly, -lz])
    vx, vy = -sy, sx  # Z x sight (its z part is 0)
    # R l = l + v x l + v x (v x l) / (1 + c), with v = (vx, vy, 0) and c = sz
    cx, cy, cz = vy * lz, -vx * lz, vx * ly - vy * lx
    ddx, ddy, ddz = vy * cz, -vx * cz, vx * cy - vy * cx
    k = 1.0 / (1.0 + sz)
    return np.array([lx + cx + ddx * k, ly + cy + ddy * k, lz + cz + ddz * k])


@dataclass(frozen=True)
class Target:
    """A configured target, ready to test rays against."""

    config: TargetConfig
    cone_deg: float
    _contour: npt.NDArray[np.float32] | None = field(default=None, repr=False, compare=False)

    @property
    def name(self) -> str:
        return self.config.name

    def check_inside(self, view: View) -> None:
        """A polygon target must lie in the picture: ConfigError naming the first point out."""
        for x, y in self.config.polygon or ():
            if not (0 <= x <= view.width and 0 <= y <= view.height):
                raise ConfigError(f"analytics target {self.name!r}: point [{x:g}, {y:g}] is "
                                  f"outside the {view.width}x{view.height} image")

    def hit(self, view: View, position: Vec, ray: Vec, grow: float
            ) -> tuple[bool, tuple[float, float] | None]:
        """Whether ``ray`` from ``position`` hits the target grown by ``grow`` of its size on
        each side, and where it crosses the target's plane (metres for ``camera`` and ``rect``,
        image pixels for ``polygon``; None when it points away from the plane)."""
        cfg = self.config
        if cfg.kind == "polygon":
            return self._hit_polygon(view, position, ray, grow)
        crossing = _cross_plane(position, ray, 0.0)
        point = None if crossing is None else (float(crossing[0]), float(crossing[1]))
        if cfg.kind == "camera":
            sight = -position / max(float(np.linalg.norm(position)), 1e-9)
            angle = float(np.degrees(np.arccos(np.clip(np.dot(ray, sight), -1.0, 1.0))))
            return angle <= self.cone_deg * (1 + grow), point
        rect = cfg.rect
        assert rect is not None
        if point is None:
            return False, None
        half_w, half_h = rect.width_m * (0.5 + grow), rect.height_m * (0.5 + grow)
        inside = abs(point[0] - rect.x_m) <= half_w and abs(point[1] - rect.y_m) <= half_h
        return inside, point

    def _hit_polygon(self, view: View, position: Vec, ray: Vec, grow: float
                     ) -> tuple[bool, tuple[float, float] | None]:
        assert self.config.polygon is not None and self.config.depth_m is not None
        crossing = _cross_plane(position, ray, -self.config.depth_m)
        if crossing is None:
            return False, None
        u, v = view.to_image(crossing)
        pts = np.asarray(self.config.polygon, np.float64)
        centre = pts.mean(axis=0)
        grown = (centre + (pts - centre) * (1 + 2 * grow)).astype(np.float32).reshape(-1, 1, 2)
        return cv2.pointPolygonTest(grown, (u, v), False) >= 0, (u, v)


def _cross_plane(position: Vec, ray: Vec, z: float) -> Vec | None:
    """Where the ray from ``position`` crosses the plane ``Z = z`` going forward; None if it
    runs parallel to it or away from it."""
    if abs(float(ray[2])) < 1e-9:
        return None
    t = (z - float(position[2])) / float(ray[2])
    return None if t <= 0 else np.asarray(position + t * ray, np.float64)


#: an iris offset of one eye width turns the eye by asin(EYE_GAIN x offset): an eye is about
#: 30 mm wide and its ball 12 mm in radius
EYE_GAIN = 2.5


def gaze_refined(yaw: float, pitch: float, gaze: tuple[float, float] | None
                 ) -> tuple[float, float]:
    """Yaw and pitch turned by the irises' offset (eye widths, +x image right, +y down)."""
    if gaze is None or not np.isfinite(gaze).all():
        return yaw, pitch
    gx, gy = (float(np.clip(EYE_GAIN * g, -1.0, 1.0)) for g in gaze)
    return yaw - float(np.degrees(np.arcsin(gx))), pitch - float(np.degrees(np.arcsin(gy)))
