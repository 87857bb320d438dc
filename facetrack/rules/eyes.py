"""``eyes_closed`` once per fully-closed spell of at least ``eyes_closed_s`` (the monitoring
profile's ``prolonged_eye_closure`` is the same rule with its own threshold); ``drowsy`` when the
track's PERCLOS reaches ``drowsy_perclos`` (re-armed when it falls back below)."""

from __future__ import annotations

from facetrack.events import Drowsy, Event, EyesClosed, ProlongedClosure
from facetrack.rules.base import EPS, Now, RuleMemory, analysed_now
from facetrack.tracks import TrackSnapshot


class EyesClosedRule:
    def __init__(self, eyes_closed_s: float,
                 event: type[EyesClosed | ProlongedClosure] = EyesClosed) -> None:
        self.eyes_closed_s, self.event = eyes_closed_s, event

    def evaluate(self, track: TrackSnapshot, memory: RuleMemory, now: Now) -> list[Event]:
        s = track.signals
        if not analysed_now(track, now) or s.closed_since is None:
            return []
        key = self.event.kind
        if s.closed_for_s < self.eyes_closed_s - EPS or memory.flags.get(key) == \
                s.closed_since:
            return []
        memory.flags[key] = s.closed_since
        return [self.event(**now.head(track.track_id), duration_s=s.closed_for_s)]


class DrowsyRule:
    def __init__(self, perclos: float, window_s: float) -> None:
        self.perclos, self.window_s = perclos, window_s

    def evaluate(self, track: TrackSnapshot, memory: RuleMemory, now: Now) -> list[Event]:
        value = track.signals.perclos
        if not analysed_now(track, now) or value is None:
            return []
        if value < self.perclos:
            memory.flags["drowsy"] = False
            return []
        if memory.flags.get("drowsy"):
            return []
        memory.flags["drowsy"] = True
        return [Drowsy(**now.head(track.track_id), perclos=value, window_s=self.window_s)]
