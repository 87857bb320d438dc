"""``facetrack`` command line: one module per command group. The library logs; the CLI decides
what a person sees: a progress bar on a terminal, one JSON line when piped, one-line errors
and the exit codes of ``facetrack.cli.common``."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from facetrack.cli import anonymize as _anonymize
from facetrack.cli import config as _config
from facetrack.cli import monitor as _monitor
from facetrack.cli import privacy as _privacy
from facetrack.cli import report as _report
from facetrack.cli import serve as _serve
from facetrack.cli import track as _track
from facetrack.cli.db import db_app

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Find, track and analyse every face in a video.",
    pretty_exceptions_enable=False,
)


@app.callback()
def _main(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log progress details.")] = False,
) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )


app.command()(_track.track)
app.command()(_anonymize.anonymize)
app.command("privacy-check")(_privacy.privacy_check)
app.command("check-config")(_config.check_config)
app.command()(_monitor.monitor)
app.command()(_monitor.events)
app.command()(_monitor.audience)
app.command()(_report.report)
app.add_typer(db_app, name="db")
app.command()(_serve.serve)
app.add_typer(_serve.users_app, name="users")
app.add_typer(_serve.keys_app, name="keys")
app.command()(_serve.audit)


def main() -> None:  # pragma: no cover - console entry point
    app()
