"""Retention on SQLite and a real PostgreSQL server: rows before the cutoff go, in batches,
the rest stay; the keeper enforces both stores on start and reports what it removed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from facetrack.analytics.windows import BUCKET_COLUMNS
from facetrack.config.service import RetentionConfig
from facetrack.events import TrackStarted
from facetrack.service.retention import RetentionKeeper, cutoff
from facetrack.storage import sql
from facetrack.storage.audience import AudienceStore
from facetrack.storage.events import EventStore

NOW = datetime.now(UTC)


def _iso(days_ago: float) -> str:
    return (NOW - timedelta(days=days_ago)).isoformat(timespec="milliseconds")


def _window(days_ago: float) -> dict[str, object]:
    return {"camera": "door", "zone": "all", "target": "camera",
            "window_start": _iso(days_ago), "window_end": _iso(days_ago - 0.001),
            "ots": 1, "watchers": 0, "glances": 0, "smiles": 0, "entries": 1, "exits": 1,
            **dict.fromkeys(BUCKET_COLUMNS, 0)}


@pytest.fixture(params=["sqlite", "postgres"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield (str(request.getfixturevalue("pg_url")) if request.param == "postgres"
           else str(tmp_path / "ev.db"))


def test_old_rows_go_in_batches_and_recent_ones_stay(target: str,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sql, "DELETE_BATCH", 7)  # several batches
    with EventStore(target) as events, AudienceStore(target) as audience:
        events.add([TrackStarted("door", i, 0.0, i, _iso(40 + i / 100)) for i in range(30)])
        events.add([TrackStarted("door", i, 0.0, 100 + i, _iso(i)) for i in range(5)])
        audience.add([_window(400 + i) for i in range(10)])
        audience.add([_window(1)])
        assert events.remove_older(cutoff(30)) == 30
        assert events.remove_older(cutoff(30)) == 0
        assert sorted(e["track_id"] for e in events.query()) == [100, 101, 102, 103, 104]
        assert audience.remove_older(cutoff(365)) == 10
        assert len(audience.query(since="2000-01-01")) == 1


def test_the_keeper_enforces_both_stores_on_start(tmp_path: Path) -> None:
    db = tmp_path / "ev.db"
    with EventStore(db) as events, AudienceStore(db) as audience:
        events.add([TrackStarted("door", 0, 0.0, 1, _iso(10)),
                    TrackStarted("door", 0, 0.0, 2, _iso(1))])
        audience.add([_window(3), _window(0.5)])
        keeper = RetentionKeeper(RetentionConfig(events_days=5, audience_days=2), events,
                                 audience)
        keeper.close()  # the first pass runs as it starts; close waits for it
        assert keeper.removed == {"events": 1, "audience": 1}
        assert [e["track_id"] for e in events.query()] == [2]
        kept = RetentionKeeper(RetentionConfig(events_days=None, audience_days=None), events,
                               audience)
        kept.close()
        assert kept.removed == {"events": 0, "audience": 0}
