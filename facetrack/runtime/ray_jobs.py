"""Jobs on a Ray cluster (``facetrack track --ray [ADDRESS]``; ``pip install
'facetrack[ray]'``).

Each job is one Ray task asking for one CPU, so Ray's scheduler spreads the inputs over every
node's cores. A task runs in a temporary folder on whichever node Ray picks and returns its
result files with its outcome (the object store carries them), so the nodes need no shared
disk. facetrack must be installed on every node (the same version: the job is plain data, run
by the node's own ``facetrack.pipeline.batch.run_job``).

A task lost with its worker or node (killed, out of memory, the node gone) is submitted once
more and, if lost again, reported as failed; errors of the input itself are outcomes, not
retried. The address is checked (a TCP connection, 5 s) before Ray is started, so a wrong one
is one clear error, not Ray's minute of retries.
"""

from __future__ import annotations

import logging
import os
import socket
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from facetrack.errors import InputError

log = logging.getLogger(__name__)

#: attempts a task gets when its worker or node is lost under it
ATTEMPTS = 2
CONNECT_TIMEOUT_S = 5.0


def check_address(address: str) -> None:
    """Raise ``InputError`` unless something listens at ``HOST:PORT`` (a ``ray://`` client
    address too); ``auto``/``local`` are Ray's own lookups and pass."""
    if address in ("auto", "local"):
        return
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not port.isdigit():
        raise InputError(f"--ray {address}: give HOST:PORT of the cluster's head (ray start "
                         "--head prints it), or nothing for this machine's cluster")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), CONNECT_TIMEOUT_S):
            pass
    except OSError as exc:
        raise InputError(f"--ray {address}: no Ray cluster answers there "
                         f"({exc.strerror or exc})") from None


def connect(address: str | None) -> Any:
    """Join the cluster at ``address`` (None: the one this machine runs, else a new local
    one); returns the ``ray`` module."""
    try:
        import ray
    except ImportError:
        raise InputError("--ray needs Ray: pip install 'facetrack[ray]'") from None
    if address is not None:
        check_address(address)
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # no telemetry leaves this machine
    try:
        ray.init(address=address, logging_level=logging.ERROR, log_to_driver=False,
                 ignore_reinit_error=True)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise InputError(f"--ray {address or ''}: cannot join the cluster "
                         f"({str(exc).splitlines()[0]})".replace(" :", ":")) from None
    return ray


def run_on_ray(ray: Any, jobs: Sequence[Any], run: Callable[..., Any],
               payload_of: Callable[[Any], Any],
               on_done: Callable[[int, Any], None],
               on_loss: Callable[[Any, int, str], Any],
               share: Callable[[Any], str] | None = None) -> None:
    """Run ``run(job, attempt, collect=True, payload=payload_of(job))`` for every job as a
    Ray task, at most two per cluster CPU in flight (each input's bytes are read only when
    its task is submitted); ``on_done(index, outcome)`` as each finishes. A task lost
    ``ATTEMPTS`` times gets ``on_loss(job, attempts, reason)`` as its outcome. Jobs with the
    same ``share(job)`` (the segments of one video) share one copy of the payload in the
    object store, kept while any of them is unfinished. On Ctrl-C the tasks are cancelled
    and it is re-raised."""
    from ray.exceptions import RayTaskError

    task = ray.remote(num_cpus=1, max_retries=0)(run)
    in_flight = max(2, 2 * int(ray.cluster_resources().get("CPU", 1)))
    waiting = deque((i, job, 1) for i, job in enumerate(jobs))
    pending: dict[Any, tuple[int, Any, int]] = {}
    payloads = _Payloads(ray, payload_of, share, jobs)
    try:
        while waiting or pending:
            while waiting and len(pending) < in_flight:
                index, job, attempt = waiting.popleft()
                ref = task.remote(job, attempt, collect=True, payload=payloads.get(job))
                pending[ref] = (index, job, attempt)
            done, _ = ray.wait(list(pending), num_returns=1)
            index, job, attempt = pending.pop(done[0])
            try:
                outcome = ray.get(done[0])
            except RayTaskError as exc:  # our code raised: a bug, not a lost worker
                outcome = on_loss(job, attempt, str(exc).splitlines()[0])
            except ray.exceptions.RayError as exc:  # the worker or node was lost
                log.warning("job %d lost (%s), attempt %d", index, type(exc).__name__,
                            attempt)
                if attempt < ATTEMPTS:
                    waiting.appendleft((index, job, attempt + 1))
                    continue
                outcome = on_loss(job, attempt, type(exc).__name__)
            payloads.release(job)
            on_done(index, outcome)
    finally:
        for ref in pending:
            ray.cancel(ref, force=True)


class _Payloads:
    """Payloads put in the object store once per ``share`` key and dropped when the last
    job using them is finished (without ``share``: one per job, passed by value)."""

    def __init__(self, ray: Any, payload_of: Callable[[Any], Any],
                 share: Callable[[Any], str] | None, jobs: Sequence[Any]) -> None:
        self.ray, self.payload_of, self.share = ray, payload_of, share
        self.refs: dict[str, Any] = {}
        self.users: dict[str, int] = {}
        for job in jobs:
            key = self.key(job)
            if key is not None:
                self.users[key] = self.users.get(key, 0) + 1
        self.shared = {key for key, n in self.users.items() if n > 1}

    def key(self, job: Any) -> str | None:
        return self.share(job) if self.share is not None else None

    def get(self, job: Any) -> Any:
        key = self.key(job)
        if key not in self.shared:
            return self.payload_of(job)
        if key not in self.refs:
            self.refs[key] = self.ray.put(self.payload_of(job))
        return self.refs[key]

    def release(self, job: Any) -> None:
        key = self.key(job)
        if key is None:
            return
        self.users[key] -= 1
        if self.users[key] <= 0:
            self.refs.pop(key, None)
