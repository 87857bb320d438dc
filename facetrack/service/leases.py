"""``LeaseKeeper``: this monitor's share of the cameras, by leases in the shared store.

Every ``lease_s / 3`` seconds one round, on the keeper's own thread: say this monitor is alive
(its heartbeat), renew the leases it holds, then take free or run-out leases up to its fair
share, ``ceil(cameras / live monitors)``; a monitor holding more than its share (another one
joined) stops the extra cameras and gives their leases back, so two monitors split four
cameras two and two. A camera starts only once its lease is taken, and stops when the lease is
lost, given back or about to run out.

Never two holders at once: a lease renewed at local time ``t`` (taken before the call was
sent) runs out in the database at ``t + lease_s`` at the earliest, and this monitor stops the
camera at ``t + lease_s - lease_s / 3`` if no renewal came back by then (the store unreachable,
a network partition, a hung call: every round is waited for at most ``lease_s / 3``). The
margin is what a camera has to stop in (normally well under a second). A monitor killed with
SIGKILL renews nothing: its cameras are free ``lease_s`` after its last round and taken at
another monitor's next round, so within ``lease_s * 4 / 3`` (20 s with the default 15 s) plus
the camera's start.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from facetrack.errors import DatabaseError
from facetrack.runtime import call_with_timeout, spawn
from facetrack.storage.leases import Lease, LeaseStore, instance_id

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Round:
    """What one exchange with the store brought back."""

    live: int
    renewed: list[Lease]
    taken: list[Lease]


class LeaseKeeper:
    """Starts and stops ``cameras`` (by name, through ``start`` and ``stop``, which take a
    list) as this monitor's leases come and go. ``close()`` stops them and gives the leases
    back."""

    def __init__(self, store: LeaseStore, cameras: Sequence[str], lease_s: float, *,
                 start: Callable[[list[str]], None], stop: Callable[[list[str]], None],
                 holder: str | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.store, self.cameras, self.lease_s = store, list(cameras), lease_s
        self.start, self.stop = start, stop
        self.holder = holder or instance_id()
        self.clock = clock
        self.period = lease_s / 3
        self.held: dict[str, Lease] = {}
        self.deadline: dict[str, float] = {}  # local clock: the camera stops by then
        self._release: list[Lease] = []
        self._failing = False
        self._stop = threading.Event()
        # start with the cameras no one else lists first in our order: two monitors started
        # together then try different cameras first
        shift = hash(self.holder) % max(1, len(self.cameras))
        self._order = self.cameras[shift:] + self.cameras[:shift]
        self._thread = spawn(self._loop, "camera-leases")

    def _loop(self) -> None:
        next_round = self.clock()
        while not self._stop.is_set():
            try:
                if self.clock() >= next_round:
                    next_round = self.clock() + self.period
                    self.round()
                self.enforce()
            except Exception:  # a bug must not end the renewals of the cameras still running
                log.exception("camera leases: a round failed")
            wake = min([next_round, *self.deadline.values()])
            self._stop.wait(min(self.period, max(0.05, wake - self.clock())))

    def round(self) -> None:
        """One exchange with the store (waited for at most one period), then the cameras
        started and stopped to match."""
        sent = self.clock()
        held, release = list(self.held.values()), list(self._release)
        done, result = call_with_timeout(lambda: self._exchange(held, release),
                                         self.period, "camera-leases-db")
        if not done or isinstance(result, Exception):
            why = "no answer in time" if not done else str(result)
            if not self._failing:
                log.warning("camera leases not renewed: %s (cameras stop before their "
                            "leases run out)", why)
            self._failing = True
            return
        if self._failing:
            log.info("camera leases renewed again")
        self._failing = False
        self._release = [r for r in self._release if r not in release]
        self._apply(result, sent)

    def _exchange(self, held: list[Lease], release: list[Lease]) -> Round:
        if release:
            self.store.release(self.holder, release)
        live = self.store.heartbeat(self.holder, self.lease_s)
        renewed = self.store.renew(self.holder, held, self.lease_s) if held else []
        share = math.ceil(len(self.cameras) / max(1, live))
        mine = {lease.camera for lease in held}
        free = [c for c in self._order if c not in mine]
        want = share - len(renewed)
        taken = self.store.take(self.holder, free, self.lease_s, want) if want > 0 else []
        return Round(live, renewed, taken)

    def _apply(self, result: Round, sent: float) -> None:
        renewed = {lease.camera for lease in result.renewed}
        lost = [c for c in self.held if c not in renewed]
        if lost:
            log.warning("camera leases lost: %s (stopped)", ", ".join(lost))
            self._drop(lost, give_back=False)
        stop_by = sent + self.lease_s - self.period
        for lease in [*result.renewed, *result.taken]:
            self.held[lease.camera] = lease
            self.deadline[lease.camera] = stop_by
        share = math.ceil(len(self.cameras) / max(1, result.live))
        extra = [c for c in self.held if c not in {t.camera for t in result.taken}]
        extra = extra[:max(0, len(self.held) - share)]
        if extra:
            log.info("camera leases: %d monitors, %d cameras each at most: giving back %s",
                     result.live, share, ", ".join(extra))
            self._drop(extra, give_back=True)
        if result.taken:
            names = [lease.camera for lease in result.taken]
            log.info("camera leases taken: %s (%s)", ", ".join(names), self.holder)
            try:
                self.start(names)
            except Exception:
                log.exception("camera leases: starting %s failed; given back", ", ".join(names))
                self._drop(names, give_back=True)

    def _drop(self, cameras: list[str], *, give_back: bool) -> None:
        self.stop(cameras)
        for camera in cameras:
            lease = self.held.pop(camera)
            self.deadline.pop(camera, None)
            if give_back:
                self._release.append(lease)

    def enforce(self) -> None:
        """Stop every camera whose lease was not renewed in time (before it can run out)."""
        now = self.clock()
        late = [c for c, t in self.deadline.items() if now >= t]
        if late:
            log.error("camera leases not renewed in time: %s stopped before the leases run "
                      "out", ", ".join(late))
            self._drop(late, give_back=False)

    def close(self, timeout: float = 5.0) -> None:
        """Stop the keeper and this monitor's cameras, then give their leases back (so other
        monitors take them at once) and leave."""
        self._stop.set()
        self._thread.join(timeout=self.period + 10.0)
        self._drop(list(self.held), give_back=True)
        release = list(self._release)

        def leave() -> None:
            if release:
                self.store.release(self.holder, release)
            self.store.leave(self.holder)

        done, result = call_with_timeout(leave, timeout, "camera-leases-db")
        if not done or isinstance(result, DatabaseError):
            log.warning("camera leases not given back (%s): other monitors take the cameras "
                        "when they run out", "no answer" if not done else result)
        elif isinstance(result, Exception):
            raise result
