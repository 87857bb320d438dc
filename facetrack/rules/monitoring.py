"""``events.profile: monitoring`` (patients, operators): a fatigue trend, each person against
their own start. Signals for a human to check, not diagnoses (docs/driver.md)."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from facetrack.config.profiles import MonitoringConfig
from facetrack.events import Event, FatigueTrend
from facetrack.rules.base import Now, RuleMemory, analysed_now
from facetrack.tracks import TrackSnapshot

#: the running totals are sampled this often (s)
SAMPLE_EVERY_S = 1.0


@dataclass(frozen=True)
class Totals:
    """A track's running totals at one time."""

    t: float
    blinks: int
    eye_time_s: float
    closed_time_s: float

    def since(self, earlier: Totals) -> tuple[float, float | None]:
        """Blinks per minute and PERCLOS between ``earlier`` and this."""
        minutes = (self.t - earlier.t) / 60.0
        eye_time = self.eye_time_s - earlier.eye_time_s
        rate = (self.blinks - earlier.blinks) / minutes if minutes > 0 else 0.0
        perclos = (self.closed_time_s - earlier.closed_time_s) / eye_time if eye_time > 0 \
            else None
        return rate, perclos


@dataclass
class TrendMemory:
    start: Totals | None = None
    baseline: tuple[float, float | None] | None = None
    recent: deque[Totals] = field(default_factory=deque)
    fired: bool = False
    calm_since: float | None = None  # the trend stopped holding here


class FatigueTrendRule:
    """``fatigue_trend`` when, over the last ``trend_window_s``, the blink rate rose by
    ``blink_rate_rise`` x and PERCLOS by ``perclos_rise`` against the track's first
    ``trend_window_s``; once per trend: re-armed after a whole window without it (the rates
    are noisy near the thresholds)."""

    def __init__(self, config: MonitoringConfig) -> None:
        self.config = config

    def evaluate(self, track: TrackSnapshot, memory: RuleMemory, now: Now) -> list[Event]:
        if not analysed_now(track, now):
            return []
        mem = memory.flags.get("trend")
        if not isinstance(mem, TrendMemory):
            mem = memory.flags["trend"] = TrendMemory()
        s = track.signals
        totals = Totals(now.t, s.blinks, s.eye_time_s, s.closed_time_s)
        window = self.config.trend_window_s
        if mem.start is None:
            mem.start = totals
        if mem.recent and now.t - mem.recent[-1].t < SAMPLE_EVERY_S:
            return []
        mem.recent.append(totals)
        if mem.baseline is None:
            if now.t - mem.start.t >= window:
                mem.baseline = totals.since(mem.start)
            return []
        while len(mem.recent) > 1 and mem.recent[1].t <= now.t - window:
            mem.recent.popleft()
        if now.t - mem.start.t < 2 * window - SAMPLE_EVERY_S:
            return []  # the last window still overlaps the first one
        return self._compare(mem, totals.since(mem.recent[0]), now, track.track_id)

    def _compare(self, mem: TrendMemory, last: tuple[float, float | None], now: Now,
                 track_id: int) -> list[Event]:
        assert mem.baseline is not None
        (rate0, perclos0), (rate1, perclos1) = mem.baseline, last
        cfg = self.config
        rising = perclos0 is not None and perclos1 is not None and rate0 > 0 and \
            rate1 >= cfg.blink_rate_rise * rate0 and perclos1 - perclos0 >= cfg.perclos_rise
        if not rising:
            mem.calm_since = now.t if mem.calm_since is None else mem.calm_since
            if now.t - mem.calm_since >= cfg.trend_window_s:
                mem.fired = False
            return []
        mem.calm_since = None
        if mem.fired:
            return []
        mem.fired = True
        assert perclos0 is not None and perclos1 is not None
        return [FatigueTrend(**now.head(track_id), window_s=cfg.trend_window_s,
                             blinks_per_min_first=rate0, blinks_per_min_last=rate1,
                             perclos_first=perclos0, perclos_last=perclos1)]
