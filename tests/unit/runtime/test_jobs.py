"""The server's job runner: one job at a time, in order, with progress, cancellation, one-line
failures and old jobs forgotten (their files removed)."""

from __future__ import annotations

import threading
from typing import Any

from facetrack.errors import InputError
from facetrack.runtime.jobs import JobRunner
from tests.builders import wait_until


def test_jobs_run_in_order_with_progress_and_failures() -> None:
    runner = JobRunner()
    order: list[str] = []
    release = threading.Event()

    def slow(progress: Any) -> str:
        progress(1, 2)
        release.wait(5)
        progress(2, 2)
        order.append("slow")
        return "first"

    def failing(progress: Any) -> None:
        order.append("failing")
        raise InputError("clip.mp4: no face was tracked in this clip")

    def buggy(progress: Any) -> None:
        raise KeyError("internal")

    a = runner.submit("enrol", "alice", slow)
    b = runner.submit("enrol", "bob", failing)
    c = runner.submit("scan", "bob", buggy)
    assert wait_until(lambda: a.state == "running" and a.done == 1, 5)
    assert b.state == "queued" and a.to_json()["progress"] == 0.5
    release.set()
    assert wait_until(lambda: c.finished is not None, 5)
    runner.close()
    assert order == ["slow", "failing"]
    assert (a.state, a.result, a.to_json()["progress"]) == ("done", "first", 1.0)
    assert (b.state, b.error) == ("failed", "clip.mp4: no face was tracked in this clip")
    assert (c.state, c.error) == ("failed", "unexpected KeyError")
    assert [j.id for j in runner.jobs()] == [c.id, b.id, a.id]


def test_cancel_queued_and_running_jobs() -> None:
    runner = JobRunner()
    started = threading.Event()

    def endless(progress: Any) -> None:
        started.set()
        for i in range(10_000):
            progress(i, None)
            threading.Event().wait(0.01)

    running = runner.submit("analyze", "alice", endless)
    queued = runner.submit("analyze", "alice", lambda progress: "never")
    assert started.wait(5)
    assert runner.cancel(queued.id).state == "cancelled"
    runner.cancel(running.id)
    assert wait_until(lambda: running.state == "cancelled", 5)
    runner.close()
    assert queued.result is None


def test_old_jobs_are_forgotten_with_their_files() -> None:
    runner = JobRunner(keep=2)
    removed: list[str] = []
    jobs = [runner.submit("analyze", "alice", lambda progress, i=i: i,
                          on_forget=lambda i=i: removed.append(str(i))) for i in range(4)]
    assert wait_until(lambda: all(j.finished for j in jobs), 5)
    assert wait_until(lambda: len(runner.jobs()) == 2, 5)
    runner.close()
    assert removed == ["0", "1"]
    assert [j.result for j in runner.jobs()] == [3, 2]


def test_jobs_run_below_the_cameras_priority() -> None:
    import os
    import sys

    if not sys.platform.startswith("linux"):
        return
    runner = JobRunner()
    job = runner.submit("analyze", "alice", lambda progress: os.getpriority(
        os.PRIO_PROCESS, threading.get_native_id()))
    assert wait_until(lambda: job.finished is not None, 5)
    runner.close()
    assert job.result == min(19, os.getpriority(os.PRIO_PROCESS, 0) + 10)
