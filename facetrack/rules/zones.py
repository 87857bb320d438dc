"""``dwell`` once per visit when a face stays inside a named zone for ``dwell_s``."""

from __future__ import annotations

from facetrack.events import Dwell, Event
from facetrack.rules.base import EPS, Now, RuleMemory
from facetrack.tracks import TrackSnapshot


class DwellRule:
    def __init__(self, dwell_s: float) -> None:
        self.dwell_s = dwell_s

    def evaluate(self, track: TrackSnapshot, memory: RuleMemory, now: Now) -> list[Event]:
        if track.state != "active":
            return []
        reported: dict[str, float] = memory.flags.setdefault("dwell", {})
        out: list[Event] = []
        for zone, since in track.signals.zones.items():
            if now.t - since >= self.dwell_s - EPS and reported.get(zone) != since:
                reported[zone] = since
                out.append(Dwell(**now.head(track.track_id), zone=zone,
                                 duration_s=now.t - since))
        for zone in [z for z in reported if z not in track.signals.zones]:
            del reported[zone]  # the visit ended: the next one reports again
        return out
