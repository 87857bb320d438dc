"""What the face database tells about its people and its operations."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Person:
    id: int
    name: str
    attrs: Mapping[str, Any]
    created: str  # ISO 8601, UTC
    embeddings: int


@dataclass(frozen=True)
class EmbeddingInfo:
    """One stored embedding, without its vector."""

    id: int
    quality: float
    source: str | None  # file name the face came from (never a full path)
    content_hash: str | None  # sha256 of that file's bytes
    created: str


@dataclass(frozen=True)
class Enrolment:
    person_id: int
    name: str
    new_person: bool
    added: int
    skipped: int  # exact duplicates (same content hash, or the same vector) already stored
    embeddings: int  # the person's embeddings after this enrolment


@dataclass(frozen=True)
class Removal:
    person_id: int
    name: str
    embeddings: int
    purged: bool  # False: another connection kept the WAL from being truncated (see remove)


@dataclass(frozen=True)
class Transfer:
    """What ``export`` wrote or ``import_`` added."""

    people: int
    new_people: int
    embeddings: int
    skipped: int


@dataclass(frozen=True)
class Stats:
    path: str
    people: int
    embeddings: int
    model_id: str | None
    dim: int | None
    schema_version: int
    file_bytes: int  # the database file plus its WAL (0 for PostgreSQL)
