"""MQTT for Home Assistant, in the message shapes Frigate's automations read (docs/mqtt.md).

``MqttPublisher`` (``sinks.mqtt_client``) owns the monitor's one connection and makes one
``MqttSink`` per camera. A sink turns each result into messages:

- ``PREFIX/events``: ``{"type": "new"|"update"|"end", "before", "after"}`` per face track, as
  Frigate's ``frigate/events``: ``new`` when the track is confirmed, ``update`` when its person,
  zones or clip change (at most once per ``update_every_s``), ``end`` on its ``track_ended``;
- ``PREFIX/tracked_object_update``: ``{"type": "face", "id", "name", "score", ...}`` on every
  ``identity_matched`` (and ``unknown_face``, name null), as Frigate's face recognition;
- ``PREFIX/alerts``: each alert's ``to_dict()``.

The publisher adds ``PREFIX/available`` (``online``/``offline``, retained, ``offline`` also as
the last will) and ``PREFIX/<camera>/audience`` (``publish_audience``, one retained message per
closed audience window).

Times are unix seconds of the wall clock, one per frame: the ``wall_time`` of the frame's events
when it has any (so a message's times are those of the event store's rows; the rules stage
reads the clock once per frame, every event of a frame has the same), else the sink's ``clock``
(``time.time``) when it consumes the frame. They never go backwards within a camera (a clock
stepped back repeats the last time).

``consume`` never blocks a camera: paho's ``publish`` only queues. QoS 1/2 messages wait in
paho's queue while the broker is away (up to ``max_queued``; the session is persistent, so the
broker also keeps what it had not delivered); beyond that, and for QoS 0 while away, messages
are dropped, counted and logged once per spell of drops.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from facetrack.events import Alert, Event, IdentityMatched, TrackEnded, UnknownFace
from facetrack.results import FrameResult
from facetrack.tracks import TrackSnapshot

log = logging.getLogger(__name__)

#: ``publish(topic, payload, retain)``: hands one message over without waiting
Publish = Callable[[str, bytes, bool], None]

_NOT_IN_A_LEVEL = str.maketrans({"+": "_", "#": "_", "/": "_", "\x00": "_"})


def topic_level(name: str) -> str:
    """``name`` as exactly one topic level. ``+`` and ``#`` are wildcards (a topic holding them
    cannot be published, and ``PREFIX/#/audience`` would read as a filter), ``/`` would add a
    level and NUL is not allowed: each becomes ``_`` (``a/b`` and ``a_b`` then share a topic;
    camera names are checked elsewhere and never hold these)."""
    return name.translate(_NOT_IN_A_LEVEL) or "_"


def dumps(payload: Any) -> bytes:
    """Compact UTF-8 JSON; NaN and infinities become null (JSON has neither)."""
    return json.dumps(_finite(payload), separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def _finite(value: Any) -> Any:
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):  # numpy scalars
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def unix_time(iso: str) -> float | None:
    """An event's ``wall_time`` (ISO 8601 with its offset) as unix seconds; None if unreadable."""
    try:
        return datetime.fromisoformat(iso).timestamp()
    except (TypeError, ValueError):
        return None


#: (person_id, name, similarity): who a track is, as published; (None, None, None) before its
#: identity is confirmed, (None, None, similarity) when confirmed as nobody enrolled
Person = tuple[int | None, str | None, float | None]
NOBODY: Person = (None, None, None)


def person_of(track: TrackSnapshot) -> Person:
    who = track.identity
    if who is None or not who.confirmed:
        return NOBODY
    score = None if math.isnan(who.similarity) else round(who.similarity, 4)
    if who.person_id < 0:
        return None, None, score
    return who.person_id, who.name, score


def _same(a: Person, b: Person) -> bool:
    return a[:2] == b[:2]  # the similarity moves with every embedding: not a change


#: the object's fields whose change is worth an ``update``
CHANGES = ("person_id", "person", "current_zones", "entered_zones", "has_clip")


@dataclass
class _Track:
    """What the sink last published of one track (the next message's ``before``), the zones it
    entered so far and the person changes it still owes (oldest first)."""

    published: dict[str, Any]
    sent_at: float
    seen: Person
    entered: list[str] = field(default_factory=list)
    has_clip: bool = False
    owed: deque[Person] = field(default_factory=deque)


