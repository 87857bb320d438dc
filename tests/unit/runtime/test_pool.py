"""``SplitWork``: pieces in order, each index once, the first on the caller."""

from __future__ import annotations

import threading

import pytest

from facetrack.runtime.pool import SplitWork


def test_pieces_come_back_in_order_with_their_index() -> None:
    work = SplitWork(3, "test")
    try:
        out = work.map(lambda k, p: (k, p * 2, threading.current_thread().name), [1, 2, 3])
    finally:
        work.close()
    assert [(k, v) for k, v, _ in out] == [(0, 2), (1, 4), (2, 6)]
    assert out[0][2] == threading.current_thread().name  # piece 0 on the caller
    assert all(name.startswith("test") for _, _, name in out[1:])


def test_one_thread_starts_none() -> None:
    before = threading.active_count()
    work = SplitWork(1, "test")
    assert work.map(lambda k, p: p + k, [5]) == [5]
    assert threading.active_count() == before
    work.close()


def test_more_pieces_than_threads_is_refused() -> None:
    work = SplitWork(2, "test")
    with pytest.raises(ValueError, match="3 pieces for 2 threads"):
        work.map(lambda k, p: p, [1, 2, 3])


def test_an_error_in_a_helper_reaches_the_caller() -> None:
    work = SplitWork(2, "test")

    def piece(k: int, p: int) -> int:
        if k == 1:
            raise RuntimeError("boom")
        return p

    try:
        with pytest.raises(RuntimeError, match="boom"):
            work.map(piece, [1, 2])
    finally:
        work.close()
