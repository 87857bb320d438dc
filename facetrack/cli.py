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
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import cv2
import typer

from facetrack.analysis.summary import TrackSummarizer
from facetrack.config import TrackerConfig, override
from facetrack.errors import ConfigError, DecodeError, FacetrackError, ModelError, PersonError
from facetrack.pipeline import FaceTracker
from facetrack.recognition.database import FaceDatabase, Person, normalise_name
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
    recognize: Annotated[
        bool, typer.Option("--recognize", help="Recognise enrolled people (needs --db).")
    ] = False,
    db: Annotated[
        Path | None, typer.Option("--db", help="Face database for --recognize.")
    ] = None,
) -> None:
    """Track every face in SOURCE; write faces.jsonl and tracks.csv/json to --out."""
    try:
        cfg = TrackerConfig.from_yaml(config) if config is not None else TrackerConfig()
        if recognize or db is not None:
            cfg = _with_recognition(cfg, recognize, db)
        if independent:
            cfg = override(cfg, {"runtime.image_folder": "independent"})
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


def _with_recognition(cfg: TrackerConfig, recognize: bool, db: Path | None) -> TrackerConfig:
    if not recognize:
        raise ConfigError("--db is only used with --recognize")
    database = db if db is not None else cfg.recognition.database
    if database is None:
        raise ConfigError("--recognize needs a face database: --db FILE (made with "
                          "`facetrack db enroll`)")
    return override(cfg, {"recognition.enabled": True, "recognition.database": str(database)})


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
            summarizer.consume(result.frame, result.faces, result.names)
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
    from facetrack.monitor.config import MonitorConfig

    try:
        cfg: TrackerConfig | MonitorConfig = (
            MonitorConfig.from_yaml(config) if _is_monitor_config(config)
            else TrackerConfig.from_yaml(config)
        )
    except ConfigError as exc:
        raise _fail(str(exc), 2) from None
    typer.echo(json.dumps(cfg.model_dump(mode="json"), indent=2))


def _is_monitor_config(path: Path) -> bool:
    """A monitor config lists cameras; anything else is read as a tracker config."""
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return False  # the tracker loader reports the problem
    return isinstance(data, dict) and "cameras" in data


# -- facetrack monitor / events ---------------------------------------------------------------


@app.command()
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
    import signal

    from facetrack.monitor import Monitor, MonitorConfig

    try:
        cfg = MonitorConfig.from_yaml(config)
    except ConfigError as exc:
        raise _fail(str(exc), 2) from None
    if window:
        cfg = override(cfg, {"live_view.window": True})
    mon = Monitor(cfg)
    previous = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        previous[sig] = signal.signal(sig, lambda *_: mon.stop())
    logging.getLogger("facetrack").setLevel(
        min(logging.getLogger("facetrack").getEffectiveLevel(), logging.INFO))
    try:
        counters = mon.run(duration_s=duration)
    except FacetrackError as exc:
        raise _fail(str(exc), 2) from None
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    typer.echo(json.dumps({
        name: {"state": c.live.state, "frames_in": c.live.frames_in, "processed": c.processed,
               "dropped": c.live.dropped, "reconnects": c.live.reconnects, "events": c.events,
               "alerts": c.alerts, "clips": c.clips, "clips_written": c.clips_written,
               "clips_lost": c.clips_lost, "notifications_sent": c.notifications_sent,
               "notifications_failed": c.notifications_failed, "failures": c.failures}
        for name, c in counters.items()
    }))


@app.command()
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
        raise _fail(f"{store}: no event store here (run `facetrack monitor` first)", 2)
    try:
        with EventStore(store) as db:
            rows = db.query(camera=camera, since=since, kind=kind, limit=limit)
    except FacetrackError as exc:
        raise _fail(str(exc), 2) from None
    for row in rows:
        typer.echo(json.dumps(row, ensure_ascii=False))


# -- facetrack db ---------------------------------------------------------------------------

db_app = typer.Typer(
    no_args_is_help=True,
    help="Manage the face database: enrolled people and their face embeddings (used only when "
    "recognition is enabled).",
)
app.add_typer(db_app, name="db")

