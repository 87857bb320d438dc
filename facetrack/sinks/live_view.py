"""Live view: annotated frames over HTTP (MJPEG, any browser) and pushed to an RTSP server.

``LiveView`` serves ``/`` (a page with every camera), ``/cameras/NAME.mjpg`` (a
``multipart/x-mixed-replace`` stream of the latest annotated frame) and ``/cameras/NAME.jpg``
(one frame). Each camera feeds it through ``sink(NAME)``. Frames are drawn and encoded once per
processed frame and only while someone watches, so an unwatched view costs nothing; a slow
viewer only ever gets the latest frame. At most ``max_viewers`` connections are served at once
(more get 503); with a ``token`` every request must carry it (``?token=`` once, then a cookie,
or ``Authorization: Bearer``). ``close`` returns at once, whatever viewers do.

``RtspPush`` sends the annotated stream to an external RTSP server (e.g. MediaMTX) through PyAV
(H.264, zero-latency settings) on its own thread with a one-frame queue: a slow or absent
server drops frames for the push only, never for processing; it reconnects with back-off.
"""

from __future__ import annotations

import hmac
import html
import logging
import threading
import time
from collections.abc import Callable
from fractions import Fraction
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

import av
import cv2
import numpy as np
import numpy.typing as npt

from facetrack.draw import annotate
from facetrack.errors import OutputError
from facetrack.redact import redact_url
from facetrack.results import FrameResult
from facetrack.runtime import spawn
from facetrack.runtime.servers import BoundedHTTPServer
from facetrack.sinks.latest_frame import LatestFrame

log = logging.getLogger(__name__)

_BOUNDARY = b"facetrackframe"
_COOKIE = "facetrack_token"
_ERRORS = (BrokenPipeError, ConnectionResetError, TimeoutError, OSError)


