"""The state of every camera of every monitor, in the event store's database (table
``camera_status``), so one ``facetrack serve`` shows the cameras of several monitors that share
a PostgreSQL store.

Each monitor replaces its cameras' rows every few seconds (``report``); a row not refreshed
for three periods means its monitor is gone: the camera shows as offline, with the time it was
last heard of.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from facetrack._closing import Closing
from facetrack.errors import DatabaseError
from facetrack.storage.sql import open_table_store, reason, transaction

SCHEMA_VERSION = 1
#: a monitor reports this often (seconds); three missed reports = offline
REPORT_EVERY_S = 5.0

_metadata = sa.MetaData()
_status = sa.Table(
    "camera_status", _metadata,
    sa.Column("camera", sa.Text, primary_key=True),
    sa.Column("monitor", sa.Text, nullable=False),  # host:pid of the monitor running it
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("fps_in", sa.Float, nullable=False),
    sa.Column("fps_out", sa.Float, nullable=False),
    sa.Column("frames_in", sa.BigInteger, nullable=False),
    sa.Column("processed", sa.BigInteger, nullable=False),
    sa.Column("dropped", sa.BigInteger, nullable=False),
    sa.Column("reconnects", sa.BigInteger, nullable=False),
    sa.Column("events", sa.BigInteger, nullable=False),
    sa.Column("alerts", sa.BigInteger, nullable=False),
    sa.Column("last_frame", sa.Text),  # wall time of the last processed frame
    sa.Column("updated", sa.Text, nullable=False),
)
COLUMNS = [c.name for c in _status.columns]


def monitor_name() -> str:
    import os

    return f"{socket.gethostname()}:{os.getpid()}"


class CameraStatusStore(Closing):
    def __init__(self, target: str | Path, *, read_only: bool = False) -> None:
        self._lock = threading.Lock()
        self._db = open_table_store(
            target, what="event store", table="camera_status", version=SCHEMA_VERSION,
            metadata=_metadata, read_only=read_only, missing="no camera has reported here")
        self.name = self._db.name

    def report(self, rows: Sequence[dict[str, Any]]) -> None:
        """Replace these cameras' rows (one transaction)."""
        if not rows:
            return
        cameras = [r["camera"] for r in rows]
        with self._lock:
            try:
                with transaction(self._db, write=True) as conn:
                    conn.execute(sa.delete(_status).where(_status.c.camera.in_(cameras)))
                    conn.execute(sa.insert(_status), [{k: r.get(k) for k in COLUMNS}
                                                      for r in rows])
            except sa.exc.SQLAlchemyError as exc:
                raise DatabaseError(f"{self.name}: cannot store camera states ({reason(exc)})"
                                    ) from None

    def states(self) -> list[dict[str, Any]]:
        """Every camera ever reported, with ``online`` false where its monitor went silent."""
        with self._lock:
            try:
                with transaction(self._db, write=False) as conn:
                    rows = [dict(r._mapping) for r in conn.execute(
                        sa.select(_status).order_by(_status.c.camera))]
            except sa.exc.SQLAlchemyError as exc:
                raise DatabaseError(f"{self.name}: cannot read camera states ({reason(exc)})"
                                    ) from None
        now = datetime.now(timezone.utc)
        for r in rows:
            age = (now - datetime.fromisoformat(r["updated"])).total_seconds()
            r["stale"] = age > 3 * REPORT_EVERY_S
            r["online"] = r["state"] == "online" and not r["stale"]
        return rows

    def close(self) -> None:
        with self._lock:
            self._db.close()
