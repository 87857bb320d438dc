"""The face database (gallery): enrolled people and their embeddings in one SQLite file.

Used only when recognition is enabled; with it off facetrack computes no embedding and nothing
biometric is stored. One file, WAL mode: a running tracker keeps reading while ``facetrack db``
writes, and a backup is one file (plus ``export`` for a portable copy).

What the file guarantees:

- It records which embedding model made its vectors (``model_id``, ``dim``) and refuses vectors
  of any other model (``ModelMismatchError``): two models' vectors are not comparable, and a
  mixed gallery would match silently wrong. A database with no embeddings adopts the model of
  the first vectors it is given.
- It is marked as facetrack's (SQLite ``application_id``) and versioned (``user_version``); a
  file from a newer facetrack is refused rather than half-understood.
- Removing a person deletes every row of theirs with ``secure_delete`` on (freed bytes are
  overwritten with zeros), then rewrites the file (VACUUM) and truncates the WAL, so none of
  their bytes remain in the database files. Copies made elsewhere (exports, disk backups) are
  the owner's to delete.
- New files are created readable by their owner only (0600).

Vectors are stored as little-endian float32 and unit length, so cosine similarity is a dot
product; search is exact (numpy), the best similarity over each person's embeddings.
"""

from __future__ import annotations

import base64
import contextlib
import difflib
import json
import logging
import math
import os
import re
import sqlite3
import tempfile
import threading
import unicodedata
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from facetrack._closing import Closing
from facetrack.errors import (
    DatabaseError,
    DatabaseLockedError,
    InputError,
    ModelMismatchError,
    OutputError,
    PersonError,
    UnknownPersonError,
)

log = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]

#: version of the tables below, kept in SQLite's ``user_version``; bump it with a migration
SCHEMA_VERSION = 1
#: "FTDB" in the SQLite header marks a facetrack face database
APPLICATION_ID = 0x46544442
EXPORT_FORMAT = "facetrack-face-database"
EXPORT_VERSION = 1
MAX_NAME_LENGTH = 200
_VECTOR_DTYPE = np.dtype("<f4")

_SCHEMA = (
    """CREATE TABLE people (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL UNIQUE,
        attrs TEXT NOT NULL DEFAULT '{}',
        created TEXT NOT NULL
    )""",
    # AUTOINCREMENT: a removed person's id is never given to someone else, so ids written into
    # results and events before a removal never point at a different person afterwards
    """CREATE TABLE embeddings (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        person_id INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
        vector BLOB NOT NULL,
        quality REAL NOT NULL CHECK (quality >= 0 AND quality <= 1),
        source TEXT,
        content_hash TEXT UNIQUE,
        created TEXT NOT NULL
    )""",
    "CREATE INDEX embeddings_person ON embeddings(person_id)",
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
)


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
    file_bytes: int  # the database file plus its WAL


@dataclass(frozen=True)
class Match:
    person_id: int
    name: str
    similarity: float  # cosine, -1..1


class _Row(NamedTuple):
    vector: bytes
    quality: float
    source: str | None
    content_hash: str | None
    created: str


@dataclass(frozen=True)
class _Gallery:
    ids: IntArray
    person_ids: IntArray
    vectors: FloatArray
    starts: npt.NDArray[np.intp]  # first row of each person (rows are sorted by person)
    people: IntArray  # the person id of each group
    names: Mapping[int, str]


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


