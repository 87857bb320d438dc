"""The face database's tables, one definition for SQLite and PostgreSQL, and how a store is
recognised and versioned.

A SQLite face database is marked as facetrack's (``application_id`` "FTDB") and versioned in
``user_version``, as facetrack wrote them from the start, so every existing file opens as it
is. A PostgreSQL one records its version in ``facetrack_schema`` (``storage.sql``). A store from
a newer facetrack is refused rather than half-understood.
"""

from __future__ import annotations

import sqlalchemy as sa

from facetrack.errors import DatabaseError
from facetrack.storage.sql import Database, schema_version, set_schema_version

#: version of the tables below; bump it with a migration
SCHEMA_VERSION = 1
#: "FTDB" in the SQLite header marks a facetrack face database
APPLICATION_ID = 0x46544442

metadata = sa.MetaData()
# AUTOINCREMENT: a removed person's id is never given to someone else, so ids written into
# results and events before a removal never point at a different person afterwards
people = sa.Table(
    "people", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.Text, nullable=False, unique=True),
    sa.Column("attrs", sa.Text, nullable=False, server_default="{}"),
    sa.Column("created", sa.Text, nullable=False),
    sqlite_autoincrement=True,
)
embeddings = sa.Table(
    "embeddings", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("person_id", sa.Integer, sa.ForeignKey("people.id", ondelete="CASCADE"),
              nullable=False),
    sa.Column("vector", sa.LargeBinary, nullable=False),
    sa.Column("quality", sa.Float, sa.CheckConstraint("quality >= 0 AND quality <= 1"),
              nullable=False),
    sa.Column("source", sa.Text),
    sa.Column("content_hash", sa.Text, unique=True),
    sa.Column("created", sa.Text, nullable=False),
    sa.Index("embeddings_person", "person_id"),
    sqlite_autoincrement=True,
)
meta = sa.Table(
    "meta", metadata,
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)


def _pragma(conn: sa.Connection, name: str) -> int:
    return int(conn.exec_driver_sql(f"PRAGMA {name}").scalar() or 0)


def check(conn: sa.Connection, db: Database) -> bool:
    """Raise unless ``db`` is a facetrack face database this version reads, or an empty store
    (True: ``initialise`` it; read-only opens refuse an empty store)."""
    if db.is_sqlite:
        app_id, version = _pragma(conn, "application_id"), _pragma(conn, "user_version")
        if app_id != APPLICATION_ID:
            empty = conn.exec_driver_sql("SELECT count(*) FROM sqlite_master").scalar() == 0
            if app_id != 0 or not empty:
                raise DatabaseError(f"{db.name}: an SQLite file, but not a facetrack face "
                                    "database")
            return _fresh(db)
    else:
        stored = schema_version(conn, "faces")
        if stored is None:
            if sa.inspect(conn).has_table("people"):
                raise DatabaseError(f"{db.name}: has a 'people' table that facetrack did not "
                                    "make")
            return _fresh(db)
        version = stored
    _check_version(db, version)
    return False


def _fresh(db: Database) -> bool:
    if db.read_only:
        raise DatabaseError(f"{db.name}: no face database here yet (`facetrack db enroll` "
                            "makes one)")
    return True


def initialise(conn: sa.Connection, db: Database) -> None:
    """Make the tables of an empty store (in a write transaction; another process may have
    done it while this one waited for the lock)."""
    if not check(conn, db):
        return
    metadata.create_all(conn)
    if db.is_sqlite:
        # pragmas take no parameters; both values are int constants of this module
        conn.exec_driver_sql(f"PRAGMA application_id = {int(APPLICATION_ID)}")
        conn.exec_driver_sql(f"PRAGMA user_version = {int(SCHEMA_VERSION)}")
    else:
        set_schema_version(conn, "faces", SCHEMA_VERSION)


def _check_version(db: Database, version: int) -> None:
    if version > SCHEMA_VERSION:
        raise DatabaseError(
            f"{db.name}: face database schema version {version} is newer than this "
            f"facetrack supports ({SCHEMA_VERSION}); upgrade facetrack to use it")
    if version < 1:
        raise DatabaseError(f"{db.name}: face database has no schema (corrupt file?)")
    # version < SCHEMA_VERSION: migrations go here when the schema changes


def schema_of(conn: sa.Connection, db: Database) -> int:
    if db.is_sqlite:
        return _pragma(conn, "user_version")
    return schema_version(conn, "faces") or 0
