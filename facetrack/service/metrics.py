"""What the monitor counts per camera, how it shows it (the log line, Prometheus) and the
sink that counts processed frames, events and alerts."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any, Protocol

from facetrack.errors import OutputError
from facetrack.events import Alert, utc_now
from facetrack.results import FrameResult
from facetrack.runtime.servers import BoundedHTTPServer
from facetrack.sources.live import LiveStats


@dataclass
class CameraCounters:
    processed: int = 0
    events: int = 0
    alerts: int = 0
    failures: int = 0
    last_failure: str | None = None
    sink_errors: int = 0  # a sink's consume raised (logged once per sink and kind)
    clips: int = 0  # opened (one clip may hold several alerts)
    clips_written: int = 0  # encoded and handed to the clip storage
    clips_waiting: int = 0  # queued or refused by the disk: retried
    clips_lost: int = 0
    notifications_sent: int = 0
    notifications_failed: int = 0  # every attempt failed
    notifications_dropped: int = 0  # the queue was full
    fps_in: float = 0.0  # decoded from the camera, over the last ~10 s
    fps_out: float = 0.0  # processed, over the last ~10 s
    last_frame_time: str | None = None  # wall clock (ISO UTC) of the last processed frame
    live: LiveStats = field(default_factory=LiveStats)

    def summary(self) -> dict[str, Any]:
        """The counters the CLI prints at the end."""
        s = self.live
        return {"state": s.state, "frames_in": s.frames_in, "processed": self.processed,
                "dropped": s.dropped, "reconnects": s.reconnects, "events": self.events,
                "alerts": self.alerts, "clips": self.clips, "clips_written": self.clips_written,
                "clips_lost": self.clips_lost, "notifications_sent": self.notifications_sent,
                "notifications_failed": self.notifications_failed, "failures": self.failures}

    def log_line(self) -> str:
        s = self.live
        return (f"{s.state} fps in/out {self.fps_in:.1f}/{self.fps_out:.1f} in={s.frames_in} "
                f"processed={self.processed} dropped={s.dropped} skipped={s.skipped} "
                f"reconnects={s.reconnects} events={self.events} alerts={self.alerts} "
                f"clips={self.clips_written}/{self.clips} written "
                f"notifications={self.notifications_sent} failed={self.notifications_failed} "
                f"failures={self.failures}")


class CountingSink:
    """Counts what a camera produced (a sink)."""

    def __init__(self, counters: CameraCounters) -> None:
        self.counters = counters

    def consume(self, result: FrameResult) -> None:
        c = self.counters
        c.processed += 1
        c.last_frame_time = utc_now()
        alerts = sum(isinstance(e, Alert) for e in result.events)
        c.alerts += alerts
        c.events += len(result.events) - alerts

    def close(self) -> None:
        """Nothing held."""


class Rates:
    """fps in and out of one camera over a sliding window of samples."""

    def __init__(self, counters: CameraCounters, window_s: float = 10.0) -> None:
        self.counters, self.window_s = counters, window_s
        self._samples: deque[tuple[float, int, int]] = deque()

    def sample(self, now: float) -> None:
        c = self.counters
        if self._samples and now - self._samples[-1][0] < 1.0:
            return
        if self._samples and (c.live.frames_in < self._samples[-1][1]
                              or c.processed < self._samples[-1][2]):
            self._samples.clear()  # a new source session restarted the counters
        self._samples.append((now, c.live.frames_in, c.processed))
        while len(self._samples) > 2 and now - self._samples[1][0] >= self.window_s:
            self._samples.popleft()
        t0, in0, out0 = self._samples[0]
        if now > t0:
            c.fps_in = (c.live.frames_in - in0) / (now - t0)
            c.fps_out = (c.processed - out0) / (now - t0)


class Queued(Protocol):
    name: str

    @property
    def waiting(self) -> int: ...

    @property
    def lost(self) -> int: ...


_COUNTERS: list[tuple[str, str, Callable[[CameraCounters], float]]] = [
    ("frames_in", "Frames decoded from the camera", lambda c: c.live.frames_in),
    ("frames_processed", "Frames processed", lambda c: c.processed),
    ("frames_dropped", "Frames dropped (processing behind)", lambda c: c.live.dropped),
    ("frames_skipped", "Frames skipped by the fps cap", lambda c: c.live.skipped),
    ("reconnects", "Reconnections", lambda c: c.live.reconnects),
    ("events", "Events", lambda c: c.events),
    ("alerts", "Alerts", lambda c: c.alerts),
    ("failures", "Processing failures (camera restarted)", lambda c: c.failures),
    ("clips", "Evidence clips opened", lambda c: c.clips),
    ("clips_written", "Evidence clips written", lambda c: c.clips_written),
    ("clips_lost", "Evidence clips lost", lambda c: c.clips_lost),
    ("notifications_sent", "Notifications sent", lambda c: c.notifications_sent),
    ("notifications_failed", "Notifications failed after every retry",
     lambda c: c.notifications_failed),
    ("notifications_dropped", "Notifications dropped (queue full)",
     lambda c: c.notifications_dropped),
]
_GAUGES: list[tuple[str, str, Callable[[CameraCounters], float]]] = [
    ("camera_online", "1 when the camera delivers frames",
     lambda c: 1.0 if c.live.state == "online" else 0.0),
    ("fps_in", "Frames a second decoded (last ~10 s)", lambda c: c.fps_in),
    ("fps_out", "Frames a second processed (last ~10 s)", lambda c: c.fps_out),
    ("clips_waiting", "Clips not written yet (retried)", lambda c: c.clips_waiting),
]


class Collector:
    """Prometheus view of the counters, read at scrape time."""

    def __init__(self, counters: Callable[[], dict[str, CameraCounters]],
                 queues: Callable[[], Iterable[Queued]],
                 audience: Callable[[], dict[str, list[dict[str, Any]]]] | None = None,
                 mqtt: Callable[[], Any] | None = None) -> None:
        self.counters, self.queues = counters, queues
        self.audience = audience
        self.mqtt = mqtt

    def collect(self) -> Iterable[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        counters = self.counters()
        for specs, family in ((_COUNTERS, CounterMetricFamily), (_GAUGES, GaugeMetricFamily)):
            for name, doc, get in specs:
                fam = family(f"facetrack_{name}", doc, labels=["camera"])
                for cam, c in counters.items():
                    fam.add_metric([cam], float(get(c)))
                yield fam
        waiting = GaugeMetricFamily("facetrack_events_waiting", "Events not stored yet "
                                    "(the sink refuses: full disk, ...)", labels=["sink"])
        lost = CounterMetricFamily("facetrack_events_lost", "Events dropped: too many waiting",
                                   labels=["sink"])
        for q in self.queues():
            waiting.add_metric([q.name], float(q.waiting))
            lost.add_metric([q.name], float(q.lost))
        yield waiting
        yield lost
        if self.audience is not None:
            yield from _audience_gauges(self.audience())
        m = None if self.mqtt is None else self.mqtt()
        if m is not None:
            yield from _mqtt_metrics(m)


#: gauges of each camera's latest audience window (docs/audience.md defines each figure)
_AUDIENCE: list[tuple[str, str, str]] = [
    ("ots", "audience_ots", "Tracks present in the latest window"),
    ("watchers", "audience_watchers", "Watchers in the latest window"),
    ("conversion", "audience_conversion", "Watchers / OTS in the latest window"),
    ("attention_total_s", "audience_attention_seconds", "Attention in the latest window"),
    ("dwell_mean_s", "audience_dwell_mean_seconds", "Mean dwell in the latest window"),
    ("occupancy_mean", "audience_occupancy", "People in view on average, latest window"),
]


def _audience_gauges(latest: dict[str, list[dict[str, Any]]]) -> Iterable[Any]:
    from prometheus_client.core import GaugeMetricFamily

    for key, name, doc in _AUDIENCE:
        fam = GaugeMetricFamily(f"facetrack_{name}", doc, labels=["camera", "zone", "target"])
        for camera, rows in latest.items():
            for row in rows:
                value = row.get(key)
                if value not in ("", None):  # a ratio over nothing is not exported as 0
                    fam.add_metric([camera, row["zone"], row["target"]], float(value))
        yield fam


def _mqtt_metrics(m: Any) -> Iterable[Any]:
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

    yield GaugeMetricFamily("facetrack_mqtt_connected", "1 while the MQTT broker is "
                            "connected", value=1.0 if m.connected else 0.0)
    yield CounterMetricFamily("facetrack_mqtt_published", "MQTT messages handed to the "
                              "client (sent, or queued while the broker is away)",
                              value=float(m.published))
    yield CounterMetricFamily("facetrack_mqtt_dropped", "MQTT messages dropped (queue full, "
                              "or QoS 0 while the broker is away)", value=float(m.dropped))


def serve_metrics(collector: Collector, port: int, host: str = "127.0.0.1"
                  ) -> BoundedHTTPServer:
    """``/metrics`` on ``host:port`` (Prometheus text format)."""
    from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

    registry = CollectorRegistry()
    registry.register(collector)

    class Handler(BaseHTTPRequestHandler):
        timeout = 10.0

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            body = generate_latest(registry)
            self.send_response(200)
            self.send_header("Content-Type", CONTENT_TYPE_LATEST)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    try:
        return BoundedHTTPServer((host, port), Handler, 8, "metrics")
    except OSError as exc:
        raise OutputError(f"metrics: cannot listen on {host}:{port} ({exc.strerror or exc})"
                          ) from None
