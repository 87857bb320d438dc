"""The event store: one SQLite file (WAL), parameterised queries only; and ``events.jsonl``.

Several cameras write from their own threads: one connection per store, guarded by a lock,
one transaction per batch of events (a frame's events), so a crash never leaves half a batch.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from facetrack._closing import Closing
from facetrack.errors import DatabaseError, FacetrackError, InputError, OutputError
from facetrack.events import EVENT_TYPES, Event

log = logging.getLogger(__name__)

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
                    with contextlib.suppress(sqlite3.Error):
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
    """Append events to a JSON-lines file (mode 0600: events name people), one ``write`` per
    batch. A write the disk refuses (full) is cut back to the last whole line, so the file never
    holds half an event, and raises ``OutputError``; the caller keeps the batch and retries."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        try:
            self._fd: int | None = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT,
                                           0o600)
        except OSError as exc:
            raise OutputError(f"{self.path}: cannot write events ({exc.strerror or exc})"
                              ) from None

    def add(self, events: Sequence[Event]) -> None:
        if not events:
            return
        data = "".join(json.dumps(e.to_dict(), ensure_ascii=False) + "\n"
                       for e in events).encode("utf-8")
        with self._lock:
            if self._fd is None:
                raise OutputError(f"{self.path}: the events file is closed")
            start = os.lseek(self._fd, 0, os.SEEK_END)
            view = memoryview(data)
            try:
                while view:
                    view = view[os.write(self._fd, view):]
            except OSError as exc:
                with contextlib.suppress(OSError):
                    os.ftruncate(self._fd, start)
                raise OutputError(f"{self.path}: cannot write events ({exc.strerror or exc})"
                                  ) from None

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None


class Outbox:
    """Events on their way to one sink (the store or ``events.jsonl``), in order. What the sink
    refuses (a full disk, a database locked too long) waits here and is retried every
    ``retry_s``, so a passing outage loses no event and never stops a camera. At most ``limit``
    events wait; beyond that the oldest are dropped, counted in ``lost`` and logged."""

    def __init__(self, name: str, write: Callable[[Sequence[Event]], None], *,
                 limit: int = 100_000, retry_s: float = 2.0) -> None:
        self.name, self._write = name, write
        self.limit, self.retry_s = limit, retry_s
        self._batches: deque[list[Event]] = deque()
        self._lock = threading.Lock()
        self.waiting = 0
        self.lost = 0
        self.failing: str | None = None  # the reason, while the sink refuses
        self._next_try = 0.0

    def add(self, events: Sequence[Event]) -> None:
        if not events:
            return
        with self._lock:
            self._batches.append(list(events))
            self.waiting += len(events)
            dropped = 0
            while self.waiting > self.limit and len(self._batches) > 1:
                old = self._batches.popleft()
                self.waiting -= len(old)
                dropped += len(old)
            if dropped:
                self.lost += dropped
                log.error("%s: %d events dropped: %d were waiting (the limit)", self.name,
                          dropped, self.limit)
        self.flush()

    def flush(self, force: bool = False) -> bool:
        """Write what waits (while failing, at most every ``retry_s`` unless ``force``);
        True when nothing is left."""
        with self._lock:
            now = time.monotonic()
            if self.failing is not None and not force and now < self._next_try:
                return False
            while self._batches:
                batch = self._batches[0]
                try:
                    self._write(batch)
                except (FacetrackError, OSError) as exc:
                    if self.failing is None:
                        log.error("%s: %s; the events wait in memory and are retried every "
                                  "%g s", self.name, exc, self.retry_s)
                    self.failing = str(exc)
                    self._next_try = now + self.retry_s
                    return False
                self._batches.popleft()
                self.waiting -= len(batch)
            if self.failing is not None:
                log.warning("%s: writing again; every waiting event is stored", self.name)
                self.failing = None
            return True
