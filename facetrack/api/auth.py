"""Who is asking, and may they: sessions for people, API keys for machines, three roles.

- A person logs in (``POST /api/auth/login``) and gets a session cookie: HttpOnly (no script
  reads it), SameSite=Strict (no other site's page sends it), Secure under TLS. Every request
  that changes something and rides on that cookie must also carry the session's CSRF token in
  ``X-CSRF-Token`` (the page reads it from ``/api/auth/me``), so a forged form post fails
  even from a same-site page.
- A machine sends ``Authorization: Bearer ftk_...`` (or ``X-API-Key``); keys have a role
  like users and need no CSRF token (no browser sends them by itself).
- Roles are ranked: ``viewer`` < ``operator`` < ``admin``; a route names the least it needs.
- Failed logins are counted per client address and per user name; past
  ``api.login_attempts`` within ``api.login_window_s`` the answer is 429 until the window
  passes, whatever the password.
"""

from __future__ import annotations

import hmac
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Request, Response
from pydantic import BaseModel, Field

from facetrack.api.context import Services
from facetrack.storage.accounts import ROLES, Role

SESSION_COOKIE = "facetrack_session"
CSRF_HEADER = "X-CSRF-Token"
RANK = {role: i for i, role in enumerate(ROLES)}
_SAFE = {"GET", "HEAD", "OPTIONS"}


@dataclass(frozen=True)
class Principal:
    name: str
    role: Role
    via: str  # "session" or "key"
    address: str | None
    csrf: str | None = None
    user_id: int | None = None  # the user, or the user who made the key (None: the CLI's)

    @property
    def actor(self) -> str:
        return self.name if self.via == "session" else f"key:{self.name}"


def services(request: Request) -> Services:
    svc: Services = request.app.state.services
    return svc


Svc = Annotated[Services, Depends(services)]


def client_address(request: Request) -> str | None:
    return request.client.host if request.client is not None else None


