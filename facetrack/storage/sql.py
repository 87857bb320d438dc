"""One engine factory for facetrack's SQL stores (the event store, the face database): a
SQLite file in WAL mode, or a PostgreSQL database (``postgresql://...``, the ``[postgres]``
extra), written and read through SQLAlchemy Core with bound parameters only.

- ``open_database(target, read_only=...)``. Read-only opens never change the file: a SQLite
  file is opened with ``mode=ro`` (so read-only storage works, and the journal mode is left as
  it is), and a missing file is an error, not a new database.
- ``transaction(db, write=...)``: one transaction; on SQLite a write takes the lock up front
  (``BEGIN IMMEDIATE``), so a locked database fails before any work.
- ``translate``: every driver error becomes one ``DatabaseError`` line naming the store;
  ``DatabaseLockedError`` when another process holds the lock.
- ``schema_version`` / ``set_schema_version``: each store's version in one small table
  (``facetrack_schema``), so a file from a newer facetrack is refused, not half-understood.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa

from facetrack.errors import DatabaseError, DatabaseLockedError, InputError

_schema_metadata = sa.MetaData()
SCHEMA = sa.Table(
    "facetrack_schema", _schema_metadata,
    sa.Column("component", sa.Text, primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
)


#: the PostgreSQL advisory lock that serialises schema changes (any constant of our own)
SCHEMA_LOCK = 0x66616365


def is_database_url(target: str | Path) -> bool:
    return "://" in str(target)


@dataclass(frozen=True)
class Database:
    """An open store: its engine, a printable name (no password), where it lives."""

    engine: sa.Engine
    name: str
    path: Path | None  # the SQLite file (None for PostgreSQL)
    read_only: bool

    @property
    def is_sqlite(self) -> bool:
        return self.path is not None

    def close(self) -> None:
        self.engine.dispose()


def open_database(target: str | Path, *, what: str, read_only: bool = False,
                  create: bool = True, timeout: float = 10.0,
                  pragmas: Sequence[str] = ()) -> Database:
    """Connect to ``target`` (a SQLite file or a postgresql:// URL). ``what`` names the store
    in messages; ``pragmas`` run on every new SQLite connection."""
    if is_database_url(target):
        return _postgres(str(target), what, read_only)
    path = Path(target)
    if path.is_dir():
        raise DatabaseError(f"{path}: is a folder, not a {what} file")
    if not path.exists():
        if read_only or not create:
            raise DatabaseError(f"{path}: no {what} here")
        _create_private_file(path, what)
    return _sqlite(path, what, read_only, timeout, pragmas)


def _sqlite(path: Path, what: str, read_only: bool, timeout: float, pragmas: Sequence[str]
            ) -> Database:
    if read_only and not _writable(path):
        engine = sa.create_engine("sqlite://", poolclass=sa.pool.StaticPool,
                                  creator=lambda: _read_only_connection(path, timeout))
    else:
        engine = sa.create_engine(sa.URL.create("sqlite", database=str(path)),
                                  poolclass=sa.pool.StaticPool,
                                  connect_args={"check_same_thread": False, "timeout": timeout})

    @sa.event.listens_for(engine, "connect")
    def _setup(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # transactions are begun below, explicitly
        for pragma in pragmas:
            dbapi_conn.execute(f"PRAGMA {pragma}")
        if not read_only:
            mode = dbapi_conn.execute("PRAGMA journal_mode").fetchone()[0]
            if str(mode).lower() != "wal":
                dbapi_conn.execute("PRAGMA journal_mode=WAL")

    @sa.event.listens_for(engine, "begin")
    def _begin(conn: sa.Connection) -> None:
        write = conn.get_execution_options().get("facetrack_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return Database(engine, str(path), path, read_only)


def _writable(path: Path) -> bool:
    """Where the file and its folder can be written, a reader opens it normally (and only
    reads), so SQLite can also remove its WAL side files when the reader closes."""
    return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)


def _read_only_connection(path: Path, timeout: float) -> sqlite3.Connection:
    """``mode=ro``; on storage that is read-only itself (a read-only volume, a ConfigMap) a
    WAL file cannot get its shared-memory file, so it is opened as immutable instead: nothing
    can write it there anyway."""
    base = f"file:{quote(str(path.resolve()))}?mode=ro"
    conn = sqlite3.connect(base, uri=True, timeout=timeout, check_same_thread=False)
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.OperationalError:
        conn.close()
        conn = sqlite3.connect(base + "&immutable=1", uri=True, timeout=timeout,
                               check_same_thread=False)
    return conn


def _postgres(text: str, what: str, read_only: bool) -> Database:
    try:
        url = sa.make_url(text)
    except (ValueError, sa.exc.ArgumentError):
        raise InputError(f"{what}: not a valid database URL (give a SQLite file or "
                         "postgresql://user:password@host:port/db)") from None
    if url.drivername not in ("postgresql", "postgres", "postgresql+psycopg"):
        raise InputError(f"{what} {url.render_as_string(hide_password=True)}: give a SQLite "
                         "file or a postgresql:// URL")
    url = url.set(drivername="postgresql+psycopg")  # psycopg 3 (the [postgres] extra)
    # a host that vanishes (no RST) must not hold a call for minutes: TCP keepalives, a user
    # timeout and a statement timeout bound every call; callers retry what matters
    options = "-c statement_timeout=15000"
    if read_only:
        options += " -c default_transaction_read_only=on"
    connect = {"connect_timeout": 5, "keepalives": 1, "keepalives_idle": 10,
               "keepalives_interval": 5, "keepalives_count": 3, "tcp_user_timeout": 15000,
               "options": options}
    try:
        engine = sa.create_engine(url, pool_pre_ping=True, pool_size=2, max_overflow=2,
                                  connect_args=connect)
    except ImportError:
        raise DatabaseError(f"a PostgreSQL {what} needs psycopg: pip install "
                            "'facetrack[postgres]'") from None
    return Database(engine, url.render_as_string(hide_password=True), None, read_only)


def _create_private_file(path: Path, what: str) -> None:
    """Stores hold biometric or personal data: new files are readable by their owner only."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    except OSError as exc:
        raise DatabaseError(f"{path}: cannot create the {what} file "
                            f"({exc.strerror or exc})") from None
    os.close(fd)


@contextmanager
def transaction(db: Database, *, write: bool) -> Iterator[sa.Connection]:
    """One transaction (committed when the block ends, rolled back on an error)."""
    with db.engine.connect() as conn:
        if write:
            conn = conn.execution_options(facetrack_write=True)
        with conn.begin():
            yield conn


def reason(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None)
    text = " ".join(str(orig if orig is not None else exc).split())  # one line
    return text[:300] if text else type(exc).__name__


def translate(exc: sa.exc.SQLAlchemyError, name: str, what: str, *, waited: float = 0.0
              ) -> DatabaseError:
    """One line for a failed call, naming the store and what went wrong."""
    msg = reason(exc)
    low = msg.lower()
    orig = getattr(exc, "orig", None)
    code = getattr(orig, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    if primary in (5, 6) or "locked" in low or "busy" in low:
        return DatabaseLockedError(
            f"{name}: {what} is locked by another process (a running facetrack or another "
            f"command; waited {waited:g} s); try again when it has finished")
    if primary in (11, 26) or "not a database" in low or "malformed" in low:
        return DatabaseError(f"{name}: not a readable {what} (corrupt, or not a database "
                             f"file): {msg}")
    if primary == 8 or "readonly" in low or "read-only" in low:
        return DatabaseError(f"{name}: cannot write the {what} (read-only): {msg}")
    if primary == 13 or "full" in low:
        return DatabaseError(f"{name}: disk full while writing the {what}")
    if primary == 14 or "unable to open" in low:
        return DatabaseError(f"{name}: cannot open the {what}: {msg}")
    return DatabaseError(f"{name}: {what} error: {msg}")


def has_table(conn: sa.Connection, table: str) -> bool:
    return sa.inspect(conn).has_table(table)


def schema_version(conn: sa.Connection, component: str) -> int | None:
    """The version stored for ``component`` (None when never stored)."""
    if not has_table(conn, SCHEMA.name):
        return None
    value = conn.execute(sa.select(SCHEMA.c.version).where(SCHEMA.c.component == component)
                         ).scalar()
    return None if value is None else int(value)


def set_schema_version(conn: sa.Connection, component: str, version: int) -> None:
    SCHEMA.create(conn, checkfirst=True)
    updated = conn.execute(sa.update(SCHEMA).where(SCHEMA.c.component == component)
                           .values(version=version)).rowcount
    if not updated:
        conn.execute(sa.insert(SCHEMA).values(component=component, version=version))


def missing_columns(conn: sa.Connection, table: sa.Table) -> list[sa.Column[Any]]:
    """Columns of ``table`` the database's copy lacks (added to facetrack since it was made;
    none when the table is not there yet)."""
    if not has_table(conn, table.name):
        return []
    have = {c["name"] for c in sa.inspect(conn).get_columns(table.name)}
    return [c for c in table.columns if c.name not in have]


def add_column(conn: sa.Connection, table: sa.Table, column: sa.Column[Any]) -> None:
    """The migration of a column added later: nullable, so existing rows read NULL."""
    if not column.nullable:
        raise DatabaseError(f"cannot add the required column {column.name!r} to "
                            f"{table.name!r} in place")
    kind = column.type.compile(dialect=conn.dialect)
    prep = conn.dialect.identifier_preparer
    conn.execute(sa.text(f"ALTER TABLE {prep.quote(table.name)} ADD COLUMN "
                         f"{prep.quote(column.name)} {kind}"))


def open_table_store(target: str | Path, *, what: str, table: str, version: int,
                     metadata: sa.MetaData, read_only: bool, missing: str) -> Database:
    """Open the database ``target`` for one versioned table (``table``, recorded as
    ``version`` in ``facetrack_schema``): created with ``metadata`` when writable; refused when
    written by a newer facetrack, or, read-only, when the table is not there (``missing``: the
    end of that message). Every failure is one line naming ``what``."""
    db = open_database(target, what=what, read_only=read_only)
    try:
        with transaction(db, write=not read_only) as conn:
            if not read_only and not db.is_sqlite:
                # monitors started together would race to create the same tables ("duplicate
                # key ... pg_type"): one at a time (SQLite's BEGIN IMMEDIATE does this already)
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK})
            found = schema_version(conn, table)
            if found is not None and found > version:
                raise DatabaseError(f"{db.name}: {what} table {table!r} version {found} is "
                                    f"newer than this facetrack reads ({version}); upgrade "
                                    "facetrack")
            if read_only:
                if not has_table(conn, table):
                    raise DatabaseError(f"{db.name}: {missing}")
                if missing_columns(conn, metadata.tables[table]):
                    raise DatabaseError(
                        f"{db.name}: {what} table {table!r} was written by an older facetrack "
                        f"(version {found}, this one reads {version}); open it once for "
                        "writing (start `facetrack monitor` on it) to upgrade it")
                return db
            metadata.create_all(conn, checkfirst=True)
            for column in missing_columns(conn, metadata.tables[table]):
                add_column(conn, metadata.tables[table], column)
            for index in (i for t in metadata.sorted_tables for i in t.indexes):
                index.create(conn, checkfirst=True)  # an index added since the table was made
            if found is None or found < version:
                set_schema_version(conn, table, version)
    except sa.exc.SQLAlchemyError as exc:
        db.close()
        error = translate(exc, db.name, what)
        if type(error) is DatabaseError:
            error = DatabaseError(f"{db.name}: cannot open the {what} ({reason(exc)})")
        raise error from None
    except BaseException:
        db.close()
        raise
    return db


