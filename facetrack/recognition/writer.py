"""Writing people and embeddings inside one transaction of the face database, and the small
queries every part of it shares."""

from __future__ import annotations

import difflib
import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from facetrack.errors import PersonError, UnknownPersonError
from facetrack.privacy.keys import Codec, TemplateKey, check_key
from facetrack.recognition.backup import Row
from facetrack.recognition.names import dump_attrs, warn_lookalike
from facetrack.recognition.records import Enrolment, Person, Transfer
from facetrack.recognition.schema import embeddings, meta, people
from facetrack.storage.sql import Database


def scalar(conn: sa.Connection, query: Any) -> int:
    return int(conn.execute(query).scalar() or 0)


def meta_of(conn: sa.Connection) -> dict[str, str]:
    return {str(k): str(v) for k, v in conn.execute(sa.select(meta.c.key, meta.c.value))}


def vector_key(vector: bytes) -> str:
    return hashlib.sha256(vector).hexdigest()


class GalleryWriter:
    """Writes people and embeddings inside one write transaction, finding duplicates with one
    query per batch (never one per row, nor a scan per row: an import of 200k rows must not
    hold the write lock for minutes)."""

    def __init__(self, conn: sa.Connection, where: str, codec: Codec | None = None) -> None:
        self.conn, self.where = conn, where
        self.codec = codec if codec is not None else Codec(None, where)
        self._names: list[str] | None = None

    def enroll(self, name: str, rows: Sequence[Row], attrs: Mapping[str, Any], created: str
               ) -> Enrolment:
        conn = self.conn
        found = conn.execute(sa.select(people.c.id, people.c.attrs)
                             .where(people.c.name == name)).first()
        if found is None:
            if self._names is None:
                self._names = [r[0] for r in conn.execute(sa.select(people.c.name))]
            warn_lookalike(name, self._names)
            self._names.append(name)
            key = conn.execute(sa.insert(people).values(
                name=name, attrs=dump_attrs(attrs), created=created)).inserted_primary_key
            assert key is not None
            person_id = int(key[0])
        else:
            person_id = int(found[0])
            if attrs:
                merged = {**json.loads(found[1]), **attrs}
                conn.execute(sa.update(people).where(people.c.id == person_id)
                             .values(attrs=dump_attrs(merged)))
        fresh = self._fresh(person_id, name, rows)
        if fresh:
            conn.execute(sa.insert(embeddings), [
                {"person_id": person_id, "vector": self.codec.encode(r.vector),
                 "quality": r.quality,
                 "source": r.source, "content_hash": r.content_hash, "created": r.created}
                for r in fresh])
        total = scalar(conn, sa.select(sa.func.count()).select_from(embeddings)
                        .where(embeddings.c.person_id == person_id))
        return Enrolment(person_id, name, found is None, len(fresh), len(rows) - len(fresh),
                         total)

    def enroll_all(self, people_rows: Sequence[tuple[str, dict[str, Any], str, list[Row]]]
                   ) -> Transfer:
        """Every person of an export (``import``): new ones created, others extended."""
        new_people = added = skipped = 0
        for name, attrs, created, rows in people_rows:
            result = self.enroll(name, rows, attrs, created)
            new_people += result.new_person
            added += result.added
            skipped += result.skipped
        return Transfer(len(people_rows), new_people, added, skipped)

    def _fresh(self, person_id: int, name: str, rows: Sequence[Row]) -> list[Row]:
        """The rows not stored yet; a content hash stored for another person is refused."""
        hashes = [r.content_hash for r in rows if r.content_hash is not None]
        owners: dict[str, tuple[int, str]] = {}
        for i in range(0, len(hashes), 500):
            for h, pid, owner in self.conn.execute(
                    sa.select(embeddings.c.content_hash, embeddings.c.person_id, people.c.name)
                    .join(people, people.c.id == embeddings.c.person_id)
                    .where(embeddings.c.content_hash.in_(hashes[i:i + 500]))):
                owners[str(h)] = (int(pid), str(owner))
        # without a hash, the same vector already stored for this person is the duplicate
        plain = {vector_key(self.codec.decode(bytes(v))) for (v,) in self.conn.execute(
            sa.select(embeddings.c.vector).where(embeddings.c.person_id == person_id))
        } if any(r.content_hash is None for r in rows) else set()
        fresh, seen = [], set()
        for row in rows:
            key = row.content_hash or vector_key(row.vector)
            owner = owners.get(row.content_hash) if row.content_hash is not None else None
            if owner is not None and owner[0] != person_id:
                what = row.source or f"content {row.content_hash[:12]}"  # type: ignore[index]
                raise PersonError(f"{what} is already enrolled as {owner[1]!r}; one image "
                                  f"cannot be two people (nothing was enrolled for {name!r})")
            if owner is not None or key in seen or (row.content_hash is None and key in plain):
                continue
            seen.add(key)
            fresh.append(row)
        return fresh


