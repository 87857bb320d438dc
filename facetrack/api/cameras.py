"""Cameras and their health, a snapshot and an MJPEG stream of each.

A camera's state comes from the monitor that runs it: this process's own when the API runs
inside ``facetrack monitor`` (fresh counters, and the latest annotated frame), else the
``camera_status`` rows every monitor writes to the shared store (so one server shows the
cameras of several monitors). Snapshots and streams exist only where the camera runs.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from facetrack.api.auth import Svc, Viewer
from facetrack.api.context import Services

router = APIRouter(prefix="/api/cameras", tags=["cameras"])
BOUNDARY = "facetrackframe"


def live_rows(svc: Services) -> dict[str, dict[str, Any]]:
    if svc.live is None:
        return {}
    from facetrack.storage.cameras import monitor_name

    rows = {}
    for name, c in svc.live.counters().items():
        s = c.live
        rows[name] = {
            "camera": name, "monitor": monitor_name(), "state": s.state,
            "online": s.state == "online", "stale": False, "fps_in": round(c.fps_in, 2),
            "fps_out": round(c.fps_out, 2), "frames_in": s.frames_in,
            "processed": c.processed, "dropped": s.dropped, "reconnects": s.reconnects,
            "events": c.events, "alerts": c.alerts, "last_frame": c.last_frame_time,
            "updated": None, "live": True}
    return rows


def camera_rows(svc: Services) -> list[dict[str, Any]]:
    rows = {r["camera"]: {**r, "live": False} for r in svc.cameras.states()}
    rows.update(live_rows(svc))
    for cam in svc.config.cameras:  # configured but never reported
        rows.setdefault(cam.name, {"camera": cam.name, "state": "unknown", "online": False,
                                   "stale": True, "live": False, "monitor": None})
    return [rows[k] for k in sorted(rows)]


@router.get("")
def cameras(svc: Svc, _who: Viewer) -> dict[str, Any]:
    """Every camera: online, fps in/out, frames dropped, last frame time, its monitor."""
    return {"items": camera_rows(svc)}


def _slot(svc: Services, camera: str) -> Any:
    if svc.live is not None:
        slot = svc.live.latest_frame(camera)
        if slot is not None:
            return slot
    if any(r["camera"] == camera for r in camera_rows(svc)):
        raise HTTPException(404, f"camera {camera!r} runs in another process; its own "
                            "server (api: in its monitor's config) shows it live")
    raise HTTPException(404, f"no camera {camera!r}")


@router.get("/{camera}/snapshot.jpg", response_class=Response)
async def snapshot(camera: str, svc: Svc, _who: Viewer) -> Response:
    """The latest annotated frame (JPEG)."""
    slot = _slot(svc, camera)
    jpeg = await run_in_threadpool(slot.get_jpeg)
    if jpeg is None:
        raise HTTPException(503, f"camera {camera!r} has no frame yet")
    return Response(jpeg, media_type="image/jpeg")


class Streams:
    """Counts open MJPEG streams against ``api.max_streams``."""

    def __init__(self, limit: int) -> None:
        self.limit, self.open = limit, 0
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            if self.open >= self.limit:
                return False
            self.open += 1
            return True

    def give(self) -> None:
        with self._lock:
            self.open -= 1


@router.get("/{camera}/stream.mjpg")
async def stream(camera: str, request: Request, svc: Svc, _who: Viewer) -> StreamingResponse:
    """The camera live, annotated (``multipart/x-mixed-replace``: an ``<img>`` plays it)."""
    slot = _slot(svc, camera)
    streams: Streams = request.app.state.streams
    if not streams.take():
        raise HTTPException(503, f"{streams.limit} streams open already (api.max_streams)")

    async def frames() -> AsyncIterator[bytes]:
        seen = -1
        while not await request.is_disconnected():
            if slot.seq == seen:
                await asyncio.sleep(0.04)
                continue
            seen = slot.seq
            jpeg = await run_in_threadpool(slot.get_jpeg)
            if jpeg is not None:
                yield (f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\n"
                       f"Content-Length: {len(jpeg)}\r\n\r\n").encode() + jpeg + b"\r\n"

    return _Stream(frames(), streams.give, media_type=f"multipart/x-mixed-replace; "
                   f"boundary={BOUNDARY}")


class _Stream(StreamingResponse):
    """A stream that gives its slot back the moment it ends, however it ends (a client that
    leaves mid-frame cancels the response: the generator would only be closed by the garbage
    collector)."""

    def __init__(self, content: AsyncIterator[bytes], on_end: Callable[[], None],
                 **kwargs: Any) -> None:
        super().__init__(content, **kwargs)
        self.on_end = on_end

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.on_end()
            aclose = getattr(self.body_iterator, "aclose", None)
            if aclose is not None:
                await aclose()
