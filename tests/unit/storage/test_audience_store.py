"""The audience store's summary: sums over every window of the period in the database, the
series summed over cameras per start and bucketed beyond ``points``, zones and targets."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from facetrack.analytics.windows import BUCKET_COLUMNS
from facetrack.storage.audience import AudienceStore

START = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


def _row(camera: str, minute: int, zone: str = "all", ots: int = 3) -> dict[str, object]:
    start = START + timedelta(minutes=minute)
    return {"camera": camera, "zone": zone, "target": "camera",
            "window_start": start.isoformat(timespec="milliseconds"),
            "window_end": (start + timedelta(minutes=1)).isoformat(timespec="milliseconds"),
            "ots": ots, "watchers": 1, "glances": 1, "smiles": 0, "entries": ots,
            "exits": ots, **dict.fromkeys(BUCKET_COLUMNS, 0), "dwell_0_5": ots,
            "conversion": 1 / ots, "dwell_mean_s": 2.0, "attention_mean_s": 1.5,
            "attention_total_s": 1.5, "attraction": None, "occupancy_mean": 0.5}


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[AudienceStore]:
    """The same sums on both databases (PostgreSQL's SUM of BIGINT is NUMERIC)."""
    target = (str(request.getfixturevalue("pg_url")) if request.param == "postgres"
              else tmp_path / "events.db")
    s = AudienceStore(target)
    # two hours of 1-minute windows from two cameras; a zone on one camera's first hour
    for minute in range(120):
        s.add([_row("door", minute), _row("hall", minute, ots=2)]
              + ([_row("door", minute, zone="shelf", ots=1)] if minute < 60 else []))
    yield s
    s.close()


def test_summary_sums_every_window_not_the_latest_page(store: AudienceStore) -> None:
    s = store.summary(since="2026-11-30T07:00", until="2026-11-30T12:00", points=500)
    assert s["windows"] == 240 and s["bucket"] == "window"
    assert s["totals"] == {"ots": 120 * 5, "watchers": 240, "attention_s": 360.0}
    assert s["dwell_histogram"]["dwell_0_5"] == 600
    assert s["zones"] == ["all", "shelf"] and s["targets"] == ["camera"]
    # cameras summed per start: one point per minute
    assert len(s["series"]) == 120
    assert s["series"][0] == {"window_start": "2026-11-30T08:00:00.000+00:00",
                              "window_end": "2026-11-30T08:01:00.000+00:00", "windows": 2,
                              "ots": 5, "watchers": 2, "attention_total_s": 3.0}


def test_summary_buckets_long_periods(store: AudienceStore) -> None:
    s = store.summary(camera="door", since="2026-11-30T07:00", points=50)
    assert s["bucket"] == "10 minutes" and len(s["series"]) == 12
    assert sum(p["ots"] for p in s["series"]) == s["totals"]["ots"] == 360
    assert s["series"][1]["window_start"] == "2026-11-30T08:10:00.000+00:00"
    assert s["series"][1]["windows"] == 10
    s = store.summary(camera="door", since="2026-11-30T07:00", points=10)
    assert s["bucket"] == "hour" and [p["ots"] for p in s["series"]] == [180, 180]


def test_summary_of_a_zone_and_of_nothing(store: AudienceStore) -> None:
    s = store.summary(camera="door", zone="shelf", since="2026-11-30T07:00")
    assert (s["windows"], s["totals"]["ots"], len(s["series"])) == (60, 60, 60)
    empty = store.summary(since="2026-12-01T00:00")
    assert empty["windows"] == 0 and empty["series"] == [] and empty["zones"] == []
    assert empty["totals"] == {"ots": 0, "watchers": 0, "attention_s": 0.0}


def test_query_returns_the_latest_windows_oldest_first(store: AudienceStore) -> None:
    rows = store.query(camera="hall", since="2026-11-30T07:00", limit=3)
    assert [r["window_start"][11:16] for r in rows] == ["09:57", "09:58", "09:59"]


def test_a_version_1_store_gains_the_visitor_columns(tmp_path: Path) -> None:
    """A store written before pseudonymous mode: read-only opening says how to upgrade it,
    the first writable opening adds the columns (old rows read NULL) and records version 2."""
    import sqlalchemy as sa

    from facetrack.errors import DatabaseError
    from facetrack.storage import audience

    path = tmp_path / "events.db"
    AudienceStore(path).close()
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:  # back to what version 1 wrote
        conn.execute(sa.text("ALTER TABLE audience DROP COLUMN visitors"))
        conn.execute(sa.text("ALTER TABLE audience DROP COLUMN repeat_visitors"))
        conn.execute(sa.text("UPDATE facetrack_schema SET version = 1 "
                             "WHERE component = 'audience'"))
        old = ("camera", "zone", "target", "window_start", "window_end", *audience.INTS)
        conn.execute(sa.insert(sa.table("audience", *map(sa.column, old))),
                     {k: v for k, v in _row("door", 0).items() if k in old})
    engine.dispose()
    with pytest.raises(DatabaseError, match=r"older facetrack.*facetrack monitor"):
        AudienceStore(path, read_only=True)
    with AudienceStore(path) as s:
        s.add([{**_row("door", 1), "visitors": 2, "repeat_visitors": 1}])
        rows = s.query()
    assert [(r["visitors"], r["repeat_visitors"]) for r in rows] == [(None, None), (2, 1)]
    with AudienceStore(path, read_only=True) as s:
        assert len(s.query()) == 2
