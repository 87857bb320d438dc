"""Health, metrics, settings, users, API keys and the audit log."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Response
from pydantic import BaseModel, Field

from facetrack.api.auth import Admin, Id, Svc, Viewer
from facetrack.redact import masked
from facetrack.storage.accounts import Role

router = APIRouter(prefix="/api", tags=["admin"])


@router.get("/health")
def health(svc: Svc) -> dict[str, Any]:
    """Whether the server and its store answer (no login needed; says nothing private)."""
    try:
        users = svc.accounts.count_users()
        store = "ok"
    except Exception as exc:  # the store is down: health says so instead of failing
        users, store = None, type(exc).__name__
    ok = store == "ok"
    body = {"status": "ok" if ok else "degraded", "store": store,
            "setup_needed": users == 0}
    if not ok:
        raise HTTPException(503, f"event store unavailable ({store})")
    return body


@router.get("/metrics", response_class=Response)
def metrics(svc: Svc, _who: Viewer) -> Response:
    """Prometheus text: the monitor's counters when it runs in this process (scrape with an
    API key: ``authorization: {credentials: ftk_...}``)."""
    from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

    registry = CollectorRegistry()
    if svc.metrics is not None:
        registry.register(svc.metrics)
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


@router.get("/settings")
def settings(svc: Svc, _who: Admin) -> dict[str, Any]:
    """The effective configuration, read-only, every secret masked."""
    data: dict[str, Any] = masked(svc.config.model_dump(mode="json"))
    data["api"] = masked(svc.api.model_dump(mode="json"))
    data["faces_db"] = masked(svc.faces.database, "database")
    return data


class NewUser(BaseModel):
    name: str = Field(..., min_length=1, max_length=64)
    role: Role
    password: str = Field(..., min_length=10, max_length=1024)


class UserChange(BaseModel):
    role: Role | None = None
    password: str | None = Field(None, min_length=10, max_length=1024)
    disabled: bool | None = None


@router.get("/users")
def users(svc: Svc, _who: Admin) -> dict[str, Any]:
    return {"items": [u.to_json() for u in svc.accounts.users()]}


@router.post("/users", status_code=201)
def add_user(body: NewUser, svc: Svc, who: Admin) -> dict[str, Any]:
    user = svc.accounts.add_user(body.name, body.role, body.password)
    svc.accounts.audit(who.actor, "user_add", user.name, detail={"role": user.role},
                       address=who.address)
    return user.to_json()


@router.patch("/users/{name}")
def change_user(name: str, body: UserChange, svc: Svc, who: Admin) -> dict[str, Any]:
    if who.user_id is not None and name == svc.accounts.user_by_id(who.user_id).name and (
            body.disabled or (body.role and body.role != "admin")):
        raise HTTPException(409, "you cannot disable yourself or give up your own admin role")
    user = svc.accounts.update_user(name, role=body.role, password=body.password,
                                    disabled=body.disabled)
    changes = {k: v for k, v in body.model_dump(exclude_none=True).items() if k != "password"}
    if body.password is not None:
        changes["password_changed"] = True
    svc.accounts.audit(who.actor, "user_change", name, detail=changes, address=who.address)
    return user.to_json()


@router.delete("/users/{name}")
def remove_user(name: str, svc: Svc, who: Admin) -> dict[str, Any]:
    if who.user_id is not None and name == svc.accounts.user_by_id(who.user_id).name:
        raise HTTPException(409, "you cannot remove yourself (or the user whose key this is)")
    svc.accounts.remove_user(name)
    svc.accounts.audit(who.actor, "user_remove", name, address=who.address)
    return {"removed": name}


class NewKey(BaseModel):
    name: str = Field(..., min_length=1, max_length=200)
    role: Role


@router.get("/keys")
def keys(svc: Svc, _who: Admin) -> dict[str, Any]:
    return {"items": [k.to_json() for k in svc.accounts.api_keys()]}


@router.post("/keys", status_code=201)
def add_key(body: NewKey, svc: Svc, who: Admin) -> dict[str, Any]:
    """A new API key; its secret is in this answer only."""
    owner = None if who.user_id is None else svc.accounts.user_by_id(who.user_id)
    secret, key = svc.accounts.add_key(body.name, body.role, who.actor, owner=owner)
    svc.accounts.audit(who.actor, "key_add", key.name, detail={"id": key.id, "role": key.role},
                       address=who.address)
    return {**key.to_json(), "key": secret}


@router.delete("/keys/{key_id}")
def remove_key(key_id: Id, svc: Svc, who: Admin) -> dict[str, Any]:
    key = svc.accounts.remove_key(key_id)
    svc.accounts.audit(who.actor, "key_remove", key.name, detail={"id": key.id},
                       address=who.address)
    return {"removed": key.id}


@router.get("/audit")
def audit(svc: Svc, _who: Admin,
          since: Annotated[str | None, Query(max_length=64)] = None,
          actor: Annotated[str | None, Query(max_length=200)] = None,
          action: Annotated[str | None, Query(max_length=64)] = None,
          before: Annotated[int | None, Query(ge=1, le=2**62)] = None,
          limit: Annotated[int, Query(ge=1, le=500)] = 100) -> dict[str, Any]:
    """The audit log, newest first (append-only: nobody can edit it through facetrack)."""
    items = svc.accounts.audit_log(since=since, actor=actor, action=action, before_id=before,
                                   limit=limit)
    return {"items": items, "next": items[-1]["id"] if len(items) == limit else None}
