"""The event store: one SQLite file (WAL), parameterised queries only; and ``events.jsonl``.

Several cameras write from their own threads: one connection per store, guarded by a lock,
one transaction per batch of events (a frame's events), so a crash never leaves half a batch.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from facetrack._closing import Closing
from facetrack.errors import DatabaseError, InputError, OutputError
from facetrack.events import EVENT_TYPES, Event

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    camera TEXT NOT NULL,
    wall_time TEXT NOT NULL,
    ts REAL NOT NULL,
    frame INTEGER NOT NULL,
    track_id INTEGER NOT NULL,
    person_id INTEGER,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_time ON events (wall_time);
CREATE INDEX IF NOT EXISTS events_camera ON events (camera, wall_time);
"""


class EventStore(Closing):
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        try:
            self._conn = sqlite3.connect(str(self.path), check_same_thread=False,
                                         timeout=10.0, isolation_level=None)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise DatabaseError(f"{self.path}: cannot open the event store ({exc})") from None

    def add(self, events: Sequence[Event]) -> None:
        if not events:
            return
        rows = []
        for e in events:
            data = e.to_dict()
            rows.append((e.kind, e.camera, e.wall_time, e.timestamp, e.frame, e.track_id,
                         data.get("person_id"), json.dumps(data, ensure_ascii=False)))
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                self._conn.executemany(
                    "INSERT INTO events (kind, camera, wall_time, ts, frame, track_id, "
                    "person_id, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
                self._conn.execute("COMMIT")
            except sqlite3.Error as exc:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise DatabaseError(f"{self.path}: cannot store events ({exc})") from None

    def query(self, *, camera: str | None = None, since: str | None = None,
              kind: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        """Events, oldest first. ``since``: an ISO time or a duration back from now
        (``30s``, ``15m``, ``2h``, ``7d``)."""
        where: list[str] = []
        params: list[Any] = []
        if camera is not None:
            where.append("camera = ?")
            params.append(camera)
        if kind is not None:
            if kind not in EVENT_TYPES:
                raise InputError(f"unknown event type {kind!r}; known: "
                                 f"{', '.join(sorted(EVENT_TYPES))}")
            where.append("kind = ?")
            params.append(kind)
        if since is not None:
            where.append("wall_time >= ?")
            params.append(parse_since(since))
        # the clauses are fixed text chosen above; every value is a bound parameter
        sql = "SELECT data FROM events"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id DESC LIMIT ?"
        params.append(-1 if limit is None else int(limit))
        with self._lock:
            try:
                rows = self._conn.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise DatabaseError(f"{self.path}: cannot read events ({exc})") from None
        return [json.loads(r[0]) for r in reversed(rows)]  # the latest ``limit``, oldest first

    def close(self) -> None:
        with self._lock:
            self._conn.close()


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$")


def parse_since(text: str) -> str:
    """An ISO 8601 time (naive = UTC) or a duration back from now -> ISO UTC text."""
    m = _DURATION.match(text)
    if m:
        unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[m.group(2)]
        when = datetime.now(timezone.utc) - timedelta(**{unit: float(m.group(1))})
        return when.isoformat(timespec="milliseconds")
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise InputError(f"--since {text!r}: give an ISO time (2026-11-22T08:00) or a duration "
                         "(30s, 15m, 2h, 7d)") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.astimezone(timezone.utc).isoformat(timespec="milliseconds")


class EventsJsonl(Closing):
    """Append events to a JSON-lines file, flushed per batch (a crash keeps what was written)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        try:
            self._fh = self.path.open("a", encoding="utf-8")
        except OSError as exc:
            raise OutputError(f"{self.path}: cannot write events ({exc.strerror or exc})"
                              ) from None

    def add(self, events: Sequence[Event]) -> None:
        if not events:
            return
        text = "".join(json.dumps(e.to_dict(), ensure_ascii=False) + "\n" for e in events)
        with self._lock:
            self._fh.write(text)
            self._fh.flush()

    def close(self) -> None:
        with self._lock:
            self._fh.close()
