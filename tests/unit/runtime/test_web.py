"""``lower_priority`` raises the calling thread's niceness only (Linux: a thread is its own
task); ``facetrack serve`` uses it so a server beside a monitor gives way to the cameras
(tests/integration/test_server_cli.py checks the real process)."""

from __future__ import annotations

import os
import sys
import threading

import pytest

from facetrack.runtime.threads import lower_priority, spawn


def _nice() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread niceness: Linux")
@pytest.mark.parametrize("niceness", [0, 7, 40])
def test_lower_priority_lowers_the_calling_thread_only(niceness: int) -> None:
    base, seen = _nice(), {}

    def work() -> None:
        lower_priority(niceness, "test")
        seen["self"] = _nice()
        spawn(lambda: seen.setdefault("child", _nice()), "child").join(5)

    spawn(work, "lowered").join(5)
    assert seen["self"] == seen["child"] == min(19, base + niceness)  # children inherit
    assert _nice() == base  # the caller (a camera's thread, say) keeps its priority
