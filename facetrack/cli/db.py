"""``facetrack db``: enrolled people and their face embeddings (used only when recognition is
enabled)."""

from __future__ import annotations

import json
import sys
from contextlib import ExitStack
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any, Literal

import typer

from facetrack.cli.common import cli_actor, exit_codes, fail, progress_bar, show
from facetrack.config import TrackerConfig
from facetrack.errors import PersonError
from facetrack.recognition.gallery import FaceDatabase
from facetrack.recognition.names import normalise_name
from facetrack.recognition.records import Person

db_app = typer.Typer(
    no_args_is_help=True,
    help="Manage the face database: enrolled people and their face embeddings (used only when "
    "recognition is enabled).",
)

DbOption = Annotated[
    str,
    typer.Option("--db", envvar="FACETRACK_DB", help="Face database: a SQLite file or a "
                 "postgresql:// URL; default $FACETRACK_DB."),
]


@db_app.callback()
def _db_options(
    key_file: Annotated[Path | None, typer.Option(
        "--key-file", envvar="FACETRACK_DB_KEY_FILE", help="Key of a database with encrypted "
        "templates (`facetrack db keygen`); also $FACETRACK_DB_KEY.")] = None,
) -> None:
    """Manage the face database."""
    _KEY_FILE[0] = key_file  # every command opens the database with it (_database)


#: the --key-file of this invocation (set by the group's callback before each command)
_KEY_FILE: list[Path | None] = [None]


def _database(target: str, **options: Any) -> FaceDatabase:
    """The face database, with the templates' key of --key-file (else the environment's)."""
    from facetrack.privacy.keys import load_key

    key = load_key(_KEY_FILE[0]) if _KEY_FILE[0] is not None else "env"
    return FaceDatabase(target, key=key, **options)


def _can_ask() -> bool:
    return sys.stdin.isatty()


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

    with exit_codes(), ExitStack() as stack:
        normalise_name(name)
        attrs = _parse_attrs(attr or [])
        cfg = TrackerConfig.from_yaml(config) if config is not None else TrackerConfig()
        _, videos = collect_inputs(paths)
        update = stack.enter_context(progress_bar(
            "tracking " + ", ".join(v.name for v in videos), enabled=bool(videos) and not quiet,
            transient=True))
        report = None if update is None else (
            lambda _clip, done, total: update(done, total))
        with _database(db) as database:
            result = enroll_files(
                database, name, paths, cfg, attrs, track=track, largest=largest,
                max_embeddings=max_embeddings, progress=report,
            )
    show(asdict(result), (
        f"enrolled {result.name!r} (person {result.person_id}): {result.added} added, "
        f"{result.skipped} already stored, {result.embeddings} embeddings in all"
    ))


@db_app.command("list")
def db_list(db: DbOption) -> None:
    """List enrolled people."""
    with exit_codes(), _database(db, read_only=True) as database:
        people = database.people()
    human = "\n".join(_person_line(p) for p in people) if people else "no people enrolled"
    show([asdict(p) for p in people], human)


@db_app.command("show")
def dbshow(name: Annotated[str, typer.Argument(help="Name of an enrolled person.")],
            db: DbOption) -> None:
    """Show a person and their embeddings' sources and qualities (never the vectors)."""
    with exit_codes(), _database(db, read_only=True) as database:
        person = database.person(name)
        embeddings = database.embeddings(name)
    lines = [_person_line(person)] + [
        f"       #{e.id}  quality {e.quality:.2f}  {e.source or '-'}  {e.created}"
        for e in embeddings
    ]
    show({"person": asdict(person), "embeddings": [asdict(e) for e in embeddings]},
          "\n".join(lines))


@db_app.command("rename")
def db_rename(old: Annotated[str, typer.Argument(help="Current name.")],
              new: Annotated[str, typer.Argument(help="New name (not yet enrolled).")],
              db: DbOption) -> None:
    """Rename a person; their id and embeddings are kept."""
    with exit_codes(), _database(db, create=False) as database:
        person = database.rename(old, new)
    show(asdict(person), f"renamed {old!r} -> {person.name!r} (person {person.id})")


