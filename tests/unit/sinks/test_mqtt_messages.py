"""The MQTT sink's messages without a broker: scripted results in, the messages it hands to
``publish`` out (topic, decoded JSON, retain). A scene is a list of frames, each at a time (s
after T0) with its track snapshots (built by ``face``) and events; the sink's clock reads the
scene's time, and events carry the same time as their ``wall_time``."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import pytest

from facetrack.events import Alert, Event, IdentityMatched, TrackEnded, TrackStarted, UnknownFace
from facetrack.results import FrameResult
from facetrack.sinks.mqtt import MqttSink, audience_message, dumps, topic_level, unix_time
from facetrack.tracks import TrackIdentity, TrackSnapshot
from tests.builders import make_frame, snapshot

T0 = 1_798_761_600.0  # 2027-01-01T00:00:00Z
CAMERA = "door"
EVENTS, TRACKED, ALERTS = "ft/events", "ft/tracked_object_update", "ft/alerts"


def iso(t: float) -> str:
    return datetime.fromtimestamp(T0 + t, timezone.utc).isoformat(timespec="milliseconds")


def face(track_id: int = 1, *, new: bool = False, who: str | None = None,
         zones: Sequence[str] = (), confirmed: bool = True, similarity: float = 0.7,
         state: str = "active") -> TrackSnapshot:
    """A track snapshot: ``new`` on its first frame; ``who`` the voted person ("?" = confirmed
    as nobody enrolled)."""
    identity = None
    if who is not None:
        pid = -1 if who == "?" else sum(map(ord, who))
        identity = TrackIdentity(pid, None if who == "?" else who, similarity, confirmed)
    return snapshot(track_id, state=state, frames_seen=1 if new else 2, identity=identity,
                    zones={z: 0.0 for z in zones})


def event(cls: type[Event], t: float, track_id: int = 1, **fields: Any) -> Event:
    return cls(CAMERA, 0, t, track_id, iso(t), **fields)


@dataclass
class Frame:
    t: float
    tracks: Sequence[TrackSnapshot] = ()
    events: Sequence[Event] = ()


class Scene:
    """One camera's sink, fed scripted frames; ``messages`` is everything it published."""

    def __init__(self, update_every_s: float = 1.0) -> None:
        self.now = T0
        self.messages: list[tuple[str, dict[str, Any], bool]] = []
        self.sink = MqttSink(CAMERA, self._publish, prefix="ft", update_every_s=update_every_s,
                             clock=lambda: self.now)
        self.index = 0

    def _publish(self, topic: str, payload: bytes, retain: bool) -> None:
        self.messages.append((topic, json.loads(payload.decode("utf-8")), retain))

    def play(self, frames: Sequence[Frame]) -> Scene:
        for f in frames:
            self.now = T0 + f.t
            self.index += 1
            self.sink.consume(FrameResult(make_frame(self.index), tracks=tuple(f.tracks),
                                          events=tuple(f.events)))
        return self

    def on(self, topic: str) -> list[dict[str, Any]]:
        return [m for t, m, _ in self.messages if t == topic]

    @property
    def events(self) -> list[dict[str, Any]]:
        return self.on(EVENTS)

    def timeline(self) -> list[tuple[str, float]]:
        """(type, frame time - T0) of every events message."""
        return [(m["type"], round(m["after"]["frame_time"] - T0, 3)) for m in self.events]


def started(t: float, track_id: int = 1, **kw: Any) -> Frame:
    return Frame(t, [face(track_id, new=True, **kw)], [event(TrackStarted, t, track_id)])


def ended(t: float, track_id: int = 1, **kw: Any) -> Frame:
    return Frame(t, [face(track_id, state="ended", **kw)], [event(TrackEnded, t, track_id)])


# -- a track's life ------------------------------------------------------------------------------


