"""The one place that owns threads, queues and shutdown.

``run_stages(items, stages)`` runs each stage in its own thread joined by bounded queues, so
decoding, detection and analysis overlap on separate cores (OpenCV and LiteRT release the GIL
while they compute). Each stage is a plain function called in order on one thread, so results
come out in input order and are identical on every run. An exception in a stage (or the source)
travels downstream behind the items finished before it and is re-raised to the consumer; then
(or when the consumer closes the generator) every thread is stopped and joined.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

_DONE = object()


class _Failure:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def run_stages(
    items: Iterable[Any],
    stages: list[Callable[[Any], Any]],
    queue_size: int = 8,
    names: list[str] | None = None,
) -> Iterator[Any]:
    """Yield ``stages[-1](...(stages[0](item)))`` for each item, in order, with the source
    iteration and each stage on its own thread. Closing the generator stops every thread."""
    stop = threading.Event()
    queues: list[queue.Queue[Any]] = [
        queue.Queue(maxsize=queue_size) for _ in range(len(stages) + 1)
    ]

    def put(q: queue.Queue[Any], value: Any) -> bool:
        while not stop.is_set():
            try:
                q.put(value, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def get(q: queue.Queue[Any]) -> Any:
        while True:
            try:
                return q.get(timeout=0.1)
            except queue.Empty:
                if stop.is_set():
                    return _DONE

    def feed() -> None:
        try:
            for item in items:
                if not put(queues[0], item):
                    return
        except BaseException as exc:  # forwarded to the consumer, re-raised there
            put(queues[0], _Failure(exc))
            return
        put(queues[0], _DONE)

    def work(stage: Callable[[Any], Any], inq: queue.Queue[Any], outq: queue.Queue[Any]) -> None:
        while True:
            item = get(inq)
            if item is _DONE or isinstance(item, _Failure):
                put(outq, item)
                return
            try:
                result = stage(item)
            except BaseException as exc:
                put(outq, _Failure(exc))
                return
            if not put(outq, result):
                return

    labels = names or [getattr(s, "__name__", "stage") for s in stages]
    threads = [threading.Thread(target=feed, name="facetrack-source", daemon=True)]
    for i, stage in enumerate(stages):
        threads.append(
            threading.Thread(
                target=work,
                args=(stage, queues[i], queues[i + 1]),
                name=f"facetrack-{labels[i]}",
                daemon=True,
            )
        )
    for t in threads:
        t.start()
    try:
        while True:
            item = get(queues[-1])
            if item is _DONE:
                return
            if isinstance(item, _Failure):
                raise item.exc
            yield item
    finally:
        stop.set()
        # every wait above wakes at least every 0.1 s to check ``stop``; joining without a
        # timeout guarantees no thread still uses the source when its owner closes it
        for t in threads:
            t.join()
