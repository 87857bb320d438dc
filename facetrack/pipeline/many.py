"""``track_many``: many inputs tracked on local worker processes or a Ray cluster, one output
folder per input plus a combined index (``facetrack track A B ... --workers N | --ray``)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from facetrack.config import TrackerConfig
from facetrack.errors import InputError
from facetrack.pipeline.batch import (
    Input,
    Job,
    Outcome,
    expand_inputs,
    read_payload,
    run_job,
    save_files,
    worker_count,
    write_index,
)
from facetrack.pipeline.long_videos import (
    LEAD_IN_S,
    SEGMENT_S,
    finish,
    segment_folder,
    split,
    splitting_off,
)
from facetrack.sources.segments import Segment

#: the index is rewritten at most this often while a batch runs (and always at its end)
INDEX_EVERY_S = 2.0
#: ``progress(jobs_finished, jobs, outcome)`` after each job (an input, or a segment of a long
#: video); ``outcome`` is the input's once it is finished, else None
BatchProgress = Callable[[int, int, "Outcome | None"], None]


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
    segment_s: float = SEGMENT_S,
    lead_in_s: float = LEAD_IN_S,
    progress: BatchProgress | None = None,
) -> BatchRun:
    """Track every input (files, folders, globs, ``s3://`` prefixes; see
    ``facetrack.pipeline.batch``) into ``out/<name>/`` and write ``out/index.csv`` and
    ``index.json``. ``workers``: local processes (default one per core); ``ray``: True for
    this machine's Ray cluster (a new local one if none runs) or a ``HOST:PORT`` address.
    A local video longer than 1.5 ``segment_s`` is tracked in segments of about
    ``segment_s`` seconds, in parallel, and joined (``facetrack.pipeline.stitch``; 0: never).
    Every input gets an outcome; the index is rewritten every ``INDEX_EVERY_S`` while the
    batch runs and whatever ends it (Ctrl-C leaves the inputs not finished as ``not run``)."""
    from facetrack.pipeline.jobs import prepare_output

    check_workers(workers, ray)
    if segment_s < 0:
        raise InputError(f"--segment-minutes {segment_s / 60:g}: give 0 (never split) or more")
    cfg = config if config is not None else TrackerConfig()
    n = worker_count(workers)
    expanded = expand_inputs([str(i) for i in inputs])
    cluster = _cluster(ray) if ray is not False else None
    root = Path(out)
    prepare_output(root)
    whole = splitting_off(cfg, video, thumbnails) is not None
    plans = [[] if whole else split(item, segment_s, lead_in_s) for item in expanded]
    work = _Work(expanded, plans, root, Job(Input(""), "", cfg.model_dump(mode="json"),
                                            video, mot, thumbnails))
    finished = [0]
    written = [time.monotonic()]

    def done(position: int, outcome: Outcome) -> None:
        index = work.take(position, outcome)  # None: a segment of a video still running
        finished[0] += 1
        # not after every input: 10,000 inputs would rewrite a 10,000-row index 10,000 times
        if index is not None and time.monotonic() - written[0] >= INDEX_EVERY_S:
            write_index(root, work.outcomes)
            written[0] = time.monotonic()
        if progress is not None:
            progress(finished[0], len(work.jobs),
                     work.outcomes[index] if index is not None else None)

    write_index(root, work.outcomes)
    try:
        if cluster is not None:
            from facetrack.runtime.ray_jobs import run_on_ray

            run_on_ray(cluster, work.jobs, run_job, lambda job: read_payload(job.input.location),
                       done, _lost, share=lambda job: job.input.location)
        else:
            from facetrack.runtime.workers import run_in_processes

            run_in_processes(work.jobs, n, run_job, done, _died)
    finally:
        work.finish_stopped()
        write_index(root, work.outcomes)
    return BatchRun(str(root), work.outcomes)


@dataclass
class _Work:
    """A batch's jobs (one per input, or one per segment of a long video), largest first,
    and its inputs' outcomes as the jobs come back."""

    inputs: list[Input]
    plans: list[list[Segment]]
    root: Path
    template: Job
    jobs: list[Job] = field(default_factory=list)
    owners: list[tuple[int, int | None]] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)
    pieces: dict[int, dict[int, Outcome]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        work: list[tuple[float, Job, tuple[int, int | None]]] = []
        for i, (item, plan) in enumerate(zip(self.inputs, self.plans, strict=True)):
            folder = self.root / item.folder
            size = _size(item.location)
            if not plan:
                work.append((size, replace(self.template, input=item, out=str(folder)),
                             (i, None)))
            for seg in plan:  # segments of one video are about the same length
                work.append((size / len(plan), replace(
                    self.template, input=item, out=str(segment_folder(folder, seg)),
                    segment=seg), (i, seg.number)))
        # the largest first, so the batch does not end waiting on one long file
        work.sort(key=lambda w: -w[0])
        self.jobs = [w[1] for w in work]
        self.owners = [w[2] for w in work]
        self.outcomes = [Outcome(i.location, i.folder, segments=max(1, len(p)))
                         for i, p in zip(self.inputs, self.plans, strict=True)]

    def take(self, position: int, outcome: Outcome) -> int | None:
        """Keep a job's outcome; the input's index once the input is finished."""
        index, number = self.owners[position]
        if number is None:
            self.outcomes[index] = save_files(outcome, self.root / outcome.folder)
            return index
        pieces = self.pieces.setdefault(index, {})
        pieces[number] = save_files(outcome, Path(self.jobs[position].out))
        if len(pieces) < len(self.plans[index]):
            return None
        self._join(index)
        return index

    def _join(self, index: int) -> None:
        self.outcomes[index] = finish(self.inputs[index], self.plans[index],
                                      self.pieces.pop(index), self.root, self.template.mot)

    def finish_stopped(self) -> None:
        """A stopped batch: each long video with segments back is joined as far as they
        go (its other segments ``interrupted``)."""
        for index in list(self.pieces):
            self._join(index)


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
