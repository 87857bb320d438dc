"""Live view: annotated frames over HTTP (MJPEG, any browser) and pushed to an RTSP server.

``LiveView`` serves ``/`` (a page with every camera), ``/cameras/NAME.mjpg`` (a
``multipart/x-mixed-replace`` stream of the latest annotated frame) and ``/cameras/NAME.jpg``
(one frame). Frames are encoded once per processed frame and only while someone watches, so an
unwatched view costs nothing; a slow viewer only ever gets the latest frame.

``RtspPush`` sends the annotated stream to an external RTSP server (e.g. MediaMTX) through PyAV
(H.264, zero-latency settings) on its own thread with a one-frame queue: a slow or absent
server drops frames for the push only, never for processing; it reconnects with back-off.
"""

from __future__ import annotations

import html
import logging
import threading
import time
from fractions import Fraction
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import av
import cv2
import numpy as np
import numpy.typing as npt

from facetrack.errors import OutputError
from facetrack.results import FrameResult
from facetrack.sinks.video import annotate

log = logging.getLogger(__name__)

_BOUNDARY = b"facetrackframe"


class _Slot:
    """The latest result of one camera, annotated and JPEG-encoded lazily for viewers."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.result: FrameResult | None = None
        self.jpeg: bytes | None = None
        self.seq = 0
        self.viewers = 0

    def put(self, result: FrameResult) -> None:
        with self.cond:
            self.result, self.jpeg = result, None
            self.seq += 1
            self.cond.notify_all()

    def get_jpeg(self) -> bytes | None:
        with self.cond:
            result, jpeg = self.result, self.jpeg
        if jpeg is None and result is not None:
            ok, buf = cv2.imencode(".jpg", annotate(result), [cv2.IMWRITE_JPEG_QUALITY, 80])
            jpeg = buf.tobytes() if ok else None
            with self.cond:
                if self.result is result:
                    self.jpeg = jpeg
        return jpeg


class LiveView:
    def __init__(self, cameras: list[str], port: int, host: str = "127.0.0.1") -> None:
        self.slots = {name: _Slot() for name in cameras}
        self._stop = threading.Event()
        view = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                if path in ("/", "/index.html"):
                    return self._index()
                for suffix, stream in ((".mjpg", True), (".jpg", False)):
                    prefix = "/cameras/"
                    if path.startswith(prefix) and path.endswith(suffix):
                        name = path[len(prefix):-len(suffix)]
                        slot = view.slots.get(name)
                        if slot is not None:
                            return self._stream(slot) if stream else self._still(slot)
                self.send_error(404, "no such camera")
                return None

            def _index(self) -> None:
                items = "".join(
                    f'<figure><img src="/cameras/{html.escape(n)}.mjpg" alt="{html.escape(n)}">'
                    f"<figcaption>{html.escape(n)}</figcaption></figure>" for n in view.slots
                )
                body = ("<!doctype html><html><head><meta charset='utf-8'><title>facetrack "
                        "live</title><style>body{font-family:sans-serif;background:#111;"
                        "color:#eee}img{max-width:640px}figure{display:inline-block}</style>"
                        f"</head><body><h1>facetrack live</h1>{items}</body></html>").encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _still(self, slot: _Slot) -> None:
                jpeg = slot.get_jpeg()
                if jpeg is None:
                    self.send_error(503, "no frame yet")
                    return
                self.send_response(200)
                self.send_header("Content-Type", "image/jpeg")
                self.send_header("Content-Length", str(len(jpeg)))
                self.end_headers()
                self.wfile.write(jpeg)

            def _stream(self, slot: _Slot) -> None:
                self.send_response(200)
                self.send_header("Content-Type",
                                 f"multipart/x-mixed-replace; boundary={_BOUNDARY.decode()}")
                self.send_header("Cache-Control", "no-cache")
                self.end_headers()
                seen = -1
                with slot.cond:
                    slot.viewers += 1
                try:
                    while not view._stop.is_set():
                        with slot.cond:
                            if slot.seq == seen:
                                slot.cond.wait(1.0)
                            if slot.seq == seen:
                                continue
                            seen = slot.seq
                        jpeg = slot.get_jpeg()
                        if jpeg is None:
                            continue
                        self.wfile.write(b"--" + _BOUNDARY + b"\r\nContent-Type: image/jpeg\r\n"
                                         + f"Content-Length: {len(jpeg)}\r\n\r\n".encode()
                                         + jpeg + b"\r\n")
                        self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the viewer left
                finally:
                    with slot.cond:
                        slot.viewers -= 1

        try:
            self.server = ThreadingHTTPServer((host, port), Handler)
        except OSError as exc:
            raise OutputError(f"live view: cannot listen on {host}:{port} "
                              f"({exc.strerror or exc})") from None
        # close() waits for the viewer threads (each notices the stop within a second), so no
        # connection is left open behind it
        self.server.daemon_threads = False
        self.server.block_on_close = True
        self.port = int(self.server.server_address[1])
        self._thread = threading.Thread(target=self.server.serve_forever, name="live-view",
                                        daemon=True)
        self._thread.start()

    def put(self, camera: str, result: FrameResult) -> None:
        """Offer a camera's latest result; it is annotated and encoded only if requested."""
        self.slots[camera].put(result)

    def close(self) -> None:
        self._stop.set()
        for slot in self.slots.values():
            with slot.cond:
                slot.cond.notify_all()
        self.server.shutdown()
        self.server.server_close()


class RtspPush:
    """Push annotated frames to ``url`` (an RTSP server accepting ANNOUNCE/RECORD)."""

    def __init__(self, url: str, fps: float, transport: str | None = None) -> None:
        self.url, self.fps, self.transport = url, fps, transport
        self.sent = 0
        self.dropped = 0
        self.reconnects = 0
        self.last_error: str | None = None
        self._cond = threading.Condition()
        self._frame: npt.NDArray[np.uint8] | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rtsp-push", daemon=True)
        self._thread.start()

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
                self.last_error = str(exc).splitlines()[0][:200] if str(exc) else "error"
                self.reconnects += 1
                log.warning("rtsp push to %s: %s; retrying in %.1f s", self.url,
                            self.last_error, delay)
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
            rate = Fraction(self.fps).limit_denominator(1000)
            stream: Any = container.add_stream("libx264", rate=rate)
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
