"""Audience windows: Quividi's vocabulary, each figure defined once (docs/audience.md).

``Audience`` reads ``FrameResult``s (their tracks' ``audience`` snapshots) and closes one window
of ``analytics.window_s`` at a time, a row per zone (``all`` = the whole view, then each
configured zone) and target. In a row:

- ``ots``: tracks present in the window (in the zone); ``dwell_mean_s``: their mean time present
  in it, ``occupancy_mean`` = total time present / window length (people in view on average);
- ``attention_total_s``: the time inside the window of their looks at the target (looks of at
  least ``min_glance_s``; in a zone row, looks while in the zone); ``attention_mean_s`` =
  total / ``ots``; ``attraction`` = attention total / dwell total;
- ``watchers``: tracks with attention in the window whose attention reached ``watcher_min_s``;
  ``conversion`` = watchers / ots;
- ``glances``: looks that started in the window; ``smiles``: tracks smiling in it;
- ``entries``/``exits``: visits (of the view, or the zone) that started / ended in it;
- ``dwell_<lo>_<hi>``: visits that ended in the window, by their whole length;
- ``visitors`` (``privacy.mode: pseudonymous``, else empty): distinct visitors among the
  tracks present (a track whose face was never big or frontal enough to tell has none);
  ``repeat_visitors``: those of them on their second visit or later
  (``facetrack.privacy.visitors``).

A ratio over nothing (no track, no dwell) is left empty, never NaN. A window closes once the
input is ``delay_s`` past its end, so every look and visit that touches it has been decided.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from facetrack.analytics.runs import Interval, clip, intersect, total
from facetrack.config.analytics import AnalyticsConfig
from facetrack.errors import ConfigError
from facetrack.results import FrameResult
from facetrack.tracks import TrackSnapshot

if TYPE_CHECKING:
    from facetrack.config import TrackerConfig
    from facetrack.frames import SourceInfo

#: dwell buckets (seconds), Quividi's: 0-5, 5-15, 15-30, 30-60, 60+
BUCKETS = ((0, 5), (5, 15), (15, 30), (30, 60), (60, None))
BUCKET_COLUMNS = tuple(f"dwell_{lo}_{hi}" if hi is not None else f"dwell_{lo}_plus"
                       for lo, hi in BUCKETS)
COLUMNS = ("window_start", "window_end", "source", "zone", "target", "ots", "watchers",
           "conversion", "dwell_mean_s", "attention_mean_s", "attention_total_s", "attraction",
           "glances", "smiles", "occupancy_mean", "entries", "exits", *BUCKET_COLUMNS,
           "visitors", "repeat_visitors", "model_version", "config_hash")
ALL = "all"
#: live windows close late enough for a camera processing at least this many frames a second
LIVE_MIN_FPS = 2.0


@dataclass(frozen=True)
class TrackFigures:
    """A track's attention to one target: its total, its looks (glances), the time from its
    first sighting to its first look (None: never looked), and whether it is a watcher."""

    attention_s: float
    glances: int
    first_glance_s: float | None
    watcher: bool


def track_figures(track: TrackSnapshot, target: str, watcher_min_s: float) -> TrackFigures:
    a = track.audience
    looks = a.targets[target].looks if a is not None and target in a.targets else ()
    attention = total(looks)
    first = looks[0][0] - track.first_time if looks else None
    return TrackFigures(attention, len(looks), first, attention >= watcher_min_s)


def smile_s(track: TrackSnapshot) -> float:
    return total(track.audience.smiling) if track.audience is not None else 0.0


class Audience:
    """The windows of one source. ``consume`` each result; ``close`` at the end of the input
    closes the last (partial) window. Each closed window's rows go to ``on_rows`` and stay in
    ``rows``."""

    def __init__(self, config: AnalyticsConfig, source: str, *, period_s: float,
                 delay_s: float, model_version: str = "", config_hash: str = "",
                 on_rows: Callable[[list[dict[str, Any]]], None] | None = None,
                 origin_s: float = 0.0, visitors: bool = False) -> None:
        if config.window_s < period_s:
            raise ConfigError(f"analytics.window_s {config.window_s:g} s is shorter than one "
                             f"frame ({period_s:.3g} s)")
        self.config, self.source = config, source
        self.period_s, self.delay_s = period_s, delay_s
        self.stamp = {"model_version": model_version, "config_hash": config_hash}
        self.on_rows = on_rows
        self.visitors = visitors  # count visitors (pseudonymous mode)
        #: what frame time 0 is on the rows' clock (live: the wall clock's epoch seconds at the
        #: source's start), so windows start at multiples of window_s on that clock
        self.origin_s = origin_s
        self.rows: list[dict[str, Any]] = []
        self._tracks: dict[int, TrackSnapshot] = {}
        self._next: float | None = None  # start of the next window to close
        self._last_t: float | None = None
        self._first_t: float | None = None
        #: windows (by index on the rows' clock) that saw a frame: a window without one (a
        #: live outage) has no data, and gets no row rather than a row of zeros
        self._observed: set[int] = set()

    @classmethod
    def of(cls, config: TrackerConfig, info: SourceInfo, source: str | None = None,
           on_rows: Callable[[list[dict[str, Any]]], None] | None = None,
           origin_s: float = 0.0) -> Audience:
        """The windows of the input ``info`` describes, run with ``config`` (its
        ``analytics``): a window closes once every look, visit and track end that touches it
        has been decided (the longer of a glance plus the signals' gap, and the tracker's
        lost-track buffer)."""
        from facetrack.analytics import config_hash, model_version
        from facetrack.analytics.expressions import MIN_SMILE_S
        from facetrack.pipeline.tracker import is_live, signal_settings

        settings = signal_settings(config, info)
        period = settings.period_s
        a = config.analytics
        # the tracker ends a track lost_track_buffer *frames* after its last sighting: a live
        # camera's rate is not known ahead (nor steady), so count on at least LIVE_MIN_FPS
        frame_s = 1.0 / LIVE_MIN_FPS if is_live(config, info) else period
        lost_s = config.tracking.lost_track_buffer * frame_s
        decided = max(a.min_glance_s, MIN_SMILE_S) + settings.max_gap_s
        return cls(a, source if source is not None else info.source_id, period_s=period,
                   delay_s=max(decided, lost_s) + period,
                   model_version=model_version(), config_hash=config_hash(config),
                   on_rows=on_rows, origin_s=origin_s,
                   visitors=config.privacy_mode == "pseudonymous")

    def consume(self, result: FrameResult) -> None:
        t = result.frame.timestamp
        for track in result.tracks:
            if track.audience is not None:
                self._tracks[track.track_id] = track
        w = self.config.window_s
        if self._next is None:
            self._next = math.floor((t + self.origin_s) / w) * w - self.origin_s
            self._first_t = t
        self._last_t = t if self._last_t is None else max(self._last_t, t)
        self._observed.add(self._index(t))
        while t >= self._next + self.config.window_s + self.delay_s:
            self._close_window(self._next + self.config.window_s)

    def close(self) -> None:
        """The input ended: close every window up to its last frame."""
        if self._next is None or self._last_t is None:
            return
        end = self._last_t + self.period_s
        while self._next < end - 1e-9:
            self._close_window(min(self._next + self.config.window_s, end))
        self._next = None

    def _index(self, t: float) -> int:
        return math.floor((t + self.origin_s) / self.config.window_s + 1e-9)

    def _close_window(self, hi: float) -> None:
        assert self._next is not None and self._first_t is not None
        # the first window starts with the input (a camera started mid-window)
        lo = max(self._next, self._first_t)
        index = self._index(self._next + self.config.window_s / 2)
        observed = index in self._observed
        rows = window_rows(self._tracks.values(), lo, hi, self.config,
                           {"source": self.source, **self.stamp},
                           visitors=self.visitors) if observed else []
        for row in rows:  # on the rows' clock
            row["window_start"] = round(lo + self.origin_s, 3)
            row["window_end"] = round(hi + self.origin_s, 3)
        self._observed.discard(index)
        self._next = self._next + self.config.window_s
        # a track that ended before the next window starts can no longer count in any
        self._tracks = {k: v for k, v in self._tracks.items()
                        if not (v.state == "ended" and _end(v) <= self._next)}
        self.rows.extend(rows)
        if self.on_rows is not None and rows:
            self.on_rows(rows)


def _end(track: TrackSnapshot) -> float:
    a = track.audience
    return a.present[-1][1] if a is not None and a.present else track.last_time


def window_rows(tracks: Iterable[TrackSnapshot], lo: float, hi: float,
                config: AnalyticsConfig, stamp: dict[str, Any], visitors: bool = False
                ) -> list[dict[str, Any]]:
    """The rows of the window ``[lo, hi)``: one per zone (``all`` first) and target;
    ``visitors``: count them (else their columns are empty)."""
    tracks = [t for t in tracks if t.audience is not None]
    rows = []
    for zone in (ALL, *config.zones):
        for target in (t.name for t in config.targets):
            row = _row(tracks, lo, hi, zone, target, config)
            seen = _visitors(tracks, lo, hi, zone) if visitors else ("", "")
            rows.append({"window_start": round(lo, 3), "window_end": round(hi, 3),
                         "source": stamp.get("source", ""), "zone": zone, "target": target,
                         **row, "visitors": seen[0], "repeat_visitors": seen[1],
                         "model_version": stamp.get("model_version", ""),
                         "config_hash": stamp.get("config_hash", "")})
    return rows


def _row(tracks: Sequence[TrackSnapshot], lo: float, hi: float, zone: str, target: str,
         config: AnalyticsConfig) -> dict[str, Any]:
    ots = watchers = glances = smiles = entries = exits = 0
    dwell = attention = 0.0
    buckets = [0] * len(BUCKETS)
    for track in tracks:
        a = track.audience
        assert a is not None
        span = a.present if zone == ALL else a.zones.get(zone, ())
        here = total(clip(span, lo, hi))
        if here <= 0:
            continue
        ots += 1
        dwell += here
        whole: Sequence[Interval] = a.targets[target].looks if target in a.targets else ()
        looks = whole if zone == ALL else intersect(whole, span)
        watched = total(clip(looks, lo, hi))
        attention += watched
        # attention so far: what happens after the window does not change it
        watchers += watched > 0 and total(clip(looks, -math.inf, hi)) >= config.watcher_min_s
        # a glance is a whole look, counted where it began (in a zone row: began in the zone)
        glances += sum(lo <= s < hi and _within(s, span) for s, _ in whole)
        smiles += total(clip(intersect(a.smiling, span), lo, hi)) > 0
        ended = track.state == "ended"
        for k, (s, e) in enumerate(span):
            entries += lo <= s < hi
            # (lo, hi]: a visit that ends on a boundary belongs to the window it ended
            if lo < e <= hi and (ended or k < len(span) - 1 or zone not in _inside(track)):
                exits += 1
                buckets[_bucket(e - s)] += 1
    return {
        "ots": ots, "watchers": watchers, "conversion": _ratio(watchers, ots),
        "dwell_mean_s": _ratio(dwell, ots), "attention_mean_s": _ratio(attention, ots),
        "attention_total_s": round(attention, 3), "attraction": _ratio(attention, dwell),
        "glances": glances, "smiles": smiles,
        "occupancy_mean": round(dwell / (hi - lo), 3) if hi > lo else "",
        "entries": entries, "exits": exits, **dict(zip(BUCKET_COLUMNS, buckets, strict=True)),
    }


def _visitors(tracks: Sequence[TrackSnapshot], lo: float, hi: float, zone: str
              ) -> tuple[int, int]:
    """(distinct visitors present in the window and zone, those of them on a repeat visit)."""
    visits: dict[str, int] = {}
    for track in tracks:
        a, who = track.audience, track.visitor
        if a is None or who is None:
            continue
        span = a.present if zone == ALL else a.zones.get(zone, ())
        if total(clip(span, lo, hi)) > 0:
            visits[who.token] = max(visits.get(who.token, 0), who.visit)
    return len(visits), sum(v > 1 for v in visits.values())


def _within(t: float, span: Sequence[Interval]) -> bool:
    return any(a <= t < b for a, b in span)


def _inside(track: TrackSnapshot) -> tuple[str, ...]:
    """Zones (and ``all``) whose visit is still open: the track is alive and was last seen in
    them."""
    if track.state == "ended" or track.audience is None:
        return ()
    return (ALL, *track.audience.inside)


def _bucket(seconds: float) -> int:
    for k, (lo, hi) in enumerate(BUCKETS):
        if hi is None or seconds < hi:
            return k if seconds >= lo else 0
    return len(BUCKETS) - 1


def _ratio(num: float, den: float) -> float | str:
    return round(num / den, 3) if den > 0 else ""
