"""The event store (a SQLite file in WAL mode, or a PostgreSQL database) and ``events.jsonl``.

One table, written and read through SQLAlchemy Core: bound parameters only, the same queries on
both engines. Several cameras write from their own threads: one transaction per batch of events
(a frame's events), so a crash never leaves half a batch. ``EventStore("events.db")`` opens or
creates a SQLite file; ``EventStore("postgresql://user@host/db")`` a PostgreSQL database (the
``[postgres]`` extra: psycopg), for a store several monitors share.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from facetrack._closing import Closing
from facetrack.errors import DatabaseError, FacetrackError, InputError, OutputError
from facetrack.events import EVENT_TYPES, Event

log = logging.getLogger(__name__)

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # SQLite: INTEGER PRIMARY KEY = rowid
_metadata = sa.MetaData()
_events = sa.Table(
    "events", _metadata,
    sa.Column("id", _ID, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("camera", sa.Text, nullable=False),
    sa.Column("wall_time", sa.Text, nullable=False),  # ISO 8601 UTC: sorts as text
    sa.Column("ts", sa.Float, nullable=False),
    sa.Column("frame", sa.BigInteger, nullable=False),
    sa.Column("track_id", sa.BigInteger, nullable=False),
    sa.Column("person_id", sa.BigInteger),
    sa.Column("data", sa.Text, nullable=False),
    sa.Index("events_time", "wall_time"),
    sa.Index("events_camera", "camera", "wall_time"),
)


def is_database_url(target: str | Path) -> bool:
    return "://" in str(target)


def _engine(target: str | Path) -> sa.Engine:
    text = str(target)
    if not is_database_url(text):
        engine = sa.create_engine(sa.URL.create("sqlite", database=text),
                                  poolclass=sa.pool.StaticPool,
                                  connect_args={"check_same_thread": False, "timeout": 10.0})

        @sa.event.listens_for(engine, "connect")
        def _wal(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.execute("PRAGMA journal_mode=WAL")

        return engine
    try:
        url = sa.make_url(text)
    except (ValueError, sa.exc.ArgumentError):
        raise InputError("event store: not a valid database URL (give a SQLite file or "
                         "postgresql://user:password@host:port/db)") from None
    if url.drivername in ("postgresql", "postgres", "postgresql+psycopg"):
        url = url.set(drivername="postgresql+psycopg")  # psycopg 3 (the [postgres] extra)
    else:
        raise InputError(f"event store {url.render_as_string(hide_password=True)}: give a "
                         "SQLite file or a postgresql:// URL")
    # a host that vanishes (no RST) must not hold a write for minutes: TCP keepalives, a
    # user timeout and a statement timeout bound every call; the outbox then retries
    connect = {"connect_timeout": 5, "keepalives": 1, "keepalives_idle": 10,
               "keepalives_interval": 5, "keepalives_count": 3, "tcp_user_timeout": 15000,
               "options": "-c statement_timeout=15000"}
    try:
        return sa.create_engine(url, pool_pre_ping=True, pool_size=2, max_overflow=2,
                                connect_args=connect)
    except ImportError:
        raise DatabaseError("a PostgreSQL event store needs psycopg: pip install "
                            "'facetrack[postgres]'") from None


def _reason(exc: sa.exc.SQLAlchemyError) -> str:
    orig = getattr(exc, "orig", None)
    text = " ".join(str(orig if orig is not None else exc).split())  # one line
    return text[:300] if text else type(exc).__name__


class EventStore(Closing):
    def __init__(self, target: str | Path) -> None:
        self._lock = threading.Lock()
        self._engine = _engine(target)
        self.name = (self._engine.url.render_as_string(hide_password=True)
                     if is_database_url(target) else str(target))
        for attempt in range(2):
            try:
                _metadata.create_all(self._engine, checkfirst=True)
                break
            except sa.exc.SQLAlchemyError as exc:
                if attempt == 0 and isinstance(exc, sa.exc.IntegrityError):
                    continue  # two monitors created the table at once: it exists now
                self._engine.dispose()
                raise DatabaseError(f"{self.name}: cannot open the event store "
                                    f"({_reason(exc)})") from None

    def add(self, events: Sequence[Event]) -> None:
        if not events:
            return
        rows = []
        for e in events:
            data = e.to_dict()
            rows.append({"kind": e.kind, "camera": e.camera, "wall_time": e.wall_time,
                         "ts": e.timestamp, "frame": e.frame, "track_id": e.track_id,
                         "person_id": data.get("person_id"),
                         "data": json.dumps(data, ensure_ascii=False)})
        with self._lock:
            try:
                with self._engine.begin() as conn:
                    conn.execute(sa.insert(_events), rows)
            except sa.exc.SQLAlchemyError as exc:
                raise DatabaseError(f"{self.name}: cannot store events ({_reason(exc)})"
                                    ) from None

    def query(self, *, camera: str | None = None, since: str | None = None,
              kind: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        """Events, oldest first. ``since``: an ISO time or a duration back from now
        (``30s``, ``15m``, ``2h``, ``7d``)."""
        q = sa.select(_events.c.data)
        if camera is not None:
            q = q.where(_events.c.camera == camera)
        if kind is not None:
            if kind not in EVENT_TYPES:
                raise InputError(f"unknown event type {kind!r}; known: "
                                 f"{', '.join(sorted(EVENT_TYPES))}")
            q = q.where(_events.c.kind == kind)
        if since is not None:
            q = q.where(_events.c.wall_time >= parse_since(since))
        q = q.order_by(_events.c.id.desc())
        if limit is not None:
            q = q.limit(int(limit))
        with self._lock:
            try:
                with self._engine.connect() as conn:
                    rows = conn.execute(q).scalars().all()
            except sa.exc.SQLAlchemyError as exc:
                raise DatabaseError(f"{self.name}: cannot read events ({_reason(exc)})"
                                    ) from None
        return [json.loads(r) for r in reversed(rows)]  # the latest ``limit``, oldest first

    def close(self) -> None:
        with self._lock:
            self._engine.dispose()


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
    """Events on their way to one sink (the store or ``events.jsonl``), in order, written by
    the outbox's own thread: ``add`` only queues, so a slow, full or unreachable sink never
    holds up a camera. What the sink refuses (a full disk, a database that is down) waits and
    is retried every ``retry_s``. At most ``limit`` events wait; beyond that the oldest are
    dropped, counted in ``lost`` and logged. ``close(patience_s)`` keeps trying for that long,
    then reports what could not be written."""

    def __init__(self, name: str, write: Callable[[Sequence[Event]], None], *,
                 limit: int = 100_000, retry_s: float = 2.0) -> None:
        self.name, self._write = name, write
        self.limit, self.retry_s = limit, retry_s
        self._batches: deque[list[Event]] = deque()
        self._cond = threading.Condition()
        self._writing: list[Event] | None = None  # the head batch, being written
        self._deadline: float | None = None  # set by close()
        self.waiting = 0
        self.lost = 0
        self.failing: str | None = None  # the reason, while the sink refuses
        self._thread = threading.Thread(target=self._run, name=f"outbox-{name}", daemon=True)
        self._thread.start()

    def add(self, events: Sequence[Event]) -> None:
        if not events:
            return
        with self._cond:
            self._batches.append(list(events))
            self.waiting += len(events)
            dropped = 0
            while self.waiting > self.limit and len(self._batches) > 1:
                # never the batch being written: the oldest after it
                i = 1 if self._batches[0] is self._writing else 0
                if i >= len(self._batches) - 1:
                    break
                old = self._batches[i]
                del self._batches[i]
                self.waiting -= len(old)
                dropped += len(old)
            if dropped:
                if self.lost == 0 or self.failing is None:
                    log.error("%s: more than %d events waiting: the oldest are dropped "
                              "(counted in facetrack_events_lost)", self.name, self.limit)
                self.lost += dropped
            self._cond.notify_all()

    def drain(self, timeout: float) -> bool:
        """Wait up to ``timeout`` for every waiting event to be written."""
        end = time.monotonic() + timeout
        with self._cond:
            while self.waiting and time.monotonic() < end:
                self._cond.wait(min(0.1, max(0.0, end - time.monotonic())))
            return not self.waiting

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._batches and self._deadline is None:
                    self._cond.wait()
                if not self._batches:
                    return  # closing, nothing left
                batch = self._writing = self._batches[0]
            ok = self._try(batch)  # outside the lock: a slow sink never blocks add()
            with self._cond:
                self._writing = None
                if ok:
                    self._batches.popleft()  # the head is still ``batch``: add() spares it
                    self.waiting -= len(batch)
                    if not self._batches and self.failing is not None:
                        log.warning("%s: writing again; the waiting events are stored%s",
                                    self.name, f" ({self.lost} dropped before)"
                                    if self.lost else "")
                        self.failing = None
                    self._cond.notify_all()
                    continue
                if self._deadline is not None and time.monotonic() >= self._deadline:
                    return
                pause = self.retry_s if self._deadline is None else min(self.retry_s, 0.5)
                self._cond.wait(pause)  # close() wakes it for a last, quicker round

    def _try(self, batch: list[Event]) -> bool:
        """Write ``batch``; False when the sink refused it (to be retried)."""
        try:
            self._write(batch)
        except (FacetrackError, OSError) as exc:
            if self.failing is None:
                log.error("%s: %s; the events wait in memory and are retried every %g s",
                          self.name, exc, self.retry_s)
            self.failing = str(exc)
            return False
        except Exception:  # a bug, not an outage: retrying cannot help; count and go on
            log.exception("%s: %d events could not be written", self.name, len(batch))
            with self._cond:
                self.lost += len(batch)
        return True

    def close(self, patience_s: float = 10.0) -> None:
        self.stop(patience_s)
        self.join(patience_s + 30.0)

    def stop(self, patience_s: float) -> None:
        """Write what waits for up to ``patience_s`` more, then end (see ``join``)."""
        with self._cond:
            self._deadline = time.monotonic() + patience_s
            self._cond.notify_all()

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)  # a write in progress may outlast the patience a little
        if self.waiting:
            log.error("%s: %d events could not be written before stopping (%s)", self.name,
                      self.waiting, self.failing)