def test_new_update_end_carry_one_object_in_frigate_shape() -> None:
    scene = Scene().play([
        started(0.0),
        Frame(2.0, [face(zones=["entrance"])]),
        Frame(3.0, [face(who="Ann", zones=["entrance"])]),
        Frame(4.0, [face(who="Ann", zones=["entrance"], state="lost")]),  # nothing changed
        ended(5.0, who="Ann"),
    ])
    assert scene.timeline() == [("new", 0.0), ("update", 2.0), ("update", 3.0), ("end", 5.0)]
    new, zone, person, end = scene.events
    assert new["before"] == new["after"]
    assert new["after"] == {
        "id": f"door-1-{T0:.3f}", "camera": "door", "label": "face", "track_id": 1,
        "sub_label": None, "person": None, "person_id": None, "score": None,
        "start_time": T0, "frame_time": T0, "end_time": None, "current_zones": [],
        "entered_zones": [], "has_clip": False, "active": True,
    }
    for before, after in zip(scene.events, scene.events[1:], strict=False):
        assert after["before"] == before["after"]  # each message continues the last
        assert after["after"]["id"] == new["after"]["id"]
        assert after["after"]["start_time"] == T0
    assert zone["after"]["current_zones"] == zone["after"]["entered_zones"] == ["entrance"]
    assert person["after"]["sub_label"] == person["after"]["person"] == "Ann"
    assert person["after"]["score"] == 0.7
    assert person["after"]["end_time"] is None
    assert end["after"]["end_time"] == end["after"]["frame_time"] == T0 + 5.0
    assert end["after"]["active"] is False
    assert end["after"]["person"] == "Ann"
    assert all(retain is False for _, _, retain in scene.messages)


@pytest.mark.parametrize(("name", "frames", "timeline"), [
    ("a change waits for update_every_s, then goes out once with the latest state",
     [started(0.0), Frame(0.3, [face(zones=["a"])]), Frame(0.6, [face(zones=["a", "b"])]),
      Frame(0.9, [face(zones=["b"])]), Frame(1.2, [face(zones=["b"])]),
      Frame(1.5, [face(zones=[])]), Frame(2.0, [face(zones=[])]),
      Frame(2.2, [face(zones=[])])],
     [("new", 0.0), ("update", 1.2), ("update", 2.2)]),
    ("a zone entered and left between two messages still shows in entered_zones",
     [started(0.0), Frame(0.5, [face(zones=["a"])]), Frame(0.8, [face()]),
      Frame(1.1, [face()])],
     [("new", 0.0), ("update", 1.1)]),
    ("a change right after an update is sent at the next allowed time, not lost",
     [started(0.0), Frame(1.0, [face(zones=["a"])]), Frame(1.1, [face(zones=["b"])]),
      Frame(1.9, [face(zones=["b"])]), Frame(2.0, [face(zones=["b"])])],
     [("new", 0.0), ("update", 1.0), ("update", 2.0)]),
    ("the similarity moving and the face coasting are no change",
     [started(0.0, who="Ann", similarity=0.6), Frame(1.0, [face(who="Ann", similarity=0.8)]),
      Frame(2.0, [face(who="Ann", similarity=0.9, state="lost")])],
     [("new", 0.0)]),
    ("an unconfirmed vote is nobody yet",
     [started(0.0), Frame(1.0, [face(who="Ann", confirmed=False)])],
     [("new", 0.0)]),
    ("update_every_s 0: every change at once",
     [started(0.0), Frame(0.1, [face(zones=["a"])]), Frame(0.2, [face(zones=["b"])])],
     [("new", 0.0), ("update", 0.1), ("update", 0.2)]),
    ("the end is never held back",
     [started(0.0), Frame(0.2, [face(zones=["a"])]), ended(0.4, zones=["a"])],
     [("new", 0.0), ("end", 0.4)]),
])
def test_updates_are_throttled_per_track(name: str, frames: list[Frame],
                                         timeline: list[tuple[str, float]]) -> None:
    every = 0.0 if "update_every_s 0" in name else 1.0
    assert Scene(every).play(frames).timeline() == timeline, name


def test_throttling_is_per_track() -> None:
    scene = Scene().play([
        started(0.0, 1), started(0.5, 2),
        Frame(1.0, [face(1, zones=["a"]), face(2, zones=["a"])]),
        Frame(1.5, [face(1, zones=["a"]), face(2, zones=["a"])]),
    ])
    sent = [(m["type"], m["after"]["track_id"], m["after"]["frame_time"] - T0)
            for m in scene.events]
    assert sent == [("new", 1, 0.0), ("new", 2, 0.5), ("update", 1, 1.0), ("update", 2, 1.5)]