@db_app.command("remove")
def db_remove(
    name: Annotated[str, typer.Argument(help="Name of an enrolled person.")],
    db: DbOption,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask (a terminal asks).")] = False,
) -> None:
    """Remove a person and every embedding of theirs; no byte of them stays in the file."""
    with exit_codes(), _database(db, create=False) as database:
        person = database.person(name)
        if not yes and _can_ask() and not typer.confirm(
            f"Remove {person.name!r} and their {person.embeddings} embeddings from {db}?"
        ):
            raise fail("nothing removed", 1)
        removed = database.remove(name)
    note = "" if removed.purged else " (another process has the file open: the last traces " \
        "leave its WAL when that process closes it)"
    show(asdict(removed), f"removed {removed.name!r}: {removed.embeddings} embeddings{note}")


@db_app.command("export")
def db_export(
    out: Annotated[Path, typer.Argument(help="Backup file to write (JSON lines).")],
    db: DbOption,
    force: Annotated[bool, typer.Option("--force", help="Replace OUT if it exists.")] = False,
) -> None:
    """Write a portable backup (people, attributes, embeddings, model id). It holds biometric
    data: keep it as safe as the database."""
    with exit_codes(), _database(db, read_only=True) as database:
        done = database.export(out, overwrite=force)
    show({**asdict(done), "out": str(out)},
          f"exported {done.people} people, {done.embeddings} embeddings -> {out}")


@db_app.command("import")
def db_import(
    backup: Annotated[Path, typer.Argument(help="A file written by `facetrack db export`.")],
    db: DbOption,
) -> None:
    """Add everyone in a backup (duplicates skipped; refused if made with another model)."""
    with exit_codes(), _database(db) as database:
        done = database.import_(backup)
    show(asdict(done), (
        f"imported {done.people} people ({done.new_people} new): {done.embeddings} embeddings "
        f"added, {done.skipped} already stored"
    ))


@db_app.command("stats")
def db_stats(db: DbOption) -> None:
    """People, embeddings, embedding model and file size."""
    with exit_codes(), _database(db, read_only=True) as database:
        stats = database.stats()
    show(asdict(stats), (
        f"{stats.path}: {stats.people} people, {stats.embeddings} embeddings, model "
        f"{stats.model_id or '-'} ({stats.dim or '-'}-d), schema {stats.schema_version}, "
        f"{stats.file_bytes / 1024:.0f} KiB"
    ))


@db_app.command("forget")
def db_forget(
    name: Annotated[str, typer.Argument(help="Name of an enrolled person.")],
    db: DbOption,
    config: Annotated[Path | None, typer.Option(
        "--config", "-c", help="A monitor's (or serve's) config: its event store and clips "
        "are searched too.")] = None,
    events: Annotated[str | None, typer.Option(
        "--events", help="Event store to search (a file or postgresql:// URL); default: the "
        "config's.")] = None,
    clips: Annotated[Path | None, typer.Option(
        "--clips", help="Local clips folder to search; default: the config's clips.")] = None,
    events_jsonl: Annotated[Path | None, typer.Option(
        "--events-jsonl", help="events.jsonl file to rewrite; default: the config's.")] = None,
    receipt: Annotated[Path | None, typer.Option(
        "--receipt", help="Also write the erasure receipt (JSON) to this file.")] = None,
    subject_clips: Annotated[Literal["delete", "blur"], typer.Option(
        "--subject-clips", help="The clips whose alert was about them: deleted, or kept with "
        "every face blurred.")] = "delete",
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask (a terminal asks).")] = False,
) -> None:
    """Erase a person everywhere: their embeddings, their name and id in every event (made
    "erased"), the clips whose alert was about them (deleted, or blurred), with the files
    rewritten so no byte of them is left; prints a receipt of what was removed
    (docs/privacy.md)."""
    with exit_codes(), ExitStack() as stack:
        database = stack.enter_context(_database(db, create=False))
        person = database.person(name)
        store, clip_store, accounts, config_jsonl = _erasure_stores(stack, config, events,
                                                                    clips)
        if not yes and _can_ask() and not typer.confirm(
            f"Erase {person.name!r} from {db}"
            + (f", the events of {store.name}" if store is not None else "")
            + (", and the clips" if clip_store is not None else "") + "?"):
            raise fail("nothing erased", 1)
        from facetrack.privacy.erase import forget

        done = forget(person.name, database, store, clip_store, events_jsonl or config_jsonl,
                      accounts, cli_actor(), clip_action=subject_clips)
        if receipt is not None:
            from facetrack.storage.atomic import write_atomically

            write_atomically(receipt, [json.dumps(done.to_json(), ensure_ascii=False,
                                                  indent=2), "\n"], mode=0o600)
    show(done.to_json(), _receipt_line(done))


