"""``track_many``: many inputs tracked on local worker processes or a Ray cluster, one output
folder per input plus a combined index (``facetrack track A B ... --workers N | --ray``)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from facetrack.config import TrackerConfig
from facetrack.errors import InputError
from facetrack.pipeline.batch import (
    Job,
    Outcome,
    expand_inputs,
    read_payload,
    run_job,
    save_files,
    worker_count,
    write_index,
)

#: the index is rewritten at most this often while a batch runs (and always at its end)
INDEX_EVERY_S = 2.0
#: ``progress(inputs_finished, inputs, outcome)`` after each input
BatchProgress = Callable[[int, int, Outcome], None]


@dataclass(frozen=True)
class BatchRun:
    """What ``track_many`` did: every input's outcome, in input order."""

    out: str
    outcomes: list[Outcome]

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status != "done"]


def track_many(
    inputs: Sequence[str | Path],
    out: str | Path,
    config: TrackerConfig | None = None,
    *,
    workers: int | None = None,
    ray: str | bool = False,
    video: bool = False,
    mot: bool = False,
    thumbnails: bool = False,
    progress: BatchProgress | None = None,
) -> BatchRun:
    """Track every input (files, folders, globs, ``s3://`` prefixes; see
    ``facetrack.pipeline.batch``) into ``out/<name>/`` and write ``out/index.csv`` and
    ``index.json``. ``workers``: local processes (default one per core); ``ray``: True for
    this machine's Ray cluster (a new local one if none runs) or a ``HOST:PORT`` address.
    Every input gets an outcome; the index is rewritten every ``INDEX_EVERY_S`` while the
    batch runs and whatever ends it (Ctrl-C leaves the inputs not finished as ``not run``)."""
    from facetrack.pipeline.jobs import prepare_output

    check_workers(workers, ray)
    cfg = config if config is not None else TrackerConfig()
    n = worker_count(workers)
    expanded = expand_inputs([str(i) for i in inputs])
    cluster = _cluster(ray) if ray is not False else None
    root = Path(out)
    prepare_output(root)
    # the largest inputs first, so the batch does not end waiting on one long file
    order = sorted(range(len(expanded)), key=lambda i: -_size(expanded[i].location))
    jobs = [Job(expanded[i], str(root / expanded[i].folder), cfg.model_dump(mode="json"),
                video, mot, thumbnails) for i in order]
    outcomes = [Outcome(i.location, i.folder) for i in expanded]

    finished = [0]
    written = [time.monotonic()]

    def done(position: int, outcome: Outcome) -> None:
        index = order[position]
        outcomes[index] = save_files(outcome, root / outcome.folder)
        finished[0] += 1
        # not after every input: 10,000 inputs would rewrite a 10,000-row index 10,000 times
        if time.monotonic() - written[0] >= INDEX_EVERY_S:
            write_index(root, outcomes)
            written[0] = time.monotonic()
        if progress is not None:
            progress(finished[0], len(outcomes), outcomes[index])

    write_index(root, outcomes)
    try:
        if cluster is not None:
            from facetrack.runtime.ray_jobs import run_on_ray

            run_on_ray(cluster, jobs, run_job, lambda job: read_payload(job.input.location),
                       done, _lost)
        else:
            from facetrack.runtime.workers import run_in_processes

            run_in_processes(jobs, n, run_job, done, _died)
    finally:
        write_index(root, outcomes)
    return BatchRun(str(root), outcomes)


def _size(location: str) -> int:
    """Bytes of a local input (a folder: its files'); 0 for S3 and what cannot be read."""
    path = Path(location)
    try:
        if path.is_dir():
            return sum(p.stat().st_size for p in path.iterdir() if p.is_file())
        return path.stat().st_size if not location.startswith("s3://") else 0
    except OSError:
        return 0


def _cluster(ray: str | bool) -> object:
    from facetrack.runtime.ray_jobs import connect

    return connect(None if ray is True else str(ray))


def _died(job: Job, attempts: int, code: int | None) -> Outcome:
    return replace(Outcome(job.input.location, job.input.folder), status="failed",
                   attempts=attempts,
                   error=f"its worker process died {attempts} times (last exit code {code})")


def _lost(job: Job, attempts: int, reason: str) -> Outcome:
    return replace(Outcome(job.input.location, job.input.folder), status="failed",
                   attempts=attempts, error=f"failed on the cluster, attempt {attempts} ({reason})")


def check_workers(workers: int | None, ray: str | bool) -> None:
    """``--workers`` and ``--ray`` are one choice; raise ``InputError`` on both."""
    if workers is not None and ray is not False:
        raise InputError("--workers and --ray are alternatives: Ray places the work itself "
                         "(one CPU per input on every node)")
    worker_count(workers)
