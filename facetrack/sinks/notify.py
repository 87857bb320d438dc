"""Notifications of alerts through Apprise, off the frame path.

``Notifier.notify(alert, clip)`` only queues (bounded: when full the oldest waiting message is
dropped and counted); a worker thread renders the templates and sends to every URL, each attempt
bounded by ``timeout_s`` and retried ``retries`` times with growing pauses. A notifier that is
down, slow or wrong never stalls video processing; its failures are counted and logged.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from dataclasses import dataclass
from typing import Any

from facetrack.errors import ConfigError
from facetrack.events import Alert

log = logging.getLogger(__name__)


@dataclass
class NotifyCounters:
    sent: int = 0
    failed: int = 0
    dropped: int = 0


class Notifier:
    def __init__(self, camera: str, urls: list[str], title: str, body: str,
                 timeout_s: float = 10.0, retries: int = 3, queue_size: int = 100) -> None:
        import apprise

        self.camera = camera
        self.title, self.body = title, body
        self.timeout_s, self.retries = timeout_s, retries
        self.counters = NotifyCounters()
        self._apprise = apprise.Apprise()
        for url in urls:
            if not self._apprise.add(url):
                shown = url.split("://", 1)[0] + "://..." if "://" in url else url
                raise ConfigError(f"camera {camera}: notification URL {shown!r} is not a "
                                  "valid Apprise URL")
        self._queue: queue.Queue[tuple[Alert, str] | None] = queue.Queue(maxsize=queue_size)
        self._thread = threading.Thread(target=self._run, name=f"notify-{camera}", daemon=True)
        self._thread.start()

    def notify(self, alert: Alert, clip: str | None) -> None:
        item = (alert, clip or "none")
        while True:
            try:
                self._queue.put_nowait(item)
                return
            except queue.Full:
                try:
                    self._queue.get_nowait()
                    self.counters.dropped += 1
                except queue.Empty:
                    pass

    def render(self, alert: Alert, clip: str) -> tuple[str, str]:
        values = {
            "camera": alert.camera, "reason": alert.reason.replace("_", " "),
            "person": alert.person or ("unknown person" if alert.person_key.startswith(
                "unknown") else alert.person_key),
            "time": alert.wall_time, "clip": clip, "track_id": alert.track_id,
        }
        try:
            return self.title.format(**values), self.body.format(**values)
        except (KeyError, IndexError, ValueError) as exc:
            raise ConfigError(f"camera {self.camera}: bad notification template ({exc})"
                              ) from None

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            alert, clip = item
            try:
                title, body = self.render(alert, clip)
            except ConfigError as exc:
                log.error("%s", exc)
                self.counters.failed += 1
                continue
            delay = 1.0
            for attempt in range(self.retries + 1):
                if self._send(title, body):
                    self.counters.sent += 1
                    break
                if attempt == self.retries:
                    self.counters.failed += 1
                    log.warning("camera %s: notification failed after %d attempts",
                                self.camera, attempt + 1)
                    break
                time.sleep(delay)
                delay = min(delay * 2, 30.0)

    def _send(self, title: str, body: str) -> bool:
        """One attempt, given up after ``timeout_s`` (the send goes on in the background)."""
        result: dict[str, Any] = {}

        def send() -> None:
            try:
                result["ok"] = bool(self._apprise.notify(title=title, body=body))
            except Exception as exc:  # a plugin's failure is a failed attempt
                result["error"] = exc

        worker = threading.Thread(target=send, daemon=True)
        worker.start()
        worker.join(self.timeout_s)
        return bool(result.get("ok"))

    def close(self, timeout: float = 30.0) -> None:
        """Send what is queued (up to ``timeout``), then stop."""
        end = time.monotonic() + timeout
        while not self._queue.empty() and time.monotonic() < end:
            time.sleep(0.05)
        with contextlib.suppress(queue.Full):  # the worker is a daemon: it cannot hold us
            self._queue.put(None, timeout=1.0)
        self._thread.join(max(0.0, end - time.monotonic()) + 1.0)
