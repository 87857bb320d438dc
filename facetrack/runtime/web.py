"""The web server of the REST API and dashboard: uvicorn running one ASGI app, either in the
foreground (``facetrack serve``: uvicorn handles Ctrl-C and SIGTERM and drains requests) or
on a thread beside the cameras (``facetrack monitor`` with ``api:``).

The app's own endpoints are synchronous functions that FastAPI runs on its thread pool, so a
slow database call or a face detection never blocks the event loop that serves other clients.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from facetrack.errors import OutputError
from facetrack.runtime.threads import lower_priority, spawn

log = logging.getLogger(__name__)


def _server(app: Any, host: str, port: int, tls: tuple[Path, Path] | None,
            on_started: Callable[[int], None] | None = None,
            proxies: Sequence[str] = ()) -> Any:
    import uvicorn

    class Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: Any) -> None:
            super().handle_exit(sig, frame)
            # a stop by Ctrl-C/SIGTERM is a clean stop: the command exits 0 after it, instead
            # of uvicorn raising the signal again once it has shut down
            self._captured_signals.clear()

        async def startup(self, sockets: Any = None) -> None:
            await super().startup(sockets)
            if self.started and on_started is not None:
                on_started(bound_port(self) or port)

    for path in tls or ():
        if not Path(path).is_file():
            raise OutputError(f"api.tls: {path} not found")
    config = uvicorn.Config(
        app, host=host, port=port, log_level="warning", access_log=False, lifespan="off",
        ssl_certfile=str(tls[0]) if tls else None, ssl_keyfile=str(tls[1]) if tls else None,
        timeout_graceful_shutdown=5, server_header=False, proxy_headers=bool(proxies),
        forwarded_allow_ips=",".join(proxies) if proxies else None)
    return Server(config)


def bound_port(server: Any) -> int | None:
    for s in getattr(server, "servers", []) or []:
        for sock in s.sockets:
            return int(sock.getsockname()[1])
    return None


def run_in_foreground(app: Any, host: str, port: int, tls: tuple[Path, Path] | None = None,
                      on_started: Callable[[int], None] | None = None,
                      proxies: Sequence[str] = (), niceness: int = 0) -> None:
    """Serve until Ctrl-C or SIGTERM (uvicorn's own handlers; requests in flight finish);
    ``on_started(port)`` once it listens; ``proxies``: addresses whose forwarded headers are
    believed; ``niceness``: added to this thread's (and so to the request threads')."""
    server = _server(app, host, port, tls, on_started, proxies)
    lower_priority(niceness, "api")
    server.run()
    if not server.started:
        raise OutputError(f"api: cannot listen on {host}:{port} (in use, or not allowed)")


class BackgroundServer:
    """uvicorn on a daemon thread; ``close`` asks it to stop and waits a few seconds.

    It keeps the cameras' priority: in one interpreter the threads share the GIL, and a
    lowered thread holding it makes the cameras wait longer (measured: 4 cameras with 20
    dashboards dropped 49% of frames with the API thread at niceness 10, 44% without, and the
    API answered 2.5x slower; docs/benchmarks.md). ``facetrack serve`` as a process of its
    own is the way to put the API below the cameras."""

    def __init__(self, app: Any, host: str, port: int,
                 tls: tuple[Path, Path] | None = None, start_timeout: float = 15.0,
                 proxies: Sequence[str] = ()) -> None:
        self._server = _server(app, host, port, tls, proxies=proxies)
        self._thread = spawn(self._server.run, "api")
        deadline = time.monotonic() + start_timeout
        while not self._server.started and self._thread.is_alive():
            if time.monotonic() > deadline:
                break
            time.sleep(0.02)
        if not self._server.started:
            self.close()
            raise OutputError(f"api: cannot listen on {host}:{port} (in use, or not allowed)")
        self.port = bound_port(self._server) or port

    def close(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10.0)
