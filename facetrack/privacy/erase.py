"""Erasure: ``facetrack db forget NAME`` removes a person everywhere facetrack keeps them,
and says what it removed (a receipt).

- The face database: the person and every embedding (``FaceDatabase.remove``: no byte left).
- The event store (and events.jsonl, rewritten in place under the file's lock, so a monitor
  appending to it goes on): in every event naming them (``person``, ``person_id``, ``person_key``,
  nested ``detail`` and ``identity`` included) the name becomes ``"erased"`` and the id null;
  then the store's files are rewritten so the old rows leave no byte (VACUUM; PostgreSQL:
  VACUUM FULL).
- Evidence clips: a clip whose alert was about them is deleted (video and sidecar), or, with
  ``clips="blur"``, kept as evidence of what happened with every face in it blurred
  (``facetrack anonymize``'s pass: theirs and anyone else's) and its sidecar rewritten; a clip
  that only names them in its per-frame results gets its sidecar rewritten the same way.
  (Such a clip still shows their face, unnamed: its alert was about someone else.)

The audit log is kept: it is append-only by design (who did what, for accountability), so
its entries naming the person stay, and the receipt counts them.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from facetrack.events import utc_now
from facetrack.recognition.gallery import FaceDatabase
from facetrack.storage.accounts import AccountStore
from facetrack.storage.clip_browser import LocalClips, S3Clips
from facetrack.storage.events import EventStore, rewrite_jsonl

#: what erasure does with a clip whose alert was about the person
ClipAction = Literal["delete", "blur"]

ERASED = "erased"


def scrub(data: Any, person_id: int, name: str) -> tuple[Any, bool]:
    """``data`` (JSON values) with the person's name, id and key replaced; and whether
    anything was."""
    if isinstance(data, list):
        out, changed = [], False
        for item in data:
            new, hit = scrub(item, person_id, name)
            out.append(new)
            changed |= hit
        return out, changed
    if not isinstance(data, dict):
        return data, False
    result: dict[str, Any] = {}
    changed = False
    for key, value in data.items():
        new, hit = _field(key, value, person_id, name)
        result[key] = new
        changed |= hit
    return result, changed


def _field(key: str, value: Any, person_id: int, name: str) -> tuple[Any, bool]:
    if key in ("person", "name") and value == name:
        return ERASED, True
    if key == "person_id" and value == person_id:
        return None, True
    if key == "person_key" and value == f"person:{person_id}":
        return ERASED, True
    return scrub(value, person_id, name)


@dataclass
class Receipt:
    """What ``forget`` removed; printed (and written with ``--receipt``) for the record."""

    person: str
    person_id: int
    erased_at: str
    embeddings: int = 0
    face_database: str = ""
    events_rewritten: int = 0
    event_store: str | None = None
    events_file_rewritten: int = 0
    events_file: str | None = None
    clips_deleted: list[str] = field(default_factory=list)
    clips_blurred: list[str] = field(default_factory=list)
    clips_rewritten: list[str] = field(default_factory=list)
    files_rewritten: bool = True  # False: another process kept a SQLite WAL (see remove)
    audit_entries_kept: int = 0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def forget(name: str, database: FaceDatabase, events: EventStore | None = None,
           clips: LocalClips | S3Clips | None = None, events_file: Path | None = None,
           accounts: AccountStore | None = None, actor: str = "", address: str | None = None,
           clip_action: ClipAction = "delete") -> Receipt:
    """Erase ``name`` from ``database``, ``events`` (and the events.jsonl ``events_file``)
    and ``clips``; the receipt. The clips and events go first: if one fails the person is
    still enrolled and the command can be run again. With ``accounts``, the audit entries
    naming them are counted (they are kept) and the erasure is audited as ``actor`` did it,
    by id, without the name. ``clip_action``: what becomes of the clips whose alert was about
    them (``delete``, or ``blur`` every face in them)."""
    person = database.person(name)
    receipt = Receipt(person.name, person.id, utc_now(), face_database=database.name,
                      audit_entries_kept=accounts.audit_mentions(person.name)
                      if accounts is not None else 0)
    if clips is not None:
        _clips(clips, person.id, person.name, receipt, clip_action)
    if events is not None:
        receipt.event_store = events.name
        receipt.events_rewritten = events.rewrite_person(
            person.id, json.dumps(person.name, ensure_ascii=False),
            lambda data: _changed(data, person.id, person.name))
        receipt.files_rewritten &= events.purge()
    if events_file is not None and events_file.is_file():
        receipt.events_file = str(events_file)
        receipt.events_file_rewritten = rewrite_jsonl(
            events_file, lambda data: _changed(data, person.id, person.name))
    removal = database.remove(person.name)
    receipt.embeddings = removal.embeddings
    receipt.files_rewritten &= removal.purged
    if accounts is not None:
        accounts.audit(actor, "person_forget", f"person:{person.id}", address=address,
                       detail={"examples": receipt.embeddings,
                               "events": receipt.events_rewritten,
                               "clips_deleted": len(receipt.clips_deleted),
                               "clips_blurred": len(receipt.clips_blurred)})
    return receipt


def _changed(data: dict[str, Any], person_id: int, name: str) -> dict[str, Any] | None:
    new, changed = scrub(data, person_id, name)
    return new if changed else None


def _clips(clips: LocalClips | S3Clips, person_id: int, name: str, receipt: Receipt,
           action: ClipAction) -> None:
    blur = _Blur() if action == "blur" else None
    for info in list(clips.list()):
        try:
            meta = clips.meta(info.key)
        except LookupError:
            continue
        subject = any(a.get("person_id") == person_id or a.get("person") == name
                      for a in meta.get("alerts", []) if isinstance(a, dict))
        if subject and blur is None:
            clips.delete(info.key)
            receipt.clips_deleted.append(info.key)
            continue
        if subject and blur is not None:
            clips.replace_video(info.key, blur)
            receipt.clips_blurred.append(info.key)
        new, changed = scrub(meta, person_id, name)
        if changed:
            clips.put_meta(info.key, new)
            if not subject:
                receipt.clips_rewritten.append(info.key)


class _Blur:
    """Rewrites a clip with every face blurred; the models load on the first clip."""

    def __init__(self) -> None:
        self._tracker: Any = None

    def __call__(self, video: Path, out: Path) -> None:
        from facetrack.pipeline.tracker import FaceTracker
        from facetrack.privacy.anonymize import anonymize_config, anonymize_file

        if self._tracker is None:
            self._tracker = FaceTracker(anonymize_config(None))
        anonymize_file(video, out, tracker=self._tracker)
