"""Sinks that store a camera's events: the event store and ``events.jsonl``.

Each writes on its own ``RetryingQueue``: ``consume`` only queues the frame's events (one
batch, written in one transaction), so a slow, full or unreachable store never holds up a
camera. What the store refuses (a full disk, a database that is down) waits and is retried
every ``retry_s``, in order; at most ``limit`` events wait, beyond that the oldest batches are
dropped, counted and logged. ``close(patience_s)`` keeps trying for that long.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from facetrack.events import Event
from facetrack.results import FrameResult
from facetrack.runtime import RetryingQueue


class EventSink:
    """One destination of events (``write(batch)`` raises on a refusal)."""

    def __init__(self, name: str, write: Callable[[Sequence[Event]], None], *,
                 limit: int = 100_000, retry_s: float = 2.0, patience_s: float = 10.0) -> None:
        self.name = name
        self.patience_s = patience_s
        self.queue: RetryingQueue[list[Event]] = RetryingQueue(
            name, write, max_items=limit, units=len, retry_s=retry_s)

    def consume(self, result: FrameResult) -> None:
        if result.events:
            self.queue.put(list(result.events))

    @property
    def waiting(self) -> int:
        return self.queue.waiting

    @property
    def lost(self) -> int:
        return self.queue.lost

    @property
    def failing(self) -> str | None:
        return self.queue.failing

    def close(self) -> None:
        self.queue.close(self.patience_s)