@pytest.mark.parametrize(("name", "frames", "people"), [
    ("a person confirmed just after a message goes out at the next allowed time",
     [started(0.0), Frame(0.2, [face(who="Ann")]), Frame(1.0, [face(who="Ann")])],
     [None, "Ann"]),
    ("A, B and back to A within one interval: B is not swallowed",
     [started(0.0, who="Ann"), Frame(0.2, [face(who="Bob")]), Frame(0.4, [face(who="Ann")]),
      Frame(1.0, [face(who="Ann")]), Frame(1.5, [face(who="Ann")]),
      Frame(2.0, [face(who="Ann")])],
     ["Ann", "Bob", "Ann"]),
    ("people still owed at the end go out in order, the last in the end message",
     [started(0.0), Frame(0.2, [face(who="Ann")]), Frame(0.4, [face(who="Bob")]),
      ended(0.6, who="Bob")],
     [None, "Ann", "Bob"]),
    ("confirmed as nobody enrolled is no change of person (tracked_object_update says it); "
     "the next update carries the similarity as the score",
     [started(0.0), Frame(1.0, [face(who="?", similarity=0.31)]),
      Frame(2.0, [face(who="?", similarity=0.31, zones=["a"])])],
     [None, None]),
])
def test_a_change_of_person_is_never_swallowed(name: str, frames: list[Frame],
                                               people: list[str | None]) -> None:
    scene = Scene().play(frames)
    assert [m["after"]["person"] for m in scene.events] == people, name
    for m in scene.events[1:]:
        assert m["after"]["sub_label"] == m["after"]["person"]
    if "nobody" in name:
        assert scene.events[-1]["after"]["score"] == 0.31
        assert scene.events[-1]["after"]["person_id"] is None


def test_a_clip_linked_to_an_alert_sets_has_clip_and_the_alert_is_published() -> None:
    alert = event(Alert, 1.0, reason="drowsy", person_key="track:1", clip="clips/door-1.mp4")
    other = event(Alert, 1.0, 2, reason="drowsy", person_key="track:2")  # no clip
    scene = Scene().play([started(0.0), started(0.0, 2),
                          Frame(1.0, [face(1), face(2)], [alert, other]),
                          Frame(1.5, [face(1), face(2)])])  # has_clip stays once set
    assert [(m["after"]["track_id"], m["after"]["has_clip"]) for m in scene.events] == [
        (1, False), (2, False), (1, True)]
    assert scene.on(ALERTS) == [json.loads(dumps(alert.to_dict())),
                                json.loads(dumps(other.to_dict()))]
    assert scene.on(ALERTS)[0]["clip"] == "clips/door-1.mp4"


def test_identity_events_become_tracked_object_updates() -> None:
    scene = Scene().play([
        started(0.0),
        Frame(2.0, [face(who="Ann", similarity=0.71)],
              [event(IdentityMatched, 2.0, person_id=5, person="Ann", similarity=0.71234)]),
        started(3.0, 2),
        Frame(4.0, [face(2, who="?", similarity=0.2)],
              [event(UnknownFace, 4.0, 2, similarity=0.2)]),
        Frame(5.0, [face(2)], [event(UnknownFace, 5.0, 2)]),  # NaN similarity
    ])
    assert scene.on(TRACKED) == [
        {"type": "face", "id": f"door-1-{T0:.3f}", "name": "Ann", "score": 0.7123,
         "camera": "door", "timestamp": T0 + 2.0},
        {"type": "face", "id": f"door-2-{T0 + 3:.3f}", "name": None, "score": 0.2,
         "camera": "door", "timestamp": T0 + 4.0},
        {"type": "face", "id": f"door-2-{T0 + 3:.3f}", "name": None, "score": None,
         "camera": "door", "timestamp": T0 + 5.0},
    ]


def test_an_identity_event_on_the_last_frame_still_names_the_track() -> None:
    scene = Scene().play([started(0.0), Frame(1.0, [face(who="Ann", state="ended")], [
        event(IdentityMatched, 1.0, person_id=5, person="Ann", similarity=0.7),
        event(TrackEnded, 1.0)])])
    assert scene.on(TRACKED)[0]["id"] == f"door-1-{T0:.3f}"
    assert scene.timeline() == [("new", 0.0), ("end", 1.0)]


# -- ids, times, odd lifetimes -------------------------------------------------------------------


def test_a_reused_track_id_ends_the_old_track_and_gets_a_new_id() -> None:
    """A camera's pipeline is rebuilt when it reconnects and its ids start again."""
    scene = Scene().play([started(0.0, zones=["a"]), Frame(1.0, [face(zones=["a"])]),
                          started(7.0)])
    assert scene.timeline() == [("new", 0.0), ("end", 7.0), ("new", 7.0)]
    ids = [m["after"]["id"] for m in scene.events]
    assert ids[0] == ids[1] != ids[2] == f"door-1-{T0 + 7:.3f}"
    assert scene.events[2]["after"]["entered_zones"] == []


