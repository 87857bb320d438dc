"""``SplitWork``: one call's independent pieces spread over helper threads.

The analyser's models (LiteRT) release the GIL while they run, so the faces of one frame,
split into pieces, run in parallel on several cores; the caller runs the first piece itself and
waits for the others, so results come back in order and a one-thread ``SplitWork`` starts no
thread at all.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


class SplitWork:
    def __init__(self, threads: int, name: str) -> None:
        if threads < 1:
            raise ValueError(f"threads must be at least 1, got {threads}")
        self.threads = threads
        self._name = name
        self._pool: ThreadPoolExecutor | None = None

    def map(self, call: Callable[[int, T], R], pieces: Sequence[T]) -> list[R]:
        """``[call(k, piece_k) ...]`` in order, piece 0 on the calling thread. No two pieces of
        one call share an index ``k``, so a call may use the ``k``-th of its own models without
        a lock. At most ``threads`` pieces."""
        if len(pieces) > self.threads:
            raise ValueError(f"{len(pieces)} pieces for {self.threads} threads")
        if len(pieces) <= 1:
            return [call(0, p) for p in pieces]
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.threads - 1, thread_name_prefix=self._name)
        futures = [self._pool.submit(call, k, p) for k, p in enumerate(pieces) if k > 0]
        first = call(0, pieces[0])
        return [first, *(f.result() for f in futures)]

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
