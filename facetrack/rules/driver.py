"""``events.profile: driver``: Euro NCAP's driver states with openpilot's mechanics, per watched
track (docs/driver.md gives each definition with its source).

Every duration is measured on the frames' timestamps, each analysed frame counting the interval
since the one before (as the signals' spells count a closure seen on k frames as k intervals),
and an event fires on the frame that completes its threshold: never later than the threshold
after the state's first frame plus one frame interval (``python -m benchmarks.driver_latency``).
Head pose is the analyser's smoothed one (``analysis.smoothing``): a turn just past the road
cone crosses it a few frames after the head does. Glances come from
``driver_state.Attention``; eye closures are the signals' fully-closed spell (``closed_since``),
which a frame with unreadable eyes ends, so a driver whose eyes cannot be read raises
``uncertain``, never ``microsleep`` or ``sleep``.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from facetrack.config.profiles import DriverConfig
from facetrack.events import (
    AttentionTimeSharing,
    DistractionBudget,
    Event,
    LongDistraction,
    Microsleep,
    Sleep,
    Uncertain,
    Unresponsive,
)
from facetrack.rules.base import EPS, Now, RuleMemory, analysed_now
from facetrack.rules.driver_state import MAX_STEP_S, Attention, Glance
from facetrack.tracks import TrackSignals, TrackSnapshot

Head = dict[str, Any]  # the fields every event starts with (``Now.head``)
#: openpilot's awareness recovery: 5x the drain rate when empty, 1.25x when nearly full
RECOVERY_MAX, RECOVERY_MIN = 5.0, 1.25


@dataclass
class DriverState:
    """One driver track's state, kept in its rule memory."""

    attention: Attention
    last_t: float | None = None
    away_s: float | None = None  # the current glance away so far (None: on the road)
    away_kind: Glance = "road"
    away_fired: bool = False
    road_s: float = 0.0  # back on the road without a break
    #: glances since time sharing last reset
    glances: dict[str, int] = field(default_factory=lambda: {"owl": 0, "lizard": 0})
    away_times: deque[tuple[float, float]] = field(default_factory=deque)  # (t, seconds away)
    vats_fired: bool = False
    inattentive_s: float = 0.0
    unresponsive_fired: bool = False
    budget: float = 1.0
    budget_level: str | None = None
    fired: dict[str, float] = field(default_factory=dict)  # family -> start it fired for


class DriverRule:
    def __init__(self, config: DriverConfig) -> None:
        self.config = config

    def watches(self, track: TrackSnapshot) -> bool:
        zone = self.config.zone
        return zone is None or zone in track.signals.zones

    def evaluate(self, track: TrackSnapshot, memory: RuleMemory, now: Now) -> list[Event]:
        if not analysed_now(track, now) or not self.watches(track):
            return []
        state = memory.flags.get("driver")
        if not isinstance(state, DriverState):
            state = memory.flags["driver"] = DriverState(Attention(self.config))
        s = track.signals
        dt = 0.0 if state.last_t is None else min(max(now.t - state.last_t, 0.0), MAX_STEP_S)
        state.last_t = now.t
        glance = state.attention.classify(dt, s.pose_now, s.gaze_now)
        head = now.head(track.track_id)
        events: list[Event] = []
        events += self._uncertain(s, state, now, head)
        events += self._glance(glance, dt, state, now, head)
        events += self._closure(s, state, head)
        away = glance in ("owl", "lizard")
        events += self._unresponsive(away or s.eyes_closed, dt, state, head)
        if away or s.eyes_closed or s.eyes_visible:  # unreadable eyes: the budget holds
            events += self._budget(away or s.eyes_closed, dt, state, head)
        return events

    def _uncertain(self, s: TrackSignals, state: DriverState, now: Now, head: Head
                   ) -> list[Event]:
        since = s.eyes_unseen_since
        if since is None or now.t - since < self.config.uncertain_s - EPS or \
                state.fired.get("uncertain") == since:
            return []
        state.fired["uncertain"] = since
        return [Uncertain(**head, reason="eyes_not_visible", duration_s=now.t - since)]

    def _glance(self, glance: Glance, dt: float, state: DriverState, now: Now, head: Head
                ) -> list[Event]:
        """Each sample counts the interval before it, as the signals' spells count frames."""
        cfg = self.config
        if glance in ("owl", "lizard"):
            if state.away_s is None:
                state.away_s, state.away_kind, state.away_fired = 0.0, glance, False
                state.glances[glance] += 1
            elif glance == "owl" and state.away_kind == "lizard":
                state.away_kind = "owl"  # a turned head makes the glance an owl one
                state.glances["lizard"] -= 1
                state.glances["owl"] += 1
            state.away_s += dt
            state.road_s = 0.0
            if dt > 0:
                state.away_times.append((now.t, dt))
        else:
            state.away_s = None
            state.road_s += dt
            if state.road_s >= cfg.vats_reset_s - EPS:
                # back on the road long enough: time sharing starts again
                state.away_times.clear()
                state.glances = {"owl": 0, "lizard": 0}
                state.vats_fired = False
        while state.away_times and state.away_times[0][0] <= now.t - cfg.vats_window_s:
            state.away_times.popleft()
        events: list[Event] = []
        if state.away_s is not None and not state.away_fired and \
                state.away_s >= cfg.long_distraction_s - EPS:
            state.away_fired = True
            events.append(LongDistraction(**head, duration_s=state.away_s,
                                          glance=state.away_kind))
        total = sum(seconds for _, seconds in state.away_times)
        if not state.vats_fired and total >= cfg.vats_away_s - EPS:
            state.vats_fired = True
            events.append(AttentionTimeSharing(
                **head, away_s=total, window_s=cfg.vats_window_s,
                owl_glances=state.glances["owl"], lizard_glances=state.glances["lizard"]))
        return events

    def _closure(self, s: TrackSignals, state: DriverState, head: Head) -> list[Event]:
        since, closed_for = s.closed_since, s.closed_for_s
        if since is None:
            return []
        events: list[Event] = []
        for family, threshold, cls in (("microsleep", self.config.microsleep_s, Microsleep),
                                       ("sleep", self.config.sleep_s, Sleep)):
            if closed_for >= threshold - EPS and state.fired.get(family) != since:
                state.fired[family] = since
                events.append(cls(**head, duration_s=closed_for))
        return events

    def _unresponsive(self, inattentive: bool, dt: float, state: DriverState, head: Head
                      ) -> list[Event]:
        if not inattentive:
            state.inattentive_s, state.unresponsive_fired = 0.0, False
            return []
        state.inattentive_s += dt
        if state.unresponsive_fired or state.inattentive_s < self.config.unresponsive_s - EPS:
            return []
        state.unresponsive_fired = True
        return [Unresponsive(**head, duration_s=state.inattentive_s)]

    def _budget(self, distracted: bool, dt: float, state: DriverState, head: Head
                ) -> list[Event]:
        step = dt / self.config.budget_s
        if distracted:
            state.budget = max(state.budget - step, 0.0)
        else:
            rate = (RECOVERY_MAX - RECOVERY_MIN) * (1.0 - state.budget) + RECOVERY_MIN
            state.budget = min(state.budget + rate * step, 1.0)
        if state.budget >= 1.0 - EPS:
            state.budget_level = None
        level = "exhausted" if state.budget <= EPS else (
            "warning" if state.budget <= self.config.budget_warning + EPS else None)
        if level is None or level == state.budget_level or (
                level == "warning" and state.budget_level == "exhausted"):
            return []
        state.budget_level = level
        return [DistractionBudget(**head, level=level, awareness=state.budget)]