#: rows one retention transaction deletes: writers wait for one batch at most, not for all
DELETE_BATCH = 5000


def delete_older(db: Database, table: sa.Table, column: str, cutoff: str,
                 lock: Any = None) -> int:
    """Delete the rows of ``table`` whose ``column`` (ISO UTC text) is before ``cutoff``, in
    batches of ``DELETE_BATCH`` (each its own transaction, under ``lock`` when given, so a
    store's writers interleave); the number deleted."""
    from contextlib import nullcontext

    ids = (sa.select(table.c.id).where(table.c[column] < cutoff).limit(DELETE_BATCH)
           .scalar_subquery())
    removed = 0
    while True:
        with lock if lock is not None else nullcontext(), transaction(db, write=True) as conn:
            n = conn.execute(sa.delete(table).where(table.c.id.in_(ids))).rowcount or 0
        removed += n
        if n < DELETE_BATCH:
            return removed


def purge(db: Database, tables: Sequence[str]) -> bool:
    """Leave no byte of deleted or overwritten rows in the database's files: SQLite rewrites
    the file (VACUUM) and empties its WAL (checkpoint TRUNCATE); PostgreSQL rewrites
    ``tables`` (VACUUM FULL). False when another connection keeps a SQLite WAL from being
    emptied (the next checkpoint finishes it, at the latest when it closes).
    ``SQLAlchemyError`` and ``DatabaseError`` propagate to the caller."""
    if not db.is_sqlite:
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM FULL " + ", ".join(tables))
        return True
    with db.engine.connect() as conn:
        raw: Any = conn.connection.driver_connection
        try:
            raw.execute("VACUUM")
            busy = raw.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                return False
            raise DatabaseError(f"{db.name}: cannot rewrite the file after a removal: {exc}"
                                ) from None
        return int(busy) == 0
