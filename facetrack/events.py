"""Typed events: what the rules tell the world about a camera's faces.

Every event is frozen and carries its camera, the frame it was decided on (capture index and
the source's timestamp in seconds), the wall-clock time (UTC, ISO 8601, passed in by whoever
decided the event: there is no hidden clock here) and the track. ``kind`` names the type in
files and the event store (``track_started``, ``identity_matched``, ...). Adding a type: a
class here, listed in ``EVENT_TYPES``, and a rule in ``facetrack.rules``.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, ClassVar

#: the fields every event has; the rest of ``to_dict`` is the event's own detail
COMMON = ("kind", "camera", "frame", "timestamp", "track_id", "wall_time")


def utc_now() -> str:
    """The wall clock as events write it (the default ``clock`` of the rules stage)."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class Event:
    kind: ClassVar[str] = "event"

    camera: str
    frame: int
    timestamp: float
    track_id: int
    wall_time: str

    def to_dict(self) -> dict[str, Any]:
        data = {"kind": self.kind}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, float) and not math.isfinite(value):
                value = None
            elif isinstance(value, float):
                value = round(value, 4)
            data[f.name] = value
        return data

    def specifics(self) -> dict[str, Any]:
        """The event's own fields (what an alert on it carries as ``detail``)."""
        return {k: v for k, v in self.to_dict().items() if k not in COMMON}


@dataclass(frozen=True)
class TrackStarted(Event):
    """A face was confirmed as a track (after ``credence_count`` sightings)."""

    kind: ClassVar[str] = "track_started"


@dataclass(frozen=True)
class TrackEnded(Event):
    """The tracker dropped the track (unseen for ``tracking.lost_track_buffer`` frames), or
    the input ended / the camera stopped."""

    kind: ClassVar[str] = "track_ended"
    duration_s: float = 0.0
    frames: int = 0
    person_id: int = -1
    person: str | None = None


@dataclass(frozen=True)
class IdentityMatched(Event):
    """A track's identity was confirmed as an enrolled person."""

    kind: ClassVar[str] = "identity_matched"
    person_id: int = -1
    person: str | None = None
    similarity: float = math.nan


@dataclass(frozen=True)
class UnknownFace(Event):
    """A track's identity was confirmed as nobody enrolled (recognition on)."""

    kind: ClassVar[str] = "unknown_face"
    similarity: float = math.nan


@dataclass(frozen=True)
class EyesClosed(Event):
    """Both eyes closed for at least ``events.eyes_closed_s`` (once per spell)."""

    kind: ClassVar[str] = "eyes_closed"
    duration_s: float = 0.0


@dataclass(frozen=True)
class Drowsy(Event):
    """PERCLOS (time-weighted share of the last ``analysis.perclos_window_s`` with eyes
    closed) reached ``events.drowsy_perclos`` (re-armed when it falls back below)."""

    kind: ClassVar[str] = "drowsy"
    perclos: float = 0.0
    window_s: float = 0.0


@dataclass(frozen=True)
class Distracted(Event):
    """Not looking at the camera for at least ``events.distracted_s`` (once per spell)."""

    kind: ClassVar[str] = "distracted"
    duration_s: float = 0.0


@dataclass(frozen=True)
class Attention(Event):
    """A look at an analytics target (``tracker.analytics``): ``state`` ``start`` once the
    look has lasted ``analytics.min_glance_s`` (``start_s``: when it began), ``end`` when it
    is over (``duration_s``: the whole look). docs/audience.md defines a look."""

    kind: ClassVar[str] = "attention"
    target: str = ""
    state: str = "start"
    start_s: float = 0.0
    duration_s: float = 0.0


@dataclass(frozen=True)
class Dwell(Event):
    """A face stayed inside a named zone for at least ``events.dwell_s`` (once per visit)."""

    kind: ClassVar[str] = "dwell"
    zone: str = ""
    duration_s: float = 0.0


@dataclass(frozen=True)
class LongDistraction(Event):
    """Driver profile: eyes or head off the forward road for at least
    ``events.driver.long_distraction_s`` (Euro NCAP: 3 s), once per glance. ``glance`` is
    ``owl`` (the head turned) or ``lizard`` (the head forward, the eyes away)."""

    kind: ClassVar[str] = "long_distraction"
    duration_s: float = 0.0
    glance: str = "owl"


