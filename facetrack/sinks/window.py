"""A local window showing the annotated cameras, when the machine has a display.

``Window(cameras)`` opens one Tk window (Python's standard GUI toolkit, so no extra package and
no conflict with the headless OpenCV build) with the cameras in a grid. ``put(camera, result)``
only keeps the latest result; a drawing thread composes the grid at most ``fps`` times a second
and hands it to the window, which lives in its own process (``_window_child``): Xlib ends the
whole process when the X server goes away, and that must end only the window, not the monitor.
One frame is in flight at a time, so a slow display never slows processing. Closing the window
closes only the window: the monitor keeps watching (Ctrl-C stops it). Without a display
(``DISPLAY`` unset, or the X server refuses) :func:`open_window` logs why and returns ``None``:
the browser view (``live_view.port``) works anywhere.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from facetrack.draw import Drawing, annotate
from facetrack.results import FrameResult
from facetrack.runtime import spawn, spawn_process
from facetrack.runtime.threads import pipe
from facetrack.sinks import _window_child

log = logging.getLogger(__name__)

TITLE = "facetrack monitor"


def has_display() -> bool:
    return bool(os.environ.get("DISPLAY"))  # Tk draws on X (XWayland on Wayland desktops)


class Window:
    """The grid window. ``tile`` is the (width, height) of one camera's cell."""

    def __init__(self, cameras: list[str], *, tile: tuple[int, int] = (640, 360),
                 fps: float = 10.0) -> None:
        self.cameras = list(cameras)
        self.tile = tile
        self.period = 1.0 / fps
        self.cols = math.ceil(math.sqrt(len(self.cameras)))
        self.rows = math.ceil(len(self.cameras) / self.cols)
        self.shown = 0  # frames drawn by the window
        self.closed: str | None = None  # why the window went away, if it did
        self._latest: dict[str, FrameResult] = {}
        self._drawings: dict[str, Drawing] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._canvas = np.zeros((self.rows * tile[1], self.cols * tile[0], 3), np.uint8)
        self._conn, child_conn = pipe()
        self._proc = spawn_process(_window_child.run, (child_conn, TITLE, self._canvas.shape[1],
                                                       self._canvas.shape[0]), "facetrack-window")
        child_conn.close()
        try:
            reply = self._conn.recv() if self._conn.poll(20.0) else "error: no answer in 20 s"
        except (EOFError, OSError):  # it died first (the X server dropped it, ...)
            self._proc.join(timeout=2.0)
            reply = f"error: the window process ended (exit code {self._proc.exitcode})"
        if reply != "ready":
            self._end()
            raise RuntimeError(str(reply).removeprefix("error: "))
        self._thread = spawn(self._run, "window")

    def put(self, camera: str, result: FrameResult) -> None:
        with self._lock:
            self._latest[camera] = result

    def sink(self, camera: str, drawing: Drawing = annotate) -> _WindowFeed:
        """The sink a camera feeds its results to (``drawing``: the camera's shared one,
        which hides faces when its privacy settings say so)."""
        self._drawings[camera] = drawing
        return _WindowFeed(self, camera)

    def _run(self) -> None:
        in_flight = False
        while not self._stop.is_set():
            start = time.monotonic()
            try:
                while self._conn.poll():
                    self._conn.recv()
                    in_flight = False
                    self.shown += 1
                canvas = None if in_flight else self._compose()
                if canvas is not None:
                    self._conn.send_bytes(_ppm(canvas))
                    in_flight = True
            except (EOFError, OSError):  # the window process ended
                self._proc.join(timeout=2.0)
                self.closed = ("closed by the user" if self._proc.exitcode == 0
                               else f"ended (the display went away? exit code "
                                    f"{self._proc.exitcode})")
                log.warning("window %s; the monitor keeps watching (Ctrl-C stops it)",
                            self.closed)
                return
            except Exception:  # one bad frame must not end the window
                log.exception("window: a frame could not be drawn")
            self._stop.wait(max(0.0, self.period - (time.monotonic() - start)))

    def _compose(self) -> npt.NDArray[np.uint8] | None:
        with self._lock:
            latest, self._latest = self._latest, {}
        if not latest:
            return None
        w, h = self.tile
        for i, name in enumerate(self.cameras):
            result = latest.get(name)
            if result is None:
                continue  # keeps the camera's last drawing
            image = self._drawings.get(name, annotate)(result)
            scale = min(w / image.shape[1], h / image.shape[0])
            size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
            cell = np.zeros((h, w, 3), np.uint8)
            y0, x0 = (h - size[1]) // 2, (w - size[0]) // 2
            cell[y0:y0 + size[1], x0:x0 + size[0]] = cv2.resize(image, size,
                                                               interpolation=cv2.INTER_AREA)
            cv2.putText(cell, name, (8, 22), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 2)
            r, c = divmod(i, self.cols)
            self._canvas[r * h:(r + 1) * h, c * w:(c + 1) * w] = cell
        return self._canvas

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self._end()

    def _end(self) -> None:
        self._conn.close()  # the window process sees the pipe close and ends
        self._proc.join(timeout=5)
        if self._proc.is_alive():
            self._proc.kill()
            self._proc.join(timeout=5)


@dataclass
class _WindowFeed:
    window: Window
    camera: str

    def consume(self, result: FrameResult) -> None:
        self.window.put(self.camera, result)

    def close(self) -> None:
        """The window is closed by the monitor."""


def _ppm(bgr: npt.NDArray[np.uint8]) -> bytes:
    h, w = bgr.shape[:2]
    return f"P6 {w} {h} 255 ".encode() + np.ascontiguousarray(bgr[:, :, ::-1]).tobytes()


def open_window(cameras: list[str]) -> Window | None:
    """The window, or None (logged) when there is no display to open it on."""
    if not has_display():
        log.warning("live_view.window: no display here (DISPLAY is not set); the window is off."
                    " The browser view (live_view.port) works without one")
        return None
    try:
        import tkinter  # noqa: F401 - a Python built without Tk has no window
    except ImportError:
        log.warning("live_view.window: this Python has no tkinter; the window is off")
        return None
    try:
        return Window(cameras)
    except RuntimeError as exc:
        log.warning("live_view.window: cannot open a window on %s (%s); the window is off",
                    os.environ.get("DISPLAY"), exc)
        return None
