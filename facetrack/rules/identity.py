"""``identity_matched`` / ``unknown_face`` when a track's identity is confirmed (again when the
confirmed identity changes)."""

from __future__ import annotations

from facetrack.events import Event, IdentityMatched, UnknownFace
from facetrack.rules.base import Now, RuleMemory
from facetrack.tracks import TrackSnapshot


class IdentityRule:
    def evaluate(self, track: TrackSnapshot, memory: RuleMemory, now: Now) -> list[Event]:
        who = track.identity
        if track.state != "active" or who is None or not who.confirmed:
            return []
        if memory.flags.get("identity") == who.person_id:
            return []
        memory.flags["identity"] = who.person_id
        if who.person_id >= 0:
            return [IdentityMatched(**now.head(track.track_id), person_id=who.person_id,
                                    person=who.name, similarity=who.similarity)]
        return [UnknownFace(**now.head(track.track_id), similarity=who.similarity)]
