"""``facetrack track``: one input file, folder or image in; result files out."""

from __future__ import annotations

import sys
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from facetrack.cli.batch import is_batch, track_batch
from facetrack.cli.common import exit_codes, progress_bar, stop_signals_as_interrupt
from facetrack.config import ConfigError, TrackerConfig, load_yaml, override, printable
from facetrack.pipeline.jobs import track_file


def track(
    source: Annotated[
        list[str], typer.Argument(help="Video file (mp4/avi/mkv/mov), folder of images, or an "
                                  "image; or several, a folder of videos, a quoted glob or "
                                  "s3://BUCKET/PREFIX (one output folder each).",
                                  show_default=False, metavar="INPUT")
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
        typer.Option("--independent", help="INPUT is a folder of unrelated photos: report "
                     "every face of every image, do not track across images."),
    ] = False,
    recognize: Annotated[
        bool, typer.Option("--recognize", help="Recognise enrolled people (needs --db).")
    ] = False,
    db: Annotated[
        str | None, typer.Option("--db", help="Face database for --recognize (a file or a "
                                 "postgresql:// URL).")
    ] = None,
    analytics: Annotated[
        bool, typer.Option("--analytics", help="Also write audience.csv, crossings.csv and "
                           "heatmaps (docs/audience.md).")
    ] = False,
    targets: Annotated[
        Path | None, typer.Option("--targets", help="YAML with the targets, zones and lines "
                                  "of --analytics (docs/audience.md).")
    ] = None,
    workers: Annotated[
        int | None, typer.Option("--workers", "-w", help="Track the inputs on this many local "
                                 "processes (default: one per core).", show_default=False)
    ] = None,
    ray: Annotated[
        str | None, typer.Option("--ray", metavar="ADDRESS", help="Track the inputs on a Ray "
                                 "cluster: HOST:PORT of its head, `auto` (the cluster this "
                                 "machine joined) or `local` (a new one here); needs "
                                 "Ray (the `ray` extra).", show_default=False)
    ] = None,
    segment_minutes: Annotated[
        float | None, typer.Option("--segment-minutes", metavar="MINUTES", help="Track a "
                                   "video longer than 1.5 times this in segments of about "
                                   "this long, in parallel, and join them (0: never; default "
                                   "10 in a batch; giving it makes a batch).",
                                   show_default=False)
    ] = None,
) -> None:
    """Track every face in INPUT; write faces.jsonl and tracks.csv/json to --out (several
    inputs: one folder each in --out, and index.csv)."""
    with exit_codes(results=out), stop_signals_as_interrupt():
        cfg = _config(config, recognize, db, independent, analytics, targets)
        if is_batch(source, workers, ray) or segment_minutes is not None:
            track_batch(source, out, cfg, workers=workers, ray=ray, video=video, mot=mot,
                        thumbnails=thumbnails, quiet=quiet, segment_minutes=segment_minutes)
            return
        with progress_bar(Path(source[0]).name, enabled=not quiet) as progress:
            run = track_file(source[0], out, cfg, video=video, mot=mot, thumbnails=thumbnails,
                             progress=progress)
    if sys.stdout.isatty():
        typer.echo(printable(f"{run.frames} frames, {run.tracks} tracks, {run.fps:.1f} fps -> "
                             f"{run.out}"))
    else:
        import json

        typer.echo(json.dumps(asdict(run), ensure_ascii=False))


def _config(config: Path | None, recognize: bool, db: str | None, independent: bool,
            analytics: bool, targets: Path | None) -> TrackerConfig:
    """The run's config: the file's, then the command line's switches."""
    cfg = TrackerConfig.from_yaml(config) if config is not None else TrackerConfig()
    if recognize or db is not None:
        cfg = _with_recognition(cfg, recognize, db)
    if independent:
        cfg = override(cfg, {"runtime.image_folder": "independent"})
    if analytics or targets is not None:
        cfg = with_analytics(cfg, analytics, targets)
    return cfg


def with_analytics(cfg: TrackerConfig, analytics: bool, targets: Path | None
                   ) -> TrackerConfig:
    """``--analytics`` on, with the layout of ``--targets FILE`` where given."""
    from facetrack.config.analytics import AudienceLayout

    if not analytics:
        raise ConfigError("--targets is only used with --analytics")
    changes: dict[str, object] = {"analytics.enabled": True}
    if targets is not None:
        layout = load_yaml(AudienceLayout, targets)
        for key in ("targets", "zones", "lines"):
            value = getattr(layout, key)
            if value is not None:
                changes[f"analytics.{key}"] = (
                    [t.model_dump() for t in value] if key == "targets" else
                    {k: (v.model_dump() if hasattr(v, "model_dump") else v)
                     for k, v in value.items()})
    return override(cfg, changes)


def _with_recognition(cfg: TrackerConfig, recognize: bool, db: str | None) -> TrackerConfig:
    if not recognize:
        raise ConfigError("--db is only used with --recognize")
    database = db if db is not None else cfg.recognition.database
    if database is None:
        raise ConfigError("--recognize needs a face database: --db FILE (made with "
                          "`facetrack db enroll`)")
    return override(cfg, {"recognition.enabled": True, "recognition.database": str(database)})
