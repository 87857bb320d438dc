"""Accounts of ``facetrack serve``: users, API keys, sessions and the append-only audit log,
in the event store's database (a SQLite file or PostgreSQL, through ``storage.sql``).

- Passwords are hashed with argon2id (``argon2-cffi``'s defaults: 64 MiB, 3 passes), never
  stored or logged; a login against an unknown name still verifies a dummy hash, so the answer
  takes as long as for a known one.
- API keys and session tokens are 256-bit random secrets shown once; only their SHA-256 is
  stored (they are not guessable, so a slow hash would buy nothing and cost every request).
- The audit log refuses UPDATE and DELETE in the database itself (triggers on both engines),
  so an application bug cannot rewrite history; only a database administrator can.
"""

from __future__ import annotations

import hmac
import json
import secrets
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from facetrack._closing import Closing
from facetrack.errors import DatabaseError, InputError
from facetrack.storage.account_records import (
    KEY_PREFIX,
    ROLES,
    ApiKey,
    Role,
    Session,
    User,
    check_password,
    check_role,
    check_user_name,
    digest,
    key_of_row,
    now_iso,
    user_of_row,
)
from facetrack.storage.events import parse_since
from facetrack.storage.sql import open_table_store, reason, transaction

__all__ = ["ROLES", "AccountStore", "ApiKey", "Role", "Session", "User"]

#: version of the accounts tables (``facetrack_schema`` component ``users``)
SCHEMA_VERSION = 1

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_metadata = sa.MetaData()
_users = sa.Table(
    "users", _metadata,
    sa.Column("id", _ID, primary_key=True, autoincrement=True),
    sa.Column("name", sa.Text, nullable=False, unique=True),
    sa.Column("role", sa.Text, nullable=False),
    sa.Column("password_hash", sa.Text, nullable=False),
    sa.Column("disabled", sa.Boolean, nullable=False, default=False),
    sa.Column("created", sa.Text, nullable=False),
)
_keys = sa.Table(
    "api_keys", _metadata,
    sa.Column("id", _ID, primary_key=True, autoincrement=True),
    sa.Column("name", sa.Text, nullable=False, unique=True),
    sa.Column("role", sa.Text, nullable=False),
    sa.Column("digest", sa.Text, nullable=False, unique=True),
    # the user who made it (None: made with `facetrack keys add` by whoever runs the machine);
    # the key works only while that user exists and is enabled
    sa.Column("owner_id", sa.BigInteger),
    sa.Column("hint", sa.Text, nullable=False),  # the first characters, to tell keys apart
    sa.Column("created", sa.Text, nullable=False),
    sa.Column("created_by", sa.Text, nullable=False),
)
_sessions = sa.Table(
    "sessions", _metadata,
    sa.Column("digest", sa.Text, primary_key=True),
    sa.Column("user_id", sa.BigInteger, nullable=False),
    sa.Column("csrf", sa.Text, nullable=False),
    sa.Column("expires", sa.Text, nullable=False),
    sa.Index("sessions_user", "user_id"),
)
_audit = sa.Table(
    "audit", _metadata,
    sa.Column("id", _ID, primary_key=True, autoincrement=True),
    sa.Column("wall_time", sa.Text, nullable=False),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("action", sa.Text, nullable=False),
    sa.Column("target", sa.Text, nullable=False),
    sa.Column("detail", sa.Text, nullable=False),
    sa.Column("address", sa.Text),
    sa.Index("audit_time", "wall_time"),
)

_SQLITE_APPEND_ONLY = [
    "CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit "
    "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
    "CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit "
    "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
]
_PG_APPEND_ONLY = [
    "CREATE OR REPLACE FUNCTION facetrack_audit_append_only() RETURNS trigger AS $$ BEGIN "
    "RAISE EXCEPTION 'the audit log is append-only'; END $$ LANGUAGE plpgsql",
    "DROP TRIGGER IF EXISTS audit_append_only ON audit",
    "CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit "
    "FOR EACH ROW EXECUTE FUNCTION facetrack_audit_append_only()",
    "DROP TRIGGER IF EXISTS audit_no_truncate ON audit",
    "CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit "
    "FOR EACH STATEMENT EXECUTE FUNCTION facetrack_audit_append_only()",
]



