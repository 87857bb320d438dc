"""EventRules and AlertPolicy on scripted results; the event store."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from facetrack.config.camera import AlertsConfig, EventsConfig
from facetrack.errors import InputError, OutputError
from facetrack.events import Alert, Event, IdentityMatched, UnknownFace
from facetrack.faces import Faces
from facetrack.frames import Frame
from facetrack.results import FrameResult
from facetrack.rules.events import AlertPolicy, EventRules
from facetrack.storage.events import EventsJsonl, EventStore, Outbox, parse_since

FPS = 10.0


def result(index: int, rows: list[dict], names: dict[int, str] | None = None) -> FrameResult:
    """One frame at FPS with faces described by dicts (track, box, closed, looking, person,
    confirmed, embedding)."""
    n = len(rows)
    boxes = [r.get("box", (100, 100, 200, 200)) for r in rows]
    faces = Faces.from_arrays(boxes, [0.9] * n, track_id=[r["track"] for r in rows])
    attrs = {
        "analysed": np.ones(n, bool),
        "eyes_closed": np.array([r.get("closed", False) for r in rows], bool),
        "looking": np.array([r.get("looking", True) for r in rows], bool),
    }
    if any("person" in r for r in rows):
        attrs["person_id"] = np.array([r.get("person", -1) for r in rows], np.int64)
        attrs["similarity"] = np.array([r.get("sim", 0.5) for r in rows], np.float32)
        attrs["identity_confirmed"] = np.array([r.get("confirmed", True) for r in rows], bool)
    faces = faces.with_attrs(**attrs)
    if any("embedding" in r for r in rows):
        emb = np.full((n, 3), np.nan, np.float32)
        for i, r in enumerate(rows):
            if "embedding" in r:
                v = np.asarray(r["embedding"], np.float32)
                emb[i] = v / np.linalg.norm(v)
        faces = faces.replace(embedding=emb)
    frame = Frame(np.zeros((4, 4, 3), np.uint8), "cam", index, index / FPS)
    return FrameResult(frame, faces, names or {})


def run(rules: EventRules, frames: list[list[dict]], names: dict[int, str] | None = None):
    out = []
    for i, rows in enumerate(frames):
        out += rules.consume(result(i, rows, names))
    return out


def kinds(events) -> list[str]:
    return [e.kind for e in events]


def test_track_started_and_ended_once() -> None:
    rules = EventRules("cam", EventsConfig(end_after_s=1.0))
    frames = [[{"track": 1}]] * 10 + [[]] * 15
    events = run(rules, frames)
    assert kinds(events) == ["track_started", "track_ended"]
    ended = events[1]
    assert ended.track_id == 1 and ended.frames == 10
    assert ended.duration_s == pytest.approx(0.9)
    assert ended.timestamp == pytest.approx(1.9)  # first frame >= 1 s after the last sighting


def test_eyes_closed_drowsy_and_distracted() -> None:
    cfg = EventsConfig(eyes_closed_s=1.0, drowsy_perclos=0.3, drowsy_window_s=4.0,
                       distracted_s=2.0)
    rules = EventRules("cam", cfg)
    # 2 s open, 1.5 s closed, 1 s open, 1.5 s closed, then 3 s looking away
    pattern = [False] * 20 + [True] * 15 + [False] * 10 + [True] * 15
    frames = [[{"track": 1, "closed": c}] for c in pattern]
    frames += [[{"track": 1, "looking": False}]] * 30
    events = run(rules, frames)
    names = kinds(events)
    assert names.count("eyes_closed") == 2  # once per spell >= 1 s
    assert names.count("drowsy") == 1  # PERCLOS over 4 s reached 0.3, not re-armed meanwhile
    drowsy = next(e for e in events if e.kind == "drowsy")
    assert drowsy.perclos >= 0.3 and drowsy.timestamp >= 0.8 * 4.0
    assert names.count("distracted") == 1
    dis = next(e for e in events if e.kind == "distracted")
    assert dis.duration_s == pytest.approx(2.0, abs=0.11)


def test_dwell_in_a_named_zone_once_per_visit() -> None:
    zone = {"door": [(0, 0), (300, 0), (300, 300), (0, 300)]}
    rules = EventRules("cam", EventsConfig(dwell_s=1.0), zone)
    inside = {"track": 1, "box": (10, 10, 50, 50)}
    outside = {"track": 1, "box": (400, 400, 450, 450)}
    events = run(rules, [[inside]] * 15 + [[outside]] * 3 + [[inside]] * 15)
    dwell = [e for e in events if e.kind == "dwell"]
    assert [d.zone for d in dwell] == ["door", "door"]
    assert dwell[0].duration_s == pytest.approx(1.0)


def test_identity_events_once_per_track_and_alert_holdoff_per_person() -> None:
    rules = EventRules("cam", EventsConfig(end_after_s=0.5))
    policy = AlertPolicy(AlertsConfig(mode="ON_ALL", holdoff_s=60), rules)
    names = {7: "ada"}
    frames = (
        [[{"track": 1, "person": 7}]] * 5       # ada
        + [[]] * 8                               # leaves
        + [[{"track": 2, "person": 7}]] * 5     # ada again, new track: no second alert
        + [[{"track": 3, "person": -1, "embedding": [1, 0, 0]}]] * 5   # an unknown
        + [[]] * 8
        + [[{"track": 4, "person": -1, "embedding": [0.95, 0.1, 0]}]] * 5  # same unknown
        + [[{"track": 5, "person": -1, "embedding": [0, 1, 0]}]] * 5       # someone else
    )
    alerts: list[Alert] = []
    events = []
    for i, rows in enumerate(frames):
        ev = rules.consume(result(i, rows, names))
        events += ev
        alerts += policy.consider(ev)
    assert sum(isinstance(e, IdentityMatched) for e in events) == 2  # one per track
    assert sum(isinstance(e, UnknownFace) for e in events) == 3
    assert [(a.reason, a.person_key) for a in alerts] == [
        ("identity_matched", "person:7"), ("unknown_face", "unknown:1"),
        ("unknown_face", "unknown:2"),
    ]
    assert alerts[0].person == "ada"


def test_alert_modes_and_rules() -> None:
    def alerts_for(config: AlertsConfig) -> list[str]:
        rules = EventRules("cam", EventsConfig(eyes_closed_s=0.5))
        policy = AlertPolicy(config, rules)
        frames = ([[{"track": 1, "person": 7}]] * 3
                  + [[{"track": 1, "person": 7, "closed": True}]] * 10)
        out = []
        for i, rows in enumerate(frames):
            out += [a.reason for a in policy.consider(rules.consume(result(i, rows)))]
        return out

    assert alerts_for(AlertsConfig(mode="NONE")) == []
    assert alerts_for(AlertsConfig(mode="ON_UNKNOWNS")) == []
    assert alerts_for(AlertsConfig(mode="ON_KNOWNS")) == ["identity_matched"]
    assert alerts_for(AlertsConfig(mode="NONE", on=["eyes_closed"])) == ["eyes_closed"]


def test_holdoff_expires() -> None:
    rules = EventRules("cam", EventsConfig(end_after_s=0.2))
    policy = AlertPolicy(AlertsConfig(mode="ON_KNOWNS", holdoff_s=1.0), rules)
    frames = ([[{"track": 1, "person": 7}]] * 2 + [[]] * 3 + [[{"track": 2, "person": 7}]] * 2
              + [[]] * 8 + [[{"track": 3, "person": 7}]] * 2)
    alerts = []
    for i, rows in enumerate(frames):
        alerts += policy.consider(rules.consume(result(i, rows)))
    assert [a.track_id for a in alerts] == [1, 3]  # track 2 within 1 s of the first alert


# -- the event store ---------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgres"])
def store_target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The embedded default (a SQLite file) and a real PostgreSQL server."""
    if request.param == "postgres":
        return str(request.getfixturevalue("pg_url"))
    return str(tmp_path / "ev.db")


