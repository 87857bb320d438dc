"""Every thread and process facetrack starts is started here (tests/unit/runtime checks that
no other module does), so what runs in the background, under which name, is one read.

``spawn`` starts a daemon thread; ``call_with_timeout`` runs a call that may hang (a network
library without its own timeout) on a thread and stops waiting after ``timeout``;
``spawn_process`` starts a child process with the ``spawn`` method (never ``fork`` a threaded
process); ``serve`` runs a socket server's loop.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
from collections.abc import Callable
from multiprocessing.context import SpawnProcess
from socketserver import BaseServer
from typing import Any

log = logging.getLogger(__name__)


def lower_priority(niceness: int, what: str) -> None:
    """Raise the calling thread's niceness by ``niceness`` (on Linux a thread is its own task;
    threads it starts inherit it), so the cameras' threads come first when the cores are busy.
    Elsewhere, or where refused, the thread keeps the process's priority."""
    if niceness <= 0:
        return
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid) + niceness)
    except (AttributeError, OSError):
        log.debug("%s: could not lower the thread's priority", what)


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def spawn(target: Callable[[], None], name: str) -> threading.Thread:
    """Start ``target`` on a daemon thread called ``name`` (a daemon never holds the process
    open; owners join their threads when they close)."""
    thread = threading.Thread(target=target, name=name, daemon=True)
    thread.start()
    return thread


def call_with_timeout(call: Callable[[], Any], timeout: float, name: str) -> tuple[bool, Any]:
    """``(finished, result or exception)``: ``call()`` on its own thread, waited for at most
    ``timeout`` seconds. A call that does not finish goes on in the background, holding only
    its daemon thread; its result is dropped."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = call()
        except Exception as exc:  # handed to the caller, who decides what it means
            box["value"] = exc

    worker = spawn(run, name)
    worker.join(timeout)
    return ("value" in box), box.get("value")


def spawn_process(target: Callable[..., None], args: tuple[Any, ...], name: str
                  ) -> SpawnProcess:
    """Start ``target(*args)`` in a new interpreter (``spawn``: no fork of our threads)."""
    ctx = multiprocessing.get_context("spawn")
    proc = ctx.Process(target=target, args=args, name=name, daemon=True)
    proc.start()
    return proc


def pipe() -> tuple[Any, Any]:
    """A duplex pipe for a process started by ``spawn_process``."""
    return multiprocessing.get_context("spawn").Pipe()


def serve(server: BaseServer, name: str, poll_interval: float = 0.5) -> threading.Thread:
    """Run ``server.serve_forever`` on a daemon thread; ``server.shutdown()`` ends it."""
    return spawn(lambda: server.serve_forever(poll_interval), name)