def test_close_ends_tracks_whose_end_never_came() -> None:
    scene = Scene().play([started(0.0, who="Ann"), Frame(0.5, [face(who="Bob")])])
    scene.now = T0 + 9.0
    scene.sink.close()
    assert scene.timeline() == [("new", 0.0), ("end", 9.0)]
    end = scene.events[-1]["after"]
    assert (end["person"], end["end_time"], end["active"]) == ("Bob", T0 + 9.0, False)
    scene.sink.close()  # nothing left to end
    assert len(scene.events) == 2


def test_an_end_of_a_track_never_seen_announces_it_first() -> None:
    scene = Scene().play([ended(3.0, who="Ann"), Frame(4.0, [], [event(TrackEnded, 4.0, 9)])])
    assert scene.timeline() == [("new", 3.0), ("end", 3.0)]  # track 9: nothing to say


@pytest.mark.parametrize(("name", "frames", "times"), [
    ("events' wall_time over the clock",
     [Frame(0.0, [face(new=True)], [TrackStarted(CAMERA, 0, 0.0, 1, iso(-2.5))])], [-2.5]),
    ("the clock when the frame has no event",
     [Frame(0.0, [face(new=True)])], [0.0]),
    ("an unreadable wall_time falls back to the clock",
     [Frame(1.0, [face(new=True)], [TrackStarted(CAMERA, 0, 0.0, 1, "yesterday")])], [1.0]),
    ("never backwards: a clock stepped back repeats the last time",
     [started(5.0), Frame(1.0, [face(zones=["a"])]), Frame(6.5, [face(zones=["a"])])],
     [5.0, 6.5]),
])
def test_frame_wall_time(name: str, frames: list[Frame], times: list[float]) -> None:
    scene = Scene().play(frames)
    assert [round(m["after"]["frame_time"] - T0, 3) for m in scene.events] == times, name


# -- topics and payloads -------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "level"), [
    ("door", "door"), ("front.door-2", "front.door-2"), ("a+b", "a_b"), ("#", "_"),
    ("a/b", "a_b"), ("x/+/#", "x____"), ("nul\x00", "nul_"), ("", "_"),
])
def test_a_camera_name_is_always_one_topic_level_without_wildcards(name: str,
                                                                   level: str) -> None:
    assert topic_level(name) == level
    topic, _ = audience_message("ft", name, [{"window_start": 0}])
    assert topic == f"ft/{level}/audience"
    assert not set(topic) & {"+", "#", "\x00"} and topic.count("/") == 2


def test_audience_message_carries_the_window_and_its_rows() -> None:
    rows = [{"window_start": "2027-01-01T00:00:00.000+00:00",
             "window_end": "2027-01-01T00:01:00.000+00:00", "zone": "all", "target": "screen",
             "ots": 3, "conversion": None, "attraction": math.nan},
            {"window_start": "2027-01-01T00:00:00.000+00:00",
             "window_end": "2027-01-01T00:01:00.000+00:00", "zone": "entrance",
             "target": "screen", "ots": 1, "conversion": 1.0, "attraction": 0.5}]
    topic, payload = audience_message("ft", "door", rows)
    body = json.loads(payload)
    assert topic == "ft/door/audience"
    assert body["camera"] == "door"
    assert body["window_start"] == "2027-01-01T00:00:00.000+00:00"
    assert body["window_end"] == "2027-01-01T00:01:00.000+00:00"
    assert [r["zone"] for r in body["rows"]] == ["all", "entrance"]
    assert body["rows"][0]["attraction"] is None  # NaN is not JSON


def test_payloads_are_strict_utf8_json() -> None:
    import numpy as np

    raw = dumps({"name": "Zoë", "x": float("inf"), "y": np.float32(0.5), "z": [np.nan, 1]})
    assert "Zoë".encode() in raw
    assert json.loads(raw) == {"name": "Zoë", "x": None, "y": 0.5, "z": [None, 1]}


def test_unix_time_reads_the_events_iso_times() -> None:
    assert unix_time(iso(1.25)) == pytest.approx(T0 + 1.25)
    assert unix_time("2027-01-01T01:00:00.000+01:00") == T0
    assert unix_time("not a time") is None