DbOption = Annotated[
    Path,
    typer.Option("--db", envvar="FACETRACK_DB", help="Face database file (SQLite); default "
                 "$FACETRACK_DB."),
]


@contextmanager
def _db_errors() -> Iterator[None]:
    """Every expected failure of a db command becomes one `error:` line and an exit code."""
    try:
        yield
    except typer.Exit:
        raise
    except ModelError as exc:
        raise _fail(str(exc), 4) from None
    except FacetrackError as exc:
        raise _fail(str(exc), 2) from None
    except KeyboardInterrupt:
        raise _fail("interrupted", 130) from None
    except Exception as exc:  # a bug or an environment failure
        log.info("unexpected failure", exc_info=True)
        reason = str(exc).splitlines()[0] if str(exc) else ""
        raise _fail(
            f"unexpected {type(exc).__name__}: {reason} (run with --verbose for details and "
            "please report it)", 1
        ) from None


def _is_terminal() -> bool:
    return sys.stdout.isatty()


def _can_ask() -> bool:
    return sys.stdin.isatty()


def _show(data: Any, human: str) -> None:
    """Text for a person at a terminal; one JSON line for scripts (stdout not a terminal)."""
    if _is_terminal():
        typer.echo(human)
    else:
        typer.echo(json.dumps(data))


def _parse_attrs(items: list[str]) -> dict[str, str]:
    attrs = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise PersonError(f"--attr {item!r}: expected key=value")
        attrs[key.strip()] = value
    return attrs


def _person_line(p: Person) -> str:
    attrs = " ".join(f"{k}={v}" for k, v in sorted(p.attrs.items()))
    return f"{p.id:>5}  {p.name}  ({p.embeddings} embeddings, since {p.created}) {attrs}".rstrip()


@db_app.command("enroll")
def db_enroll(
    name: Annotated[str, typer.Argument(help="The person's name (any script; quote spaces).")],
    paths: Annotated[
        list[Path],
        typer.Argument(help="Image files, folders of images and/or video clips; every image "
                       "must show exactly one face, every clip one person (or use --track)."),
    ],
    db: DbOption,
    attr: Annotated[
        list[str] | None,
        typer.Option("--attr", help="key=value stored with the person (repeatable)."),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="YAML config: its detector, tracking, analysis "
                     "and recognition settings (embedder, face filters) are used."),
    ] = None,
    largest: Annotated[
        bool,
        typer.Option("--largest", help="In a photo with several faces, enrol the largest if "
                     "it is clearly the subject (1.5x taller than the next); in a clip with "
                     "several people, the clearly dominant one."),
    ] = False,
    track: Annotated[
        int | None,
        typer.Option("--track", help="Enrol this track of the clip (ids as `facetrack track` "
                     "numbers them with the same config).", min=1),
    ] = None,
    max_embeddings: Annotated[
        int,
        typer.Option("--max-embeddings", help="Most embeddings a clip adds (its best, most "
                     "different faces).", min=1, max=50),
    ] = 5,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Enrol NAME from photos or clips (created, or extended when NAME exists); all or
    nothing."""
    from facetrack.recognition.enroll import collect_inputs, enroll_files

    with _db_errors(), ExitStack() as stack:
        normalise_name(name)
        attrs = _parse_attrs(attr or [])
        cfg = TrackerConfig.from_yaml(config) if config is not None else TrackerConfig()
        _, videos = collect_inputs(paths)
        report = None
        if videos and not quiet and sys.stderr.isatty():
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            bar = stack.enter_context(Progress(
                TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                transient=True,
            ))
            tasks: dict[str, Any] = {}

            def report(clip: str, done: int, total: int | None) -> None:
                if clip not in tasks:
                    tasks[clip] = bar.add_task(f"tracking {clip}", total=total)
                bar.update(tasks[clip], completed=done)

        with FaceDatabase(db) as database:
            result = enroll_files(
                database, name, paths, cfg, attrs, track=track, largest=largest,
                max_embeddings=max_embeddings, progress=report,
            )
    _show(asdict(result), (
        f"enrolled {result.name!r} (person {result.person_id}): {result.added} added, "
        f"{result.skipped} already stored, {result.embeddings} embeddings in all"
    ))


@db_app.command("list")
def db_list(db: DbOption) -> None:
    """List enrolled people."""
    with _db_errors(), FaceDatabase(db, create=False) as database:
        people = database.people()
    human = "\n".join(_person_line(p) for p in people) if people else "no people enrolled"
    _show([asdict(p) for p in people], human)


@db_app.command("show")
def db_show(name: Annotated[str, typer.Argument(help="Name of an enrolled person.")],
            db: DbOption) -> None:
    """Show a person and their embeddings' sources and qualities (never the vectors)."""
    with _db_errors(), FaceDatabase(db, create=False) as database:
        person = database.person(name)
        embeddings = database.embeddings(name)
    lines = [_person_line(person)] + [
        f"       #{e.id}  quality {e.quality:.2f}  {e.source or '-'}  {e.created}"
        for e in embeddings
    ]
    _show({"person": asdict(person), "embeddings": [asdict(e) for e in embeddings]},
          "\n".join(lines))


