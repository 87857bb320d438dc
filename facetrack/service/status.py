"""The monitor's cameras, reported to the shared store every few seconds (``camera_status``),
so any ``facetrack serve`` on that store shows them. Runs on its own thread: a slow or absent
store delays only these reports (logged once per outage), never a camera or the stop."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from facetrack.errors import DatabaseError
from facetrack.events import utc_now
from facetrack.runtime import spawn
from facetrack.service.metrics import CameraCounters
from facetrack.storage.cameras import REPORT_EVERY_S, CameraStatusStore, monitor_name

log = logging.getLogger(__name__)


def status_rows(counters: dict[str, CameraCounters], monitor: str) -> list[dict[str, Any]]:
    now = utc_now()
    return [{"camera": name, "monitor": monitor, "state": c.live.state,
             "fps_in": round(c.fps_in, 2), "fps_out": round(c.fps_out, 2),
             "frames_in": c.live.frames_in, "processed": c.processed, "dropped": c.live.dropped,
             "reconnects": c.live.reconnects, "events": c.events, "alerts": c.alerts,
             "last_frame": c.last_frame_time, "updated": now}
            for name, c in counters.items()]


class StatusReporter:
    def __init__(self, store: CameraStatusStore,
                 counters: Callable[[], dict[str, CameraCounters]],
                 every_s: float = REPORT_EVERY_S) -> None:
        self.store, self.counters, self.every_s = store, counters, every_s
        self.monitor = monitor_name()
        self._stop = threading.Event()
        self._failing = False
        self._thread = spawn(self._loop, "camera-status")

    def report(self) -> None:
        try:
            self.store.report(status_rows(self.counters(), self.monitor))
        except DatabaseError as exc:
            if not self._failing:
                log.warning("camera states not reported: %s", exc)
            self._failing = True
            return
        if self._failing:
            log.info("camera states reported again")
        self._failing = False

    def _loop(self) -> None:
        while not self._stop.wait(self.every_s):
            self.report()

    def close(self) -> None:
        """Stop; the last report says where every camera ended (``stopped``)."""
        self._stop.set()
        self._thread.join(timeout=20.0)
        self.report()
