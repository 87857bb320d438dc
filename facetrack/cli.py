"""``facetrack`` command line. The library logs; this module decides what a person sees: a
progress bar on a terminal, one JSON line when piped, one-line errors and exit codes.

Exit codes: 0 ok, 1 unexpected failure (results so far are written), 2 bad input or config
(nothing processed), 3 input broke part-way (results so far are written), 4 model problem,
130 interrupted (results so far are written).
"""

from __future__ import annotations

import json
import logging
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Annotated, Any

import cv2
import typer

from facetrack.analysis.summary import TrackSummarizer
from facetrack.config import TrackerConfig
from facetrack.errors import ConfigError, DecodeError, FacetrackError, ModelError
from facetrack.pipeline import FaceTracker
from facetrack.sinks import AnnotatedVideoWriter, JsonlWriter, MotWriter, write_tracks

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Find, track and analyse every face in a video.",
    pretty_exceptions_enable=False,
)
log = logging.getLogger("facetrack")


@app.callback()
def _main(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log progress details.")] = False,
) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )


def _fail(message: str, code: int) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


@app.command()
def track(
    source: Annotated[
        Path, typer.Argument(help="Video file (mp4/avi/mkv/mov), folder of images, or an image.")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder (created).")],
    video: Annotated[bool, typer.Option("--video", help="Also write annotated.mp4.")] = False,
    mot: Annotated[bool, typer.Option("--mot", help="Also write mot.txt (MOTChallenge).")] = False,
    thumbnails: Annotated[
        bool, typer.Option("--thumbnails", help="Save the best face crop of each track.")
    ] = False,
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="YAML config (see docs/config.md).")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    independent: Annotated[
        bool,
        typer.Option("--independent", help="SOURCE is a folder of unrelated photos: report "
                     "every face of every image, do not track across images."),
    ] = False,
) -> None:
    """Track every face in SOURCE; write faces.jsonl and tracks.csv/json to --out."""
    try:
        cfg = TrackerConfig.from_yaml(config) if config is not None else TrackerConfig()
        if independent:
            runtime = cfg.runtime.model_copy(update={"image_folder": "independent"})
            cfg = cfg.model_copy(update={"runtime": runtime})
        stats = _run_track(source, out, cfg, video=video, mot=mot, thumbnails=thumbnails,
                           quiet=quiet)
    except DecodeError as exc:
        done = f"frames 0-{exc.frame - 1}" if exc.frame > 0 else "no frame"
        raise _fail(f"{exc}; results for {done} are in {out}", 3) from None
    except ConfigError as exc:
        raise _fail(str(exc), 2) from None
    except ModelError as exc:
        raise _fail(str(exc), 4) from None
    except FacetrackError as exc:
        raise _fail(str(exc), 2) from None
    except KeyboardInterrupt:
        raise _fail(f"interrupted; results so far are in {out}", 130) from None
    except Exception as exc:  # a bug or an environment failure (disk full, ...)
        log.info("unexpected failure", exc_info=True)
        reason = str(exc).splitlines()[0] if str(exc) else ""
        raise _fail(
            f"unexpected {type(exc).__name__}: {reason} (results so far are in {out}; run "
            "with --verbose for details and please report it)", 1
        ) from None
    if sys.stdout.isatty():
        typer.echo(
            f"{stats['frames']} frames, {stats['tracks']} tracks, {stats['fps']:.1f} fps -> {out}"
        )
    else:
        typer.echo(json.dumps(stats))


def _run_track(
    source: Path, out: Path, cfg: TrackerConfig, *, video: bool, mot: bool, thumbnails: bool,
    quiet: bool,
) -> dict[str, Any]:
    try:
        out.mkdir(parents=True, exist_ok=True)
        _remove_stale_outputs(out)
    except OSError as exc:
        raise FacetrackError(f"{out}: cannot create output folder ({exc.strerror})") from None
    tracker = FaceTracker(cfg)
    t0 = time.perf_counter()
    frames = 0
    with ExitStack() as stack:
        info, results = stack.enter_context(tracker.open(source))
        summarizer = TrackSummarizer(cfg.analysis, fps=info.fps, keep_crops=thumbnails)

        def finish() -> None:
            thumbs = _save_thumbnails(out, summarizer.crops()) if thumbnails else {}
            write_tracks(out, summarizer.summaries(thumbs))

        # tracks.csv is written on every exit path, so a broken input keeps its summaries
        stack.callback(finish)
        sinks: list[Any] = [stack.enter_context(JsonlWriter(out / "faces.jsonl"))]
        if mot:
            sinks.append(stack.enter_context(MotWriter(out / "mot.txt")))
        if video:
            sinks.append(stack.enter_context(
                AnnotatedVideoWriter(out / "annotated.mp4", info.width, info.height, info.fps)
            ))
        progress = None
        if not quiet and sys.stderr.isatty():
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
            )

            progress = stack.enter_context(Progress(
                TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                TextColumn("{task.fields[fps]:.1f} fps"), TimeRemainingColumn(),
                transient=False,
            ))
            task = progress.add_task(info.source_id, total=info.frame_count, fps=0.0)
        for result in results:
            summarizer.consume(result.frame, result.faces)
            for sink in sinks:
                sink.consume(result)
            frames += 1
            if progress is not None:
                progress.update(task, advance=1, fps=frames / (time.perf_counter() - t0))
    elapsed = time.perf_counter() - t0
    return {
        "source": str(source),
        "frames": frames,
        "tracks": len(summarizer.summaries()),
        "seconds": round(elapsed, 3),
        "fps": round(frames / elapsed, 2) if elapsed > 0 else 0.0,
        "out": str(out),
    }


#: files a run may write; all are removed first, so a folder never mixes two runs' results
_OUTPUTS = ("faces.jsonl", "tracks.csv", "tracks.json", "mot.txt", "annotated.mp4")


def _remove_stale_outputs(out: Path) -> None:
    for name in _OUTPUTS:
        (out / name).unlink(missing_ok=True)
    thumbs = out / "thumbnails"
    if thumbs.is_dir():
        for old in thumbs.glob("track_*.jpg"):
            old.unlink()


def _save_thumbnails(out: Path, crops: dict[int, Any]) -> dict[int, str]:
    folder = out / "thumbnails"
    folder.mkdir(exist_ok=True)
    paths = {}
    for tid, crop in crops.items():
        rel = f"thumbnails/track_{tid}.jpg"
        if crop.size and cv2.imwrite(str(out / rel), crop):
            paths[tid] = rel
    return paths


@app.command("check-config")
def check_config(config: Annotated[Path, typer.Argument(help="YAML config file.")]) -> None:
    """Validate a config file and print the effective settings."""
    try:
        cfg = TrackerConfig.from_yaml(config)
    except ConfigError as exc:
        raise _fail(str(exc), 2) from None
    typer.echo(json.dumps(cfg.model_dump(mode="json"), indent=2))


def main() -> None:  # pragma: no cover - console entry point
    app()
