"""``distracted`` once per spell of not looking at the camera for ``distracted_s``."""

from __future__ import annotations

from facetrack.events import Distracted, Event
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
