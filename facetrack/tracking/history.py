"""``TrackHistory``: the one live record of a confirmed track.

The tracker creates it when a track is confirmed, updates its lifetime on every sighting and
ends it (one rule: unseen for more than ``tracking.lost_track_buffer`` frames, or a reset at a
scene cut, a new photo or the end of the input). Every stage keeps its per-track state *in* the
record (``state(Kind)``: the analyser's open-eye reference, the signals' spells and PERCLOS, the
identity vote, the rules' memory), so that state lives exactly as long as the track and no
stage keeps a second per-track dict with its own idea of when a track ended. Each kind of state
is written by one stage only (stages may run on different threads).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any, Protocol, TypeVar

from facetrack.tracks import TrackSnapshot, TrackState

S = TypeVar("S")


class TrackHistory:
    def __init__(self, track_id: int, frame_index: int, timestamp: float) -> None:
        self.track_id = track_id
        self.first_frame = self.last_frame = frame_index
        self.first_time = self.last_time = timestamp
        self.frames_seen = 1
        self.state: TrackState = "active"
        self._states: dict[Any, Any] = {}

    def __repr__(self) -> str:
        return (f"TrackHistory({self.track_id}, {self.state}, frames {self.first_frame}-"
                f"{self.last_frame}, seen {self.frames_seen})")

    @property
    def ended(self) -> bool:
        return self.state == "ended"

    def seen(self, frame_index: int, timestamp: float) -> None:
        self.last_frame, self.last_time = frame_index, timestamp
        self.frames_seen += 1
        self.state = "active"

    def state_of(self, kind: Callable[[], S]) -> S:
        """This track's state of one kind (made by ``kind()`` on first use)."""
        value = self._states.get(kind)
        if value is None:
            value = self._states[kind] = kind()
        return value

    def snapshot(self) -> TrackSnapshot:
        """The lifetime part of the snapshot (stages fill in identity and signals)."""
        return TrackSnapshot(self.track_id, self.state, self.first_frame, self.first_time,
                             self.last_frame, self.last_time, self.frames_seen)


class Exported(Protocol):
    """A stage's per-track state that ends with its track and exports a snapshot field."""

    def finish(self) -> None: ...

    def export(self) -> Any: ...


def export_state(snapshot: TrackSnapshot, records: Mapping[int, TrackHistory],
                 kind: Callable[[], Exported], field: str) -> TrackSnapshot:
    """``snapshot`` with ``field`` set to its track's ``kind`` state exported; on the track's
    last snapshot (ended) the state is finished first, so open spells and runs end with it."""
    record = records.get(snapshot.track_id)
    if record is None:
        return snapshot
    state = record.state_of(kind)
    if snapshot.state == "ended":
        state.finish()
    return dataclasses.replace(snapshot, **{field: state.export()})
