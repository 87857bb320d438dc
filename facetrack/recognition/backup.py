"""Portable copies of a face database: ``export`` writes, ``read_export`` checks a whole file
before anything is imported.

An export is JSON lines: a header (format, version, model id, dim, counts), then one line per
person with base64 little-endian float32 vectors. It holds biometric data: it is created 0600
and written atomically (a temporary file renamed into place). A file is read with a size cap
(``MAX_EXPORT_BYTES``) and every problem names the file and line.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import sqlalchemy as sa

from facetrack.errors import InputError, PersonError
from facetrack.privacy.keys import TemplateKey, seal_export, unseal_export
from facetrack.recognition.index import VECTOR_DTYPE
from facetrack.recognition.names import (
    check_attrs,
    check_hash,
    check_quality,
    file_name,
    normalise_name,
    unit_rows,
)
from facetrack.recognition.schema import embeddings, people
from facetrack.storage.atomic import write_atomically

EXPORT_FORMAT = "facetrack-face-database"
EXPORT_VERSION = 1
#: an export of a million embeddings is about 700 MB; refuse anything far beyond
MAX_EXPORT_BYTES = 4 << 30


class Row(NamedTuple):
    """One embedding ready to be written."""

    vector: bytes
    quality: float
    source: str | None
    content_hash: str | None
    created: str


def write_atomic(out: Path, records: Sequence[Mapping[str, Any]],
                 key: TemplateKey | None = None) -> None:
    """An export file: JSON lines, readable by its owner only (it holds biometric data);
    with ``key`` (an encrypted database's), encrypted whole."""
    lines = [json.dumps(r, ensure_ascii=False, allow_nan=False) + "\n" for r in records]
    if key is not None:
        lines = [seal_export(key, "".join(lines).encode("utf-8")).decode("ascii")]
    write_atomically(out, lines, mode=0o600)


class Backup(NamedTuple):
    model_id: str | None
    dim: int | None
    people: list[tuple[str, dict[str, Any], str, list[Row]]]


PersonRecord = tuple[str, dict[str, Any], str, list[Row]]


def read_export(path: Path, key: TemplateKey | None = None) -> Backup:
    """Parse and check a whole export file (encrypted ones with ``key``); every problem names
    the file and line."""
    records = _records(path, key)
    header = _header(path, records)
    model_id, dim = header.get("model_id"), header.get("dim")
    people: list[PersonRecord] = []
    seen: set[str] = set()
    for number, rec in records[1:]:
        try:
            people.append(_person(rec, seen, dim or 0))
        except PersonError as exc:
            raise InputError(f"{path}, line {number}: {exc}") from None
    total = sum(len(p[3]) for p in people)
    if header.get("people") != len(people) or header.get("embeddings") != total:
        raise InputError(
            f"{path}: header lists {header.get('people')} people / {header.get('embeddings')} "
            f"embeddings but the file holds {len(people)} / {total} (truncated or edited?)"
        )
    return Backup(model_id, dim, people)


def _records(path: Path, key: TemplateKey | None) -> list[tuple[int, Any]]:
    """(line number, JSON value) of every non-empty line (the file size-capped)."""
    try:
        if path.stat().st_size > MAX_EXPORT_BYTES:
            raise InputError(f"{path}: larger than {MAX_EXPORT_BYTES >> 30} GiB: not an export "
                             "this facetrack reads")
        text = unseal_export(key, path.read_bytes(), str(path)).decode("utf-8")
        records: list[tuple[int, Any]] = []
        for number, line in enumerate(text.splitlines(), 1):
            if line.strip():
                records.append((number, _json(path, number, line, first=not records)))
        return records
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: not a facetrack face-database export (not UTF-8)") from None


def _json(path: Path, number: int, text: str, first: bool) -> Any:
    try:
        return json.loads(text)
    except (json.JSONDecodeError, RecursionError, ValueError):
        if first:
            raise InputError(f"{path}: not a facetrack face-database export (not JSON "
                             "lines)") from None
        raise InputError(f"{path}, line {number}: not valid JSON (file damaged?)") from None


def _header(path: Path, records: list[tuple[int, Any]]) -> dict[str, Any]:
    if not records or not isinstance(records[0][1], dict) or (
            records[0][1].get("format") != EXPORT_FORMAT):
        raise InputError(f"{path}: not a facetrack face-database export (no header line)")
    header: dict[str, Any] = records[0][1]
    version = header.get("version")
    if not isinstance(version, int) or version > EXPORT_VERSION:
        raise InputError(
            f"{path}: export format version {version!r} is newer than this facetrack reads "
            f"({EXPORT_VERSION}); upgrade facetrack"
        )
    model_id, dim = header.get("model_id"), header.get("dim")
    if header.get("dtype") != VECTOR_DTYPE.str or not (
        (model_id is None and dim is None)
        or (isinstance(model_id, str) and model_id and isinstance(dim, int) and dim > 0)
    ):
        raise InputError(f"{path}, line {records[0][0]}: header has no valid model_id, dim and "
                         "dtype '<f4'")
    return header


def _person(rec: Any, seen: set[str], dim: int) -> PersonRecord:
    if not isinstance(rec, dict):
        raise PersonError("expected one person (a JSON object)")
    name = normalise_name(rec.get("name"))
    if name in seen:
        raise PersonError(f"{name!r} appears twice")
    seen.add(name)
    attrs = check_attrs(rec.get("attrs") or {})
    created = rec.get("created")
    entries = rec.get("embeddings")
    if not isinstance(created, str) or not isinstance(entries, list) or not entries:
        raise PersonError(f"{name!r} has no 'created' or no embeddings")
    return name, attrs, created, [_export_row(e, dim) for e in entries]


def _export_row(entry: Any, dim: int) -> Row:
    if not isinstance(entry, dict):
        raise PersonError("an embedding must be a JSON object")
    try:
        raw = base64.b64decode(str(entry.get("vector", "")), validate=True)
    except ValueError:
        raise PersonError("an embedding vector is not base64") from None
    if len(raw) != dim * VECTOR_DTYPE.itemsize:
        raise PersonError(f"an embedding vector has {len(raw)} bytes, expected {dim} float32")
    unit = unit_rows(np.frombuffer(raw, VECTOR_DTYPE)[None, :], "an embedding vector")
    created = entry.get("created")
    if not isinstance(created, str):
        raise PersonError("an embedding has no 'created' time")
    return Row(
        unit[0].astype(VECTOR_DTYPE).tobytes(),
        check_quality(entry.get("quality", 1.0)),
        file_name(entry.get("source")),
        check_hash(entry.get("content_hash")),
        created,
    )


def export_people(conn: sa.Connection, decode: Callable[[bytes], bytes] = bytes
                  ) -> list[dict[str, Any]]:
    """Every person with their embeddings, as export lines (one query per table; ``decode``:
    a stored vector -> its float32 bytes)."""
    vectors: dict[int, list[dict[str, Any]]] = {}
    for pid, vec, quality, source, content_hash, created in conn.execute(
            sa.select(embeddings.c.person_id, embeddings.c.vector, embeddings.c.quality,
                      embeddings.c.source, embeddings.c.content_hash, embeddings.c.created)
            .order_by(embeddings.c.id)):
        vectors.setdefault(int(pid), []).append({
            "vector": base64.b64encode(decode(bytes(vec))).decode("ascii"), "quality": quality,
            "source": source, "content_hash": content_hash, "created": created})
    return [
        {"name": name, "attrs": json.loads(attrs), "created": created,
         "embeddings": vectors.get(int(pid), [])}
        for pid, name, attrs, created in conn.execute(
            sa.select(people.c.id, people.c.name, people.c.attrs, people.c.created)
            .order_by(people.c.id))
    ]


def export_header(meta: Mapping[str, str], lines: Sequence[Mapping[str, Any]], now: str
                  ) -> dict[str, Any]:
    return {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "model_id": meta.get("model_id"),
        "dim": None if meta.get("dim") is None else int(meta["dim"]),
        "dtype": VECTOR_DTYPE.str,
        "people": len(lines),
        "embeddings": sum(len(p["embeddings"]) for p in lines),
        "exported": now,
    }
