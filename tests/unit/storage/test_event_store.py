"""The event store on SQLite and a real PostgreSQL server, and events.jsonl."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from facetrack.errors import DatabaseError, InputError, OutputError
from facetrack.events import Event, TrackEnded, TrackStarted
from facetrack.storage.events import EventsJsonl, EventStore, parse_since

WALL = "2026-11-30T12:00:00.000+00:00"


def events_of(camera: str, tracks: int = 1) -> list[Event]:
    out: list[Event] = []
    for t in range(1, tracks + 1):
        out += [TrackStarted(camera, 0, 0.0, t, WALL),
                TrackEnded(camera, 9, 0.9, t, WALL, duration_s=0.9, frames=10)]
    return out


@pytest.fixture(params=["sqlite", "postgres"])
def store_target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The embedded default (a SQLite file) and a real PostgreSQL server."""
    if request.param == "postgres":
        return str(request.getfixturevalue("pg_url"))
    return str(tmp_path / "ev.db")


def test_event_store_filters_and_concurrent_writers(store_target: str, tmp_path: Path) -> None:
    events_a, events_b = events_of("a"), events_of("b", 2)
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
        assert not store.query(since="2999-01-01T00:00")
        with pytest.raises(InputError, match="unknown event type"):
            store.query(kind="nope")
    lines = (tmp_path / "ev.jsonl").read_text().splitlines()
    assert len(lines) == 50 * (len(events_a) + len(events_b))
    with EventStore(store_target, read_only=True) as store:
        assert len(store.query(camera="a")) == 50 * len(events_a)


def test_reading_never_changes_a_file(tmp_path: Path) -> None:
    """`facetrack events` on a foreign SQLite file (a face database, say) must not switch it to
    WAL nor create an events table in it: it is refused, untouched."""
    other = tmp_path / "faces.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE people (id INTEGER PRIMARY KEY)")
    before = other.read_bytes()
    with pytest.raises(DatabaseError, match="not a facetrack event store"):
        EventStore(other, read_only=True)
    assert other.read_bytes() == before
    with sqlite3.connect(other) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    with pytest.raises(DatabaseError, match="no event store here"):
        EventStore(tmp_path / "missing.db", read_only=True)
    assert not (tmp_path / "missing.db").exists()


def test_a_store_on_read_only_storage_can_be_read(tmp_path: Path) -> None:
    path = tmp_path / "ev.db"
    with EventStore(path) as store:
        store.add(events_of("a"))
    with sqlite3.connect(path) as conn:  # readers of a WAL file need its -shm; hand it over
        conn.execute("PRAGMA journal_mode=DELETE")
    path.chmod(0o444)
    tmp_path.chmod(0o555)
    try:
        with EventStore(path, read_only=True) as store:
            assert len(store.query()) == 2
    finally:
        tmp_path.chmod(0o755)
        path.chmod(0o644)


def test_events_file_on_a_full_device_is_a_clear_error() -> None:
    """/dev/full refuses every write with ENOSPC, as a full disk does."""
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full here")
    with EventsJsonl("/dev/full") as jl, pytest.raises(OutputError,
                                                       match="No space left on device"):
        jl.add(events_of("a"))


def test_parse_since() -> None:
    assert parse_since("2026-11-22T08:00").startswith("2026-11-22T08:00:00")
    assert parse_since("2026-11-22T09:00+01:00").startswith("2026-11-22T08:00:00")
    assert parse_since("15m") < parse_since("1m")
    with pytest.raises(InputError, match="ISO time"):
        parse_since("yesterday")


def test_an_older_store_gets_the_indexes_added_since(tmp_path: Path) -> None:
    """A store made before ``events_kind`` existed gets it when opened for writing, and a
    kind's latest events are read through it, not by scanning every event."""
    db = tmp_path / "ev.db"
    EventStore(db).close()
    with sqlite3.connect(db) as conn:
        conn.execute("DROP INDEX events_kind")
    EventStore(db).close()
    with sqlite3.connect(db) as conn:
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE "
                                            "type = 'index'")}
        plan = " ".join(r[3] for r in conn.execute(
            "EXPLAIN QUERY PLAN SELECT id FROM events WHERE kind = 'alert' AND wall_time >= "
            "'2026-11-30' ORDER BY id DESC LIMIT 50"))
    assert "events_kind" in names
    assert "USING INDEX events_kind" in plan and "SCAN" not in plan
