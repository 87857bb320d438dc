"""Two real ``facetrack monitor`` processes sharing four cameras through one real PostgreSQL
store (``cluster:``): they split the cameras two and two; one is killed with SIGKILL and the
other takes its cameras within 30 s, events of every camera still arriving; no camera ever had
two holders at once; the survivor's events all reach the store."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import IO

import pytest
import yaml

from facetrack.storage.events import EventStore
from facetrack.storage.leases import LeaseStore, overlaps
from tests.builders import wait_until

pytestmark = [pytest.mark.data, pytest.mark.slow]

CAMS = ["c1", "c2", "c3", "c4"]


def _start(name: str, pg_url: str, clip: Path, folder: Path) -> tuple[subprocess.Popen[str],
                                                                      IO[str]]:
    cfg = {"store": {"events_db": pg_url, "events_jsonl": str(folder / f"{name}.jsonl")},
           "metrics": {"log_every_s": 5}, "retention": {"events_days": None},
           "cluster": {},  # the default lease: 15 s
           "cameras": [{"name": c, "source": str(clip), "loop": True, "fps_cap": 5}
                       for c in CAMS]}
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    log = (folder / f"{name}.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "facetrack", "monitor", str(path)],
                            stdout=log, stderr=subprocess.STDOUT, text=True)
    return proc, log


def _by_pid(leases: LeaseStore) -> Counter[int]:
    return Counter(int(h.split(":")[1]) for h in leases.holders().values())


def _recent(store: EventStore, camera: str, since: str) -> bool:
    return bool(store.query(camera=camera, since=since, limit=1))


def test_two_monitors_share_the_cameras_and_survive_a_sigkill(
        live_clip: Path, pg_url: str, tmp_path: Path) -> None:
    a, a_log = _start("a", pg_url, live_clip, tmp_path)
    b, b_log = _start("b", pg_url, live_clip, tmp_path)
    try:
        assert wait_until(lambda: (tmp_path / "a.log").read_text().count("leases taken") > 0, 30)
        with LeaseStore(pg_url) as leases, EventStore(pg_url) as store:
            split = {a.pid: 2, b.pid: 2}
            assert wait_until(lambda: _by_pid(leases) == split, 40), _by_pid(leases)
            start = datetime.now(timezone.utc).isoformat()
            assert wait_until(lambda: all(_recent(store, c, start) for c in CAMS), 20)
            a_cams = {c for c, h in leases.holders().items() if h.split(":")[1] == str(a.pid)}
            a.send_signal(signal.SIGKILL)
            killed = time.monotonic()
            a.wait(10)
            assert wait_until(lambda: _by_pid(leases) == {b.pid: 4}, 30), _by_pid(leases)
            picked_up = time.monotonic() - killed
            after = datetime.now(timezone.utc).isoformat()
            assert wait_until(lambda: all(_recent(store, c, after) for c in CAMS), 20)
            b.send_signal(signal.SIGTERM)
            assert b.wait(60) == 0, (tmp_path / "b.log").read_text()[-3000:]
            history = leases.history()
            rows = store.query()
    finally:
        for proc, log in ((a, a_log), (b, b_log)):
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
            log.close()
    assert picked_up < 30
    assert overlaps(history) == []
    holders = {(h["camera"], int(h["holder"].split(":")[1])) for h in history}
    assert {(c, b.pid) for c in a_cams} <= holders  # the survivor took the killed one's cameras
    # every event the survivor wrote to its events file is in the store (the killed one's
    # last in-flight batch may be in neither: docs/monitor.md, "Several monitors")
    stored = Counter(json.dumps(r, sort_keys=True) for r in rows)
    written = Counter(json.dumps(json.loads(line), sort_keys=True)
                      for line in (tmp_path / "b.jsonl").read_text().splitlines())
    assert written and not written - stored
    summary = json.loads((tmp_path / "b.log").read_text().strip().splitlines()[-1])
    assert all(summary[c]["processed"] > 0 for c in CAMS)
    # what each monitor processed (its own events file) lies inside its own holdings, which
    # never overlap: no camera was processed by both at once
    for proc, name in ((a, "a"), (b, "b")):
        spans = [(h["camera"], h["since"], h["until"]) for h in history
                 if h["holder"].split(":")[1] == str(proc.pid)]
        lines = (tmp_path / f"{name}.jsonl").read_text().split("\n")[:-1]  # complete ones
        assert lines
        for line in lines:
            event = json.loads(line)
            t = datetime.fromisoformat(event["wall_time"]).timestamp()
            assert any(c == event["camera"] and since - 0.5 <= t <= until + 0.5
                       for c, since, until in spans), (name, event)
