"""``track_started`` when a track is confirmed, ``track_ended`` when the tracker drops it (or
the input ends)."""

from __future__ import annotations

from facetrack.events import Event, TrackEnded, TrackStarted
from facetrack.rules.base import Now, RuleMemory
from facetrack.tracks import TrackSnapshot


class Lifecycle:
    def evaluate(self, track: TrackSnapshot, memory: RuleMemory, now: Now) -> list[Event]:
        if track.started:
            return [TrackStarted(**now.head(track.track_id))]
        if track.state != "ended":
            return []
        who = track.identity
        pid = who.person_id if who is not None and who.confirmed else -1
        return [TrackEnded(**now.head(track.track_id),
                           duration_s=track.last_time - track.first_time,
                           frames=track.frames_seen, person_id=pid,
                           person=who.name if who is not None and pid >= 0 else None)]
