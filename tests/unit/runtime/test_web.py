"""The API's web server runs below the cameras' priority: its requests are answered on threads
whose niceness is raised by ``api.niceness`` (Linux: a thread is its own task)."""

from __future__ import annotations

import http.client
import json
import os
import sys
import threading

import pytest
from fastapi import FastAPI

from facetrack.runtime.web import BackgroundServer


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread niceness: Linux")
@pytest.mark.parametrize("niceness", [0, 7])
def test_requests_are_answered_at_the_servers_niceness(niceness: int) -> None:
    app = FastAPI()

    @app.get("/nice")
    def nice() -> dict[str, int]:  # a sync endpoint: answered on the request thread pool
        return {"nice": os.getpriority(os.PRIO_PROCESS, threading.get_native_id())}

    base = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    server = BackgroundServer(app, "127.0.0.1", 0, niceness=niceness)
    try:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        conn.request("GET", "/nice")
        answer = json.loads(conn.getresponse().read())
        conn.close()
    finally:
        server.close()
    assert answer["nice"] == min(19, base + niceness)
    # the caller's own thread (a camera's, in a monitor) keeps its priority
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == base
