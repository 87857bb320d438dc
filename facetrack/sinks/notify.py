"""Notifications of alerts through Apprise, off the frame path.

``Notifier`` is a sink: each alert in a result becomes one message on a ``RetryingQueue``
(bounded: when full the oldest waiting message is dropped and counted). Its worker renders the
templates and sends to every URL, each attempt bounded by ``timeout_s`` and tried
``retries + 1`` times with growing pauses (1 s doubling to 30 s). A notifier that is down, slow
or wrong never stalls video processing; its failures are counted and logged.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from facetrack.config import printable
from facetrack.errors import ConfigError, FacetrackError
from facetrack.events import Alert
from facetrack.redact import mask_url
from facetrack.results import FrameResult
from facetrack.runtime import RetryingQueue, call_with_timeout

log = logging.getLogger(__name__)


class NotifyError(FacetrackError, OSError):
    """An attempt to send failed (retried)."""


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
        self.timeout_s = timeout_s
        self._apprise = apprise.Apprise()
        for url in urls:
            if not self._apprise.add(url):
                raise ConfigError(f"camera {camera}: notification URL {mask_url(url)!r} is "
                                  "not a valid Apprise URL")
        self.render(_sample_alert(camera), "none")  # a bad template fails at start
        self.queue: RetryingQueue[tuple[str, str]] = RetryingQueue(
            f"notifications {camera}", self._send, max_items=queue_size, retry_s=1.0,
            max_retry_s=30.0, max_attempts=retries + 1)

    @property
    def counters(self) -> NotifyCounters:
        q = self.queue
        return NotifyCounters(sent=q.written, failed=q.failed + q.abandoned, dropped=q.dropped)

    def consume(self, result: FrameResult) -> None:
        for alert in result.alerts:
            self.notify(alert, alert.clip)

    def notify(self, alert: Alert, clip: str | None) -> None:
        self.queue.put(self.render(alert, clip or "none"))

    def render(self, alert: Alert, clip: str) -> tuple[str, str]:
        values = {
            "camera": alert.camera, "reason": alert.reason.replace("_", " "),
            "person": alert.person or ("unknown person" if alert.person_key.startswith(
                "unknown") else alert.person_key),
            "time": alert.wall_time, "clip": clip, "track_id": alert.track_id,
        }
        try:
            return self.title.format(**values), self.body.format(**values)
        except (KeyError, IndexError, ValueError, AttributeError) as exc:
            raise ConfigError(f"camera {self.camera}: bad notification template "
                              f"({printable(exc)})") from None

    def _send(self, message: tuple[str, str]) -> None:
        """One attempt, given up after ``timeout_s`` (the send goes on in the background)."""
        title, body = message
        done, value = call_with_timeout(
            lambda: self._apprise.notify(title=title, body=body), self.timeout_s,
            f"notify-{self.camera}")
        if not done:
            raise NotifyError(f"no answer in {self.timeout_s:g} s")
        if isinstance(value, Exception):  # a plugin's failure is a failed attempt
            raise NotifyError(str(value) or type(value).__name__)
        if not value:
            raise NotifyError("not delivered")

    def close(self, patience_s: float = 30.0) -> None:
        """Send what is queued (up to ``patience_s``), then stop."""
        self.queue.close(patience_s)


def _sample_alert(camera: str) -> Alert:
    return Alert(camera, 0, 0.0, 1, "2026-01-01T00:00:00.000+00:00", reason="check",
                 person_key="track:1")