def _erasure_stores(stack: ExitStack, config: Path | None, events: str | None,
                    clips: Path | None) -> tuple[Any, Any, Any, Path | None]:
    """The event store, clip storage, account store and events.jsonl to erase from (None:
    not given), from the options or else the config (read once)."""
    from facetrack.config.service import ClipStorageConfig, ServerConfig
    from facetrack.storage.accounts import AccountStore
    from facetrack.storage.clip_browser import open_clips
    from facetrack.storage.events import EventStore

    cfg = ServerConfig.from_yaml(config) if config is not None else None
    target = events or (cfg.store.events_db if cfg is not None else None)
    store = stack.enter_context(EventStore(target)) if target is not None else None
    accounts = stack.enter_context(AccountStore(target)) if target is not None else None
    clip_cfg = (ClipStorageConfig(dir=clips) if clips is not None
                else cfg.clips if cfg is not None else None)
    return (store, open_clips(clip_cfg) if clip_cfg is not None else None, accounts,
            cfg.store.events_jsonl if cfg is not None else None)


def _receipt_line(r: Any) -> str:
    where = (f"{r.events_rewritten} events rewritten in {r.event_store}" if r.event_store
             else "events not searched (give --config or --events)")
    if r.events_file:
        where += f" and {r.events_file_rewritten} in {r.events_file}"
    note = "" if r.files_rewritten else "; another process has a file open: the last traces " \
        "leave its WAL when it closes it"
    return (f"erased {r.person!r} (id {r.person_id}): {r.embeddings} embeddings, {where}, "
            f"{len(r.clips_deleted)} clips deleted, {len(r.clips_blurred)} blurred, "
            f"{len(r.clips_rewritten)} clip sidecars "
            f"rewritten; {r.audit_entries_kept} audit entries kept{note}")


@db_app.command("keygen")
def db_keygen(out: Annotated[Path, typer.Argument(help="Key file to create (0600).")]) -> None:
    """Make a key for encrypting templates at rest (keep it apart from the database)."""
    from facetrack.privacy.keys import new_key
    from facetrack.storage.atomic import write_atomically

    with exit_codes():
        if out.exists():
            raise fail(f"{out}: already exists (a key is never overwritten)", 2)
        write_atomically(out, [new_key() + "\n"], mode=0o600)
    show({"key_file": str(out)}, f"new key in {out} (0600); keep a copy: without it the "
         "templates cannot be read")


@db_app.command("rekey")
def db_rekey(
    db: DbOption,
    new_key_file: Annotated[Path | None, typer.Option(
        "--new-key-file", help="Encrypt every template under this key.")] = None,
    decrypt: Annotated[bool, typer.Option(
        "--decrypt", help="Store the templates unencrypted instead.")] = False,
) -> None:
    """Re-encrypt every template under a new key (or encrypt a plain database, or decrypt
    with --decrypt) in one transaction; the current key comes from --key-file (before the
    command) or the environment."""
    from facetrack.privacy.keys import UnencryptedError, load_key

    with exit_codes():
        if (new_key_file is None) == (not decrypt):
            raise fail("give --new-key-file FILE or --decrypt", 2)
        new = load_key(new_key_file) if new_key_file is not None else None
        database = _database(db, create=False)
        try:
            database.open()
        except UnencryptedError:  # a plain database: there is no current key
            database = FaceDatabase(db, create=False, key=None)
            database.open()
        with database:
            n = database.rekey(new)
    show({"embeddings": n, "key_id": new.key_id if new else None},
         f"{n} embeddings " + (f"encrypted under key {new.key_id}" if new else "decrypted"))
