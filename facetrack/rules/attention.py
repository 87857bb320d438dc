"""``distracted`` once per spell of not looking at the camera for ``distracted_s``; with
audience analytics on, ``attention`` when a look at a target starts counting and when it ends."""

from __future__ import annotations

from facetrack.events import Attention, Distracted, Event
from facetrack.rules.base import EPS, Now, RuleMemory, analysed_now
from facetrack.tracks import TrackSnapshot


class DistractedRule:
    def __init__(self, distracted_s: float) -> None:
        self.distracted_s = distracted_s

    def evaluate(self, track: TrackSnapshot, memory: RuleMemory, now: Now) -> list[Event]:
        s = track.signals
        if not analysed_now(track, now) or s.away_since is None:
            return []
        if s.away_for_s < self.distracted_s - EPS or memory.flags.get("away") == s.away_since:
            return []
        memory.flags["away"] = s.away_since
        return [Distracted(**now.head(track.track_id), duration_s=s.away_for_s)]


class AttentionRule:
    """``attention`` (state ``start``) once a look at a target is long enough to count, and
    (state ``end``) when that look is over or its track ended."""

    def evaluate(self, track: TrackSnapshot, memory: RuleMemory, now: Now) -> list[Event]:
        a = track.audience
        if a is None:
            return []
        events: list[Event] = []
        for name, looks in a.targets.items():
            key = f"attention:{name}"
            announced = memory.flags.get(key)  # the start of the look announced, if open
            if announced is not None and (not looks.open or looks.looks[-1][0] != announced):
                look = next((lk for lk in looks.looks if lk[0] == announced), None)
                duration = 0.0 if look is None else look[1] - look[0]
                events.append(Attention(**now.head(track.track_id), target=name, state="end",
                                        start_s=announced, duration_s=duration))
                memory.flags.pop(key)
                announced = None
            if announced is None and looks.open and track.state != "ended":
                start = looks.looks[-1][0]
                memory.flags[key] = start
                events.append(Attention(**now.head(track.track_id), target=name, state="start",
                                        start_s=start, duration_s=now.t - start))
        return events
