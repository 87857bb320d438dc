"""RetryingQueue: order through an outage, bounds, attempts, close."""

from __future__ import annotations

import itertools
import threading
import time

from facetrack.errors import OutputError
from facetrack.runtime import RetryingQueue
from tests.builders import wait_until


def test_order_is_kept_through_an_outage_and_what_waits_is_bounded() -> None:
    """A target that refuses for a while (as a full disk does) gets every item once, in order,
    once it accepts again; past the bound the oldest waiting items are dropped and counted
    (never the one being written)."""
    written: list[list[int]] = []
    refusing = threading.Event()
    refusing.set()

    def write(batch: list[int]) -> None:
        if refusing.is_set():
            raise OutputError("disk full")
        written.append(batch)

    # a long pause after the refusal: the puts below land while the head waits
    q: RetryingQueue[list[int]] = RetryingQueue("store", write, max_items=6, units=len,
                                                retry_s=0.5)
    try:
        q.put([0, 0])
        assert wait_until(lambda: q.failing == "disk full")
        for i in range(1, 5):
            q.put([i, i])
        assert q.dropped == 4 and q.waiting == 6  # the two oldest batches went
        refusing.clear()
        assert q.drain(5.0) and q.failing is None
        assert written == [[2, 2], [3, 3], [4, 4]]
        assert q.written == 6 and q.lost == 4
    finally:
        q.close(1.0)


def test_a_bug_loses_only_its_item() -> None:
    seen: list[int] = []

    def write(x: int) -> None:
        if x == 2:
            raise ValueError("a bug")
        seen.append(x)

    q: RetryingQueue[int] = RetryingQueue("q", write)
    for i in range(4):
        q.put(i)
    q.close(1.0)
    assert seen == [0, 1, 3] and q.failed == 1 and q.written == 3


def test_attempts_are_bounded_and_back_off() -> None:
    times: list[float] = []

    def write(_: int) -> None:
        times.append(time.monotonic())
        raise OutputError("down")

    q: RetryingQueue[int] = RetryingQueue("notify", write, retry_s=0.05, max_retry_s=0.2,
                                          max_attempts=4)
    q.put(1)
    assert wait_until(lambda: q.failed == 1)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert len(times) == 4 and gaps[1] > gaps[0] * 1.5  # 0.05, 0.1, 0.2 s
    q.close(1.0)


def test_close_gives_up_after_its_patience_and_counts() -> None:
    def write(_: int) -> None:
        raise OutputError("still full")

    q: RetryingQueue[int] = RetryingQueue("q", write, retry_s=10.0)
    for i in range(3):
        q.put(i)
    start = time.monotonic()
    q.close(0.3)
    assert time.monotonic() - start < 2.0
    assert q.abandoned == 3 and q.lost == 3
    q.put(9)  # after close: counted, not queued
    assert q.abandoned == 4


def test_durable_items_are_left_not_lost() -> None:
    def write(_: int) -> None:
        raise OutputError("offline")

    q: RetryingQueue[int] = RetryingQueue("uploads", write, retry_s=10.0, durable=True)
    q.put(1)
    q.put(2)
    q.close(0.2)
    assert q.lost == 0 and q.left == 2


def test_a_long_backlog_does_not_hold_the_close() -> None:
    """A writer far behind (the clip writer of an overloaded monitor): ``close`` writes for its
    patience, then counts what is left as abandoned instead of waiting for all of it."""
    def write(_: int) -> None:
        time.sleep(0.1)

    q: RetryingQueue[int] = RetryingQueue("slow", write)
    for i in range(100):
        q.put(i)
    start = time.monotonic()
    q.close(0.5)
    assert time.monotonic() - start < 2.0
    assert q.written + q.abandoned == 100 and 2 <= q.written <= 10
