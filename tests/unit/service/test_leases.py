"""LeaseKeeper: monitors (threads here) sharing cameras through one store: the fair split, the
hand-over when one joins, leaves cleanly or dies, and cameras stopped before a lease can run
out when the store stops answering."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from facetrack.errors import DatabaseError
from facetrack.service.leases import LeaseKeeper
from facetrack.storage.leases import LeaseStore, overlaps
from tests.builders import wait_until

CAMS = ["a", "b", "c", "d"]
LEASE_S = 0.9


class Cameras:
    """What a monitor runs, as the keeper starts and stops it."""

    def __init__(self) -> None:
        self.running: set[str] = set()
        self.lock = threading.Lock()

    def start(self, names: list[str]) -> None:
        with self.lock:
            assert not self.running & set(names)
            self.running |= set(names)

    def stop(self, names: list[str]) -> None:
        with self.lock:
            self.running -= set(names)


def keeper(store: LeaseStore, cams: Cameras, name: str) -> LeaseKeeper:
    return LeaseKeeper(store, CAMS, LEASE_S, start=cams.start, stop=cams.stop, holder=name)


@pytest.fixture()
def store(tmp_path: Path) -> LeaseStore:
    with LeaseStore(tmp_path / "ev.db") as s:
        yield s  # type: ignore[misc]


def _split(*monitors: Cameras) -> list[int]:
    return sorted(len(m.running) for m in monitors)


def _disjoint(*monitors: Cameras) -> bool:
    seen: list[str] = [c for m in monitors for c in m.running]
    return len(seen) == len(set(seen))


def test_two_monitors_split_four_cameras_and_hand_over(store: LeaseStore) -> None:
    one, two = Cameras(), Cameras()
    k1 = keeper(store, one, "m1")
    assert wait_until(lambda: len(one.running) == 4, 3)
    k2 = keeper(store, two, "m2")
    assert wait_until(lambda: _split(one, two) == [2, 2], 5), _split(one, two)
    assert _disjoint(one, two)
    k1.close()  # a clean stop gives the leases back: taken at the next round
    assert not one.running
    assert wait_until(lambda: len(two.running) == 4, 2 * LEASE_S)
    k2.close()
    assert store.holders() == {} and overlaps(store.history()) == []


def test_a_dead_monitors_cameras_are_taken_after_the_expiry(store: LeaseStore) -> None:
    one, two = Cameras(), Cameras()
    k1, k2 = keeper(store, one, "m1"), keeper(store, two, "m2")
    assert wait_until(lambda: _split(one, two) == [2, 2], 5)
    k1._stop.set()  # dies: no more rounds, no release
    k1._thread.join()
    assert wait_until(lambda: len(two.running) == 4, 3 * LEASE_S)
    k2.close()
    assert overlaps(store.history()) == []


def test_a_monitor_cut_from_the_store_stops_its_cameras_before_the_leases_run_out(
        store: LeaseStore, monkeypatch: pytest.MonkeyPatch) -> None:
    one = Cameras()
    k1 = keeper(store, one, "m1")
    assert wait_until(lambda: len(one.running) == 4, 3)

    def down(*_: object) -> None:
        raise DatabaseError("store unreachable")

    monkeypatch.setattr(store, "heartbeat", down)
    assert wait_until(lambda: not one.running, 2 * LEASE_S)
    now = store.now()
    assert all(h["until"] > now for h in store.history())  # stopped while still valid
    monkeypatch.undo()
    assert wait_until(lambda: len(one.running) == 4, 3 * LEASE_S)  # back when it returns
    k1.close()
    assert overlaps(store.history()) == []
