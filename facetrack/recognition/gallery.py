"""The face database (gallery): enrolled people and their embeddings, in a SQLite file (WAL)
or a PostgreSQL database (``postgresql://...``, shared by several machines).

Used only when recognition is enabled; with it off facetrack computes no embedding and nothing
biometric is stored. What it guarantees:

- It records which embedding model made its vectors (``model_id``, ``dim``) and refuses vectors
  of any other model (``ModelMismatchError``): a mixed gallery would match silently wrong. A
  database with no embeddings adopts the model of the first vectors it is given.
- A store from a newer facetrack is refused (``recognition.schema``).
- ``read_only`` opens (listing, recognition) never change it: a database on read-only storage
  is used as it is.
- Removing a person deletes every row of theirs; on SQLite with ``secure_delete`` on (freed
  bytes zeroed), then the file is rewritten (VACUUM) and the WAL truncated, so none of their
  bytes remain in the database files; on PostgreSQL the two tables are rewritten (VACUUM FULL).
  Copies made elsewhere (exports, disk backups, PostgreSQL's own WAL archive) are the owner's.
- New SQLite files are created readable by their owner only (0600).

Search: ``recognition.search`` (exact, or an approximate index for large galleries, kept in
step with enrolments and removals); export and import are ``recognition.backup``.
"""

from __future__ import annotations

import logging
import threading
import unicodedata
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import sqlalchemy as sa

from facetrack._closing import Closing
from facetrack.errors import (
    DatabaseError,
    ModelMismatchError,
    OutputError,
    PersonError,
)
from facetrack.privacy.keys import Codec, TemplateKey, load_key
from facetrack.recognition import backup, schema
from facetrack.recognition.backup import Row
from facetrack.recognition.index import VECTOR_DTYPE, Match
from facetrack.recognition.names import (
    check_attrs,
    check_hash,
    check_quality,
    column,
    file_name,
    normalise_name,
    unit_rows,
    warn_lookalike,
)
from facetrack.recognition.records import (
    EmbeddingInfo,
    Enrolment,
    Person,
    Removal,
    Stats,
    Transfer,
)
from facetrack.recognition.schema import embeddings, people
from facetrack.recognition.search import GallerySearch, IndexMode, change_key
from facetrack.recognition.writer import (
    GalleryWriter,
    bump_revision,
    key_to_record,
    meta_of,
    people_query,
    person_of,
    reencrypt,
    scalar,
    set_meta,
    unknown_person,
)
from facetrack.storage.sql import Database, open_database, purge, transaction, translate

log = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