def test_event_store_filters_and_concurrent_writers(store_target: str, tmp_path: Path) -> None:
    rules_a = EventRules("a", EventsConfig(end_after_s=0.5))
    rules_b = EventRules("b", EventsConfig(end_after_s=0.5))
    events_a = run(rules_a, [[{"track": 1}]] * 3 + [[]] * 10)
    events_b = run(rules_b, [[{"track": 9}]] * 3)
    with EventStore(store_target) as store, EventsJsonl(tmp_path / "ev.jsonl") as jl:
        def write(events: list, times: int) -> None:
            for _ in range(times):
                store.add(events)
                jl.add(events)

        threads = [threading.Thread(target=write, args=(events_a, 50)),
                   threading.Thread(target=write, args=(events_b, 50))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(store.query()) == 50 * (len(events_a) + len(events_b))
        assert {r["camera"] for r in store.query(camera="b")} == {"b"}
        assert {r["kind"] for r in store.query(kind="track_ended")} == {"track_ended"}
        assert len(store.query(limit=3)) == 3
        assert store.query(since="1h") and not store.query(since="2999-01-01T00:00")
        with pytest.raises(InputError, match="unknown event type"):
            store.query(kind="nope")
    lines = (tmp_path / "ev.jsonl").read_text().splitlines()
    assert len(lines) == 50 * (len(events_a) + len(events_b))


def test_outbox_keeps_order_through_an_outage_and_bounds_what_waits(tmp_path: Path) -> None:
    """A sink that refuses for a while (as a full disk does) gets every batch once, in order,
    once it accepts again; past the limit the oldest waiting events are dropped and counted."""
    events = run(EventRules("a", EventsConfig(end_after_s=0.5)), [[{"track": 1}]] * 3 + [[]] * 10)
    refusing = {"on": True}
    with EventStore(tmp_path / "ev.db") as store:
        def write(batch: Sequence[Event]) -> None:
            if refusing["on"]:
                raise OutputError("disk full")
            store.add(batch)

        box = Outbox("store", write, limit=len(events) * 3, retry_s=0.05)
        try:
            for _ in range(5):
                box.add(events)
            end = time.monotonic() + 5
            while box.failing is None and time.monotonic() < end:
                time.sleep(0.01)
            assert box.failing == "disk full" and box.lost == 2 * len(events)
            assert box.waiting == 3 * len(events) and not store.query()
            refusing["on"] = False
            assert box.drain(5.0) and box.failing is None
            assert [r["kind"] for r in store.query()] == [e.kind for e in events] * 3
        finally:
            box.close(1.0)


def test_events_file_on_a_full_device_is_a_clear_error() -> None:
    """/dev/full refuses every write with ENOSPC, as a full disk does."""
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full here")
    events = run(EventRules("a", EventsConfig()), [[{"track": 1}]] * 3)
    with EventsJsonl("/dev/full") as jl, pytest.raises(OutputError,
                                                       match="No space left on device"):
        jl.add(events)


def test_parse_since() -> None:
    assert parse_since("2026-11-22T08:00").startswith("2026-11-22T08:00:00")
    assert parse_since("2026-11-22T09:00+01:00").startswith("2026-11-22T08:00:00")
    assert parse_since("15m") < parse_since("1m")
    with pytest.raises(InputError, match="ISO time"):
        parse_since("yesterday")


def test_alert_memory_is_bounded_by_the_holdoff() -> None:
    """Thousands of different tracks over hours: expired hold-offs are forgotten."""
    rules = EventRules("cam", EventsConfig(end_after_s=0.05))
    policy = AlertPolicy(AlertsConfig(on=["track_started"], holdoff_s=1.0), rules)
    alerts = 0
    for i in range(3000):
        ev = rules.consume(result(i, [{"track": i + 1}]))
        alerts += len(policy.consider(ev))
    assert alerts == 3000
    assert len(policy._last) <= 1001