class FaceDatabase(Closing):
    """People and their embeddings in one SQLite file; a context manager.

    ``create=False`` refuses a missing file instead of creating an empty database (what the
    read-only ``facetrack db`` commands want). ``timeout`` is how long a write waits for another
    process's lock before ``DatabaseLockedError``; ``clock`` stamps ``created`` (UTC).
    """

    def __init__(
        self,
        path: str | Path,
        *,
        create: bool = True,
        timeout: float = 5.0,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.path = Path(path)
        self._create = create
        self._timeout = timeout
        self._clock = clock
        self._conn: sqlite3.Connection | None = None
        self._cache: tuple[tuple[int, int], _Gallery] | None = None
        # one connection shared by the threads of a pipeline (FaceRecognizer.predict_batch
        # searches from a worker thread): every use of it holds this lock
        self._lock = threading.RLock()

    # -- lifecycle -------------------------------------------------------------------------

    def __enter__(self) -> FaceDatabase:
        """Open the file (``Closing.__exit__`` closes it)."""
        self.open()
        return self

    def __repr__(self) -> str:
        return f"FaceDatabase({os.fspath(self.path)!r})"

    def open(self) -> None:
        if self._conn is not None:
            return
        path = self.path
        if path.is_dir():
            raise DatabaseError(f"{path}: is a folder, not a face database file")
        if not path.exists():
            if not self._create:
                raise DatabaseError(
                    f"{path}: no face database here (`facetrack db enroll` creates one)"
                )
            _create_private_file(path)
        try:
            conn = sqlite3.connect(
                os.fspath(path), timeout=self._timeout, isolation_level=None,
                check_same_thread=False,
            )
        except sqlite3.Error as exc:
            raise self._translate(exc) from None
        try:
            with self._errors():
                self._prepare(conn)
        except BaseException:
            conn.close()
            raise
        self._conn = conn

    def close(self) -> None:
        """Close the file; the last connection to close checkpoints and deletes the WAL."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
                self._cache = None

    def _prepare(self, conn: sqlite3.Connection) -> None:
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA secure_delete = ON")
        # the first read of the file: fails here on a file that is not SQLite
        app_id = _scalar(conn, "PRAGMA application_id")
        version = _scalar(conn, "PRAGMA user_version")
        if app_id != APPLICATION_ID:
            if app_id != 0 or _scalar(conn, "SELECT count(*) FROM sqlite_master") > 0:
                raise DatabaseError(
                    f"{self.path}: an SQLite file, but not a facetrack face database"
                )
            self._set_wal(conn)
            self._initialise(conn)
            return
        if version > SCHEMA_VERSION:
            raise DatabaseError(
                f"{self.path}: face database schema version {version} is newer than this "
                f"facetrack supports ({SCHEMA_VERSION}); upgrade facetrack to use it"
            )
        if version < 1:
            raise DatabaseError(f"{self.path}: face database has no schema (corrupt file?)")
        # version < SCHEMA_VERSION: migrations go here when the schema changes
        self._set_wal(conn)

    @staticmethod
    def _set_wal(conn: sqlite3.Connection) -> None:
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
        if str(mode).lower() != "wal":
            conn.execute("PRAGMA journal_mode = WAL")

    def _initialise(self, conn: sqlite3.Connection) -> None:
        conn.execute("BEGIN IMMEDIATE")
        try:
            # another process may have initialised the file while this one waited for the lock
            if _scalar(conn, "PRAGMA application_id") != APPLICATION_ID:
                for statement in _SCHEMA:
                    conn.execute(statement)
                # pragmas take no parameters; both values are int constants of this module
                conn.execute(f"PRAGMA application_id = {int(APPLICATION_ID)}")
                conn.execute(f"PRAGMA user_version = {int(SCHEMA_VERSION)}")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise DatabaseError(
                f"{self.path}: face database is not open (use `with FaceDatabase(path) as db`)"
            )
        return self._conn

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            raise self._translate(exc) from None

    def _translate(self, exc: sqlite3.Error) -> DatabaseError:
        code = getattr(exc, "sqlite_errorcode", None)
        primary = code & 0xFF if isinstance(code, int) else None
        msg = str(exc)
        where = self.path
        if primary in (5, 6) or "locked" in msg or "busy" in msg:
            return DatabaseLockedError(
                f"{where}: face database is locked by another process (a running facetrack or "
                f"another `facetrack db` command; waited {self._timeout:g} s); try again when "
                "it has finished"
            )
        if primary in (11, 26) or "not a database" in msg or "malformed" in msg:
            return DatabaseError(
                f"{where}: not a readable face database (corrupt, or not an SQLite file): {msg}"
            )
        if primary == 8 or "readonly" in msg:
            return DatabaseError(f"{where}: cannot write the face database (read-only): {msg}")
        if primary == 13 or "full" in msg:
            return DatabaseError(f"{where}: disk full while writing the face database")
        if primary == 14 or "unable to open" in msg:
            return DatabaseError(f"{where}: cannot open the face database file: {msg}")
        return DatabaseError(f"{where}: face database error: {msg}")

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; the lock is taken up front (BEGIN IMMEDIATE), so a locked
        database fails before any work, and any error rolls everything back."""
        with self._lock, self._errors():
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """One read transaction: every query inside sees the same snapshot."""
        with self._lock, self._errors():
            conn = self._connection()
            conn.execute("BEGIN")
            try:
                yield conn
            finally:
                if conn.in_transaction:
                    conn.execute("COMMIT")

    def _now(self) -> str:
        return self._clock().astimezone(timezone.utc).isoformat(timespec="seconds")

    # -- model -----------------------------------------------------------------------------

    @property
    def model_id(self) -> str | None:
        """The embedding model of the stored vectors (None for a new database)."""
        with self._read() as conn:
            return _meta(conn).get("model_id")

    @property
    def dim(self) -> int | None:
        with self._read() as conn:
            value = _meta(conn).get("dim")
        return None if value is None else int(value)

    def check_model(self, model_id: str, dim: int) -> None:
        """Raise ``ModelMismatchError`` unless vectors of ``model_id`` may be added to or
        matched against this database."""
        with self._read() as conn:
            self._check_model(conn, model_id, dim)

    def _check_model(self, conn: sqlite3.Connection, model_id: str, dim: int) -> bool:
        """True when the database already holds vectors (of this model)."""
        meta = _meta(conn)
        if _scalar(conn, "SELECT count(*) FROM embeddings") == 0:
            return False
        stored = meta.get("model_id")
        stored_dim = int(meta.get("dim", "0"))
        if stored != model_id:
            raise ModelMismatchError(
                f"{self.path}: the database holds embeddings of model {stored!r}, these vectors "
                f"come from {model_id!r}; vectors of two models cannot be compared (use the "
                "same model, or another database file)"
            )
        if stored_dim != dim:
            raise ModelMismatchError(
                f"{self.path}: model {model_id!r} vectors are {stored_dim}-d in this database, "
                f"got {dim}-d"
            )
        return True

    def _bind_model(self, conn: sqlite3.Connection, model_id: str, dim: int) -> None:
        if not isinstance(model_id, str) or not model_id:
            raise PersonError(f"model_id must be a non-empty string, got {model_id!r}")
        if not self._check_model(conn, model_id, dim):
            conn.executemany(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [("model_id", model_id), ("dim", str(int(dim)))],
            )

    # -- people ----------------------------------------------------------------------------

    def enroll(
        self,
        name: str,
        vectors: npt.ArrayLike,
        model_id: str,
        qualities: Sequence[float] | None = None,
        sources: Sequence[str | None] | None = None,
        content_hashes: Sequence[str | None] | None = None,
        attrs: Mapping[str, Any] | None = None,
    ) -> Enrolment:
        """Add ``vectors (k, dim)`` to ``name``, creating the person or extending them, in one
        transaction. Exact duplicates are skipped: a content hash already stored for this
        person, or (without a hash) the same vector. A content hash stored for another person
        is refused: one image cannot show two people. ``attrs`` are merged into the person's
        (new keys win). ``sources`` keep only the file name, never a path."""
        name = normalise_name(name)
        attrs_dict = _check_attrs(attrs)
        matrix = _unit_rows(vectors, "vectors")
        k, dim = matrix.shape
        now = self._now()
        rows = [
            _Row(vec.astype(_VECTOR_DTYPE).tobytes(), q, s, h, now)
            for vec, q, s, h in zip(
                matrix,
                _column(qualities, k, "qualities", _check_quality, 1.0),
                _column(sources, k, "sources", _file_name, None),
                _column(content_hashes, k, "content_hashes", _check_hash, None),
                strict=True,
            )
        ]
        with self._write() as conn:
            self._bind_model(conn, model_id, dim)
            return self._enroll_rows(conn, name, rows, attrs_dict, now)

    def _enroll_rows(
        self, conn: sqlite3.Connection, name: str, rows: Sequence[_Row],
        attrs: Mapping[str, Any], created: str,
    ) -> Enrolment:
        found = conn.execute("SELECT id, attrs FROM people WHERE name = ?", (name,)).fetchone()
        if found is None:
            person_id = int(conn.execute(
                "INSERT INTO people (name, attrs, created) VALUES (?, ?, ?)",
                (name, _dump_attrs(attrs), created),
            ).lastrowid or 0)
        else:
            person_id = int(found[0])
            if attrs:
                merged = {**json.loads(found[1]), **attrs}
                conn.execute(
                    "UPDATE people SET attrs = ? WHERE id = ?", (_dump_attrs(merged), person_id)
                )
        added = skipped = 0
        for row in rows:
            if row.content_hash is not None:
                owner = conn.execute(
                    "SELECT e.person_id, p.name FROM embeddings AS e "
                    "JOIN people AS p ON p.id = e.person_id WHERE e.content_hash = ?",
                    (row.content_hash,),
                ).fetchone()
                if owner is not None and int(owner[0]) != person_id:
                    what = row.source or f"content {row.content_hash[:12]}"
                    raise PersonError(
                        f"{what} is already enrolled as {owner[1]!r}; one image cannot be two "
                        f"people (nothing was enrolled for {name!r})"
                    )
                duplicate = owner is not None
            else:
                duplicate = conn.execute(
                    "SELECT 1 FROM embeddings WHERE person_id = ? AND vector = ?",
                    (person_id, row.vector),
                ).fetchone() is not None
            if duplicate:
                skipped += 1
                continue
            conn.execute(
                "INSERT INTO embeddings (person_id, vector, quality, source, content_hash, "
                "created) VALUES (?, ?, ?, ?, ?, ?)",
                (person_id, row.vector, row.quality, row.source, row.content_hash, row.created),
            )
            added += 1
        total = _scalar(conn, "SELECT count(*) FROM embeddings WHERE person_id = ?", person_id)
        return Enrolment(person_id, name, found is None, added, skipped, total)

    def people(self) -> list[Person]:
        """Every enrolled person, by name."""
        with self._read() as conn:
            rows = conn.execute(
                "SELECT p.id, p.name, p.attrs, p.created, count(e.id) FROM people AS p "
                "LEFT JOIN embeddings AS e ON e.person_id = p.id GROUP BY p.id ORDER BY p.name"
            ).fetchall()
        return [_person(row) for row in rows]

    def person(self, name: str) -> Person:
        """The person called ``name``; ``UnknownPersonError`` (with close names) if none."""
        with self._read() as conn:
            return self._person(conn, name)

    def _person(self, conn: sqlite3.Connection, name: str) -> Person:
        key = unicodedata.normalize("NFC", name) if isinstance(name, str) else name
        row = conn.execute(
            "SELECT p.id, p.name, p.attrs, p.created, count(e.id) FROM people AS p "
            "LEFT JOIN embeddings AS e ON e.person_id = p.id WHERE p.name = ? GROUP BY p.id",
            (key,),
        ).fetchone()
        if row is None:
            raise self._unknown(conn, name)
        return _person(row)

    def _unknown(self, conn: sqlite3.Connection, name: str) -> UnknownPersonError:
        names = [str(r[0]) for r in conn.execute("SELECT name FROM people")]
        folded = {n.casefold(): n for n in names}
        close = difflib.get_close_matches(str(name).casefold(), list(folded), n=3, cutoff=0.6)
        if close:
            hint = "did you mean " + ", ".join(repr(folded[c]) for c in close) + "?"
        elif names:
            hint = f"{len(names)} people enrolled (`facetrack db list`)"
        else:
            hint = "the database has no people yet"
        return UnknownPersonError(f"{self.path}: no person named {name!r}; {hint}")

    def embeddings(self, name: str) -> list[EmbeddingInfo]:
        """The person's stored embeddings (metadata only), oldest first."""
        with self._read() as conn:
            person = self._person(conn, name)
            rows = conn.execute(
                "SELECT id, quality, source, content_hash, created FROM embeddings "
                "WHERE person_id = ? ORDER BY id",
                (person.id,),
            ).fetchall()
        return [EmbeddingInfo(int(r[0]), float(r[1]), r[2], r[3], str(r[4])) for r in rows]

    def rename(self, old: str, new: str) -> Person:
        new = normalise_name(new)
        with self._write() as conn:
            person = self._person(conn, old)
            if new != person.name:
                if conn.execute("SELECT 1 FROM people WHERE name = ?", (new,)).fetchone():
                    raise PersonError(
                        f"{self.path}: {new!r} is already enrolled; remove or rename that "
                        "person first"
                    )
                conn.execute("UPDATE people SET name = ? WHERE id = ?", (new, person.id))
            return self._person(conn, new)

    def remove(self, name: str) -> Removal:
        """Delete the person and every embedding of theirs, leaving none of their bytes in the
        database files.

        The rows go in one transaction with ``secure_delete`` on (freed space is zeroed), then
        VACUUM rewrites the file and a TRUNCATE checkpoint empties the WAL, which still holds
        the pages written at enrolment. While another connection reads, the WAL cannot be
        emptied: ``purged`` is then False and the next checkpoint (at the latest when the last
        connection closes) finishes the job.
        """
        with self._write() as conn:
            person = self._person(conn, name)
            removed = conn.execute(
                "DELETE FROM embeddings WHERE person_id = ?", (person.id,)
            ).rowcount
            conn.execute("DELETE FROM people WHERE id = ?", (person.id,))
            left = _scalar(conn, "SELECT count(*) FROM embeddings WHERE person_id = ?", person.id)
            if left or conn.execute("SELECT 1 FROM people WHERE id = ?", (person.id,)).fetchone():
                raise DatabaseError(f"{self.path}: could not remove {person.name!r} (rolled back)")
        purged = self._purge()
        if not purged:
            log.warning(
                "%s: %r removed, but another connection keeps the WAL from being emptied; "
                "their bytes leave the WAL file at the next checkpoint", self.path, person.name,
            )
        return Removal(person.id, person.name, removed, purged)

    def _purge(self) -> bool:
        try:
            with self._lock, self._errors():
                conn = self._connection()
                conn.execute("VACUUM")
                busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        except DatabaseLockedError:
            return False
        return int(busy) == 0

    # -- whole database --------------------------------------------------------------------

    def stats(self) -> Stats:
        with self._read() as conn:
            meta = _meta(conn)
            people = _scalar(conn, "SELECT count(*) FROM people")
            embeddings = _scalar(conn, "SELECT count(*) FROM embeddings")
            version = _scalar(conn, "PRAGMA user_version")
        size = sum(
            p.stat().st_size for p in (self.path, self.path.with_name(self.path.name + "-wal"))
            if p.exists()
        )
        dim = meta.get("dim")
        return Stats(
            os.fspath(self.path), people, embeddings, meta.get("model_id"),
            None if dim is None else int(dim), version, size,
        )

    def matrix(self) -> tuple[IntArray, IntArray, FloatArray]:
        """``ids (m,)``, ``person_ids (m,)``, ``vectors (m, dim)`` (unit rows), grouped by
        person. Cached until this or another connection changes the database."""
        g = self._gallery()
        return g.ids.copy(), g.person_ids.copy(), g.vectors.copy()

    def _gallery(self) -> _Gallery:
        with self._lock:
            return self._load_gallery()

    def _load_gallery(self) -> _Gallery:
        conn = self._connection()
        with self._errors():
            key = (_scalar(conn, "PRAGMA data_version"), conn.total_changes)
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1]
        with self._read() as conn:
            dim = int(_meta(conn).get("dim", "0"))
            rows = conn.execute(
                "SELECT id, person_id, vector FROM embeddings ORDER BY person_id, id"
            ).fetchall()
            names = {int(r[0]): str(r[1]) for r in conn.execute("SELECT id, name FROM people")}
        m = len(rows)
        if m and any(len(r[2]) != dim * _VECTOR_DTYPE.itemsize for r in rows):
            raise DatabaseError(f"{self.path}: stored vectors do not match dim {dim} (corrupt?)")
        ids = np.array([r[0] for r in rows], np.int64)
        person_ids = np.array([r[1] for r in rows], np.int64)
        vectors = np.frombuffer(b"".join(r[2] for r in rows), _VECTOR_DTYPE)
        vectors = vectors.astype(np.float32).reshape(m, dim)
        starts = np.flatnonzero(np.r_[True, person_ids[1:] != person_ids[:-1]]) if m else (
            np.zeros(0, np.intp)
        )
        gallery = _Gallery(ids, person_ids, vectors, starts, person_ids[starts], names)
        self._cache = (key, gallery)
        return gallery

    def search(self, vectors: npt.ArrayLike, model_id: str, k: int = 1) -> list[list[Match]]:
        """For each query vector ``(q, dim)``, the ``k`` most similar people, best first: a
        person's similarity is the best cosine over their embeddings (exact search). Fewer than
        ``k`` when fewer people are enrolled; none for an empty database. Deciding whether the
        best is similar enough is the caller's (``recognition.threshold``)."""
        if k < 1:
            raise ValueError(f"k must be at least 1, got {k}")
        queries = _unit_rows(vectors, "query vectors", allow_empty=True)
        self.check_model(model_id, queries.shape[1])
        g = self._gallery()
        if len(g.ids) == 0 or len(queries) == 0:
            return [[] for _ in range(len(queries))]
        per_person = np.maximum.reduceat(queries @ g.vectors.T, g.starts, axis=1)
        top = np.argsort(-per_person, axis=1, kind="stable")[:, :k]
        return [
            [
                Match(int(g.people[j]), g.names[int(g.people[j])], float(per_person[i, j]))
                for j in row
            ]
            for i, row in enumerate(top)
        ]

    # -- portable copies -------------------------------------------------------------------

    def export(self, path: str | Path, *, overwrite: bool = False) -> Transfer:
        """Write every person and embedding to a portable JSON-lines file: a header line
        (format, version, model_id, dim, counts), then one line per person with base64
        little-endian float32 vectors. The file holds biometric data: it is created 0600 and
        written atomically (a temporary file renamed into place)."""
        out = Path(path)
        if out.exists() and not overwrite:
            raise OutputError(f"{out}: already exists (choose another name, or overwrite it)")
        with self._read() as conn:
            meta = _meta(conn)
            people = conn.execute(
                "SELECT id, name, attrs, created FROM people ORDER BY id"
            ).fetchall()
            lines = []
            total = 0
            for pid, name, attrs, created in people:
                embeddings = [
                    {
                        "vector": base64.b64encode(vec).decode("ascii"),
                        "quality": quality,
                        "source": source,
                        "content_hash": content_hash,
                        "created": ecreated,
                    }
                    for vec, quality, source, content_hash, ecreated in conn.execute(
                        "SELECT vector, quality, source, content_hash, created FROM embeddings "
                        "WHERE person_id = ? ORDER BY id",
                        (pid,),
                    )
                ]
                total += len(embeddings)
                lines.append({
                    "name": name, "attrs": json.loads(attrs), "created": created,
                    "embeddings": embeddings,
                })
        header = {
            "format": EXPORT_FORMAT,
            "version": EXPORT_VERSION,
            "model_id": meta.get("model_id"),
            "dim": None if meta.get("dim") is None else int(meta["dim"]),
            "dtype": _VECTOR_DTYPE.str,
            "people": len(lines),
            "embeddings": total,
            "exported": self._now(),
        }
        _write_atomic(out, [header, *lines])
        return Transfer(len(lines), 0, total, 0)

    def import_(self, path: str | Path) -> Transfer:
        """Add everyone in an ``export`` file, in one transaction: new people are created,
        existing ones extended, duplicates skipped. The whole file is checked first; a file
        from another embedding model is refused."""
        backup = _read_export(Path(path))
        new_people = added = skipped = 0
        with self._write() as conn:
            if backup.model_id is not None and backup.dim is not None:
                self._bind_model(conn, backup.model_id, backup.dim)
            for name, attrs, created, rows in backup.people:
                result = self._enroll_rows(conn, name, rows, attrs, created)
                new_people += result.new_person
                added += result.added
                skipped += result.skipped
        return Transfer(len(backup.people), new_people, added, skipped)


