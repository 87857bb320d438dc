"""Camera leases on SQLite and a real PostgreSQL server: take, renew, expiry, steal after the
expiry, never two holders (threads racing), release, the fair-share count of live monitors."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from facetrack.storage.leases import Lease, LeaseStore, instance_id, overlaps

CAMS = ["a", "b", "c", "d"]


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> LeaseStore:
    target = (str(request.getfixturevalue("pg_url")) if request.param == "postgres"
              else str(tmp_path / "ev.db"))
    with LeaseStore(target) as s:
        yield s  # type: ignore[misc]


def test_take_renew_release_and_the_database_clock(store: LeaseStore) -> None:
    assert abs(store.now() - time.time()) < 5
    taken = store.take("m1", CAMS, 30.0, 2)
    assert [t.camera for t in taken] == ["a", "b"] and all(t.epoch == 1 for t in taken)
    assert [t.camera for t in store.take("m2", CAMS, 30.0, 9)] == ["c", "d"]
    assert store.take("m3", CAMS, 30.0, 9) == []  # all held
    renewed = store.renew("m1", taken, 30.0)
    assert [r.camera for r in renewed] == ["a", "b"]
    assert all(r.expires_at >= t.expires_at for r, t in zip(renewed, taken, strict=True))
    assert store.renew("m2", taken, 30.0) == []  # not its leases
    store.release("m1", [taken[0]])
    again = store.take("m3", CAMS, 30.0, 9)
    assert [(t.camera, t.epoch) for t in again] == [("a", 2)]  # a new epoch: a fencing token
    assert store.holders() == {"a": "m3", "b": "m1", "c": "m2", "d": "m2"}
    assert store.renew("m1", [taken[0]], 30.0) == []  # the old epoch is dead
    assert overlaps(store.history()) == []


def test_a_lease_runs_out_and_is_taken_by_another(store: LeaseStore) -> None:
    old = store.take("m1", ["a"], 0.5, 1)
    assert store.take("m2", ["a"], 0.5, 1) == []
    time.sleep(0.7)
    assert store.renew("m1", old, 0.5) == []  # too late: it ran out
    new = store.take("m2", ["a"], 5.0, 1)
    assert [(n.camera, n.epoch) for n in new] == [("a", 2)]
    store.release("m1", old)  # a late release of the old epoch changes nothing
    assert store.holders() == {"a": "m2"}
    history = store.history()
    assert [h["holder"] for h in history] == ["m1", "m2"] and overlaps(history) == []


def test_racing_monitors_never_hold_one_camera_twice(store: LeaseStore) -> None:
    wins: list[tuple[str, Lease]] = []
    lock = threading.Lock()
    go = threading.Barrier(4)

    def grab(holder: str) -> None:
        go.wait()
        for _ in range(5):
            got = store.take(holder, CAMS, 30.0, 9)
            with lock:
                wins.extend((holder, g) for g in got)

    threads = [threading.Thread(target=grab, args=(f"m{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(g.camera for _, g in wins) == CAMS  # each camera taken exactly once
    assert overlaps(store.history()) == []


def test_heartbeats_count_live_monitors(store: LeaseStore) -> None:
    assert store.heartbeat("m1", 30.0) == 1
    assert store.heartbeat("m2", 0.3) == 2
    assert store.heartbeat("m1", 30.0) == 2
    time.sleep(0.5)
    assert store.heartbeat("m1", 30.0) == 1  # m2 went silent
    store.heartbeat("m3", 30.0)
    store.leave("m3")
    assert store.heartbeat("m1", 30.0) == 1


def test_overlaps_finds_two_holders_at_once() -> None:
    rows = [{"camera": "a", "since": 0.0, "until": 10.0},
            {"camera": "a", "since": 9.0, "until": 20.0},
            {"camera": "b", "since": 9.0, "until": 20.0}]
    assert len(overlaps(rows)) == 1
    assert instance_id() != instance_id()
