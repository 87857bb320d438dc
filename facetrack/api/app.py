"""The app: routers, the dashboard's files, offline API docs, and the rules every answer
follows.

- Errors are JSON ``{"error": "one line"}`` with the right status: 400 bad input, 401/403,
  404 unknown ids, 409 conflicts, 413 too large, 422 a malformed request (which field), 429,
  503 when a store is unreachable. A bug is a 500 with ``unexpected error`` and the traceback
  goes to the log only, never into a response.
- Request bodies larger than ``api.max_upload_mb`` are refused with 413 before they are read
  (Content-Length) or as soon as they grow past it (chunked).
- Every answer carries a strict Content-Security-Policy (the dashboard loads nothing from
  anywhere else), no framing, no sniffing, no referrer; API answers are not cached.
"""

from __future__ import annotations

import importlib.resources
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from facetrack.api import (
    admin,
    audience,
    auth,
    cameras,
    clips,
    events,
    faces,
    jobs,
    people,
    unknowns,
)
from facetrack.api.auth import LoginLimiter
from facetrack.api.context import ModelsBusy, Services
from facetrack.config import printable
from facetrack.errors import (
    DatabaseError,
    DatabaseLockedError,
    FacetrackError,
    ModelError,
    UnknownPersonError,
)
from facetrack.runtime.jobs import JobsFull

log = logging.getLogger(__name__)

STATIC = Path(__file__).with_name("static")
_CSP = ("default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; "
        "style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; "
        "object-src 'none'; base-uri 'none'; form-action 'self'")
# Swagger UI starts itself with an inline script
_DOCS_CSP = _CSP.replace("script-src 'self'", "script-src 'self' 'unsafe-inline'").replace(
    "style-src 'self'", "style-src 'self' 'unsafe-inline'")


def _error(status: int, message: str, headers: Mapping[str, str] | None = None
           ) -> JSONResponse:
    return JSONResponse({"error": printable(message)}, status_code=status,
                        headers=dict(headers) if headers else None)


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "request"
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return "; ".join(parts) or "malformed request"


def _install_errors(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)  # FastAPI's, and the router's own 404/405
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _error(exc.status_code, str(exc.detail), exc.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return _error(422, _validation_message(exc))

    @app.exception_handler(LookupError)
    async def missing(_: Request, exc: LookupError) -> JSONResponse:
        return _error(404, str(exc.args[0]) if exc.args else "not found")

    @app.exception_handler(FacetrackError)
    async def refused(_: Request, exc: FacetrackError) -> JSONResponse:
        if isinstance(exc, (DatabaseLockedError, ModelsBusy)):
            return _error(503, str(exc), {"Retry-After": "5"})
        if isinstance(exc, JobsFull):
            return _error(429, str(exc), {"Retry-After": "30"})
        if isinstance(exc, UnknownPersonError):
            return _error(404, str(exc))
        if isinstance(exc, (DatabaseError, ModelError)):
            log.warning("%s", exc)
            return _error(503, str(exc))
        return _error(400, str(exc))

    @app.exception_handler(Exception)
    async def bug(request: Request, exc: Exception) -> JSONResponse:
        log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
        return _error(500, "unexpected error (logged on the server)")


class BodyLimit:
    """413 for request bodies over ``limit`` bytes, declared or streamed."""

    def __init__(self, app: Any, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        too_big = _error(413, f"request body over the {self.limit // 2**20} MB limit "
                         "(api.max_upload_mb)")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await too_big(scope, receive, send)
            return
        seen, over, answered = 0, False, False

        async def limited() -> Any:
            nonlocal seen, over
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:  # the app gets an end of body; its answer is replaced
                    over = True
                    return {"type": "http.request", "body": b"", "more_body": False}
            return message

        async def guarded(message: Any) -> None:
            nonlocal answered
            if not over:
                await send(message)
            elif not answered:
                answered = True
                await too_big(scope, receive, send)

        await self.app(scope, limited, guarded)


def _install_headers(app: FastAPI) -> None:
    @app.middleware("http")
    async def secure_headers(request: Request, call_next: Any) -> Any:
        response = await call_next(request)
        path = request.url.path
        h = response.headers
        h.setdefault("Content-Security-Policy", _DOCS_CSP if path == "/api/docs" else _CSP)
        h.setdefault("X-Content-Type-Options", "nosniff")
        h.setdefault("X-Frame-Options", "DENY")
        h.setdefault("Referrer-Policy", "no-referrer")
        if path.startswith("/api/") and not path.startswith("/api/docs/static"):
            h.setdefault("Cache-Control", "no-store")
        return response


def _install_docs(app: FastAPI) -> None:
    from fastapi.openapi.docs import get_swagger_ui_html

    files = importlib.resources.files("fastapi_offline") / "static"
    app.mount("/api/docs/static", StaticFiles(directory=str(files)), name="docs-static")

    @app.get("/api/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/api/openapi.json", title="facetrack API",
            swagger_js_url="/api/docs/static/swagger-ui-bundle.js",
            swagger_css_url="/api/docs/static/swagger-ui.css",
            swagger_favicon_url="/api/docs/static/favicon.png")


def create_app(services: Services) -> FastAPI:
    app = FastAPI(title="facetrack", version=_version(), docs_url=None, redoc_url=None,
                  openapi_url="/api/openapi.json",
                  description="Faces in video: events, tracks, clips, people, audience. "
                  "Every route but /api/health needs a session (POST /api/auth/login) or an "
                  "API key (Authorization: Bearer ftk_...).")
    app.state.services = services
    app.state.login_limiter = LoginLimiter(services.api.login_attempts,
                                           services.api.login_window_s)
    app.state.streams = cameras.Streams(services.api.max_streams)
    _install_errors(app)
    _install_headers(app)
    _install_docs(app)
    for module in (auth, admin, cameras, events, clips, people, unknowns, faces, audience,
                   jobs):
        app.include_router(module.router)
    app.add_middleware(BodyLimit, limit=int(services.api.max_upload_mb * 2**20))
    if STATIC.is_dir():
        app.mount("/ui", StaticFiles(directory=str(STATIC), html=True), name="dashboard")

    # Prometheus looks at /metrics by default (with the key as its bearer credentials)
    app.add_api_route("/metrics", admin.metrics, include_in_schema=False)

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/ui/", status_code=307)

    return app


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("facetrack")
    except PackageNotFoundError:
        return "0"
