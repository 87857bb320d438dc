"""Local worker processes: every job gets an outcome, a dead worker's job is run once more."""

from __future__ import annotations

import os
from pathlib import Path

from facetrack.runtime.workers import cpu_slices, run_in_processes


def square_or_die(job: tuple[int, str], attempt: int) -> tuple[int, int, int]:
    """The test job: dies (as a killed worker would) on the attempts its flag file allows."""
    value, flag = job
    marker = Path(flag) if flag else None
    if marker is not None and marker.exists():
        deaths = int(marker.read_text())
        if deaths > 0:
            marker.write_text(str(deaths - 1))
            os._exit(9)
    return value, value * value, attempt


def run(jobs: list[tuple[int, str]], workers: int) -> dict[int, object]:
    got: dict[int, object] = {}

    def done(index: int, outcome: object) -> None:
        assert index not in got, "a job finished twice"
        got[index] = outcome

    run_in_processes(jobs, workers, square_or_die, done,
                     lambda job, attempts, code: ("died", job[0], attempts, code))
    return got


def test_every_job_finishes_once_whatever_the_workers() -> None:
    jobs = [(i, "") for i in range(7)]
    for workers in (1, 3):
        got = run(jobs, workers)
        assert got == {i: (i, i * i, 1) for i in range(7)}


def test_a_dead_workers_job_is_retried_once_then_reported(tmp_path: Path) -> None:
    once = tmp_path / "once"
    once.write_text("1")
    always = tmp_path / "always"
    always.write_text("5")
    got = run([(1, ""), (2, str(once)), (3, str(always)), (4, "")], 2)
    assert got[0] == (1, 1, 1) and got[3] == (4, 16, 1)
    assert got[1] == (2, 4, 2)  # died once, done on its second attempt
    assert got[2] == ("died", 3, 2, 9)  # died twice: reported with the exit code
    assert always.read_text() == "3"  # exactly two attempts


def test_cpus_are_dealt_out_without_overlap() -> None:
    if not hasattr(os, "sched_getaffinity"):
        return
    cpus = sorted(os.sched_getaffinity(0))
    slices = cpu_slices(len(cpus))
    assert [s for s in slices] == [[c] for c in cpus]
    halves = cpu_slices(1)
    assert halves == [cpus]
    many = cpu_slices(len(cpus) * 2)
    assert all(s is not None and len(s) == 1 for s in many)
