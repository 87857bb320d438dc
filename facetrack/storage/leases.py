"""Camera leases in the shared store: which monitor runs which camera (``cluster:``).

Three tables in the event store's database:

- ``camera_leases``: one row per camera: its ``holder`` (a monitor instance: host, pid and a
  random part), an ``epoch`` that grows by one at every take (a fencing token), and
  ``expires_at``.
- ``monitor_heartbeats``: one row per live monitor, renewed with its leases; the number of
  live monitors decides each one's fair share of the cameras.
- ``camera_lease_log``: one row per holding (camera, holder, epoch, ``since``, ``until``),
  ``until`` moved to the new expiry at each renewal and to the release time when the holder
  let go after stopping the camera: the history that shows no camera had two holders at once.

Every time is the database's clock (seconds since 1970, as a float), never a host's, so hosts
whose clocks disagree still agree on who holds what. A take is one conditional ``UPDATE``
(``WHERE expires_at < now``): of two monitors racing for a camera exactly one gets a row back.
The store only reads and writes rows; when to renew, and stopping a camera before its lease
can run out, is ``facetrack.service.leases``.
"""

from __future__ import annotations

import os
import secrets
import socket
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from facetrack._closing import Closing
from facetrack.errors import DatabaseError
from facetrack.storage.sql import open_table_store, reason, transaction

SCHEMA_VERSION = 1

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_metadata = sa.MetaData()
_leases = sa.Table(
    "camera_leases", _metadata,
    sa.Column("camera", sa.Text, primary_key=True),
    sa.Column("holder", sa.Text, nullable=False),  # "" = free
    sa.Column("epoch", sa.BigInteger, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),  # database clock, s since 1970
)
_heartbeats = sa.Table(
    "monitor_heartbeats", _metadata,
    sa.Column("holder", sa.Text, primary_key=True),
    sa.Column("expires_at", sa.Float, nullable=False),
)
_log = sa.Table(
    "camera_lease_log", _metadata,
    sa.Column("id", _ID, primary_key=True, autoincrement=True),
    sa.Column("camera", sa.Text, nullable=False),
    sa.Column("holder", sa.Text, nullable=False),
    sa.Column("epoch", sa.BigInteger, nullable=False),
    sa.Column("since", sa.Float, nullable=False),
    sa.Column("until", sa.Float, nullable=False),
    sa.Index("camera_lease_log_camera", "camera", "epoch"),
)


def instance_id() -> str:
    """``host:pid:random``: unique even when a pid is reused after a restart."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


def _now(dialect: str) -> sa.ColumnElement[float]:
    """The database's clock in seconds (``clock_timestamp``: the time of the statement, not of
    the transaction's start)."""
    if dialect == "postgresql":
        return sa.cast(sa.func.extract("epoch", sa.func.clock_timestamp()), sa.Float)
    return (sa.func.julianday("now") - 2440587.5) * 86400.0


@dataclass(frozen=True)
class Lease:
    camera: str
    epoch: int
    expires_at: float  # database clock


