"""Audience analytics settings: ``analytics:`` in a tracker config (``facetrack track
--analytics``, a camera's ``tracker:``), and the layout file ``--targets FILE`` (targets, zones,
lines). Definitions of every figure: docs/audience.md."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from facetrack.config.base import Strict
from facetrack.zones import Polygon


class RectTarget(Strict):
    """A rectangle in the camera's plane (a screen with the camera on it), in metres."""

    x_m: float = Field(0.0, description="Centre's offset from the lens, to the image's right.")
    y_m: float = Field(0.0, description="Centre's offset from the lens, upwards.")
    width_m: float = Field(..., gt=0.0, le=100.0, description="Width in metres.")
    height_m: float = Field(..., gt=0.0, le=100.0, description="Height in metres.")


class TargetConfig(Strict):
    """Something people may look at: the camera itself, a rectangle around the lens, or a
    region of the picture at an assumed depth (a shelf, a sign)."""

    name: str = Field(..., min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$",
                      description="Names the target in audience.csv and tracks.csv.")
    kind: Literal["camera", "rect", "polygon"] = Field(
        ..., description="`camera`: looking at the lens (the `analysis.looking_cone_deg` "
        "cone); `rect`: a rectangle in the camera's plane; `polygon`: a region of the image at "
        "`depth_m` from the camera.")
    rect: RectTarget | None = Field(None, description="For `kind: rect`.")
    polygon: Polygon | None = Field(None, description="For `kind: polygon`: image pixels.")
    depth_m: float | None = Field(
        None, gt=0.0, le=1000.0,
        description="For `kind: polygon`: the region's distance from the camera, metres.")

    @model_validator(mode="after")
    def _shape_given(self) -> TargetConfig:
        need = {"camera": (), "rect": ("rect",), "polygon": ("polygon", "depth_m")}[self.kind]
        for key in need:
            if getattr(self, key) is None:
                raise ValueError(f"target {self.name!r} (kind {self.kind}) needs `{key}`")
        for key in {"rect", "polygon", "depth_m"} - set(need):
            if getattr(self, key) is not None:
                raise ValueError(f"target {self.name!r}: `{key}` is not used by kind "
                                 f"{self.kind}")
        if self.polygon is not None and _area(self.polygon) < 1.0:
            raise ValueError(f"target {self.name!r}: its polygon has no area (points in a line "
                             "or repeated)")
        return self


class LineConfig(Strict):
    """A line people cross: from ``a`` to ``b`` in image pixels. Crossing it from the left of
    a->b to its right (as drawn in the image, y down) is `in`, the other way `out`."""

    a: tuple[float, float]
    b: tuple[float, float]

    @model_validator(mode="after")
    def _not_a_point(self) -> LineConfig:
        if (self.a[0] - self.b[0]) ** 2 + (self.a[1] - self.b[1]) ** 2 < 1.0:
            raise ValueError("a line needs two distinct points a and b")
        return self


class CameraModel(Strict):
    hfov_deg: float = Field(
        60.0, gt=10.0, lt=170.0,
        description="The camera's horizontal field of view (a pinhole; 60 deg suits most "
        "webcams). Sets where faces are in metres from their position in the image.")
    face_height_m: float = Field(
        0.18, gt=0.05, le=0.5,
        description="Assumed real height of a face's detector box: YuNet's box is 2.9 eye "
        "distances tall on frontal AFLW2000 faces and adults' eyes are about 63 mm apart. A "
        "face's distance is this over its box height, times the focal length in pixels.")


class AnalyticsConfig(Strict):
    enabled: bool = Field(
        False, description="Compute audience windows, attention to targets, zones, expression "
        "proxies (`facetrack track --analytics`).")
    window_s: float = Field(
        60.0, gt=0.0, le=86_400.0,
        description="Length of one audience window (one row of audience.csv per window, zone "
        "and target).")
    min_glance_s: float = Field(
        0.3, gt=0.0, le=60.0,
        description="A look at a target shorter than this is not attention and not a glance.")
    watcher_min_s: float = Field(
        0.3, gt=0.0, le=3600.0,
        description="A track is a `watcher` of a target once its attention to it reaches this.")
    hysteresis: float = Field(
        0.1, ge=0.0, le=1.0,
        description="A look, once started, lasts while the ray hits the target grown by this "
        "share of its size on each side (for `camera`: the cone grown by this share).")
    gaze: bool = Field(
        False, description="Also turn the head-pose ray by the irises' direction where the "
        "eyes are at least 20 px wide (not measured yet: no gaze ground truth in the shared "
        "data).")
    camera: CameraModel = Field(default_factory=CameraModel)
    targets: list[TargetConfig] = Field(
        default_factory=lambda: [TargetConfig(name="camera", kind="camera")],
        description="What attention is measured to; by default the camera itself.")
    zones: dict[str, Polygon] = Field(
        default_factory=dict,
        description="Named regions of the image (box centre inside): occupancy, entries, exits "
        "and dwell per zone, a row of audience.csv each.")
    lines: dict[str, LineConfig] = Field(
        default_factory=dict, description="Named lines; crossings counted with direction.")
    smile_threshold: float = Field(
        0.5, gt=0.0, lt=1.0,
        description="The smile proxy (0 = the track's own neutral mouth, 1 = its widest) above "
        "which a face smiles.")
    heatmap_cell_px: int = Field(
        16, ge=2, le=512, description="Cell size of the occupancy heatmap, image pixels.")

    @field_validator("targets")
    @classmethod
    def _unique_targets(cls, targets: list[TargetConfig]) -> list[TargetConfig]:
        if not targets:
            raise ValueError("give at least one target (the default is the camera)")
        names = [t.name for t in targets]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"target names must be unique; repeated: {', '.join(repeated)}")
        return targets

    @model_validator(mode="after")
    def _zones_have_area(self) -> AnalyticsConfig:
        if "all" in self.zones:
            raise ValueError("`all` names the whole view in audience.csv: give the zone "
                             "another name")
        for name, points in self.zones.items():
            if _area(points) < 1.0:
                raise ValueError(f"zone {name!r} has no area (points in a line or repeated)")
        return self


class AudienceLayout(Strict):
    """The ``--targets FILE``: targets, zones and lines of one camera's view."""

    targets: list[TargetConfig] | None = None
    zones: dict[str, Polygon] | None = None
    lines: dict[str, LineConfig] | None = None


def _area(points: list[tuple[float, float]]) -> float:
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    n = len(points)
    return abs(sum(xs[i] * ys[(i + 1) % n] - xs[(i + 1) % n] * ys[i] for i in range(n))) / 2
