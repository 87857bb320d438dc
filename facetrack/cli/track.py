"""``facetrack track``: one input file, folder or image in; result files out."""

from __future__ import annotations

import sys
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from facetrack.cli.common import exit_codes, progress_bar, stop_signals_as_interrupt
from facetrack.config import ConfigError, TrackerConfig, load_yaml, override, printable
from facetrack.pipeline.jobs import track_file


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
) -> None:
    """Track every face in SOURCE; write faces.jsonl and tracks.csv/json to --out."""
    with exit_codes(results=out), stop_signals_as_interrupt():
        cfg = TrackerConfig.from_yaml(config) if config is not None else TrackerConfig()
        if recognize or db is not None:
            cfg = _with_recognition(cfg, recognize, db)
        if independent:
            cfg = override(cfg, {"runtime.image_folder": "independent"})
        if analytics or targets is not None:
            cfg = with_analytics(cfg, analytics, targets)
        with progress_bar(source.name, enabled=not quiet) as progress:
            run = track_file(source, out, cfg, video=video, mot=mot, thumbnails=thumbnails,
                             progress=progress)
    if sys.stdout.isatty():
        typer.echo(printable(f"{run.frames} frames, {run.tracks} tracks, {run.fps:.1f} fps -> "
                             f"{run.out}"))
    else:
        import json

        typer.echo(json.dumps(asdict(run), ensure_ascii=False))


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
