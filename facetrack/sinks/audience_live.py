"""A live camera's audience windows (``facetrack monitor`` with ``tracker: {analytics:
{enabled: true}}``): the same windows as ``facetrack track --analytics``, aligned on the wall
clock, stored in the event store's ``audience`` table and kept for the Prometheus gauges.

Each source session (the camera's pipeline is rebuilt when it reconnects) gets its own
``Audience``, started by ``start`` when its pipeline is built and closed with it (its last,
partial window is stored). Rows are written through a ``RetryingQueue``: a slow or refusing
store never holds up the camera.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from facetrack.analytics.heatmaps import Heatmaps
from facetrack.analytics.windows import Audience
from facetrack.results import FrameResult
from facetrack.runtime import RetryingQueue

if TYPE_CHECKING:
    from facetrack.config import TrackerConfig
    from facetrack.frames import SourceInfo
    from facetrack.storage.audience import AudienceStore


def iso(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s, timezone.utc).isoformat(timespec="milliseconds")


class LiveAudience:
    def __init__(self, camera: str, config: TrackerConfig, store: AudienceStore, *,
                 retry_s: float = 2.0, patience_s: float = 10.0,
                 on_window: Callable[[list[dict[str, Any]]], None] | None = None) -> None:
        self.camera, self.config = camera, config
        self.on_window = on_window  # also told each closed window's rows (MQTT)
        self.patience_s = patience_s
        self.queue: RetryingQueue[list[dict[str, Any]]] = RetryingQueue(
            f"audience {camera}", store.add, max_items=100_000, units=len, retry_s=retry_s)
        self._audience: Audience | None = None
        self._lock = threading.Lock()
        #: the latest closed window's rows, by (zone, target), for the gauges
        self.latest: dict[tuple[str, str], dict[str, Any]] = {}
        self._heatmaps: Heatmaps | None = None
        self._period_s = 0.1

    def start(self, info: SourceInfo, stack: ExitStack) -> None:
        """A new source session: frame time 0 is now on the wall clock."""
        audience = Audience.of(self.config, info, source=self.camera, on_rows=self._store,
                               origin_s=time.time())
        with self._lock:  # the heatmaps take their size from the first frame
            self._audience, self._heatmaps = audience, None
            self._period_s = 1.0 / info.fps if info.fps else 0.1
        stack.callback(self._end, audience)

    def _end(self, audience: Audience) -> None:
        audience.close()
        with self._lock:
            if self._audience is audience:
                self._audience = None

    def consume(self, result: FrameResult) -> None:
        with self._lock:
            audience = self._audience
        if audience is None:
            return
        audience.consume(result)
        with self._lock:
            if self._heatmaps is None:  # a live source's info may lack its size: the frame has it
                h, w = result.frame.image.shape[:2]
                self._heatmaps = Heatmaps(self.config.analytics, w, h, self._period_s, None)
            self._heatmaps.consume(result)

    def heatmap(self, name: str) -> bytes | None:
        """A PNG of this session's heatmap ``name`` (``occupancy`` or a target's name), faces
        blurred out of the scene; None before the first frame or for an unknown name."""
        import cv2

        with self._lock:  # a copy, so drawing never holds up the camera
            snap = None if self._heatmaps is None else self._heatmaps.snapshot()
        images = snap.render() if snap is not None and snap.samples else {}
        image = images.get(f"heatmap_{name}.png")
        if image is None:
            return None
        ok, data = cv2.imencode(".png", image)
        return data.tobytes() if ok else None

    def _store(self, rows: list[dict[str, Any]]) -> None:
        stored = []
        for row in rows:
            row = {**row, "camera": self.camera, "window_start": iso(row["window_start"]),
                   "window_end": iso(row["window_end"])}
            stored.append(row)
            self.latest[(row["zone"], row["target"])] = row
        self.queue.put(stored)
        if self.on_window is not None:
            self.on_window(stored)

    def close(self) -> None:
        with self._lock:
            audience = self._audience
        if audience is not None:
            self._end(audience)
        self.queue.close(self.patience_s)