@dataclass(frozen=True)
class AttentionTimeSharing(Event):
    """Driver profile (Euro NCAP's visual attention time sharing): glances away summing to
    ``away_s`` >= ``events.driver.vats_away_s`` within ``window_s``; re-armed once the eyes
    were back on the road for ``events.driver.vats_reset_s``."""

    kind: ClassVar[str] = "visual_attention_time_sharing"
    away_s: float = 0.0
    window_s: float = 0.0
    owl_glances: int = 0
    lizard_glances: int = 0


@dataclass(frozen=True)
class Microsleep(Event):
    """Driver profile: the eyes fully closed for ``events.driver.microsleep_s`` (a closure
    that goes on to ``sleep_s`` also raises ``sleep``)."""

    kind: ClassVar[str] = "microsleep"
    duration_s: float = 0.0


@dataclass(frozen=True)
class Sleep(Event):
    """Driver profile: the eyes fully closed for ``events.driver.sleep_s`` (Euro NCAP: 3 s)."""

    kind: ClassVar[str] = "sleep"
    duration_s: float = 0.0


@dataclass(frozen=True)
class Unresponsive(Event):
    """Driver profile: eyes off the road or closed, without a break, for
    ``events.driver.unresponsive_s`` (Euro NCAP: 6 s)."""

    kind: ClassVar[str] = "unresponsive"
    duration_s: float = 0.0


@dataclass(frozen=True)
class DistractionBudget(Event):
    """Driver profile (openpilot's awareness budget): ``level`` ``warning`` when the budget
    fell to ``events.driver.budget_warning``, ``exhausted`` at 0; re-armed once it recovers."""

    kind: ClassVar[str] = "distraction_budget"
    level: str = "warning"
    awareness: float = 0.0


@dataclass(frozen=True)
class Uncertain(Event):
    """Driver and monitoring profiles: the person could not be watched for
    ``events.driver.uncertain_s``: ``reason`` ``eyes_not_visible`` (too small, covered,
    sunglasses, turned away) or ``no_face`` (track_id -1: nobody watched is in view)."""

    kind: ClassVar[str] = "uncertain"
    reason: str = "no_face"
    duration_s: float = 0.0


@dataclass(frozen=True)
class ProlongedClosure(Event):
    """Monitoring profile: the eyes fully closed for ``events.monitoring.eyes_closed_s``."""

    kind: ClassVar[str] = "prolonged_eye_closure"
    duration_s: float = 0.0


@dataclass(frozen=True)
class FatigueTrend(Event):
    """Monitoring profile: over the last ``window_s`` the blink rate and PERCLOS both rose
    against the person's own first ``window_s`` (a sign for a human to check, no diagnosis)."""

    kind: ClassVar[str] = "fatigue_trend"
    window_s: float = 0.0
    blinks_per_min_first: float = 0.0
    blinks_per_min_last: float = 0.0
    perclos_first: float = 0.0
    perclos_last: float = 0.0


@dataclass(frozen=True)
class Alert(Event):
    """An event the camera's alert policy raises; at most one per person (and reason) per
    hold-off period."""

    kind: ClassVar[str] = "alert"
    reason: str = ""  # the kind of the event that raised it
    person_key: str = ""  # "person:ID", "unknown:N" (by appearance) or "track:ID"
    person_id: int = -1
    person: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    clip: str | None = None  # link of the evidence clip (when clips are on)

    def with_clip(self, link: str) -> Alert:
        return dataclasses.replace(self, clip=link)


EVENT_TYPES: dict[str, type[Event]] = {
    cls.kind: cls
    for cls in (TrackStarted, TrackEnded, IdentityMatched, UnknownFace, EyesClosed, Drowsy,
                Distracted, Dwell, Attention, LongDistraction, AttentionTimeSharing, Microsleep,
                Sleep, Unresponsive, DistractionBudget, Uncertain, ProlongedClosure, FatigueTrend,
                Alert)
}
