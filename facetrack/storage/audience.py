"""Audience windows of live cameras, in the event store's database (table ``audience``).

One row per camera, window, zone and target, with the columns of audience.csv
(``facetrack.analytics.windows.COLUMNS``); the window's bounds are wall-clock UTC (ISO 8601
text, which sorts), so ``facetrack audience --since 1h`` reads like ``facetrack events``. The
same SQLAlchemy Core queries on SQLite and PostgreSQL; a window's rows go in one transaction.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from facetrack._closing import Closing
from facetrack.analytics.windows import BUCKET_COLUMNS
from facetrack.errors import DatabaseError
from facetrack.storage.events import parse_since
from facetrack.storage.sql import open_table_store, reason, transaction

#: version of the audience table (``facetrack_schema``); bump it with a migration
SCHEMA_VERSION = 1
TEXT = ("camera", "window_start", "window_end", "zone", "target", "model_version",
        "config_hash")
INTS = ("ots", "watchers", "glances", "smiles", "entries", "exits", *BUCKET_COLUMNS)
FLOATS = ("conversion", "dwell_mean_s", "attention_mean_s", "attention_total_s", "attraction",
          "occupancy_mean")

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_metadata = sa.MetaData()
_audience = sa.Table(
    "audience", _metadata,
    sa.Column("id", _ID, primary_key=True, autoincrement=True),
    *(sa.Column(name, sa.Text, nullable=name not in ("camera", "window_start", "window_end",
                                                       "zone", "target")) for name in TEXT),
    *(sa.Column(name, sa.BigInteger, nullable=False) for name in INTS),
    *(sa.Column(name, sa.Float) for name in FLOATS),  # NULL: a ratio over nothing
    sa.Index("audience_time", "window_start"),
    sa.Index("audience_camera", "camera", "window_start"),
)


class AudienceStore(Closing):
    """The audience table. ``read_only`` (``facetrack audience``) never changes the file."""

    def __init__(self, target: str | Path, *, read_only: bool = False) -> None:
        self._lock = threading.Lock()
        self._db = open_table_store(
            target, what="event store", table="audience", version=SCHEMA_VERSION,
            metadata=_metadata, read_only=read_only,
            missing="no audience windows stored here (a camera needs `tracker: {analytics: "
            "{enabled: true}}`)")
        self.name = self._db.name

    def add(self, rows: Sequence[dict[str, Any]]) -> None:
        """One window's rows (``camera`` set, bounds as ISO UTC text), in one transaction."""
        if not rows:
            return
        values = [{k: _value(k, r.get(k)) for k in (*TEXT, *INTS, *FLOATS)} for r in rows]
        with self._lock:
            try:
                with transaction(self._db, write=True) as conn:
                    conn.execute(sa.insert(_audience), values)
            except sa.exc.SQLAlchemyError as exc:
                raise DatabaseError(f"{self.name}: cannot store audience windows "
                                    f"({reason(exc)})") from None

    def query(self, *, camera: str | None = None, since: str | None = None,
              zone: str | None = None, target: str | None = None,
              limit: int | None = None, until: str | None = None) -> list[dict[str, Any]]:
        """Rows, oldest first (the latest ``limit`` of them); ``since`` and ``until`` as for
        events (ISO time or 30s/15m/2h/7d)."""
        cols = [_audience.c[name] for name in (*TEXT, *INTS, *FLOATS)]
        q = sa.select(*cols)
        for name, value in (("camera", camera), ("zone", zone), ("target", target)):
            if value is not None:
                q = q.where(_audience.c[name] == value)
        if since is not None:
            q = q.where(_audience.c.window_start >= parse_since(since))
        if until is not None:
            q = q.where(_audience.c.window_start < parse_since(until))
        q = q.order_by(_audience.c.id.desc())
        if limit is not None:
            q = q.limit(int(limit))
        with self._lock:
            try:
                with transaction(self._db, write=False) as conn:
                    rows = [dict(r._mapping) for r in conn.execute(q)]
            except sa.exc.SQLAlchemyError as exc:
                raise DatabaseError(f"{self.name}: cannot read audience windows "
                                    f"({reason(exc)})") from None
        return list(reversed(rows))

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _value(name: str, value: Any) -> Any:
    if name in FLOATS:
        return None if value in ("", None) else float(value)
    if name in INTS:
        return int(value or 0)
    return None if value is None else str(value)
