"""Long work of the server (enrolling from a clip, analysing an uploaded video) as jobs: one
worker thread runs them one at a time, in order, at a lower priority (the machine's cores
belong to the cameras first), while the web server answers ``GET /api/jobs/ID`` with their
progress.

A job is a function ``work(progress) -> result``; it reports ``progress(done, total)`` and a
cancelled job's next ``progress`` call raises ``JobCancelled``. Its failure is kept as one line
(a ``FacetrackError``'s message, or the exception's type for a bug, logged in full).
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from facetrack.errors import FacetrackError
from facetrack.runtime.threads import lower_priority, spawn

log = logging.getLogger(__name__)

Progress = Callable[[int, "int | None"], None]


class JobsFull(FacetrackError):
    """Too many jobs wait already (an HTTP 429)."""


class JobCancelled(Exception):
    """Raised inside a job by ``progress`` once the job was cancelled."""


@dataclass
class Job:
    id: str
    kind: str
    owner: str
    state: str = "queued"  # queued, running, done, failed, cancelled
    done: int = 0
    total: int | None = None
    created: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    result: Any = None
    error: str | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    on_forget: Callable[[], None] | None = None

    def to_json(self) -> dict[str, Any]:
        fraction = None
        if self.total:
            fraction = round(min(1.0, self.done / self.total), 4)
        return {"id": self.id, "kind": self.kind, "owner": self.owner, "state": self.state,
                "done": self.done, "total": self.total, "progress": fraction,
                "created": self.created, "started": self.started, "finished": self.finished,
                "result": self.result, "error": self.error}


#: the job thread's niceness: the cameras' threads come first when the cores are busy
JOB_NICENESS = 10


class JobRunner:
    """Runs submitted jobs one at a time on one thread; remembers the last ``keep`` finished
    ones (older ones are forgotten, and their ``on_forget`` called to remove their files)."""

    def __init__(self, keep: int = 50, max_waiting: int = 20, max_waiting_each: int = 5
                 ) -> None:
        self.keep = keep
        self.max_waiting, self.max_waiting_each = max_waiting, max_waiting_each
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._lock = threading.Lock()
        self._queue: queue.Queue[tuple[Job, Callable[[Progress], Any]] | None] = queue.Queue()
        self._ids = itertools.count(1)
        self._prefix = f"{int(time.time()):x}"
        self._thread = spawn(self._loop, "jobs")

    def submit(self, kind: str, owner: str, work: Callable[[Progress], Any], *,
               on_forget: Callable[[], None] | None = None) -> Job:
        job = Job(f"{self._prefix}-{next(self._ids)}", kind, owner, on_forget=on_forget)
        with self._lock:
            waiting = [j for j in self._jobs.values() if j.state in ("queued", "running")]
            mine = sum(j.owner == owner for j in waiting)
            if len(waiting) >= self.max_waiting or mine >= self.max_waiting_each:
                raise JobsFull(f"{len(waiting)} jobs are waiting ({mine} of them yours); try "
                               "again when they have finished")
            self._jobs[job.id] = job
        self._queue.put((job, work))
        return job

    def get(self, job_id: str) -> Job:
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            raise LookupError(f"no job {job_id!r}")
        return job

    def jobs(self) -> list[Job]:
        with self._lock:
            return list(reversed(self._jobs.values()))

    def cancel(self, job_id: str) -> Job:
        job = self.get(job_id)
        job.cancel.set()
        if job.state == "queued":
            job.state, job.finished = "cancelled", time.time()
            self._forget_old()
            if job.on_forget is not None:  # its files go now, not when it is forgotten
                job.on_forget()
                job.on_forget = None
        return job

    def _loop(self) -> None:
        lower_priority(JOB_NICENESS, "jobs")
        while True:
            item = self._queue.get()
            if item is None:
                return
            job, work = item
            if job.cancel.is_set():
                continue
            self._run(job, work)
            self._forget_old()

    def _run(self, job: Job, work: Callable[[Progress], Any]) -> None:
        def progress(done: int, total: int | None) -> None:
            job.done, job.total = done, total
            if job.cancel.is_set():
                raise JobCancelled

        job.state, job.started = "running", time.time()
        try:
            job.result = work(progress)
            job.state = "done"
        except JobCancelled:
            job.state = "cancelled"
        except FacetrackError as exc:
            job.state, job.error = "failed", str(exc)
        except Exception as exc:  # a bug: kept as one line for the client, logged in full
            log.exception("job %s (%s) failed", job.id, job.kind)
            job.state, job.error = "failed", f"unexpected {type(exc).__name__}"
        job.finished = time.time()

    def _forget_old(self) -> None:
        with self._lock:
            finished = [j for j in self._jobs.values() if j.finished is not None]
            old = finished[:max(0, len(finished) - self.keep)]
            for job in old:
                del self._jobs[job.id]
        for job in old:
            if job.on_forget is not None:
                try:
                    job.on_forget()
                except OSError:
                    log.warning("job %s: could not remove its files", job.id)

    def close(self, timeout: float = 5.0) -> None:
        """Cancel what is queued or running and stop the worker."""
        for job in self.jobs():
            job.cancel.set()
        self._queue.put(None)
        self._thread.join(timeout)