def _bearer(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip()
    return request.headers.get("x-api-key")


def authenticate(request: Request, svc: Svc) -> Principal:
    """The caller, or 401. Cookie sessions must show their CSRF token on unsafe methods."""
    address = client_address(request)
    secret = _bearer(request)
    if secret:
        key = svc.accounts.key(secret)
        if key is None:
            raise HTTPException(401, "invalid API key", headers={"WWW-Authenticate": "Bearer"})
        return Principal(key.name, key.role, "key", address, user_id=key.owner_id)
    token = request.cookies.get(SESSION_COOKIE)
    found = svc.accounts.session(token) if token else None
    if found is None:
        raise HTTPException(401, "log in first (or send an API key)",
                            headers={"WWW-Authenticate": "Bearer"})
    user, csrf = found
    if request.method not in _SAFE:
        given = request.headers.get(CSRF_HEADER, "")
        if not hmac.compare_digest(given.encode(), csrf.encode()):
            raise HTTPException(403, f"missing or wrong {CSRF_HEADER} header")
    return Principal(user.name, user.role, "session", address, csrf, user.id)


def need(role: Role) -> Any:
    """A dependency: the caller, when their role is at least ``role`` (else 403)."""

    def check(who: Annotated[Principal, Depends(authenticate)]) -> Principal:
        if RANK[who.role] < RANK[role]:
            raise HTTPException(403, f"this needs the {role} role (you are {who.role})")
        return who

    return Depends(check)


#: an id in a path: what fits the stores' 64-bit integers (larger ones are 422, not 500)
Id = Annotated[int, Path(ge=0, le=2**62, description="An id.")]

Viewer = Annotated[Principal, need("viewer")]
Operator = Annotated[Principal, need("operator")]
Admin = Annotated[Principal, need("admin")]


class LoginLimiter:
    """Failed logins per key in a sliding window, and how many password checks run at once.

    An attempt counts as a failure from the moment it starts (a success takes it back), so a
    burst of parallel guesses cannot pass the check together; at most ``concurrent`` argon2
    checks (64 MiB each) run at once, more get 503. Keys are the client's address and the
    (name, address) pair: a stranger elsewhere cannot lock a user out of their own machine.
    Memory is bounded: past ``max_keys`` the keys idle longest are forgotten first."""

    def __init__(self, attempts: int, window_s: float, *, concurrent: int = 2,
                 max_keys: int = 50_000) -> None:
        self.attempts, self.window_s, self.max_keys = attempts, window_s, max_keys
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()
        self._checks = threading.BoundedSemaphore(concurrent)

    def _recent(self, key: str, now: float) -> deque[float] | None:
        q = self._failures.get(key)
        while q and now - q[0] > self.window_s:
            q.popleft()
        return q

    def begin(self, keys: list[str]) -> float:
        """0 and the attempt counted as a failure, or the seconds to wait (nothing counted)."""
        now = time.monotonic()
        with self._lock:
            full = [q for k in keys if (q := self._recent(k, now)) is not None
                    and len(q) >= self.attempts]
            if full:
                return max(self.window_s - (now - q[0]) for q in full)
            for k in keys:
                self._failures.setdefault(k, deque()).append(now)
            if len(self._failures) > self.max_keys:
                self._evict(now)
        return 0.0

    def succeeded(self, keys: list[str]) -> None:
        """Take back the attempt ``begin`` counted, and forget the pair's failures."""
        with self._lock:
            for k in keys:
                q = self._failures.get(k)
                if q:
                    q.pop()
            self._failures.pop(keys[-1], None)

    def _evict(self, now: float) -> None:
        idle = sorted(self._failures, key=lambda k: self._failures[k][-1]
                      if self._failures[k] else 0.0)
        for k in idle[:len(idle) - self.max_keys // 2]:
            del self._failures[k]

    def check(self) -> bool:
        """A slot for one password check (release with ``done``); False: all busy."""
        return self._checks.acquire(blocking=False)

    def done(self) -> None:
        self._checks.release()


class Login(BaseModel):
    name: str = Field(..., min_length=1, max_length=64)
    password: str = Field(..., min_length=1, max_length=1024)


router = APIRouter(prefix="/api/auth", tags=["auth"])


@router.post("/login")
def login(body: Login, request: Request, response: Response, svc: Svc) -> dict[str, Any]:
    """Log in with a name and password; sets the session cookie and returns the CSRF token
    to send in ``X-CSRF-Token``."""
    limiter: LoginLimiter = request.app.state.login_limiter
    address = client_address(request) or "?"
    keys = [f"addr:{address}", f"user:{address}:{body.name.strip()}"]
    if not limiter.check():
        raise HTTPException(503, "busy checking other logins; try again",
                            headers={"Retry-After": "1"})
    try:
        wait = limiter.begin(keys)
        if wait > 0:
            raise HTTPException(429, f"too many failed logins; try again in {wait:.0f} s",
                                headers={"Retry-After": str(int(wait) + 1)})
        user = svc.accounts.authenticate(body.name, body.password)
    finally:
        limiter.done()
    if user is None:
        svc.accounts.audit("anonymous", "login_failed", body.name.strip()[:64],
                           address=address)
        raise HTTPException(401, "wrong name or password")
    limiter.succeeded(keys)
    session = svc.accounts.open_session(user, svc.api.session_hours)
    response.set_cookie(SESSION_COOKIE, session.token, max_age=int(svc.api.session_hours * 3600),
                        httponly=True, samesite="strict", secure=svc.secure, path="/")
    svc.accounts.audit(user.name, "login", address=address)
    return {"name": user.name, "role": user.role, "csrf": session.csrf,
            "expires": session.expires}


@router.post("/logout")
def logout(request: Request, response: Response, svc: Svc,
           who: Annotated[Principal, Depends(authenticate)]) -> dict[str, Any]:
    """End this session (its cookie stops working at once)."""
    token = request.cookies.get(SESSION_COOKIE)
    if token and who.via == "session":
        svc.accounts.close_session(token)
        svc.accounts.audit(who.actor, "logout", address=who.address)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict",
                           secure=svc.secure)
    return {"ok": True}


@router.get("/me")
def me(who: Annotated[Principal, Depends(authenticate)]) -> dict[str, Any]:
    """Who this is, their role, and (for a session) the CSRF token."""
    return {"name": who.name, "role": who.role, "via": who.via, "csrf": who.csrf}