class LeaseStore(Closing):
    """The lease tables of one store (SQLite works, for one host; ``cluster:`` asks for
    PostgreSQL). Every method is one transaction; failures raise ``DatabaseError``."""

    def __init__(self, target: str | Path) -> None:
        self._lock = threading.Lock()  # SQLite's one connection is shared by threads
        self._db = open_table_store(
            target, what="event store", table="camera_leases", version=SCHEMA_VERSION,
            metadata=_metadata, read_only=False, missing="no camera leases here")
        self.name = self._db.name
        self._now = _now(self._db.engine.dialect.name)

    def _run(self, what: str, work: Any) -> Any:
        with self._lock:
            try:
                with transaction(self._db, write=True) as conn:
                    return work(conn)
            except sa.exc.SQLAlchemyError as exc:
                raise DatabaseError(f"{self.name}: cannot {what} ({reason(exc)})") from None

    def now(self) -> float:
        """The database's clock."""
        return float(self._run("read the clock", lambda c: c.execute(sa.select(self._now))
                               .scalar_one()))

    def heartbeat(self, holder: str, lease_s: float) -> int:
        """Say ``holder`` is alive for ``lease_s`` more seconds; the number of live monitors
        (this one included)."""
        def work(conn: sa.Connection) -> int:
            until = self._now + lease_s
            hit = conn.execute(sa.update(_heartbeats).where(_heartbeats.c.holder == holder)
                               .values(expires_at=until)).rowcount
            if not hit:
                conn.execute(sa.insert(_heartbeats).from_select(
                    ["holder", "expires_at"], sa.select(sa.literal(holder), until)))
            conn.execute(sa.delete(_heartbeats).where(_heartbeats.c.expires_at < self._now))
            return int(conn.execute(sa.select(sa.func.count()).select_from(_heartbeats)
                                    ).scalar_one())
        return int(self._run("renew the monitor's heartbeat", work))

    def leave(self, holder: str) -> None:
        """A monitor stopping: it no longer counts among the live ones."""
        self._run("remove the monitor's heartbeat", lambda c: c.execute(
            sa.delete(_heartbeats).where(_heartbeats.c.holder == holder)))

    def take(self, holder: str, cameras: Iterable[str], lease_s: float, limit: int
             ) -> list[Lease]:
        """Take up to ``limit`` of ``cameras`` whose lease is free or ran out, each with a new
        epoch (one conditional UPDATE per camera: a camera another holder renewed in between
        is not taken)."""
        def work(conn: sa.Connection) -> list[Lease]:
            taken: list[Lease] = []
            for camera in cameras:
                if len(taken) >= limit:
                    break
                self._ensure_row(conn, camera)
                row = conn.execute(
                    sa.update(_leases)
                    .where(_leases.c.camera == camera, _leases.c.expires_at < self._now)
                    .values(holder=holder, epoch=_leases.c.epoch + 1,
                            expires_at=self._now + lease_s)
                    .returning(_leases.c.epoch, _leases.c.expires_at)).first()
                if row is None:
                    continue
                lease = Lease(camera, int(row.epoch), float(row.expires_at))
                conn.execute(sa.insert(_log).values(
                    camera=camera, holder=holder, epoch=lease.epoch, since=self._now,
                    until=lease.expires_at))
                taken.append(lease)
            return taken
        result: list[Lease] = self._run("take camera leases", work)
        return result

    def _ensure_row(self, conn: sa.Connection, camera: str) -> None:
        """A camera never leased before gets a free row (two monitors may race: the insert
        that loses is skipped, not an error)."""
        exists = conn.execute(sa.select(_leases.c.camera).where(_leases.c.camera == camera)
                              ).first()
        if exists is None:
            if conn.dialect.name == "postgresql":
                from sqlalchemy.dialects.postgresql import insert
            else:
                from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
            conn.execute(insert(_leases).values(camera=camera, holder="", epoch=0,
                                                expires_at=0.0).on_conflict_do_nothing())

    def renew(self, holder: str, leases: Sequence[Lease], lease_s: float) -> list[Lease]:
        """Renew the ``leases`` ``holder`` still holds (same epoch); the ones renewed, with
        their new expiry. A lease missing from the answer was lost: its camera must stop."""
        def work(conn: sa.Connection) -> list[Lease]:
            kept: list[Lease] = []
            for lease in leases:
                row = conn.execute(
                    sa.update(_leases)
                    .where(_leases.c.camera == lease.camera, _leases.c.holder == holder,
                           _leases.c.epoch == lease.epoch, _leases.c.expires_at >= self._now)
                    .values(expires_at=self._now + lease_s)
                    .returning(_leases.c.expires_at)).first()
                if row is None:
                    continue
                kept.append(Lease(lease.camera, lease.epoch, float(row.expires_at)))
                conn.execute(sa.update(_log).where(
                    _log.c.camera == lease.camera, _log.c.epoch == lease.epoch,
                    _log.c.holder == holder).values(until=float(row.expires_at)))
            return kept
        result: list[Lease] = self._run("renew camera leases", work)
        return result

    def release(self, holder: str, leases: Sequence[Lease]) -> None:
        """Give ``leases`` back (their cameras already stopped), so another monitor takes them
        at its next round instead of after the expiry."""
        def work(conn: sa.Connection) -> None:
            for lease in leases:
                hit = conn.execute(
                    sa.update(_leases)
                    .where(_leases.c.camera == lease.camera, _leases.c.holder == holder,
                           _leases.c.epoch == lease.epoch)
                    .values(holder="", expires_at=0.0)).rowcount
                if hit:
                    conn.execute(sa.update(_log).where(
                        _log.c.camera == lease.camera, _log.c.epoch == lease.epoch,
                        _log.c.holder == holder).values(until=self._now))
        self._run("release camera leases", work)

    def holders(self) -> dict[str, str]:
        """Each camera with a live lease, and its holder."""
        def work(conn: sa.Connection) -> dict[str, str]:
            rows = conn.execute(sa.select(_leases.c.camera, _leases.c.holder)
                                .where(_leases.c.expires_at >= self._now, _leases.c.holder != ""))
            return {r.camera: r.holder for r in rows}
        result: dict[str, str] = self._run("read camera leases", work)
        return result

    def history(self) -> list[dict[str, Any]]:
        """Every holding, by camera then epoch."""
        def work(conn: sa.Connection) -> list[dict[str, Any]]:
            rows = conn.execute(sa.select(_log).order_by(_log.c.camera, _log.c.epoch))
            return [dict(r._mapping) for r in rows]
        result: list[dict[str, Any]] = self._run("read the lease history", work)
        return result

    def close(self) -> None:
        with self._lock:
            self._db.close()


def overlaps(history: Sequence[dict[str, Any]]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Pairs of holdings of one camera whose times overlap (there should be none)."""
    found = []
    by_camera: dict[str, list[dict[str, Any]]] = {}
    for h in history:
        by_camera.setdefault(h["camera"], []).append(h)
    for rows in by_camera.values():
        rows.sort(key=lambda r: r["since"])
        found += [(a, b) for a, b in pairwise(rows) if b["since"] < a["until"]]
    return found
