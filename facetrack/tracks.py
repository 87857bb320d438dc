"""``TrackSnapshot``: a frozen export of one track as it stood at one frame.

Every ``FrameResult`` carries the snapshots of the tracks alive in its frame (confirmed, seen
or coasting) and of those that ended on it, so sinks, rules and analytics read a track's
lifetime, identity and signals without keeping their own per-track state. The live record
behind a snapshot is ``facetrack.tracking.history.TrackHistory``; it changes after the frame,
the snapshot never does.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

#: ``active``: seen in this frame; ``lost``: not seen, still tracked (coasting); ``ended``:
#: dropped by the tracker on this frame (its last snapshot)
TrackState = Literal["active", "lost", "ended"]


@dataclass(frozen=True)
class TrackIdentity:
    """Who the track is, by the vote over its embeddings (recognition on)."""

    person_id: int  # -1 = nobody enrolled matched
    name: str | None
    similarity: float  # best similarity seen for that person; NaN before a first embedding
    confirmed: bool
    #: unit mean of the track's embeddings: biometric, never written out
    embedding: npt.NDArray[np.float32] | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class TrackVisitor:
    """Who the track is in ``privacy.mode: pseudonymous``: a random token standing for one
    visitor for as long as the visitor memory lasts (``privacy.visitor_memory_h``; a new
    memory gives new tokens), and which of that visitor's visits this track is (1 = first).
    No embedding: the memory keeps its vectors to itself (``facetrack.privacy.visitors``)."""

    token: str
    visit: int


@dataclass(frozen=True)
class Blink:
    """One blink: a lid movement of at most ``analysis.blink_max_s``, in source seconds;
    ``closed_s`` is the time within it with the eyes fully closed (0: an incomplete blink)."""

    start_s: float
    end_s: float
    closed_s: float


@dataclass(frozen=True)
class TrackSignals:
    """What the track's face did so far (``facetrack.signals``, one definition each).

    Times are the source's seconds. ``perclos`` is the time-weighted share of the last
    ``analysis.perclos_window_s`` with eyes closed, None until analysed frames cover 80% of it;
    ``perclos_max`` the highest such value so far; ``perclos_track`` over the whole track."""

    frames_analysed: int = 0
    looking_frames: int = 0
    last_analysed_frame: int | None = None
    eyes_closed: bool = False
    closed_since: float | None = None  # start of the current eyes-closed spell
    closed_for_s: float = 0.0  # its duration so far (0 when the eyes are open)
    away_since: float | None = None  # start of the current not-looking spell
    away_for_s: float = 0.0
    perclos: float | None = None
    perclos_max: float | None = None
    perclos_track: float | None = None
    blinks: int = 0
    last_blink: Blink | None = None  # the latest blink that ended
    longest_closed_s: float = 0.0
    yawns: int = 0
    #: the latest analysed sample: head pose (yaw, pitch, roll, smoothed), iris gaze (eye
    #: widths, NaN-free or None) and whether its eyes could be read
    pose_now: tuple[float, float, float] | None = None
    gaze_now: tuple[float, float] | None = None
    eyes_visible: bool = False
    eyes_unseen_since: float | None = None  # start of the current run of unreadable eyes
    eye_time_s: float = 0.0  # analysed time with readable eyes (PERCLOS's denominator)
    closed_time_s: float = 0.0  # of which fully closed
    pose_mean: tuple[float, float, float] | None = None
    pose_std: tuple[float, float, float] | None = None
    best_quality: float = 0.0
    box_sum: tuple[float, float] = (0.0, 0.0)  # summed box width, height over frames seen
    #: zone name -> time the current visit started (only zones the face is in)
    zones: Mapping[str, float] = field(default_factory=dict)


Interval = tuple[float, float]


@dataclass(frozen=True)
class TargetLooks:
    """A track's attention to one target (``facetrack.analytics``): its looks of at least
    ``analytics.min_glance_s`` as (start, end) source seconds, the one under way included once
    it is that long; whether the ray hits the target in this frame; and where it crossed the
    target's plane (metres for ``camera``/``rect``, image pixels for ``polygon``)."""

    looks: tuple[Interval, ...] = ()
    looking_now: bool = False
    hit: tuple[float, float] | None = None
    open: bool = False  # the last look is under way (and already long enough to count)


@dataclass(frozen=True)
class TrackAudience:
    """What audience analytics know of a track (``analytics.enabled``): its presence and its
    visits of each zone as intervals, its looks at each target, its line crossings as (time,
    line, ``in``/``out``), its smiles as intervals and its expression proxies now (smile,
    brow_raise, jaw_open, 0..1 on the track's own scale; None when not read). No pixel and no
    embedding."""

    present: tuple[Interval, ...] = ()
    targets: Mapping[str, TargetLooks] = field(default_factory=dict)
    zones: Mapping[str, tuple[Interval, ...]] = field(default_factory=dict)
    inside: tuple[str, ...] = ()  # zones whose visit is under way (last seen inside)
    crossings: tuple[tuple[float, str, str], ...] = ()
    smiling: tuple[Interval, ...] = ()
    expressions: tuple[float, float, float] | None = None


@dataclass(frozen=True)
class TrackSnapshot:
    track_id: int
    state: TrackState
    first_frame: int
    first_time: float
    last_frame: int  # last frame the face was seen
    last_time: float
    frames_seen: int
    identity: TrackIdentity | None = None
    signals: TrackSignals = field(default_factory=TrackSignals)
    audience: TrackAudience | None = None
    visitor: TrackVisitor | None = None

    @property
    def started(self) -> bool:
        """True on the frame the track was confirmed (its first snapshot)."""
        return self.frames_seen == 1 and self.state == "active"

    def to_json(self) -> dict[str, Any]:
        """The snapshot as JSON values (no embedding; NaN as null)."""
        s = self.signals
        data: dict[str, Any] = {
            "track_id": self.track_id, "state": self.state,
            "first_frame": self.first_frame, "first_time": round(self.first_time, 4),
            "last_frame": self.last_frame, "last_time": round(self.last_time, 4),
            "frames_seen": self.frames_seen,
            "eyes_closed": s.eyes_closed, "perclos": _num(s.perclos),
            "blinks": s.blinks, "zones": {k: round(v, 4) for k, v in s.zones.items()},
        }
        if self.identity is not None:
            i = self.identity
            data["identity"] = {"person_id": i.person_id if i.person_id >= 0 else None,
                                "person": i.name, "similarity": _num(i.similarity),
                                "confirmed": i.confirmed}
        if self.visitor is not None:
            data["visitor"] = {"token": self.visitor.token, "visit": self.visitor.visit}
        return data


def _num(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) else round(value, 4)
