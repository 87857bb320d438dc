from __future__ import annotations

import threading
import time

import pytest

from facetrack.runtime import run_stages


def test_results_keep_input_order_across_threads() -> None:
    def slow_odd(x: int) -> int:
        if x % 2:
            time.sleep(0.002)
        return x * 10

    assert list(run_stages(range(50), [slow_odd, lambda x: x + 1], queue_size=2)) == [
        i * 10 + 1 for i in range(50)
    ]


def test_stage_error_arrives_after_earlier_results() -> None:
    def boom(x: int) -> int:
        if x == 5:
            raise RuntimeError("stage failed at 5")
        return x

    got = []
    with pytest.raises(RuntimeError, match="stage failed at 5"):
        for item in run_stages(range(10), [boom]):
            got.append(item)
    assert got == [0, 1, 2, 3, 4]


def test_source_error_arrives_after_earlier_results() -> None:
    def source():
        yield 1
        yield 2
        raise OSError("disk gone")

    got = []
    with pytest.raises(OSError, match="disk gone"):
        for item in run_stages(source(), [lambda x: x]):
            got.append(item)
    assert got == [1, 2]


def test_closing_early_stops_every_thread() -> None:
    before = threading.active_count()
    gen = run_stages(iter(range(10_000)), [lambda x: x, lambda x: x], queue_size=2)
    assert next(gen) == 0
    gen.close()
    deadline = time.time() + 5
    while threading.active_count() > before and time.time() < deadline:
        time.sleep(0.01)
    assert threading.active_count() == before


def test_a_ctrl_c_between_two_thread_starts_still_stops_the_first(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A thread left running into the interpreter's shutdown inside OpenCV aborts the process:
    an interrupt while the stages start must stop and join the ones already started."""
    import facetrack.runtime.runner as runner

    started: list[threading.Thread] = []
    real_spawn = runner.spawn

    def spawn_then_interrupt(target, name):  # type: ignore[no-untyped-def]
        if started:
            raise KeyboardInterrupt
        started.append(real_spawn(target, name))
        return started[-1]

    monkeypatch.setattr(runner, "spawn", spawn_then_interrupt)
    gen = run_stages(iter(range(10_000)), [lambda x: x], queue_size=2)
    with pytest.raises(KeyboardInterrupt):
        next(gen)
    assert started and not started[0].is_alive()


def test_join_all_goes_on_through_a_second_ctrl_c() -> None:
    from facetrack.runtime.runner import join_all

    stop = threading.Event()
    worker = threading.Thread(target=lambda: stop.wait(5), daemon=True)
    worker.start()

    class Interrupting(threading.Thread):
        calls = 0

        def join(self, timeout: float | None = None) -> None:
            Interrupting.calls += 1
            if Interrupting.calls == 1:
                stop.set()
                raise KeyboardInterrupt  # the second Ctrl-C lands in the join
            worker.join()

    with pytest.raises(KeyboardInterrupt):
        join_all([Interrupting()])
    assert Interrupting.calls == 2 and not worker.is_alive()
