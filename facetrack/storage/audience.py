"""Audience windows of live cameras, in the event store's database (table ``audience``).

One row per camera, window, zone and target, with the columns of audience.csv
(``facetrack.analytics.windows.COLUMNS``); the window's bounds are wall-clock UTC (ISO 8601
text, which sorts), so ``facetrack audience --since 1h`` reads like ``facetrack events``. The
same SQLAlchemy Core queries on SQLite and PostgreSQL; a window's rows go in one transaction.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from facetrack._closing import Closing
from facetrack.analytics.windows import BUCKET_COLUMNS
from facetrack.errors import DatabaseError
from facetrack.storage.events import parse_since
from facetrack.storage.sql import delete_older, open_table_store, reason, transaction

#: version of the audience table (``facetrack_schema``); bump it with a migration
SCHEMA_VERSION = 2  # 2: visitors, repeat_visitors (added in place to a version 1 table)
TEXT = ("camera", "window_start", "window_end", "zone", "target", "model_version",
        "config_hash")
INTS = ("ots", "watchers", "glances", "smiles", "entries", "exits", *BUCKET_COLUMNS)
#: counted only in pseudonymous mode: NULL otherwise, and in rows of version 1
COUNTS = ("visitors", "repeat_visitors")
FLOATS = ("conversion", "dwell_mean_s", "attention_mean_s", "attention_total_s", "attraction",
          "occupancy_mean")

#: most points in a summary's series before windows are summed per 10 minutes, hour, ...
MAX_POINTS = 500
# (name, seconds, characters of an ISO start naming it): "2026-11-30T14:1" is 14:10-14:19
_BUCKETS = (("10 minutes", 600, 15), ("hour", 3600, 13), ("day", 86400, 10))
_SUMMED = ("ots", "watchers", "attention_total_s", *BUCKET_COLUMNS)

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_metadata = sa.MetaData()
_audience = sa.Table(
    "audience", _metadata,
    sa.Column("id", _ID, primary_key=True, autoincrement=True),
    *(sa.Column(name, sa.Text, nullable=name not in ("camera", "window_start", "window_end",
                                                       "zone", "target")) for name in TEXT),
    *(sa.Column(name, sa.BigInteger, nullable=False) for name in INTS),
    *(sa.Column(name, sa.Float) for name in FLOATS),  # NULL: a ratio over nothing
    *(sa.Column(name, sa.BigInteger) for name in COUNTS),
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
        values = [{k: _value(k, r.get(k)) for k in (*TEXT, *INTS, *FLOATS, *COUNTS)} for r in rows]
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
        cols = [_audience.c[name] for name in (*TEXT, *INTS, *FLOATS, *COUNTS)]
        q = _filtered(sa.select(*cols), camera=camera, zone=zone, target=target, since=since,
                      until=until)
        # by window_start, so the time indexes give the order (by id alone, SQLite scans)
        q = q.order_by(_audience.c.window_start.desc(), _audience.c.id.desc())
        if limit is not None:
            q = q.limit(int(limit))
        return list(reversed(self._read(q)))

    def summary(self, *, camera: str | None = None, since: str | None = None,
                until: str | None = None, zone: str = "all", target: str = "camera",
                points: int = MAX_POINTS) -> dict[str, Any]:
        """Totals and the dwell histogram over every window of the period, the zones and
        targets stored in it, and the windows summed over cameras per start time; beyond
        ``points`` starts, per 10 minutes, hour, day or month (the first start names the
        bucket). Summed in the database: a month of windows costs no more to send than an
        hour."""
        # one "now" for both queries: 24h means the same period in each
        where = dict(camera=camera, since=None if since is None else parse_since(since),
                     until=None if until is None else parse_since(until))
        per_kind = self._read(_filtered(sa.select(
            _audience.c.zone, _audience.c.target, sa.func.count().label("windows"),
            sa.func.count(sa.distinct(_audience.c.window_start)).label("starts"),
            sa.func.min(_audience.c.window_start).label("first"),
            sa.func.max(_audience.c.window_start).label("last"),
            *(sa.func.sum(_audience.c[name]).label(name) for name in _SUMMED),
        ), **where).group_by(_audience.c.zone, _audience.c.target))
        mine = next((r for r in per_kind if (r["zone"], r["target"]) == (zone, target)), None)
        out: dict[str, Any] = {
            "zones": sorted({r["zone"] for r in per_kind}),
            "targets": sorted({r["target"] for r in per_kind}),
            "windows": int(mine["windows"]) if mine else 0,
            "totals": {"ots": _int(mine, "ots"), "watchers": _int(mine, "watchers"),
                       "attention_s": _float(mine, "attention_total_s")},
            "dwell_histogram": {c: _int(mine, c) for c in BUCKET_COLUMNS},
            "bucket": "window", "series": []}
        if mine:
            out["bucket"], chars = _bucket(mine, points)
            out["series"] = self._series(where, zone, target, chars)
        return out

    def _series(self, where: dict[str, Any], zone: str, target: str, chars: int | None
                ) -> list[dict[str, Any]]:
        start = _audience.c.window_start
        key = start if chars is None else sa.func.substr(start, 1, chars)
        cols = [sa.func.min(start).label("window_start"),
                sa.func.max(_audience.c.window_end).label("window_end"),
                sa.func.count().label("windows"),
                *(sa.func.sum(_audience.c[name]).label(name)
                  for name in ("ots", "watchers", "attention_total_s"))]
        q = _filtered(sa.select(*cols), zone=zone, target=target, **where
                      ).group_by(key).order_by(key)
        return [{**r, "windows": int(r["windows"]), "ots": int(r["ots"]),
                 "watchers": int(r["watchers"]), "attention_total_s": None
                 if r["attention_total_s"] is None else round(float(r["attention_total_s"]), 2)}
                for r in self._read(q)]

    def _read(self, q: sa.Select[Any]) -> list[dict[str, Any]]:
        with self._lock:
            try:
                with transaction(self._db, write=False) as conn:
                    return [dict(r._mapping) for r in conn.execute(q)]
            except sa.exc.SQLAlchemyError as exc:
                raise DatabaseError(f"{self.name}: cannot read audience windows "
                                    f"({reason(exc)})") from None

    def remove_older(self, cutoff: str) -> int:
        """Delete the windows that started before ``cutoff`` (ISO UTC text; retention)."""
        try:
            return delete_older(self._db, _audience, "window_start", cutoff, self._lock)
        except sa.exc.SQLAlchemyError as exc:
            raise DatabaseError(f"{self.name}: cannot remove old audience windows "
                                f"({reason(exc)})") from None

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _filtered(q: sa.Select[Any], *, camera: str | None = None, zone: str | None = None,
              target: str | None = None, since: str | None = None, until: str | None = None
              ) -> sa.Select[Any]:
    for name, value in (("camera", camera), ("zone", zone), ("target", target)):
        if value is not None:
            q = q.where(_audience.c[name] == value)
    if since is not None:
        q = q.where(_audience.c.window_start >= parse_since(since))
    if until is not None:
        q = q.where(_audience.c.window_start < parse_since(until))
    return q


def _bucket(kind: dict[str, Any], points: int) -> tuple[str, int | None]:
    """The finest grouping of window starts (ISO text: a prefix is a calendar bucket) that
    gives at most ``points`` of them: the window itself, or a prefix of its start."""
    if int(kind["starts"]) <= points:
        return "window", None
    span_s = (datetime.fromisoformat(kind["last"]) -
              datetime.fromisoformat(kind["first"])).total_seconds()
    for name, seconds, chars in _BUCKETS:
        if span_s / seconds < points:
            return name, chars
    return "month", 7


def _int(row: dict[str, Any] | None, name: str) -> int:
    return int(row[name] or 0) if row else 0


def _float(row: dict[str, Any] | None, name: str) -> float:
    return round(float(row[name] or 0), 2) if row else 0.0


def _value(name: str, value: Any) -> Any:
    if name in FLOATS:
        return None if value in ("", None) else float(value)
    if name in COUNTS:
        return None if value in ("", None) else int(value)
    if name in INTS:
        return int(value or 0)
    return None if value is None else str(value)
