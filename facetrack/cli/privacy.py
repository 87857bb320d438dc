"""``facetrack privacy-check``: what a run wrote, against its privacy mode (docs/privacy.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

import typer

from facetrack.cli.common import exit_codes, fail, is_terminal
from facetrack.config import printable


def privacy_check(
    paths: Annotated[list[str], typer.Argument(help="Folders or files a run wrote (output "
                                               "folders, events.db, clips/, logs), a "
                                               "PostgreSQL store's URL or s3://BUCKET/PREFIX."
                                               )],
    mode: Annotated[Literal["anonymous", "pseudonymous", "identified"], typer.Option(
        "--mode", help="The privacy mode they were written under.")] = "anonymous",
) -> None:
    """Scan what a run wrote for what the mode does not allow (anonymous and pseudonymous:
    readable faces in pictures and videos, embeddings, names); exit 1 when found.
    `identified` only lists them."""
    from facetrack.privacy.check import Checker
    from facetrack.storage.sql import is_database_url

    with exit_codes():
        missing = [p for p in paths if not is_database_url(p) and not p.startswith("s3://")
                   and not Path(p).exists()]
        if missing:
            raise fail(f"{missing[0]}: no such file or folder", 2)
        checker = Checker()
        findings = [f for p in paths for f in checker.scan(p)]
    for f in findings:
        typer.echo(printable(f.line()) if is_terminal() else json.dumps(
            {"path": f.path, "what": f.what}, ensure_ascii=False))
    if mode != "identified" and findings:
        typer.echo(f"error: {len(findings)} finding(s) beyond the {mode} mode", err=True)
        raise typer.Exit(1)
    if is_terminal():
        typer.echo(f"{len(findings)} finding(s); nothing beyond the {mode} mode")
