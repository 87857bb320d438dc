"""``AudienceStage``: follows each tracked face's attention, zones, line crossings and
expression proxies, and puts them in the track's snapshot (``TrackSnapshot.audience``).

It runs after the analyser (it reads ``head_pose``, ``pose_source``, ``gaze`` and the mesh
points) on the same thread; its per-track state lives in the track's record. Windows, files and
heatmaps are built from the snapshots by ``facetrack.analytics.windows`` and the sinks.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt

from facetrack.analytics.expressions import (
    MAX_YAW_DEG,
    MIN_FACE_PX,
    MIN_SMILE_S,
    ExpressionScale,
    raw_expressions,
)
from facetrack.analytics.geometry import Target, View, forward_ray, gaze_refined
from facetrack.analytics.runs import Runs
from facetrack.config.analytics import AnalyticsConfig, LineConfig
from facetrack.errors import ConfigError
from facetrack.faces import POSE_MESH
from facetrack.frames import SourceInfo
from facetrack.results import FrameResult
from facetrack.tracking.history import export_state
from facetrack.tracks import TargetLooks, TrackAudience
from facetrack.zones import Zone, zones_of

log = logging.getLogger(__name__)

#: presence and zone visits are not broken by the face going unseen for a while (the track
#: still stands for the person): only seeing the face elsewhere, or the track's end, ends them
NEVER = math.inf


class AudienceState:
    """One track's runs: presence, looks per target, zone visits, smiles; line crossings."""

    def __init__(self) -> None:
        self.ready = False
        self.present = Runs(0.0, NEVER)
        self.looks: dict[str, Runs] = {}
        self.hits: dict[str, tuple[bool, tuple[float, float] | None]] = {}
        self.zones: dict[str, Runs] = {}
        self.smiling = Runs(0.0, 0.0)
        self.scale = ExpressionScale()
        self.expressions: tuple[float, float, float] | None = None
        self.centre: npt.NDArray[np.float64] | None = None
        self.crossings: list[tuple[float, str, str]] = []

    def setup(self, period: float, max_gap_s: float, min_glance_s: float,
              targets: Sequence[str], zones: Sequence[str]) -> None:
        self.ready = True
        self.present = Runs(period, NEVER)
        self.looks = {t: Runs(period, max_gap_s, min_glance_s) for t in targets}
        self.zones = {z: Runs(period, NEVER) for z in zones}
        self.smiling = Runs(period, max_gap_s, MIN_SMILE_S)

    def finish(self) -> None:
        for runs in (self.present, self.smiling, *self.looks.values(), *self.zones.values()):
            runs.close()

    def export(self) -> TrackAudience:
        return TrackAudience(
            present=self.present.intervals(),
            targets={name: TargetLooks(runs.intervals(), *self.hits.get(name, (False, None)),
                                       open=runs.open)
                     for name, runs in self.looks.items()},
            zones={name: runs.intervals() for name, runs in self.zones.items()},
            inside=tuple(name for name, runs in self.zones.items() if runs.start is not None),
            crossings=tuple(self.crossings), smiling=self.smiling.intervals(),
            expressions=self.expressions)


