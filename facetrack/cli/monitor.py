"""``facetrack monitor`` (live cameras until Ctrl-C / SIGTERM), ``facetrack events`` and
``facetrack audience`` (read the event store)."""

from __future__ import annotations

import json
import logging
import signal
from pathlib import Path
from typing import Annotated

import typer

from facetrack.cli.common import exit_codes, fail
from facetrack.config import override


def monitor(
    config: Annotated[Path, typer.Argument(help="Monitor YAML: cameras, events, alerts, store "
                                           "(docs/monitor.md).")],
    duration: Annotated[
        float | None,
        typer.Option("--duration", help="Stop after this many seconds (default: run until "
                     "Ctrl-C / SIGTERM).", min=0.0),
    ] = None,
    window: Annotated[
        bool,
        typer.Option("--window", help="Show the annotated cameras in a local window (needs a "
                     "display; same as live_view.window: true)."),
    ] = False,
) -> None:
    """Watch live cameras: events and alerts to the event store and events.jsonl."""
    from facetrack.config.service import MonitorConfig
    from facetrack.service import Monitor

    with exit_codes():
        cfg = MonitorConfig.from_yaml(config)
        if window:
            cfg = override(cfg, {"live_view.window": True})
        mon = Monitor(cfg)
        previous = {sig: signal.signal(sig, lambda *_: mon.stop())
                    for sig in (signal.SIGINT, signal.SIGTERM)}
        logger = logging.getLogger("facetrack")
        logger.setLevel(min(logger.getEffectiveLevel(), logging.INFO))
        try:
            counters = mon.run(duration_s=duration)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    typer.echo(json.dumps({name: c.summary() for name, c in counters.items()}))


def events(
    store: Annotated[str, typer.Option("--store", help="Event store written by `facetrack "
                                       "monitor`: a SQLite file or a postgresql:// URL.")
                     ] = "events.db",
    camera: Annotated[str | None, typer.Option("--camera", help="Only this camera.")] = None,
    since: Annotated[str | None, typer.Option("--since", help="ISO time or a duration back "
                                              "from now: 30s, 15m, 2h, 7d.")] = None,
    kind: Annotated[str | None, typer.Option("--type", help="Only this event type "
                                             "(track_started, alert, drowsy, ...).")] = None,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="The latest N.")] = None,
) -> None:
    """Print stored events, oldest first, one JSON object per line."""
    from facetrack.storage.events import EventStore, is_database_url

    if not is_database_url(store) and not Path(store).is_file():
        raise fail(f"{store}: no event store here (run `facetrack monitor` first)", 2)
    with exit_codes(), EventStore(store, read_only=True) as db:
        rows = db.query(camera=camera, since=since, kind=kind, limit=limit)
    for row in rows:
        typer.echo(json.dumps(row, ensure_ascii=False))


def audience(
    store: Annotated[str, typer.Option("--store", help="Event store written by `facetrack "
                                       "monitor`: a SQLite file or a postgresql:// URL.")
                     ] = "events.db",
    camera: Annotated[str | None, typer.Option("--camera", help="Only this camera.")] = None,
    since: Annotated[str | None, typer.Option("--since", help="Windows starting after: ISO "
                                              "time or a duration back from now: 30s, 15m, "
                                              "2h, 7d.")] = None,
    zone: Annotated[str | None, typer.Option("--zone", help="Only this zone (`all`: the "
                                             "whole view).")] = None,
    target: Annotated[str | None, typer.Option("--target", help="Only this target.")] = None,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="The latest N.")] = None,
) -> None:
    """Print stored audience windows (cameras with analytics on), oldest first, one JSON object
    per line with the columns of audience.csv and the camera (docs/audience.md)."""
    from facetrack.storage.audience import AudienceStore
    from facetrack.storage.events import is_database_url

    if not is_database_url(store) and not Path(store).is_file():
        raise fail(f"{store}: no event store here (run `facetrack monitor` first)", 2)
    with exit_codes(), AudienceStore(store, read_only=True) as db:
        rows = db.query(camera=camera, since=since, zone=zone, target=target, limit=limit)
    for row in rows:
        typer.echo(json.dumps(row, ensure_ascii=False))