# -- validation helpers -----------------------------------------------------------------------


def normalise_name(name: object) -> str:
    """A person's name as stored: NFC unicode, no control characters or outer spaces, at most
    ``MAX_NAME_LENGTH`` characters. Quotes and SQL metacharacters are ordinary characters."""
    if not isinstance(name, str):
        raise PersonError(f"a name must be text, got {type(name).__name__}")
    norm = unicodedata.normalize("NFC", name)
    if not norm.strip():
        raise PersonError("a name must not be empty")
    if norm != norm.strip():
        raise PersonError(f"name {name!r} has leading or trailing spaces")
    if any(unicodedata.category(c) == "Cc" for c in norm):
        raise PersonError(f"name {name!r} contains control characters")
    if len(norm) > MAX_NAME_LENGTH:
        raise PersonError(f"name is longer than {MAX_NAME_LENGTH} characters")
    return norm


def _check_attrs(attrs: Mapping[str, Any] | None) -> dict[str, Any]:
    if attrs is None:
        return {}
    if not isinstance(attrs, Mapping):
        raise PersonError(f"attrs must be a mapping, got {type(attrs).__name__}")
    for key in attrs:
        if not isinstance(key, str) or not key:
            raise PersonError(f"attribute names must be non-empty text, got {key!r}")
    try:
        json.dumps(dict(attrs), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise PersonError(f"attrs must be JSON values: {exc}") from None
    return dict(attrs)


def _dump_attrs(attrs: Mapping[str, Any]) -> str:
    return json.dumps(dict(attrs), ensure_ascii=False, sort_keys=True, allow_nan=False)


def _unit_rows(vectors: npt.ArrayLike, what: str, allow_empty: bool = False) -> FloatArray:
    try:
        arr = np.asarray(vectors, np.float32)
    except (TypeError, ValueError):
        raise PersonError(f"{what} must be a numeric (k, dim) array") from None
    if arr.ndim != 2 or arr.shape[1] == 0 or (len(arr) == 0 and not allow_empty):
        raise PersonError(f"{what} must have shape (k, dim) with k, dim >= 1, got {arr.shape}")
    if not np.isfinite(arr).all():
        raise PersonError(f"{what} contain NaN or infinite values")
    norms = np.linalg.norm(arr.astype(np.float64), axis=1, keepdims=True)
    if (norms == 0).any():
        raise PersonError(f"{what} contain an all-zero vector")
    # rows already unit length (an embedder's output, an export) are kept bit for bit, so
    # duplicates are recognised and an export/import round trip is exact
    off = np.abs(norms[:, 0] - 1.0) > 1e-5
    arr = np.array(arr, np.float32, order="C")
    arr[off] = (arr[off] / norms[off]).astype(np.float32)
    return arr


def _column(values: Sequence[Any] | None, k: int, what: str,
            check: Callable[[Any], Any], default: Any) -> list[Any]:
    if values is None:
        return [default] * k
    values = list(values)
    if len(values) != k:
        raise PersonError(f"{what} has {len(values)} entries for {k} vectors")
    return [check(v) for v in values]


def _check_quality(value: Any) -> float:
    try:
        q = float(value)
    except (TypeError, ValueError):
        raise PersonError(f"quality must be a number in [0, 1], got {value!r}") from None
    if not (math.isfinite(q) and 0.0 <= q <= 1.0):
        raise PersonError(f"quality must be a number in [0, 1], got {value!r}")
    return q


def _file_name(value: Any) -> str | None:
    """Only the file name of a source: a database never records where files were kept."""
    if value is None:
        return None
    name = re.split(r"[\\/]", str(value))[-1][:255]
    return name or None


def _check_hash(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value or len(value) > 128:
        raise PersonError(f"content hash must be non-empty text, got {value!r}")
    return value


def _scalar(conn: sqlite3.Connection, sql: str, *params: Any) -> int:
    return int(conn.execute(sql, params).fetchone()[0])


def _meta(conn: sqlite3.Connection) -> dict[str, str]:
    return {str(k): str(v) for k, v in conn.execute("SELECT key, value FROM meta")}


def _person(row: Sequence[Any]) -> Person:
    return Person(int(row[0]), str(row[1]), json.loads(row[2]), str(row[3]), int(row[4]))


def _create_private_file(path: Path) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    except OSError as exc:
        raise DatabaseError(
            f"{path}: cannot create the face database file ({exc.strerror or exc})"
        ) from None
    os.close(fd)


def _write_atomic(out: Path, records: Sequence[Mapping[str, Any]]) -> None:
    try:
        fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".part")
    except OSError as exc:
        raise OutputError(f"{out}: cannot write ({exc.strerror or exc})") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            for record in records:
                fh.write(json.dumps(record, ensure_ascii=False, allow_nan=False) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, out)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise OutputError(f"{out}: cannot write ({exc.strerror or exc})") from None


class _Backup(NamedTuple):
    model_id: str | None
    dim: int | None
    people: list[tuple[str, dict[str, Any], str, list[_Row]]]


def _read_export(path: Path) -> _Backup:
    """Parse and check a whole export file; every problem names the file and line."""
    try:
        with path.open(encoding="utf-8") as fh:
            lines = fh.read().splitlines()
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: not a facetrack face-database export (not UTF-8)") from None

    def bad(line: int, problem: str) -> InputError:
        return InputError(f"{path}, line {line}: {problem}")

    records: list[tuple[int, Any]] = []
    for number, text in enumerate(lines, 1):
        if not text.strip():
            continue
        try:
            records.append((number, json.loads(text)))
        except json.JSONDecodeError:
            if not records:
                raise InputError(
                    f"{path}: not a facetrack face-database export (not JSON lines)"
                ) from None
            raise bad(number, "not valid JSON (file damaged?)") from None
    if not records or not isinstance(records[0][1], dict) or (
        records[0][1].get("format") != EXPORT_FORMAT
    ):
        raise InputError(f"{path}: not a facetrack face-database export (no header line)")
    header = records[0][1]
    version = header.get("version")
    if not isinstance(version, int) or version > EXPORT_VERSION:
        raise InputError(
            f"{path}: export format version {version!r} is newer than this facetrack reads "
            f"({EXPORT_VERSION}); upgrade facetrack"
        )
    model_id, dim = header.get("model_id"), header.get("dim")
    if header.get("dtype") != _VECTOR_DTYPE.str or not (
        (model_id is None and dim is None)
        or (isinstance(model_id, str) and model_id and isinstance(dim, int) and dim > 0)
    ):
        raise bad(records[0][0], "header has no valid model_id, dim and dtype '<f4'")
    people: list[tuple[str, dict[str, Any], str, list[_Row]]] = []
    seen: set[str] = set()
    for number, rec in records[1:]:
        try:
            if not isinstance(rec, dict):
                raise PersonError("expected one person (a JSON object)")
            name = normalise_name(rec.get("name"))
            if name in seen:
                raise PersonError(f"{name!r} appears twice")
            seen.add(name)
            attrs = _check_attrs(rec.get("attrs") or {})
            created = rec.get("created")
            embeddings = rec.get("embeddings")
            if not isinstance(created, str) or not isinstance(embeddings, list) or not embeddings:
                raise PersonError(f"{name!r} has no 'created' or no embeddings")
            rows = [_export_row(e, dim or 0) for e in embeddings]
        except PersonError as exc:
            raise bad(number, str(exc)) from None
        people.append((name, attrs, created, rows))
    total = sum(len(p[3]) for p in people)
    if header.get("people") != len(people) or header.get("embeddings") != total:
        raise InputError(
            f"{path}: header lists {header.get('people')} people / {header.get('embeddings')} "
            f"embeddings but the file holds {len(people)} / {total} (truncated or edited?)"
        )
    return _Backup(model_id, dim, people)


def _export_row(entry: Any, dim: int) -> _Row:
    if not isinstance(entry, dict):
        raise PersonError("an embedding must be a JSON object")
    try:
        raw = base64.b64decode(str(entry.get("vector", "")), validate=True)
    except ValueError:
        raise PersonError("an embedding vector is not base64") from None
    if len(raw) != dim * _VECTOR_DTYPE.itemsize:
        raise PersonError(f"an embedding vector has {len(raw)} bytes, expected {dim} float32")
    unit = _unit_rows(np.frombuffer(raw, _VECTOR_DTYPE)[None, :], "an embedding vector")
    created = entry.get("created")
    if not isinstance(created, str):
        raise PersonError("an embedding has no 'created' time")
    return _Row(
        unit[0].astype(_VECTOR_DTYPE).tobytes(),
        _check_quality(entry.get("quality", 1.0)),
        _file_name(entry.get("source")),
        _check_hash(entry.get("content_hash")),
        created,
    )