class AccountStore(Closing):
    """Users, keys, sessions and the audit log. Thread-safe: one lock around each call."""

    def __init__(self, target: str | Path, *, read_only: bool = False) -> None:
        from argon2 import PasswordHasher

        self._lock = threading.Lock()
        self._db = open_table_store(
            target, what="account store", table="users", version=SCHEMA_VERSION,
            metadata=_metadata, read_only=read_only,
            missing="no accounts here (create one: facetrack users add NAME --role admin)")
        self.name = self._db.name
        self._hasher = PasswordHasher()
        self._dummy = self._hasher.hash(secrets.token_hex(16))
        if not read_only:
            self._call("protect the audit log", self._append_only)

    def _append_only(self, conn: sa.Connection) -> None:
        for statement in (_SQLITE_APPEND_ONLY if self._db.is_sqlite else _PG_APPEND_ONLY):
            conn.exec_driver_sql(statement)

    def _call(self, what: str, fn: Any, *, write: bool = True) -> Any:
        with self._lock:
            try:
                with transaction(self._db, write=write) as conn:
                    return fn(conn)
            except sa.exc.IntegrityError as exc:
                raise InputError(f"{self.name}: cannot {what}: already exists") from exc
            except sa.exc.SQLAlchemyError as exc:
                raise DatabaseError(f"{self.name}: cannot {what} ({reason(exc)})") from None

    # -- users ---------------------------------------------------------------------------

    def count_users(self) -> int:
        return int(self._call("count users", lambda c: c.execute(
            sa.select(sa.func.count()).select_from(_users)).scalar_one(), write=False))

    def add_user(self, name: str, role: str, password: str) -> User:
        name, checked = check_user_name(name), check_role(role)
        hashed = self._hasher.hash(check_password(password))

        def add(conn: sa.Connection) -> int:
            if conn.execute(sa.select(_users.c.id).where(_users.c.name == name)).first():
                raise InputError(f"user {name!r} already exists")
            result = conn.execute(sa.insert(_users).values(
                name=name, role=checked, password_hash=hashed, disabled=False,
                created=now_iso()))
            return int(result.inserted_primary_key[0])  # type: ignore[index]

        self._call(f"add user {name}", add)
        return self.user(name)

    def users(self) -> list[User]:
        rows = self._call("list users", lambda c: c.execute(
            sa.select(_users).order_by(_users.c.name)).all(), write=False)
        return [user_of_row(r) for r in rows]

    def user(self, name: str) -> User:
        row = self._call("read a user", lambda c: c.execute(
            sa.select(_users).where(_users.c.name == name)).first(), write=False)
        if row is None:
            raise LookupError(f"no user {name!r}")
        return user_of_row(row)

    def user_by_id(self, user_id: int) -> User:
        row = self._call("read a user", lambda c: c.execute(
            sa.select(_users).where(_users.c.id == user_id)).first(), write=False)
        if row is None:
            raise LookupError(f"no user with id {user_id}")
        return user_of_row(row)

    def update_user(self, name: str, *, role: str | None = None, password: str | None = None,
                    disabled: bool | None = None) -> User:
        values: dict[str, Any] = {}
        if role is not None:
            values["role"] = check_role(role)
        if password is not None:
            values["password_hash"] = self._hasher.hash(check_password(password))
        if disabled is not None:
            values["disabled"] = disabled
        user = self.user(name)
        if values:
            def update(conn: sa.Connection) -> None:
                conn.execute(sa.update(_users).where(_users.c.id == user.id).values(**values))
                if password is not None or disabled:  # old sessions end with the old password
                    conn.execute(sa.delete(_sessions).where(_sessions.c.user_id == user.id))
            self._call(f"change user {name}", update)
        return self.user(name)

    def remove_user(self, name: str) -> None:
        user = self.user(name)

        def remove(conn: sa.Connection) -> None:
            conn.execute(sa.delete(_sessions).where(_sessions.c.user_id == user.id))
            conn.execute(sa.delete(_keys).where(_keys.c.owner_id == user.id))
            conn.execute(sa.delete(_users).where(_users.c.id == user.id))

        self._call(f"remove user {name}", remove)

    def authenticate(self, name: str, password: str) -> User | None:
        """The user when the password is right and the account enabled; else None, after
        the same work either way."""
        from argon2.exceptions import InvalidHashError, VerificationError

        row = self._call("read a user", lambda c: c.execute(
            sa.select(_users).where(_users.c.name == name.strip())).first(), write=False)
        stored = row.password_hash if row is not None else self._dummy
        try:
            self._hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return None
        if row is None or row.disabled:
            return None
        return user_of_row(row)

    # -- sessions ------------------------------------------------------------------------

    def open_session(self, user: User, hours: float) -> Session:
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
        expires = now_iso(datetime.now(timezone.utc) + timedelta(hours=hours))

        def add(conn: sa.Connection) -> None:
            conn.execute(sa.delete(_sessions).where(_sessions.c.expires < now_iso()))
            conn.execute(sa.insert(_sessions).values(digest=digest(token), user_id=user.id,
                                                     csrf=csrf, expires=expires))

        self._call("open a session", add)
        return Session(token, csrf, user, expires)

    def session(self, token: str) -> tuple[User, str] | None:
        """The user and CSRF token of a live session, None when unknown or expired."""
        q = (sa.select(_users, _sessions.c.csrf)
             .join(_sessions, _sessions.c.user_id == _users.c.id)
             .where(_sessions.c.digest == digest(token), _sessions.c.expires > now_iso(),
                    _users.c.disabled == sa.false()))
        row = self._call("read a session", lambda c: c.execute(q).first(), write=False)
        return None if row is None else (user_of_row(row), str(row.csrf))

    def close_session(self, token: str) -> None:
        self._call("end a session", lambda c: c.execute(
            sa.delete(_sessions).where(_sessions.c.digest == digest(token))))

    # -- API keys ------------------------------------------------------------------------

    def add_key(self, name: str, role: str, created_by: str, *, owner: User | None = None
                ) -> tuple[str, ApiKey]:
        """A new key (the secret, shown once) for machines, with ``role``'s rights (never more
        than ``owner``'s, the user making it, whose removal or disabling ends the key)."""
        label = name.strip()
        if not label or len(label) > 200:
            raise InputError("an API key needs a name (1-200 characters)")
        checked = check_role(role)
        if owner is not None and ROLES.index(checked) > ROLES.index(owner.role):
            raise InputError(f"a key cannot have more rights ({checked}) than its maker "
                             f"({owner.role})")
        secret = KEY_PREFIX + secrets.token_urlsafe(32)
        values = {"name": label, "role": checked, "digest": digest(secret), "hint": secret[:10],
                  "created": now_iso(), "created_by": created_by,
                  "owner_id": None if owner is None else owner.id}

        def add(conn: sa.Connection) -> int:
            if conn.execute(sa.select(_keys.c.id).where(_keys.c.name == label)).first():
                raise InputError(f"an API key named {label!r} exists already")
            return int(conn.execute(sa.insert(_keys).values(**values)
                                    ).inserted_primary_key[0])  # type: ignore[index]

        key_id = self._call("add an API key", add)
        return secret, key_of_row({**values, "id": key_id})

    def api_keys(self) -> list[ApiKey]:
        rows = self._call("list API keys", lambda c: c.execute(
            sa.select(_keys).order_by(_keys.c.id)).all(), write=False)
        return [key_of_row(r._mapping) for r in rows]

    def key(self, secret: str) -> ApiKey | None:
        """The key with this secret, while its maker (if a user made it) exists and is
        enabled."""
        if not secret.startswith(KEY_PREFIX) or len(secret) > 200:
            return None
        owner = _users.alias("owner")
        q = (sa.select(_keys, owner.c.disabled.label("owner_disabled"),
                       owner.c.id.label("owner_found"))
             .outerjoin(owner, owner.c.id == _keys.c.owner_id)
             .where(_keys.c.digest == digest(secret)))
        row = self._call("read an API key", lambda c: c.execute(q).first(), write=False)
        if row is None or not hmac.compare_digest(row.digest, digest(secret)):
            return None
        if row.owner_id is not None and (row.owner_found is None or row.owner_disabled):
            return None
        return key_of_row(row._mapping)

    def remove_key(self, key_id: int) -> ApiKey:
        def remove(conn: sa.Connection) -> ApiKey:
            row = conn.execute(sa.select(_keys).where(_keys.c.id == key_id)).first()
            if row is None:
                raise LookupError(f"no API key {key_id}")
            conn.execute(sa.delete(_keys).where(_keys.c.id == key_id))
            return key_of_row(row._mapping)

        result: ApiKey = self._call(f"remove API key {key_id}", remove)
        return result

    # -- audit ---------------------------------------------------------------------------

    def audit(self, actor: str, action: str, target: str = "", *,
              detail: dict[str, Any] | None = None, address: str | None = None) -> None:
        """Append one entry: who did what to what."""
        values = {"wall_time": now_iso(), "actor": actor, "action": action, "target": target,
                  "detail": json.dumps(detail or {}, ensure_ascii=False, sort_keys=True),
                  "address": address}
        self._call("write the audit log", lambda c: c.execute(sa.insert(_audit).values(
            **values)))

    def audit_log(self, *, since: str | None = None, actor: str | None = None,
                  action: str | None = None, limit: int = 100, before_id: int | None = None
                  ) -> list[dict[str, Any]]:
        """Entries, newest first."""
        q = sa.select(_audit)
        if since is not None:
            q = q.where(_audit.c.wall_time >= parse_since(since))
        if actor is not None:
            q = q.where(_audit.c.actor == actor)
        if action is not None:
            q = q.where(_audit.c.action == action)
        if before_id is not None:
            q = q.where(_audit.c.id < before_id)
        q = q.order_by(_audit.c.id.desc()).limit(limit)
        rows = self._call("read the audit log", lambda c: c.execute(q).all(), write=False)
        return [{**dict(r._mapping), "detail": json.loads(r.detail)} for r in rows]

    def audit_mentions(self, name: str) -> int:
        """Entries whose target is ``name`` or whose detail names it (erasure keeps them)."""
        needle = json.dumps(name, ensure_ascii=False)
        q = sa.select(sa.func.count()).select_from(_audit).where(sa.or_(
            _audit.c.target == name, _audit.c.detail.contains(needle, autoescape=True)))
        return int(self._call("read the audit log", lambda c: c.execute(q).scalar_one(),
                              write=False))

    def close(self) -> None:
        with self._lock:
            self._db.close()
