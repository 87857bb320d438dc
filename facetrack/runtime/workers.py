"""Jobs on local worker processes (``facetrack track --workers N``).

Each worker is a fresh interpreter (``spawn``) that takes one job at a time from its pipe and
answers with the job's outcome, so a worker keeps its loaded models from job to job. The
cores are shared out: worker ``i`` is bound to its own slice of this process's CPUs (with
more workers than cores, several share one), so N workers never fight over the same core and
one worker's pipeline threads stay on its slice.

A worker that dies (killed, out of memory, a crash in native code) costs only the job it was
running: that job is given once more to a fresh worker, and if it dies again it is reported
as failed with the exit code. Nothing is dropped silently: every job ends with an outcome.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Any

from facetrack.runtime.threads import pipe, spawn_process

log = logging.getLogger(__name__)

#: attempts a job gets when its worker dies under it
ATTEMPTS = 2
#: seconds the running jobs get to end their files when the batch is stopped
STOP_S = 20.0


def _serve(conn: Connection, run: Callable[..., Any], cpus: list[int] | None) -> None:
    """A worker's loop: (index, job, attempt) in, (index, outcome) out, until None. SIGTERM
    (the parent stopping the batch) interrupts the job like Ctrl-C, so it finishes its files
    and answers with what it did; Ctrl-C itself is the parent's to handle."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def stop(*_: Any) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # once: nothing interrupts the cleanup
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    if cpus and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, cpus)
    with contextlib.suppress(KeyboardInterrupt, EOFError, OSError):  # stopped: just end
        while (task := conn.recv()) is not None:
            index, job, attempt = task
            conn.send((index, run(job, attempt)))


def cpu_slices(workers: int) -> list[list[int] | None]:
    """Worker ``i``'s CPUs: this process's CPUs dealt out in contiguous slices (None where
    affinity cannot be set)."""
    if not hasattr(os, "sched_getaffinity"):
        return [None] * workers
    cpus = sorted(os.sched_getaffinity(0))
    if workers >= len(cpus):
        return [[cpus[i % len(cpus)]] for i in range(workers)]
    size, extra = divmod(len(cpus), workers)
    slices: list[list[int] | None] = []
    start = 0
    for i in range(workers):
        end = start + size + (1 if i < extra else 0)
        slices.append(cpus[start:end])
        start = end
    return slices


@dataclass
class _Worker:
    slot: int
    conn: Connection
    process: Any
    task: tuple[int, Any, int] | None = None


@dataclass
class _Pool:
    run: Callable[..., Any]
    cpus: list[list[int] | None]
    workers: list[_Worker] = field(default_factory=list)

    def start(self, slot: int) -> _Worker:
        ours, theirs = pipe()
        process = spawn_process(_serve, (theirs, self.run, self.cpus[slot]),
                                f"facetrack-worker-{slot}")
        theirs.close()
        worker = _Worker(slot, ours, process)
        self.workers.append(worker)
        return worker

    def replace(self, worker: _Worker) -> _Worker:
        self.workers.remove(worker)
        worker.conn.close()
        worker.process.join(1)
        return self.start(worker.slot)

    def stop(self, graceful: bool) -> None:
        for worker in self.workers:
            try:
                if graceful:
                    worker.conn.send(None)
            except OSError:
                pass
        for worker in self.workers:
            worker.process.join(5 if graceful else 0.1)
            if worker.process.is_alive():
                worker.process.terminate()
                worker.process.join(5)
            if worker.process.is_alive():  # deaf to SIGTERM while ending its files
                worker.process.kill()
                worker.process.join(5)
            worker.conn.close()


def run_in_processes(jobs: Sequence[Any], workers: int, run: Callable[..., Any],
                     on_done: Callable[[int, Any], None],
                     on_death: Callable[[Any, int, int | None], Any]) -> None:
    """Run ``run(job, attempt)`` for every job on ``workers`` processes; ``on_done(index,
    outcome)`` as each finishes (in completion order). A job whose worker died ``ATTEMPTS``
    times gets ``on_death(job, attempts, exit code)`` as its outcome. On Ctrl-C the running
    jobs are interrupted (each ends its files and reports, ``STOP_S`` at most) and it is
    re-raised; jobs not started get no outcome."""
    pool = _Pool(run, cpu_slices(workers))
    waiting = deque((i, job, 1) for i, job in enumerate(jobs))
    graceful = False
    try:
        idle = [pool.start(slot) for slot in range(min(workers, len(jobs)))]
        while waiting or any(w.task is not None for w in pool.workers):
            while idle and waiting:
                worker = _hand_out(pool, idle.pop(), waiting)
                if worker.task is None:  # a replacement for one found dead
                    idle.append(worker)
            idle += _collect(pool, waiting, on_done, on_death)
        graceful = True
    except KeyboardInterrupt:
        _interrupt(pool, on_done)
        raise
    finally:
        pool.stop(graceful)


def _interrupt(pool: _Pool, on_done: Callable[[int, Any], None]) -> None:
    """Ask every running job to stop (SIGTERM) and take the answers that come in time."""
    busy = [w for w in pool.workers if w.task is not None]
    for worker in busy:
        with contextlib.suppress(OSError):
            os.kill(worker.process.pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_S
    while busy and time.monotonic() < deadline:
        for conn in wait([w.conn for w in busy], deadline - time.monotonic()):
            worker = next(w for w in busy if w.conn is conn)
            busy.remove(worker)
            try:
                index, outcome = worker.conn.recv()
            except (EOFError, OSError):
                continue
            worker.task = None
            on_done(index, outcome)


def _hand_out(pool: _Pool, worker: _Worker, waiting: deque[tuple[int, Any, int]]) -> _Worker:
    """Give ``worker`` the next job; a worker found dead while idle is replaced (its
    replacement, still idle, is returned) and the job waits for the next one."""
    task = waiting.popleft()
    try:
        worker.conn.send(task)
    except OSError:
        log.warning("worker %d died while idle; starting another", worker.slot)
        waiting.appendleft(task)
        return pool.replace(worker)
    worker.task = task
    return worker


def _collect(pool: _Pool, waiting: deque[tuple[int, Any, int]],
             on_done: Callable[[int, Any], None],
             on_death: Callable[[Any, int, int | None], Any]) -> list[_Worker]:
    """Wait for the next answers or deaths; the workers free for a new job."""
    busy = [w for w in pool.workers if w.task is not None]
    ready = set(wait([w.conn for w in busy] + [w.process.sentinel for w in busy]))
    free: list[_Worker] = []
    for worker in busy:
        assert worker.task is not None
        index, job, attempt = worker.task
        if worker.conn in ready:
            try:
                _, outcome = worker.conn.recv()
            except (EOFError, OSError):
                outcome = None
            if outcome is not None:
                worker.task = None
                on_done(index, outcome)
                free.append(worker)
                continue
        elif worker.process.sentinel not in ready:
            continue
        worker.process.join(1)
        code = worker.process.exitcode
        log.warning("worker %d died (exit code %s) running job %d, attempt %d",
                    worker.slot, code, index, attempt)
        if attempt < ATTEMPTS:
            waiting.appendleft((index, job, attempt + 1))
        else:
            on_done(index, on_death(job, attempt, code))
        free.append(pool.replace(worker))
    return free
