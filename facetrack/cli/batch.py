"""``facetrack track`` over many inputs: the batch's progress bar, its summary and its exit
code (every input's outcome is in ``--out/index.csv``)."""

from __future__ import annotations

import glob
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import typer

from facetrack.cli.common import EXIT_BROKEN, fail
from facetrack.config import TrackerConfig, printable
from facetrack.errors import InputError
from facetrack.pipeline.batch import INDEX_CSV, Outcome


def is_batch(sources: Sequence[str], workers: int | None, ray: str | None) -> bool:
    """A batch (one folder per input and an index) unless one plain file or image folder is
    tracked in this process, as ``facetrack track FILE`` always did."""
    if len(sources) != 1 or workers is not None or ray is not None:
        return True
    spec = sources[0]
    if spec.startswith("s3://") or glob.has_magic(spec):
        return True
    from facetrack.sources import VIDEO_SUFFIXES

    path = Path(spec)
    try:
        return path.is_dir() and any(p.suffix.lower() in VIDEO_SUFFIXES and p.is_file()
                                     for p in path.iterdir())
    except OSError:
        return False  # the single-input path names what is wrong with it


def track_batch(sources: Sequence[str], out: Path, cfg: TrackerConfig, *,
                workers: int | None, ray: str | None, video: bool, mot: bool,
                thumbnails: bool, quiet: bool, segment_minutes: float | None = None) -> None:
    from facetrack.pipeline.long_videos import SEGMENT_S, splitting_off
    from facetrack.pipeline.many import track_many

    if segment_minutes is not None and segment_minutes > 0 and (
            why := splitting_off(cfg, video, thumbnails)):
        raise InputError(f"--segment-minutes: long videos are tracked whole with {why} (its "
                         "segments could not join it across the seams); leave that out, or "
                         "--segment-minutes")
    segment_s = SEGMENT_S if segment_minutes is None else segment_minutes * 60.0
    with _inputs_bar(enabled=not quiet) as progress:
        run = track_many(sources, out, cfg, workers=workers,
                         ray=ray if ray is not None else False, video=video, mot=mot,
                         thumbnails=thumbnails, segment_s=segment_s, progress=progress)
    done = [o for o in run.outcomes if o.status == "done"]
    frames = sum(o.frames for o in run.outcomes)
    if sys.stdout.isatty():
        typer.echo(printable(f"{len(done)} of {len(run.outcomes)} inputs tracked, {frames} "
                             f"frames -> {out / INDEX_CSV}"))
    else:
        typer.echo(json.dumps({"inputs": len(run.outcomes), "done": len(done),
                               "frames": frames, "index": str(out / INDEX_CSV)},
                              ensure_ascii=False))
    if run.failed:
        first = run.failed[0]
        raise fail(f"{len(run.failed)} of {len(run.outcomes)} inputs not fully tracked "
                   f"(first: {first.error or first.input + ': ' + first.status}); every outcome is "
                   f"in {out / INDEX_CSV}", EXIT_BROKEN)


@contextmanager
def _inputs_bar(enabled: bool) -> Iterator[Callable[[int, int, Outcome | None], None] | None]:
    """The whole batch's bar on a terminal: its parts finished of all (an input, or a segment
    of a long video), frames of the inputs finished so far, the last input finished, time
    left; None when off or stderr is not a terminal."""
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    with Progress(TextColumn("[bold]batch"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.fields[frames]} frames  {task.fields[last]}"),
                  TimeRemainingColumn()) as bar:
        task = bar.add_task("batch", total=None, frames=0, last="")
        frames = [0]

        def update(done: int, total: int, outcome: Outcome | None) -> None:
            if outcome is not None:
                frames[0] += outcome.frames
                bar.update(task, last=printable(f"{outcome.folder}: {outcome.status}"))
            bar.update(task, completed=done, total=total, frames=frames[0])

        yield update