class FaceDatabase(Closing):
    """People and their embeddings; a context manager.

    ``target``: a SQLite file or a ``postgresql://`` URL. ``create=False`` refuses a missing
    file instead of creating an empty database; ``read_only`` never changes the store (and
    works on read-only storage). ``timeout`` is how long a write waits for another process's
    lock before ``DatabaseLockedError`` (30 s: an import of 200,000 embeddings holds it about
    9 s); ``clock`` stamps ``created`` (UTC). ``key``: the templates' key
    (``facetrack.privacy.keys``; "env": from the environment, None: unencrypted).
    ``index``: ``recognition.index`` (``recognition.search``).
    """

    def __init__(self, target: str | Path, *, create: bool = True, read_only: bool = False,
                 timeout: float = 30.0, clock: Callable[[], datetime] = _utc_now,
                 key: TemplateKey | str | None = "env", index: IndexMode = "auto") -> None:
        self.path = Path(target) if "://" not in str(target) else None
        self.target = str(target)
        self._create, self._read_only = create and not read_only, read_only
        self._timeout = timeout
        self._clock = clock
        self._db: Database | None = None
        # templates encrypted at rest (facetrack.privacy.keys): "env" reads the environment
        self._key = load_key() if key == "env" else key if isinstance(key, TemplateKey) else None
        self._codec = Codec(self._key, self.target)
        self._search = GallerySearch(index, self.name, self._decode)
        # one connection shared by the threads of a pipeline (a search from a worker thread):
        # every use of it holds this lock
        self._lock = threading.RLock()

    @property
    def name(self) -> str:
        return self._db.name if self._db is not None else self.target

    def __enter__(self) -> FaceDatabase:
        """Open the store (``Closing.__exit__`` closes it)."""
        self.open()
        return self

    def __repr__(self) -> str:
        return f"FaceDatabase({self.name!r})"

    def open(self) -> None:
        if self._db is not None:
            return
        db = open_database(self.target, what="face database", read_only=self._read_only,
                           create=self._create, timeout=self._timeout,
                           pragmas=("foreign_keys = ON", "secure_delete = ON"))
        try:
            with self._errors():
                with transaction(db, write=False) as conn:
                    fresh = schema.check(conn, db)
                if fresh:
                    with transaction(db, write=True) as conn:
                        schema.initialise(conn, db)
                self._codec = Codec(self._key, db.name)
                self._bind_key(db)
        except BaseException:
            db.close()
            raise
        self._db = db

    def _bind_key(self, db: Database) -> None:
        """Refuse a missing or wrong key; a new database adopts the key it is given."""
        with transaction(db, write=False) as conn:
            record = key_to_record(conn, self._key, db.name)
        if record is not None and not self._read_only:
            with transaction(db, write=True) as conn:
                set_meta(conn, key_id=record)

    def rekey(self, new: TemplateKey | None) -> int:
        """Re-encrypt every vector under ``new`` (None: stored unencrypted) in one
        transaction, then rewrite the files so no old ciphertext is left; how many."""
        codec = Codec(new, self.name)
        with self._write() as conn:
            n = reencrypt(conn, self._codec, codec, None if new is None else new.key_id)
        self._key, self._codec = new, codec
        self._search.reset()
        self._purge()
        return n

    def close(self) -> None:
        """Close the store; on SQLite the last connection to close checkpoints and deletes
        the WAL."""
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None
                self._search.reset()

    def _database(self) -> Database:
        if self._db is None:
            raise DatabaseError(f"{self.name}: face database is not open (use `with "
                                "FaceDatabase(path) as db`)")
        return self._db

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except sa.exc.SQLAlchemyError as exc:
            raise translate(exc, self.name, "face database", waited=self._timeout) from None

    @contextmanager
    def _write(self) -> Iterator[sa.Connection]:
        """One write transaction; on SQLite the lock is taken up front, so a locked database
        fails before any work; any error rolls everything back."""
        with self._lock, self._errors(), transaction(self._database(), write=True) as conn:
            yield conn
            bump_revision(conn)

    @contextmanager
    def _read(self) -> Iterator[sa.Connection]:
        """One read transaction: every query inside sees the same snapshot."""
        with self._lock, self._errors(), transaction(self._database(), write=False) as conn:
            yield conn

    def _now(self) -> str:
        return self._clock().astimezone(timezone.utc).isoformat(timespec="seconds")

    @property
    def model_id(self) -> str | None:
        """The embedding model of the stored vectors (None for a new database)."""
        with self._read() as conn:
            return meta_of(conn).get("model_id")

    @property
    def dim(self) -> int | None:
        with self._read() as conn:
            value = meta_of(conn).get("dim")
        return None if value is None else int(value)

    def check_model(self, model_id: str, dim: int) -> None:
        """Raise ``ModelMismatchError`` unless vectors of ``model_id`` may be added to or
        matched against this database."""
        with self._read() as conn:
            self._check_model(conn, model_id, dim)

    def _check_model(self, conn: sa.Connection, model_id: str, dim: int) -> bool:
        """True when the database already holds vectors (of this model)."""
        if conn.execute(sa.select(embeddings.c.id).limit(1)).first() is None:
            return False  # (not a count: that reads every row on PostgreSQL, each search)
        stored = meta_of(conn)
        if stored.get("model_id") != model_id:
            raise ModelMismatchError(
                f"{self.name}: the database holds embeddings of model "
                f"{stored.get('model_id')!r}, these vectors come from {model_id!r}; vectors of "
                "two models cannot be compared (use the same model, or another database file)")
        if int(stored.get("dim", "0")) != dim:
            raise ModelMismatchError(f"{self.name}: model {model_id!r} vectors are "
                                     f"{stored.get('dim')}-d in this database, got {dim}-d")
        return True

    def _bind_model(self, conn: sa.Connection, model_id: str, dim: int) -> None:
        if not isinstance(model_id, str) or not model_id:
            raise PersonError(f"model_id must be a non-empty string, got {model_id!r}")
        if not self._check_model(conn, model_id, dim):
            set_meta(conn, model_id=model_id, dim=str(int(dim)))

    # -- people ----------------------------------------------------------------------------

    def enroll(self, name: str, vectors: npt.ArrayLike, model_id: str,
               qualities: Sequence[float] | None = None,
               sources: Sequence[str | None] | None = None,
               content_hashes: Sequence[str | None] | None = None,
               attrs: Mapping[str, Any] | None = None) -> Enrolment:
        """Add ``vectors (k, dim)`` to ``name``, creating the person or extending them, in one
        transaction. Exact duplicates are skipped: a content hash already stored for this
        person, or (without a hash) the same vector. A content hash stored for another person
        is refused: one image cannot show two people. ``attrs`` are merged into the person's
        (new keys win). ``sources`` keep only the file name, never a path."""
        name = normalise_name(name)
        attrs_dict = check_attrs(attrs)
        matrix = unit_rows(vectors, "vectors")
        k, dim = matrix.shape
        now = self._now()
        rows = [Row(vec.astype(VECTOR_DTYPE).tobytes(), q, s, h, now)
                for vec, q, s, h in zip(
                    matrix, column(qualities, k, "qualities", check_quality, 1.0),
                    column(sources, k, "sources", file_name, None),
                    column(content_hashes, k, "content_hashes", check_hash, None),
                    strict=True)]
        with self._write() as conn:
            self._bind_model(conn, model_id, dim)
            return GalleryWriter(conn, self.name, self._codec).enroll(name, rows, attrs_dict,
                                                                      now)

    def people(self) -> list[Person]:
        """Every enrolled person, by name."""
        with self._read() as conn:
            return [person_of(row) for row in conn.execute(people_query().order_by(people.c.name))]

    def person(self, name: str) -> Person:
        """The person called ``name``; ``UnknownPersonError`` (with close names) if none."""
        with self._read() as conn:
            return self._person(conn, name)

    def _person(self, conn: sa.Connection, name: str) -> Person:
        key = unicodedata.normalize("NFC", name) if isinstance(name, str) else name
        row = conn.execute(people_query().where(people.c.name == key)).first()
        if row is None:
            raise unknown_person(conn, name, self.name)
        return person_of(row)

    def embeddings(self, name: str) -> list[EmbeddingInfo]:
        """The person's stored embeddings (metadata only), oldest first."""
        with self._read() as conn:
            person = self._person(conn, name)
            rows = conn.execute(
                sa.select(embeddings.c.id, embeddings.c.quality, embeddings.c.source,
                          embeddings.c.content_hash, embeddings.c.created)
                .where(embeddings.c.person_id == person.id).order_by(embeddings.c.id)).all()
        return [EmbeddingInfo(int(r[0]), float(r[1]), r[2], r[3], str(r[4])) for r in rows]

    def rename(self, old: str, new: str) -> Person:
        new = normalise_name(new)
        with self._write() as conn:
            person = self._person(conn, old)
            if new != person.name:
                if conn.execute(sa.select(people.c.id).where(people.c.name == new)).first():
                    raise PersonError(f"{self.name}: {new!r} is already enrolled; remove or "
                                      "rename that person first")
                warn_lookalike(new, (r[0] for r in conn.execute(sa.select(people.c.name))))
                conn.execute(sa.update(people).where(people.c.id == person.id)
                             .values(name=new))
            return self._person(conn, new)

    def remove(self, name: str) -> Removal:
        """Delete the person and every embedding of theirs, leaving none of their bytes in the
        database files (see the module docstring). While another connection reads a SQLite
        file its WAL cannot be emptied: ``purged`` is then False and the next checkpoint (at
        the latest when the last connection closes) finishes the job."""
        with self._write() as conn:
            person = self._person(conn, name)
            removed = conn.execute(sa.delete(embeddings)
                                   .where(embeddings.c.person_id == person.id)).rowcount
            conn.execute(sa.delete(people).where(people.c.id == person.id))
        purged = self._purge()
        if not purged:
            log.warning("%s: %r removed, but another connection keeps the WAL from being "
                        "emptied; their bytes leave the WAL file at the next checkpoint",
                        self.name, person.name)
        return Removal(person.id, person.name, int(removed), purged)

    def _purge(self) -> bool:
        with self._lock, self._errors():
            return purge(self._database(), ("embeddings", "people"))

    def stats(self) -> Stats:
        with self._read() as conn:
            stored = meta_of(conn)
            n_people = scalar(conn, sa.select(sa.func.count()).select_from(people))
            n_emb = scalar(conn, sa.select(sa.func.count()).select_from(embeddings))
            version = schema.schema_of(conn, self._database())
        size = 0
        if self.path is not None:
            size = sum(p.stat().st_size for p in (self.path, self.path.with_name(
                self.path.name + "-wal")) if p.exists())
        dim = stored.get("dim")
        return Stats(self.name, n_people, n_emb, stored.get("model_id"),
                     None if dim is None else int(dim), version, size)

    def _decode(self, stored: bytes) -> bytes:  # the codec changes on open and rekey
        return self._codec.decode(stored)

    def matrix(self) -> tuple[IntArray, IntArray, FloatArray]:
        """``ids (m,)``, ``person_ids (m,)``, ``vectors (m, dim)`` (unit rows), grouped by
        person. Cached until this or another connection changes the database."""
        with self._read() as conn:
            return self._search.matrix(conn, *change_key(conn, meta_of(conn), self._database()))

    def search(self, vectors: npt.ArrayLike, model_id: str, k: int = 1) -> list[list[Match]]:
        """For each query ``(q, dim)``, the ``k`` most similar people, best first (a person's
        similarity: their best cosine, exact even when ``recognition.search`` shortlists
        approximately); fewer when fewer are enrolled. Whether the best is similar enough is
        the caller's (``recognition.threshold``)."""
        if k < 1:
            raise ValueError(f"k must be at least 1, got {k}")
        queries = unit_rows(vectors, "query vectors", allow_empty=True)
        with self._read() as conn:  # one meta read in the usual case (round trips: PostgreSQL)
            stored = meta_of(conn)
            if (stored.get("model_id"), stored.get("dim")) != (model_id, str(queries.shape[1])):
                self._check_model(conn, model_id, queries.shape[1])  # refused unless empty
            key = change_key(conn, stored, self._database())
            return self._search.search(conn, *key, queries, k)

    def export(self, path: str | Path, *, overwrite: bool = False) -> Transfer:
        """Write every person and embedding to a portable JSON-lines file
        (``recognition.backup``); it holds biometric data: created 0600, written atomically."""
        out = Path(path)
        if out.exists() and not overwrite:
            raise OutputError(f"{out}: already exists (choose another name, or overwrite it)")
        with self._read() as conn:
            lines = backup.export_people(conn, self._codec.decode)
            header = backup.export_header(meta_of(conn), lines, self._now())
        backup.write_atomic(out, [header, *lines], self._key)
        return Transfer(len(lines), 0, header["embeddings"], 0)

    def import_(self, path: str | Path) -> Transfer:
        """Add everyone in an ``export`` file, in one transaction: new people are created,
        existing ones extended, duplicates skipped. The whole file is checked first (outside
        the write lock); a file from another embedding model is refused."""
        data = backup.read_export(Path(path), self._key)
        with self._write() as conn:
            if data.model_id is not None and data.dim is not None:
                self._bind_model(conn, data.model_id, data.dim)
            return GalleryWriter(conn, self.name, self._codec).enroll_all(data.people)
