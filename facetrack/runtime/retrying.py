"""``RetryingQueue``: the one background writer.

Every output that must not hold up a camera and must not lose what it was given is a short
``write(item)`` function on one of these: the event store and ``events.jsonl`` (batches of
events), the clip writer (clips to encode and file), the notifier (one message per alert) and
the S3 upload spool (clips waiting on disk). ``put`` only queues; one worker thread writes the
items in order. When ``write`` raises an error that ``is_outage`` calls passing (a full disk, a
database or a server that is down), the item stays at the head of the line and is tried again
after a back-off; any other error loses only that item. The queue is bounded by items and/or
bytes: past a bound the oldest waiting item is dropped (never the one being written). Every
item is accounted for: ``written``, or lost as ``dropped`` (bound), ``failed`` (a non-outage
error, or ``max_attempts`` used up) or ``abandoned`` (still refused when ``close``'s patience
ran out). The counters count units (``units(item)``: an event batch counts its events).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Generic, TypeVar

from facetrack.errors import FacetrackError
from facetrack.runtime.threads import spawn

log = logging.getLogger(__name__)

T = TypeVar("T")


def outage_errors(exc: BaseException) -> bool:
    """The default outage predicate: facetrack's own errors (a store that refuses) and
    ``OSError`` (disk, network) pass; anything else is a bug that retrying cannot fix."""
    return isinstance(exc, (FacetrackError, OSError))


class RetryingQueue(Generic[T]):
    """See the module docstring. ``retry_s`` is the first pause after a refusal; pauses double
    up to ``max_retry_s`` (default: ``retry_s``, a constant pause)."""

    def __init__(
        self,
        name: str,
        write: Callable[[T], None],
        *,
        is_outage: Callable[[BaseException], bool] = outage_errors,
        max_items: int | None = None,
        max_bytes: int | None = None,
        units: Callable[[T], int] = lambda _: 1,
        nbytes: Callable[[T], int] = lambda _: 0,
        retry_s: float = 2.0,
        max_retry_s: float | None = None,
        max_attempts: int | None = None,
        on_lost: Callable[[T, str], None] | None = None,
        durable: bool = False,
        describe: Callable[[T], str] | None = None,
    ) -> None:
        self.name = name
        self._write, self._is_outage = write, is_outage
        self.max_items, self.max_bytes = max_items, max_bytes
        self._units, self._nbytes = units, nbytes
        self.retry_s = retry_s
        self.max_retry_s = retry_s if max_retry_s is None else max_retry_s
        self.max_attempts = max_attempts
        self._on_lost = on_lost
        self._describe = describe
        #: items are kept elsewhere too (files in a spool): what is left at close is not lost
        self.durable = durable
        self.left = 0
        self._items: deque[T] = deque()
        self._cond = threading.Condition()
        self._head_busy = False
        self._deadline: float | None = None  # set by close()
        self.waiting = self.bytes_waiting = 0
        self.written = self.dropped = self.failed = self.abandoned = 0
        self.failing: str | None = None  # the reason, while the target refuses
        self._thread = spawn(self._run, f"queue-{name}")

    @property
    def pending(self) -> int:
        """Items waiting, the one being written included."""
        return len(self._items)

    @property
    def lost(self) -> int:
        return self.dropped + self.failed + self.abandoned

    def put(self, item: T) -> None:
        with self._cond:
            if self._deadline is not None:
                self._lose(item, "abandoned", "the queue is closed")
                return
            self._items.append(item)
            self.waiting += self._units(item)
            self.bytes_waiting += self._nbytes(item)
            self._bound()
            self._cond.notify_all()

    def _over(self) -> bool:
        return ((self.max_items is not None and self.waiting > self.max_items)
                or (self.max_bytes is not None and self.bytes_waiting > self.max_bytes))

    def _bound(self) -> None:
        first = 1 if self._head_busy else 0  # the item being written is never dropped
        while self._over() and len(self._items) > first + 1:
            old = self._items[first]
            del self._items[first]
            self._account(old)
            self._lose(old, "dropped", "too many waiting")

    def _account(self, item: T) -> None:
        self.waiting -= self._units(item)
        self.bytes_waiting -= self._nbytes(item)

    def _lose(self, item: T, how: str, why: str) -> None:
        n = self._units(item)
        setattr(self, how, getattr(self, how) + n)
        if how != "dropped" or self.dropped == n:  # log the first drop of a run, not each
            log.error("%s: %d lost (%s: %s)", self.name, n, how, why)
        if self._on_lost is not None:
            try:
                self._on_lost(item, how)
            except Exception:
                log.exception("%s: lost-item listener failed", self.name)

    def drain(self, timeout: float) -> bool:
        """Wait up to ``timeout`` for every waiting item to be written (or lost)."""
        end = time.monotonic() + timeout
        with self._cond:
            while self._items and time.monotonic() < end:
                self._cond.wait(min(0.1, max(0.0, end - time.monotonic())))
            return not self._items

    def _next(self) -> T | None:
        with self._cond:
            while not self._items and self._deadline is None:
                self._cond.wait()
            if self._items and self._deadline is not None and \
                    time.monotonic() >= self._deadline:
                self._abandon_all()  # closing took its whole patience: count what is left
            if not self._items:
                return None
            self._head_busy = True
            return self._items[0]

    def _run(self) -> None:
        attempts = 0
        while True:
            item = self._next()
            if item is None:
                return
            error = self._try(item)
            with self._cond:
                self._head_busy = False
                if error is None or not self._is_outage(error) or (
                        self.max_attempts is not None and attempts + 1 >= self.max_attempts):
                    self._finish(item, error)
                    attempts = 0
                    continue
                attempts += 1
                if self.failing is None:
                    what = f"{self._describe(item)}: " if self._describe is not None else ""
                    log.error("%s: %s%s; waiting items are kept and retried every %g s",
                              self.name, what, _line(error), self.retry_s)
                self.failing = _line(error)
                if not self._pause(attempts):
                    self._abandon_all()
                    return

    def _try(self, item: T) -> BaseException | None:
        try:
            self._write(item)
        except Exception as exc:  # sorted by _run: an outage is retried, anything else lost
            return exc
        return None

    def _finish(self, item: T, error: BaseException | None) -> None:
        """The head is done: written, or lost for good (called with the lock held)."""
        self._items.popleft()
        self._account(item)
        if error is None:
            self.written += self._units(item)
            if self.failing is not None:
                log.warning("%s: writing again (%d waiting)", self.name, self.waiting)
                self.failing = None
        elif self._is_outage(error):
            self._lose(item, "failed", f"still refused after {self.max_attempts} attempts: "
                       f"{_line(error)}")
        else:
            log.error("%s: an item could not be written", self.name, exc_info=error)
            self._lose(item, "failed", f"{type(error).__name__}: {_line(error)}")
        self._cond.notify_all()

    def _pause(self, attempts: int) -> bool:
        """Wait before the next attempt (lock held); False when closing's patience is over."""
        delay = min(self.retry_s * 2 ** (attempts - 1), self.max_retry_s)
        until = time.monotonic() + delay
        while True:
            now = time.monotonic()
            if self._deadline is not None:
                if now >= self._deadline:
                    return False
                until = min(until, now + 0.5, self._deadline)
            if now >= until:
                return True
            self._cond.wait(until - now)

    def _abandon_all(self) -> None:
        if self.durable and self._items:
            self.left = self.waiting
            log.warning("%s: %d left for the next start (%s)", self.name, self.left,
                        self.failing)
        why = f"still refused ({self.failing})" if self.failing else "not written in time"
        while self._items:
            item = self._items.popleft()
            self._account(item)
            if not self.durable:
                self._lose(item, "abandoned", f"{why} when the queue closed")
        self._cond.notify_all()

    def close(self, patience_s: float = 10.0) -> None:
        """Stop taking items; write what waits for up to ``patience_s`` (refusals retried
        meanwhile); whatever is still waiting then is counted as abandoned and logged (or,
        ``durable``, left for the next start)."""
        with self._cond:
            if self._deadline is None:
                self._deadline = time.monotonic() + patience_s
            self._cond.notify_all()
        # a write in progress may outlast the patience a little (stores bound their calls)
        self._thread.join(patience_s + 30.0)


def _line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__
