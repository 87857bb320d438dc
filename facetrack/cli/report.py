"""``facetrack report``: the page of a ``facetrack track --analytics`` folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from facetrack.cli.common import exit_codes
from facetrack.config import printable


def report(
    folder: Annotated[
        Path, typer.Argument(help="Output folder of `facetrack track --analytics`.")
    ],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Page to write (default: "
                                  "FOLDER/report.html).")
    ] = None,
) -> None:
    """Write FOLDER/report.html: one self-contained page (works offline) with the headline
    audience figures, charts over time, dwell, heatmaps, zones and line crossings."""
    from facetrack.analytics.report import write_report

    with exit_codes():
        path = write_report(folder, out)
    typer.echo(printable(str(path)))
