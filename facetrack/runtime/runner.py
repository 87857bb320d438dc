"""Pipelined iteration: the source and each step on its own thread, joined by bounded queues.

``run_stages(items, steps)`` yields ``steps[-1](...(steps[0](item)))`` for each item, in
order, with the iteration of ``items`` and each step on its own thread, so decoding, detection
and analysis overlap on separate cores (OpenCV and LiteRT release the GIL while they compute).
Each step is a plain function called in order on one thread, so results come out in input
order and are identical on every run. An exception in a step (or the source) travels
downstream behind the items finished before it and is re-raised to the consumer; then (or when
the consumer closes the generator) every thread is stopped and joined. A pipeline's stages are
grouped into steps by ``facetrack.pipeline`` (one group per thread).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from facetrack.runtime.threads import spawn

_DONE = object()


class _Failure:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


class _Line:
    """The queues between the threads and the stop flag they all watch."""

    def __init__(self, hops: int, queue_size: int) -> None:
        self.stop = threading.Event()
        self.queues: list[queue.Queue[Any]] = [queue.Queue(maxsize=queue_size)
                                               for _ in range(hops)]

    def put(self, hop: int, value: Any) -> bool:
        """Hand ``value`` on; False when stopped first (every wait wakes each 0.1 s)."""
        while not self.stop.is_set():
            try:
                self.queues[hop].put(value, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def get(self, hop: int) -> Any:
        while True:
            try:
                return self.queues[hop].get(timeout=0.1)
            except queue.Empty:
                if self.stop.is_set():
                    return _DONE

    def feed(self, items: Iterable[Any]) -> None:
        try:
            for item in items:
                if not self.put(0, item):
                    return
        except BaseException as exc:  # forwarded to the consumer, re-raised there
            self.put(0, _Failure(exc))
            return
        self.put(0, _DONE)

    def work(self, step: Callable[[Any], Any], hop: int) -> None:
        while True:
            item = self.get(hop)
            if item is _DONE or isinstance(item, _Failure):
                self.put(hop + 1, item)
                return
            try:
                result = step(item)
            except BaseException as exc:
                self.put(hop + 1, _Failure(exc))
                return
            if not self.put(hop + 1, result):
                return


def _work(line: _Line, step: Callable[[Any], Any], hop: int) -> Callable[[], None]:
    return lambda: line.work(step, hop)


def run_stages(
    items: Iterable[Any],
    stages: list[Callable[[Any], Any]],
    queue_size: int = 8,
    names: list[str] | None = None,
) -> Iterator[Any]:
    """See the module docstring. Closing the generator stops every thread."""
    line = _Line(len(stages) + 1, queue_size)
    labels = names or [getattr(s, "__name__", "stage") for s in stages]
    threads: list[threading.Thread] = []
    try:
        # started inside the try: a Ctrl-C between two starts still stops and joins the first
        threads.append(spawn(lambda: line.feed(items), "facetrack-source"))
        for hop, (step, label) in enumerate(zip(stages, labels, strict=True)):
            threads.append(spawn(_work(line, step, hop), f"facetrack-{label}"))
        while True:
            item = line.get(len(stages))
            if item is _DONE:
                return
            if isinstance(item, _Failure):
                raise item.exc
            yield item
    finally:
        line.stop.set()
        # every wait above wakes at least every 0.1 s to check ``stop``; joining without a
        # timeout guarantees no thread still uses the source when its owner closes it
        join_all(threads)


def join_all(threads: list[threading.Thread]) -> None:
    """Join every thread, even through a second Ctrl-C (raised once all are joined): a thread
    left running into the interpreter's shutdown while inside OpenCV or LiteRT aborts the
    process ("FATAL: exception not rethrown") instead of exiting with the interrupt's code."""
    interrupted: KeyboardInterrupt | None = None
    for t in threads:
        while True:
            try:
                t.join()
                break
            except KeyboardInterrupt as exc:
                interrupted = exc
    if interrupted is not None:
        raise interrupted
