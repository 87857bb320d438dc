"""A real monitor removes events and audience windows older than ``retention:`` when it
starts, and keeps what is recent (its own events included)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from facetrack.analytics.windows import BUCKET_COLUMNS
from facetrack.events import TrackStarted
from facetrack.service import Monitor, MonitorConfig
from facetrack.storage.audience import AudienceStore
from facetrack.storage.events import EventStore

pytestmark = pytest.mark.data


def _iso(days_ago: float) -> str:
    return (datetime.now(UTC) - timedelta(days=days_ago)).isoformat(timespec="milliseconds")


def test_monitor_enforces_retention_on_start(live_clip: Path, tmp_path: Path) -> None:
    db = tmp_path / "events.db"
    with EventStore(db) as events, AudienceStore(db) as audience:
        events.add([TrackStarted("old", 0, 0.0, i, _iso(60 + i)) for i in range(20)])
        events.add([TrackStarted("recent", 0, 0.0, 99, _iso(2))])
        audience.add([{"camera": "old", "zone": "all", "target": "camera",
                       "window_start": _iso(d), "window_end": _iso(d - 0.001), "ots": 1,
                       "watchers": 0, "glances": 0, "smiles": 0, "entries": 0, "exits": 0,
                       **dict.fromkeys(BUCKET_COLUMNS, 0)} for d in (400, 10)])
    cfg = MonitorConfig.model_validate({
        "store": {"events_db": str(db), "events_jsonl": None},
        "retention": {"events_days": 30, "audience_days": 365},
        "cameras": [{"name": "cam", "source": str(live_clip)}],
    })
    mon = Monitor(cfg)
    mon.run(duration_s=4)
    assert mon.retention is not None
    assert mon.retention.removed == {"events": 20, "audience": 1}
    with EventStore(db) as events, AudienceStore(db) as audience:
        cameras = {e["camera"] for e in events.query()}
        assert "old" not in cameras and {"recent", "cam"} <= cameras  # its own events kept
        assert [w["window_start"][:10] for w in audience.query(since="2000-01-01")] == [
            _iso(10)[:10]]
