"""The HTTP server behind the monitor's own pages (live view, metrics).

Threaded (one daemon thread per connection), with limits so no client can hold the monitor:
at most ``max_connections`` handled at once (more get ``503`` and are closed), a real listen
backlog, a socket timeout on every connection (a client that stops reading cannot block a
write for longer), and ``close`` that returns at once: it stops accepting, shuts every open
connection and never joins the handler threads. A client that goes away mid-response costs one
debug line, never a traceback.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from facetrack.runtime.threads import serve

log = logging.getLogger(__name__)

_BUSY = (b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
         b"Content-Length: 19\r\nConnection: close\r\n\r\ntoo many connections")


class BoundedHTTPServer(ThreadingHTTPServer):
    daemon_threads = True  # a stuck client never holds the process
    block_on_close = False  # close() never waits for handler threads
    request_queue_size = 64

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler],
                 max_connections: int, name: str) -> None:
        self._slots = threading.BoundedSemaphore(max_connections)
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self.refused = 0
        super().__init__(address, handler)
        self._thread = serve(self, name)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            self.refused += 1
            with contextlib.suppress(OSError):
                request.sendall(_BUSY)
            self.shutdown_request(request)
            return
        with self._lock:
            self._open.add(request)
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._done(request)
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._done(request)

    def _done(self, request: Any) -> None:
        with self._lock:
            if request in self._open:
                self._open.discard(request)
                self._slots.release()

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("http client %s: connection ended", client_address, exc_info=True)

    def close(self) -> None:
        """Stop accepting and end every open connection, without waiting for handlers."""
        self.shutdown()
        self.server_close()
        with self._lock:
            for request in list(self._open):
                with contextlib.suppress(OSError):
                    request.shutdown(socket.SHUT_RDWR)
        self._thread.join(timeout=5.0)
