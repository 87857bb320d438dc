"""``events.profile: driver``: Euro NCAP's driver states with openpilot's mechanics, per watched
track (docs/driver.md gives each definition with its source).

Every duration is measured on the frames' timestamps from the first sample of the state, and an
event fires on the first analysed frame at or past its threshold, so it is never more than one
frame interval late (0.1 s at 10 fps); closures, time sharing and the budget count each frame as
the interval it stands for, so they fire on the frame that completes their threshold
(``python -m benchmarks.driver_latency``). Glances come from
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
    away_since: float | None = None
    away_kind: Glance = "road"
    away_fired: bool = False
    on_road_since: float | None = None
    glances: dict[str, int] = field(default_factory=lambda: {"owl": 0, "lizard": 0})
    away_times: deque[tuple[float, float]] = field(default_factory=deque)  # (t, seconds away)
    vats_fired: bool = False
    inattentive_since: float | None = None
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
        events += self._unresponsive(away or s.eyes_closed, state, now, head)
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
        cfg = self.config
        away = glance in ("owl", "lizard")
        if away:
            if state.away_since is None:
                state.away_since, state.away_kind, state.away_fired = now.t, glance, False
            elif glance == "owl":
                state.away_kind = "owl"  # a turned head makes the glance an owl one
            state.on_road_since = None
            if dt > 0:
                state.away_times.append((now.t, dt))
        else:
            if state.away_since is not None:
                state.glances[state.away_kind] += 1
                state.away_since = None
            if state.on_road_since is None:
                state.on_road_since = now.t
            if now.t - state.on_road_since >= cfg.vats_reset_s - EPS:
                state.away_times.clear()  # back on the road long enough: time sharing resets
                state.vats_fired = False
        while state.away_times and state.away_times[0][0] <= now.t - cfg.vats_window_s:
            state.away_times.popleft()
        events: list[Event] = []
        if state.away_since is not None and not state.away_fired and \
                now.t - state.away_since >= cfg.long_distraction_s - EPS:
            state.away_fired = True
            events.append(LongDistraction(**head, duration_s=now.t - state.away_since,
                                          glance=state.away_kind))
        total = sum(seconds for _, seconds in state.away_times)
        if not state.vats_fired and total >= cfg.vats_away_s - EPS:
            state.vats_fired = True
            counts = dict(state.glances)
            if state.away_since is not None:
                counts[state.away_kind] += 1
            events.append(AttentionTimeSharing(
                **head, away_s=total, window_s=cfg.vats_window_s, owl_glances=counts["owl"],
                lizard_glances=counts["lizard"]))
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

    def _unresponsive(self, inattentive: bool, state: DriverState, now: Now, head: Head
                      ) -> list[Event]:
        if not inattentive:
            state.inattentive_since, state.unresponsive_fired = None, False
            return []
        if state.inattentive_since is None:
            state.inattentive_since = now.t
        lasted = now.t - state.inattentive_since
        if state.unresponsive_fired or lasted < self.config.unresponsive_s - EPS:
            return []
        state.unresponsive_fired = True
        return [Unresponsive(**head, duration_s=lasted)]

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