@db_app.command("rename")
def db_rename(old: Annotated[str, typer.Argument(help="Current name.")],
              new: Annotated[str, typer.Argument(help="New name (not yet enrolled).")],
              db: DbOption) -> None:
    """Rename a person; their id and embeddings are kept."""
    with _db_errors(), FaceDatabase(db, create=False) as database:
        person = database.rename(old, new)
    _show(asdict(person), f"renamed {old!r} -> {person.name!r} (person {person.id})")


@db_app.command("remove")
def db_remove(
    name: Annotated[str, typer.Argument(help="Name of an enrolled person.")],
    db: DbOption,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask (a terminal asks).")] = False,
) -> None:
    """Remove a person and every embedding of theirs; no byte of them stays in the file."""
    with _db_errors(), FaceDatabase(db, create=False) as database:
        person = database.person(name)
        if not yes and _can_ask() and not typer.confirm(
            f"Remove {person.name!r} and their {person.embeddings} embeddings from {db}?"
        ):
            raise _fail("nothing removed", 1)
        removed = database.remove(name)
    note = "" if removed.purged else " (another process has the file open: the last traces " \
        "leave its WAL when that process closes it)"
    _show(asdict(removed), f"removed {removed.name!r}: {removed.embeddings} embeddings{note}")


@db_app.command("export")
def db_export(
    out: Annotated[Path, typer.Argument(help="Backup file to write (JSON lines).")],
    db: DbOption,
    force: Annotated[bool, typer.Option("--force", help="Replace OUT if it exists.")] = False,
) -> None:
    """Write a portable backup (people, attributes, embeddings, model id). It holds biometric
    data: keep it as safe as the database."""
    with _db_errors(), FaceDatabase(db, create=False) as database:
        done = database.export(out, overwrite=force)
    _show({**asdict(done), "out": str(out)},
          f"exported {done.people} people, {done.embeddings} embeddings -> {out}")


@db_app.command("import")
def db_import(
    backup: Annotated[Path, typer.Argument(help="A file written by `facetrack db export`.")],
    db: DbOption,
) -> None:
    """Add everyone in a backup (duplicates skipped; refused if made with another model)."""
    with _db_errors(), FaceDatabase(db) as database:
        done = database.import_(backup)
    _show(asdict(done), (
        f"imported {done.people} people ({done.new_people} new): {done.embeddings} embeddings "
        f"added, {done.skipped} already stored"
    ))


@db_app.command("stats")
def db_stats(db: DbOption) -> None:
    """People, embeddings, embedding model and file size."""
    with _db_errors(), FaceDatabase(db, create=False) as database:
        stats = database.stats()
    _show(asdict(stats), (
        f"{stats.path}: {stats.people} people, {stats.embeddings} embeddings, model "
        f"{stats.model_id or '-'} ({stats.dim or '-'}-d), schema {stats.schema_version}, "
        f"{stats.file_bytes / 1024:.0f} KiB"
    ))


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover - python -m facetrack.cli
    main()