class _Handler(BaseHTTPRequestHandler):
    view: LiveView  # set on the subclass made per server
    timeout = 10.0  # a client that stops reading or writing is dropped after this

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if not self._allowed(url.query):
            self.send_error(401, "a token is required (?token=...)")
            return
        path = url.path
        if path in ("/", "/index.html"):
            return self._index()
        for suffix, stream in ((".mjpg", True), (".jpg", False)):
            prefix = "/cameras/"
            if path.startswith(prefix) and path.endswith(suffix):
                slot = self.view.slots.get(path[len(prefix):-len(suffix)])
                if slot is not None:
                    return self._stream(slot) if stream else self._still(slot)
        self.send_error(404, "no such camera")
        return None

    def _allowed(self, query: str) -> bool:
        token = self.view.token
        if token is None:
            return True
        given = parse_qs(query).get("token", [None])[0]
        auth = self.headers.get("Authorization", "")
        if given is None and auth.startswith("Bearer "):
            given = auth[len("Bearer "):]
        if given is None:
            cookie = SimpleCookie(self.headers.get("Cookie", ""))
            given = cookie[_COOKIE].value if _COOKIE in cookie else None
        return given is not None and hmac.compare_digest(given.encode(), token.encode())

    def _headers(self, status: int, content_type: str, length: int | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Cache-Control", "no-store")
        if length is not None:
            self.send_header("Content-Length", str(length))
        if self.view.token is not None:
            self.send_header("Set-Cookie", f"{_COOKIE}={self.view.token}; HttpOnly; "
                             "SameSite=Strict; Path=/")
        self.end_headers()

    def _index(self) -> None:
        items = "".join(
            f'<figure><img src="/cameras/{html.escape(n)}.mjpg" alt="{html.escape(n)}">'
            f"<figcaption>{html.escape(n)}</figcaption></figure>" for n in self.view.slots)
        body = ("<!doctype html><html><head><meta charset='utf-8'><title>facetrack live</title>"
                "<style>body{font-family:sans-serif;background:#111;color:#eee}"
                "img{max-width:640px}figure{display:inline-block}</style></head><body>"
                f"<h1>facetrack live</h1>{items}</body></html>").encode()
        self._headers(200, "text/html; charset=utf-8", len(body))
        self.wfile.write(body)

    def _still(self, slot: LatestFrame) -> None:
        jpeg = slot.get_jpeg()
        if jpeg is None:
            self.send_error(503, "no frame yet")
            return
        self._headers(200, "image/jpeg", len(jpeg))
        self.wfile.write(jpeg)

    def _stream(self, slot: LatestFrame) -> None:
        self._headers(200, f"multipart/x-mixed-replace; boundary={_BOUNDARY.decode()}")
        seen = -1
        try:
            while not self.view.stopped.is_set():
                with slot.cond:
                    if slot.seq == seen:
                        slot.cond.wait(1.0)
                    if slot.seq == seen:
                        continue
                    seen = slot.seq
                jpeg = slot.get_jpeg()
                if jpeg is not None:
                    self.wfile.write(b"--" + _BOUNDARY + b"\r\nContent-Type: image/jpeg\r\n"
                                     + f"Content-Length: {len(jpeg)}\r\n\r\n".encode()
                                     + jpeg + b"\r\n")
                    self.wfile.flush()
        except _ERRORS:
            log.debug("live view: a viewer left")


class LiveView:
    def __init__(self, cameras: list[str], port: int, host: str = "127.0.0.1", *,
                 token: str | None = None, max_viewers: int = 8,
                 slots: dict[str, LatestFrame] | None = None) -> None:
        self.slots = slots if slots is not None else {name: LatestFrame() for name in cameras}
        self.token = token
        self.stopped = threading.Event()
        handler = type("LiveViewHandler", (_Handler,), {"view": self})
        try:
            self.server = BoundedHTTPServer((host, port), handler, max_viewers, "live-view")
        except OSError as exc:
            raise OutputError(f"live view: cannot listen on {host}:{port} "
                              f"({exc.strerror or exc})") from None
        self.port = int(self.server.server_address[1])

    def sink(self, camera: str,
             drawing: Callable[[FrameResult], npt.NDArray[np.uint8]] = annotate) -> LatestFrame:
        """The sink a camera feeds its results to (``drawing``: the camera's shared one)."""
        slot = self.slots[camera]
        slot.drawing = drawing
        return slot

    def put(self, camera: str, result: FrameResult) -> None:
        self.slots[camera].consume(result)

    def close(self) -> None:
        self.stopped.set()
        for slot in self.slots.values():
            with slot.cond:
                slot.cond.notify_all()
        self.server.close()


class RtspPush:
    """Push annotated frames to ``url`` (an RTSP server accepting ANNOUNCE/RECORD); a sink.
    ``drawing`` gives a result's annotated image (shared with the camera's other sinks)."""

    def __init__(self, url: str, fps: float, transport: str | None = None,
                 drawing: Callable[[FrameResult], npt.NDArray[np.uint8]] = annotate) -> None:
        self.url, self.fps, self.transport, self.drawing = url, fps, transport, drawing
        self.shown_url = redact_url(url)
        self.sent = 0
        self.dropped = 0
        self.reconnects = 0
        self.last_error: str | None = None
        self._cond = threading.Condition()
        self._frame: npt.NDArray[np.uint8] | None = None
        self._stop = threading.Event()
        self._thread = spawn(self._run, "rtsp-push")

    def consume(self, result: FrameResult) -> None:
        self.put(self.drawing(result))

    def put(self, image: npt.NDArray[np.uint8]) -> None:
        with self._cond:
            if self._frame is not None:
                self.dropped += 1
            self._frame = image
            self._cond.notify_all()

    def _next(self) -> npt.NDArray[np.uint8] | None:
        with self._cond:
            while self._frame is None and not self._stop.is_set():
                self._cond.wait(0.2)
            frame, self._frame = self._frame, None
            return frame

    def _run(self) -> None:
        delay = 0.5
        while not self._stop.is_set():
            first = self._next()
            if first is None:
                return
            try:
                self._session(first)
                delay = 0.5
            except (av.error.FFmpegError, OSError, ValueError) as exc:
                text = redact_url(str(exc).splitlines()[0][:200]) if str(exc) else "error"
                if text != self.last_error or self.reconnects % 30 == 0:
                    log.warning("rtsp push to %s: %s; retrying in %.1f s", self.shown_url,
                                text, delay)
                self.last_error = text
                self.reconnects += 1
                if self._stop.wait(delay):
                    return
                delay = min(delay * 2, 30.0)

    def _session(self, first: npt.NDArray[np.uint8]) -> None:
        h, w = first.shape[:2]
        size = (w - w % 2, h - h % 2)
        options = {"rtsp_transport": self.transport} if self.transport else {}
        container: Any = av.open(self.url, mode="w", format="rtsp", options=options,
                                 timeout=5.0)
        try:
            stream: Any = container.add_stream("libx264",
                                               rate=Fraction(self.fps).limit_denominator(1000))
            stream.width, stream.height = size
            stream.pix_fmt = "yuv420p"
            stream.options = {"preset": "ultrafast", "tune": "zerolatency", "g": "10",
                              "bf": "0"}
            t0 = time.monotonic()
            frame: npt.NDArray[np.uint8] | None = first
            last_pts = -1
            while frame is not None and not self._stop.is_set():
                if (frame.shape[1], frame.shape[0]) != size:
                    frame = np.asarray(cv2.resize(frame, size), np.uint8)
                vf = av.VideoFrame.from_ndarray(frame, format="bgr24")
                pts = max(last_pts + 1, round((time.monotonic() - t0) * self.fps))
                vf.pts, last_pts = pts, pts
                for packet in stream.encode(vf):
                    container.mux(packet)
                self.sent += 1
                frame = self._next()
        finally:
            container.close()

    def close(self) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        self._thread.join(timeout=10)
