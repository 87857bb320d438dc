"""What every rule family shares: the moment a rule is evaluated at, and the per-track memory
that makes each event fire once (per spell, per visit, per identity).

A rule is ``evaluate(track, memory, now) -> list[Event]``: it reads the track's frozen
snapshot (lifetime, identity, signals) and its own small memory, kept in the track's
``TrackHistory`` so it ends with the track. Adding an event type is one rule module and one
line in ``rules.stage.default_rules``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from facetrack.events import Event
from facetrack.tracks import TrackSnapshot

#: durations are differences of float timestamps: compare with this slack
EPS = 1e-6


@dataclass(frozen=True)
class Now:
    """Where and when rules are evaluated: camera, capture index, source time (s), UTC."""

    camera: str
    frame: int
    t: float
    wall: str

    def head(self, track_id: int) -> dict[str, Any]:
        """The fields every event starts with."""
        return {"camera": self.camera, "frame": self.frame, "timestamp": self.t,
                "track_id": track_id, "wall_time": self.wall}


@dataclass
class RuleMemory:
    """One track's memory of what its rules reported: ``flags[rule family]``."""

    flags: dict[str, Any] = field(default_factory=dict)


class Rule(Protocol):
    def evaluate(self, track: TrackSnapshot, memory: RuleMemory, now: Now) -> list[Event]: ...


def analysed_now(track: TrackSnapshot, now: Now) -> bool:
    """The track's face was seen and analysed in this very frame."""
    return track.state == "active" and track.signals.last_analysed_frame == now.frame
