"""``facetrack anonymize``: a video with every face blurred, audio kept, same frames and
timing (docs/privacy.md)."""

from __future__ import annotations

import sys
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Literal

import typer

from facetrack.cli.common import exit_codes, progress_bar, stop_signals_as_interrupt
from facetrack.config import TrackerConfig, override, printable


def anonymize(
    source: Annotated[Path, typer.Argument(help="Video file (mp4/mkv/mov/avi).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Video to write; its extension "
                                      "picks the container (.mp4, .mkv, ...).")],
    style: Annotated[Literal["blur", "pixelate", "fill"] | None, typer.Option(
        "--style", help="How faces are hidden (default: privacy.style, blur).")] = None,
    margin: Annotated[float | None, typer.Option(
        "--margin", min=0.0, max=2.0, help="Grow each face box by this fraction of its size "
        "on every side (default: privacy.margin, 0.35).")] = None,
    config: Annotated[Path | None, typer.Option(
        "--config", "-c", help="YAML config: detector, tracking and privacy settings.")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Write --out: SOURCE with every face blurred (found by the detector and followed by the
    tracker, so a face missed for a few frames stays hidden), audio copied, every frame kept
    with its timestamp."""
    from facetrack.privacy.anonymize import anonymize_config, anonymize_file

    with exit_codes(results=out), stop_signals_as_interrupt():
        cfg = TrackerConfig.from_yaml(config) if config is not None else TrackerConfig()
        changes = {k: v for k, v in (("privacy.style", style), ("privacy.margin", margin))
                   if v is not None}
        cfg = anonymize_config(override(cfg, changes) if changes else cfg)
        with progress_bar(source.name, enabled=not quiet) as progress:
            run = anonymize_file(source, out, cfg, progress=progress)
    if sys.stdout.isatty():
        typer.echo(printable(f"{run.frames} frames, {run.faces} face boxes hidden, "
                             f"{run.audio_streams} audio stream(s) copied, {run.fps:.1f} fps "
                             f"-> {run.out}"))
    else:
        import json

        typer.echo(json.dumps(asdict(run), ensure_ascii=False))