class MqttSink:
    """One camera's messages (see the module docstring); ``publish`` is the publisher's.

    ``update_every_s`` trades chattiness for latency: changes within it go out together in the
    next ``update``. A change of person is never lost: each distinct person a track was seen as
    goes out in order, one per allowed update (and all before the ``end``)."""

    def __init__(self, camera: str, publish: Publish, *, prefix: str = "facetrack",
                 update_every_s: float = 1.0, clock: Callable[[], float] = time.time) -> None:
        self.camera = camera
        self.update_every_s = update_every_s
        self.clock = clock
        self._publish = publish
        self.events_topic = f"{prefix}/events"
        self.tracked_topic = f"{prefix}/tracked_object_update"
        self.alerts_topic = f"{prefix}/alerts"
        self._tracks: dict[int, _Track] = {}
        self._wall = -math.inf

    def consume(self, result: FrameResult) -> None:
        wall = self._wall_time(result.events)
        clipped = {a.track_id for a in result.alerts if a.clip}
        ended = [e for e in result.events if isinstance(e, TrackEnded)]
        ending = {e.track_id for e in ended}
        for track in result.tracks:
            if track.track_id not in ending:
                self._follow(track, wall, track.track_id in clipped)
        for event in result.events:
            if isinstance(event, (IdentityMatched, UnknownFace)):
                self._identity(event, wall)
            elif isinstance(event, Alert):
                self._send(self.alerts_topic, event.to_dict())
        for end in ended:
            self._end(end.track_id, result.track(end.track_id), wall,
                      end.track_id in clipped)

    def close(self) -> None:
        """Ends the tracks whose ``track_ended`` never came (a camera stopped without its
        pipeline's last frame): Home Assistant is left with no face in view forever."""
        wall = max(self.clock(), self._wall)
        for track_id in list(self._tracks):
            self._end(track_id, None, wall, False)

    # -- the frame's wall time -------------------------------------------------------------

    def _wall_time(self, events: Sequence[Event]) -> float:
        wall = next((t for t in (unix_time(e.wall_time) for e in events) if t is not None),
                    None)
        self._wall = max(self._wall, self.clock() if wall is None else wall)
        return self._wall

    # -- a track's messages ----------------------------------------------------------------

    def _follow(self, track: TrackSnapshot, wall: float, clip: bool) -> None:
        known = self._tracks.get(track.track_id)
        if known is not None and track.started:  # the id was given again: the old one is over
            self._end(track.track_id, None, wall, False)
            known = None
        if known is None:
            self._announce(track, wall, clip)
            return
        self._note(known, track, clip)
        if wall - known.sent_at < self.update_every_s:
            return
        person = known.owed.popleft() if known.owed else person_of(track)
        after = self._object(known, track, person, wall)
        if any(after[k] != known.published[k] for k in CHANGES):
            self._message("update", known, after, wall)

    def _announce(self, track: TrackSnapshot, wall: float, clip: bool) -> _Track:
        person = person_of(track)
        known = self._tracks[track.track_id] = _Track({}, wall, person, has_clip=clip)
        self._note(known, track, clip)
        obj = self._object(known, track, person, wall)
        obj["id"] = f"{self.camera}-{track.track_id}-{wall:.3f}"
        obj["start_time"] = obj["frame_time"]
        known.published = obj
        self._send(self.events_topic, {"type": "new", "before": obj, "after": obj})
        return known

    def _note(self, known: _Track, track: TrackSnapshot, clip: bool) -> None:
        """What this frame adds to the track: a person change to owe, zones, a clip."""
        person = person_of(track)
        if not _same(person, known.seen):
            known.owed.append(person)
            known.seen = person
        known.entered += [z for z in zone_names(track) if z not in known.entered]
        known.has_clip = known.has_clip or clip

    def _end(self, track_id: int, track: TrackSnapshot | None, wall: float, clip: bool) -> None:
        known = self._tracks.get(track_id)
        if known is None:
            if track is None:
                return  # never announced, nothing known to say of it
            known = self._announce(track, wall, clip)
        elif track is not None:
            self._note(known, track, clip)
        while len(known.owed) > 1:  # every person it was seen as goes out, in order
            person = known.owed.popleft()
            self._message("update", known, self._object(known, track, person, wall), wall)
        person = known.owed.popleft() if known.owed else (
            person_of(track) if track is not None else _published_person(known))
        after = self._object(known, track, person, wall)
        after.update(end_time=after["frame_time"], active=False)
        self._message("end", known, after, wall)
        del self._tracks[track_id]

    def _object(self, known: _Track, track: TrackSnapshot | None, person: Person,
                wall: float) -> dict[str, Any]:
        """The track as Frigate's event object; with no snapshot (``close``), as published."""
        person_id, name, score = person
        before = known.published
        zones = zone_names(track) if track is not None else before.get("current_zones", [])
        return {
            "id": before.get("id"), "camera": self.camera, "label": "face",
            "track_id": track.track_id if track is not None else before.get("track_id"),
            "sub_label": name, "person": name, "person_id": person_id, "score": score,
            "start_time": before.get("start_time"), "frame_time": round(wall, 3),
            "end_time": None, "current_zones": zones, "entered_zones": list(known.entered),
            "has_clip": known.has_clip,
            "active": track.state == "active" if track is not None else False,
        }

    def _message(self, kind: str, known: _Track, after: dict[str, Any], wall: float) -> None:
        self._send(self.events_topic, {"type": kind, "before": known.published, "after": after})
        known.published, known.sent_at = after, wall

    def _identity(self, event: IdentityMatched | UnknownFace, wall: float) -> None:
        known = self._tracks.get(event.track_id)
        score = None if math.isnan(event.similarity) else round(event.similarity, 4)
        self._send(self.tracked_topic, {
            "type": "face", "id": known.published["id"] if known is not None else None,
            "name": event.person if isinstance(event, IdentityMatched) else None,
            "score": score, "camera": self.camera, "timestamp": round(wall, 3),
        })

    def _send(self, topic: str, payload: Mapping[str, Any]) -> None:
        self._publish(topic, dumps(payload), False)


def zone_names(track: TrackSnapshot) -> list[str]:
    """The zones the face is in now, sorted (the mapping's order is when each visit began)."""
    return sorted(track.signals.zones)


def audience_message(prefix: str, camera: str, rows: Sequence[Mapping[str, Any]]
                     ) -> tuple[str, bytes]:
    """``PREFIX/<camera>/audience`` and its payload: the window's bounds (those of its first
    row: every row of a window shares them) and its rows."""
    first = rows[0] if rows else {}
    payload = {"camera": camera, "window_start": first.get("window_start"),
               "window_end": first.get("window_end"), "rows": list(rows)}
    return f"{prefix}/{topic_level(camera)}/audience", dumps(payload)


def _published_person(known: _Track) -> Person:
    p = known.published
    return p["person_id"], p["person"], p["score"]