def unknown_person(conn: sa.Connection, name: str, where: str) -> UnknownPersonError:
    """The error for a name nobody has, with close names as hints."""
    names = [str(r[0]) for r in conn.execute(sa.select(people.c.name))]
    folded = {n.casefold(): n for n in names}
    close = difflib.get_close_matches(str(name).casefold(), list(folded), n=3, cutoff=0.6)
    if close:
        hint = "did you mean " + ", ".join(repr(folded[c]) for c in close) + "?"
    elif names:
        hint = f"{len(names)} people enrolled (`facetrack db list`)"
    else:
        hint = "the database has no people yet"
    return UnknownPersonError(f"{where}: no person named {name!r}; {hint}")


def people_query() -> sa.Select[Any]:
    return (sa.select(people.c.id, people.c.name, people.c.attrs, people.c.created,
                      sa.func.count(embeddings.c.id))
            .select_from(people.outerjoin(embeddings, embeddings.c.person_id == people.c.id))
            .group_by(people.c.id))


def person_of(row: Sequence[Any]) -> Person:
    return Person(int(row[0]), str(row[1]), json.loads(row[2]), str(row[3]), int(row[4]))


def set_meta(conn: sa.Connection, **values: str) -> None:
    for key, value in values.items():
        if conn.execute(sa.update(meta).where(meta.c.key == key).values(value=value)).rowcount:
            continue
        conn.execute(sa.insert(meta).values(key=key, value=value))


def key_to_record(conn: sa.Connection, key: TemplateKey | None, where: str) -> str | None:
    """The key id a database opened with ``key`` must record (``privacy.keys.check_key``)."""
    has = scalar(conn, sa.select(sa.func.count()).select_from(embeddings)) > 0
    return check_key(meta_of(conn).get("key_id"), key, has, where)


def reencrypt(conn: sa.Connection, old: Codec, new: Codec, key_id: str | None) -> int:
    """Every stored vector from ``old``'s form to ``new``'s, and the key id recorded (None:
    unencrypted); how many vectors."""
    rows = conn.execute(sa.select(embeddings.c.id, embeddings.c.vector)).all()
    for row_id, stored in rows:
        conn.execute(sa.update(embeddings).where(embeddings.c.id == row_id).values(
            vector=new.encode(old.decode(bytes(stored)))))
    if key_id is None:
        conn.execute(sa.delete(meta).where(meta.c.key == "key_id"))
    else:
        set_meta(conn, key_id=key_id)
    return len(rows)


def bump_revision(conn: sa.Connection) -> None:
    """Every write moves the revision on: caches in other processes (and on other machines,
    with PostgreSQL) see that the gallery changed."""
    current = conn.execute(sa.select(meta.c.value).where(meta.c.key == "revision")).scalar()
    set_meta(conn, revision=str(int(current or 0) + 1))


def data_version(conn: sa.Connection, db: Database) -> int:
    """SQLite's count of commits by other connections (files written by an older facetrack
    do not move the revision); 0 for PostgreSQL."""
    return int(conn.exec_driver_sql("PRAGMA data_version").scalar() or 0) if db.is_sqlite else 0