class AudienceStage:
    def __init__(self, config: AnalyticsConfig, looking_cone_deg: float, info: SourceInfo,
                 period_s: float, max_gap_s: float) -> None:
        self.config = config
        self.targets = [Target(t, looking_cone_deg) for t in config.targets]
        self.zones: tuple[Zone, ...] = zones_of(config.zones)
        # a live source tells its size with its first frame
        self.view = self._view(info.width, info.height) if info.width and info.height else None
        self._unfit: tuple[int, int] | None = None
        self.lines: Mapping[str, LineConfig] = config.lines
        self.period_s, self.max_gap_s = period_s, max_gap_s

    def _view(self, width: int, height: int) -> View:
        """The camera for this picture size; every target and zone must lie in it."""
        view = View(width, height, self.config.camera)
        for target in self.targets:
            target.check_inside(view)
        for zone in self.zones:
            _check_zone(zone, view)
        return view

    def _resize(self, width: int, height: int) -> bool:
        """A live camera's picture size (its first frame, or a reconnection at another size).
        A layout that does not fit it turns analytics off for the session with one logged
        error, instead of failing every frame (and with it the camera's events and clips)."""
        if self._unfit == (width, height):
            return False
        try:
            self.view = self._view(width, height)
        except ConfigError as exc:
            self._unfit = (width, height)
            log.error("%s; audience analytics are off until the picture fits", exc)
            return False
        self._unfit = None
        return True

    def process(self, result: FrameResult) -> FrameResult:
        faces, records, t = result.faces, result.records, result.frame.timestamp
        h, w = result.frame.image.shape[:2]
        resized = self.view is None or (self.view.width, self.view.height) != (w, h)
        if resized and not self._resize(w, h):
            return result  # this session's pictures do not fit the layout: no analytics
        attrs = faces.attrs
        inside = {z.name: z.contains_boxes(faces.xyxy) for z in self.zones}
        raw = raw_expressions(faces.landmarks) if faces.landmarks is not None else None
        expressions = np.full((len(faces), 3), np.nan, np.float32)
        for i, tid in enumerate(faces.track_id.tolist()):
            record = records.get(tid)
            if record is None:
                continue
            st = record.state_of(AudienceState)
            if not st.ready:
                st.setup(self.period_s, self.max_gap_s, self.config.min_glance_s,
                         [x.name for x in self.targets], [z.name for z in self.zones])
            st.present.step(True, t)
            for name, runs in st.zones.items():
                runs.step(bool(inside[name][i]), t)
            self._cross(st, faces.xyxy[i], t)
            self._attend(st, faces.xyxy[i], attrs, i, t)
            big = faces.xyxy[i, 3] - faces.xyxy[i, 1] >= MIN_FACE_PX
            self._express(st, attrs, None if raw is None or not big else raw[i], i, t)
            if st.expressions is not None and st.scale.settled:
                expressions[i] = st.expressions
        return result.replace(faces=faces.with_attrs(expressions=expressions),
                              tracks=tuple(export_state(s, records, AudienceState, "audience")
                                           for s in result.tracks))

    def _attend(self, st: AudienceState, box: npt.NDArray[np.float32],
                attrs: Mapping[str, npt.NDArray[np.generic]], i: int, t: float) -> None:
        source = attrs.get("pose_source")
        if source is None or not source[i]:
            for runs in st.looks.values():
                runs.step(None, t)  # no pose: neither looking nor not
            st.hits = {}
            return
        yaw, pitch = (float(v) for v in attrs["head_pose"][i][:2])
        if self.config.gaze and "gaze" in attrs:
            gaze = attrs["gaze"][i]
            yaw, pitch = gaze_refined(yaw, pitch, (float(gaze[0]), float(gaze[1])))
        view = self.view
        assert view is not None
        position = view.position(box)
        ray = forward_ray(position, yaw, pitch)
        hits = {}
        for target in self.targets:
            runs = st.looks[target.name]
            # grown only for a look still under way (not one a long gap is about to end)
            under_way = runs.last is not None and t - runs.last <= runs.max_gap_s
            grow = self.config.hysteresis if under_way else 0.0
            hit, point = target.hit(view, position, ray, grow)
            runs.step(hit, t)
            hits[target.name] = (hit, point)
        st.hits = hits

    def _express(self, st: AudienceState, attrs: Mapping[str, npt.NDArray[np.generic]],
                 raw: npt.NDArray[np.float64] | None, i: int, t: float) -> None:
        mesh = raw is not None and "pose_source" in attrs and attrs["pose_source"][i] == POSE_MESH
        if not mesh or abs(float(attrs["head_pose"][i][0])) > MAX_YAW_DEG:
            st.expressions = None
            st.smiling.step(None, t)
            return
        assert raw is not None
        st.expressions = st.scale.read(raw)
        st.smiling.step(st.expressions[0] >= self.config.smile_threshold if st.scale.settled
                        else None, t)

    def _cross(self, st: AudienceState, box: npt.NDArray[np.float32], t: float) -> None:
        centre = np.array([(box[0] + box[2]) / 2, (box[1] + box[3]) / 2], np.float64)
        previous, st.centre = st.centre, centre
        if previous is None:
            return
        for name, line in self.lines.items():
            direction = crossing(line, previous, centre)
            if direction is not None:
                st.crossings.append((t, name, direction))

    def reset(self) -> None:
        """Nothing to forget: the state is in each track's record."""

    def close(self) -> None:
        """Nothing held."""


def crossing(line: LineConfig, p: npt.NDArray[np.float64], q: npt.NDArray[np.float64]
             ) -> str | None:
    """``in`` when the move p -> q crosses the segment a -> b from its left to its right (as
    drawn in the image, y down), ``out`` the other way, None when it does not cross it."""
    a, b = np.asarray(line.a, np.float64), np.asarray(line.b, np.float64)

    def side(x: npt.NDArray[np.float64], u: npt.NDArray[np.float64],
             v: npt.NDArray[np.float64]) -> float:
        return float((v[0] - u[0]) * (x[1] - u[1]) - (v[1] - u[1]) * (x[0] - u[0]))

    before, after = side(p, a, b), side(q, a, b)
    if (before < 0) == (after < 0):
        return None  # still on the same side (a point on the line counts as its right)
    if (side(a, p, q) < 0) == (side(b, p, q) < 0):
        return None  # the move passes beside the segment, not through it
    return "in" if before < 0 else "out"


def _check_zone(zone: Zone, view: View) -> None:
    for x, y in zone.points:
        if not (0 <= x <= view.width and 0 <= y <= view.height):
            raise ConfigError(f"analytics zone {zone.name!r}: point [{x:g}, {y:g}] is outside "
                              f"the {view.width}x{view.height} image")
