"""What the account store keeps, as values: roles, users, API keys, sessions, and the checks
their names, roles and passwords pass (``storage.accounts`` stores them)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Literal

from facetrack.errors import InputError

Role = Literal["viewer", "operator", "admin"]
ROLES: tuple[Role, ...] = ("viewer", "operator", "admin")
KEY_PREFIX = "ftk_"
MAX_NAME = 64


def now_iso(now: datetime | None = None) -> str:
    return (now or datetime.now(timezone.utc)).isoformat(timespec="milliseconds")


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def check_user_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > MAX_NAME or not all(c.isalnum() or c in "._@-" for c in name):
        raise InputError(f"user name {name!r}: use 1-{MAX_NAME} letters, digits and . _ @ -")
    return name


def check_role(role: str) -> Role:
    for r in ROLES:
        if role == r:
            return r
    raise InputError(f"role {role!r}: one of {', '.join(ROLES)}")


def check_password(password: str) -> str:
    if len(password) < 10:
        raise InputError("a password needs at least 10 characters")
    if len(password) > 1024:
        raise InputError("a password may have at most 1024 characters")
    return password


@dataclass(frozen=True)
class User:
    id: int
    name: str
    role: Role
    disabled: bool
    created: str

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "role": self.role,
                "disabled": self.disabled, "created": self.created}


@dataclass(frozen=True)
class ApiKey:
    id: int
    name: str
    role: Role
    hint: str
    created: str
    created_by: str
    owner_id: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "role": self.role, "hint": self.hint,
                "created": self.created, "created_by": self.created_by}


@dataclass(frozen=True)
class Session:
    token: str  # the cookie's value (shown once)
    csrf: str
    user: User
    expires: str


def user_of_row(row: Any) -> User:
    return User(int(row.id), str(row.name), check_role(row.role), bool(row.disabled),
                str(row.created))


def key_of_row(m: Any) -> ApiKey:
    owner = m.get("owner_id")
    return ApiKey(int(m["id"]), str(m["name"]), check_role(m["role"]), str(m["hint"]),
                  str(m["created"]), str(m["created_by"]), None if owner is None else int(owner))
