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
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from facetrack._closing import Closing
from facetrack.errors import DatabaseError, InputError, OutputError
from facetrack.events import EVENT_TYPES, Event
from facetrack.storage.sql import (
    delete_older,
    open_table_store,
    purge,
    reason,
    transaction,
)
from facetrack.storage.sql import (
    is_database_url as is_database_url,
)

log = logging.getLogger(__name__)

#: version of the events table (``facetrack_schema``); bump it with a migration
SCHEMA_VERSION = 1

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
    # a kind's latest events without walking the others (alerts of the last hour: 26 of a
    # million events took 126 ms by scanning; docs/benchmarks.md, API latency)
    sa.Index("events_kind", "kind", "id"),
)


class EventStore(Closing):
    """The events table. ``read_only`` (``facetrack events``) never changes the file: a file
    without the table is refused, not given one."""

    def __init__(self, target: str | Path, *, read_only: bool = False) -> None:
        self._lock = threading.Lock()
        self._db = open_table_store(
            target, what="event store", table="events", version=SCHEMA_VERSION,
            metadata=_metadata, read_only=read_only,
            missing="not a facetrack event store (no events table)")
        self.name = self._db.name

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
                with transaction(self._db, write=True) as conn:
                    conn.execute(sa.insert(_events), rows)
            except sa.exc.SQLAlchemyError as exc:
                raise DatabaseError(f"{self.name}: cannot store events ({reason(exc)})"
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
                with transaction(self._db, write=False) as conn:
                    rows = conn.execute(q).scalars().all()
            except sa.exc.SQLAlchemyError as exc:
                raise DatabaseError(f"{self.name}: cannot read events ({reason(exc)})"
                                    ) from None
        return [json.loads(r) for r in reversed(rows)]  # the latest ``limit``, oldest first

    def page(self, *, camera: str | None = None, kinds: Sequence[str] = (),
             person_id: int | None = None, track_id: int | None = None,
             since: str | None = None, until: str | None = None, before_id: int | None = None,
             limit: int = 50) -> list[dict[str, Any]]:
        """Events, newest first, each with its ``id`` (pass the last one as ``before_id`` for
        the next page). ``since``/``until``: ISO times or durations back from now."""
        q = sa.select(_events.c.id, _events.c.data)
        if camera is not None:
            q = q.where(_events.c.camera == camera)
        unknown = sorted(set(kinds) - set(EVENT_TYPES))
        if unknown:
            raise InputError(f"unknown event type {unknown[0]!r}; known: "
                             f"{', '.join(sorted(EVENT_TYPES))}")
        if kinds:
            q = q.where(_events.c.kind.in_(list(kinds)))
        for column, value in ((_events.c.person_id, person_id), (_events.c.track_id, track_id)):
            if value is not None:
                q = q.where(column == value)
        if since is not None:
            q = q.where(_events.c.wall_time >= parse_since(since))
        if until is not None:
            q = q.where(_events.c.wall_time < parse_since(until))
        if before_id is not None:
            q = q.where(_events.c.id < before_id)
        q = q.order_by(_events.c.id.desc()).limit(limit)
        with self._lock:
            try:
                with transaction(self._db, write=False) as conn:
                    rows = conn.execute(q).all()
            except sa.exc.SQLAlchemyError as exc:
                raise DatabaseError(f"{self.name}: cannot read events ({reason(exc)})"
                                    ) from None
        return [{"id": int(r.id), **json.loads(r.data)} for r in rows]

    def rewrite_person(self, person_id: int, needle: str,
                       rewrite: Callable[[dict[str, Any]], dict[str, Any] | None]) -> int:
        """Rewrite the events of a person (their ``person_id``, or ``needle`` in the JSON):
        ``rewrite(data)`` gives the new data (None: unchanged); the row's ``person_id`` is
        cleared. One transaction; how many events changed. Erasure: then ``purge``."""
        like = "%" + needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        q = sa.select(_events.c.id, _events.c.data).where(sa.or_(
            _events.c.person_id == person_id, _events.c.data.like(like, escape="\\")))
        changed = 0
        with self._lock:
            try:
                with transaction(self._db, write=True) as conn:
                    for row in conn.execute(q).all():
                        data = rewrite(json.loads(row.data))
                        if data is None:
                            continue
                        conn.execute(sa.update(_events).where(_events.c.id == row.id).values(
                            data=json.dumps(data, ensure_ascii=False), person_id=None))
                        changed += 1
            except sa.exc.SQLAlchemyError as exc:
                raise DatabaseError(f"{self.name}: cannot rewrite events ({reason(exc)})"
                                    ) from None
        return changed

    def purge(self) -> bool:
        """No byte of rewritten or deleted events left in the files (``sql.purge``)."""
        with self._lock:
            try:
                return purge(self._db, ("events",))
            except sa.exc.SQLAlchemyError as exc:
                raise DatabaseError(f"{self.name}: cannot rewrite the file ({reason(exc)})"
                                    ) from None

    def remove_older(self, cutoff: str) -> int:
        """Delete the events stored before ``cutoff`` (ISO UTC text; retention); how many."""
        try:
            return delete_older(self._db, _events, "wall_time", cutoff, self._lock)
        except sa.exc.SQLAlchemyError as exc:
            raise DatabaseError(f"{self.name}: cannot remove old events ({reason(exc)})"
                                ) from None

    def get(self, event_id: int) -> dict[str, Any]:
        q = sa.select(_events.c.id, _events.c.data).where(_events.c.id == event_id)
        with self._lock:
            try:
                with transaction(self._db, write=False) as conn:
                    row = conn.execute(q).first()
            except sa.exc.SQLAlchemyError as exc:
                raise DatabaseError(f"{self.name}: cannot read events ({reason(exc)})"
                                    ) from None
        if row is None:
            raise LookupError(f"no event {event_id}")
        return {"id": int(row.id), **json.loads(row.data)}

    def close(self) -> None:
        with self._lock:
            self._db.close()


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$")


def parse_since(text: str) -> str:
    """An ISO 8601 time (naive = UTC) or a duration back from now -> ISO UTC text."""
    m = _DURATION.match(text)
    if m:
        unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[m.group(2)]
        try:
            when = datetime.now(timezone.utc) - timedelta(**{unit: float(m.group(1))})
        except (OverflowError, ValueError):
            raise InputError(f"--since {text!r}: further back than any date (years 1-9999)"
                             ) from None
        return when.isoformat(timespec="milliseconds")
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise InputError(f"--since {text!r}: give an ISO time (2026-11-22T08:00) or a duration "
                         "(30s, 15m, 2h, 7d)") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    try:
        return when.astimezone(timezone.utc).isoformat(timespec="milliseconds")
    except OverflowError:  # 0001-01-01T00:00+01:00 is before year 1 in UTC
        raise InputError(f"--since {text!r}: outside the years 1-9999 in UTC") from None


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
            with _file_lock(self._fd):  # an erasure rewriting the file waits, or is waited for
                self._append(data)

    def _append(self, data: bytes) -> None:
        assert self._fd is not None
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


@contextlib.contextmanager
def _file_lock(fd: int) -> Iterator[None]:
    """An exclusive advisory lock on an open file (POSIX; elsewhere none)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)


def rewrite_jsonl(path: Path, rewrite: Callable[[dict[str, Any]], dict[str, Any] | None]
                  ) -> int:
    """Rewrite the events of an events.jsonl file in place (same file, so a monitor appending
    to it keeps doing so; its appends wait on the file's lock meanwhile): ``rewrite(event)``
    gives the new event (None: unchanged). Lines that are not JSON stay as they are. How many
    events changed."""
    import shutil
    import tempfile

    changed = 0
    with path.open("r+b") as fh, _file_lock(fh.fileno()), \
            tempfile.TemporaryFile(dir=path.parent) as tmp:
        for line in fh:
            try:
                new = rewrite(json.loads(line))
            except ValueError:
                new = None
            if new is None:
                tmp.write(line)
                continue
            tmp.write((json.dumps(new, ensure_ascii=False) + "\n").encode("utf-8"))
            changed += 1
        if changed:
            tmp.seek(0)
            fh.seek(0)
            shutil.copyfileobj(tmp, fh)
            fh.truncate()
            fh.flush()
            os.fsync(fh.fileno())
    return changed
