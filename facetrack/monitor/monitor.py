"""``Monitor``: one process watching several cameras until told to stop.

Each camera runs on its own thread: ``LiveSource`` (latest frame, reconnects forever) ->
``FaceTracker`` (detect, track, analyse, recognise when configured) -> ``EventRules`` ->
``AlertPolicy`` -> the event store and ``events.jsonl``. A camera that cannot connect keeps
retrying while the others run; a camera whose processing fails (a bug, a locked database) is
logged, counted, and restarted after a back-off. ``stop()`` (SIGINT/SIGTERM in the CLI) closes
the sources, ends the open tracks (``track_ended``) and flushes the store.
"""

from __future__ import annotations

import dataclasses
import logging
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from facetrack.errors import FacetrackError
from facetrack.events import Alert, Event
from facetrack.monitor.config import CameraConfig, MonitorConfig
from facetrack.rules.events import AlertPolicy, EventRules
from facetrack.sinks.clips import ClipRecorder, ClipStorage, ClipWriter
from facetrack.sinks.live_view import LiveView, RtspPush
from facetrack.sinks.notify import Notifier
from facetrack.sinks.video import annotate
from facetrack.sinks.window import Window, open_window
from facetrack.sources.live import Backoff, LiveSource, LiveStats
from facetrack.storage.clips import make_clip_storage
from facetrack.storage.events import EventsJsonl, EventStore, Outbox

log = logging.getLogger(__name__)


@dataclass
class CameraCounters:
    processed: int = 0
    events: int = 0
    alerts: int = 0
    failures: int = 0
    last_failure: str | None = None
    clips: int = 0  # opened (one clip may hold several alerts)
    clips_written: int = 0  # encoded and handed to the clip storage
    clips_waiting: int = 0  # could not be written yet (full disk): retried
    clips_lost: int = 0
    notifications_sent: int = 0
    notifications_failed: int = 0  # every attempt failed
    notifications_dropped: int = 0  # the queue was full
    fps_in: float = 0.0  # decoded from the camera, over the last ~10 s
    fps_out: float = 0.0  # processed, over the last ~10 s
    live: LiveStats = field(default_factory=LiveStats)


class _Rates:
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


class _Camera:
    def __init__(self, config: CameraConfig, publish: Callable[[list[Event]], None],
                 stop: threading.Event, clips: tuple[ClipWriter, ClipStorage] | None,
                 views: list[LiveView | Window] | None = None) -> None:
        self.config = config
        self.views = views if views is not None else []  # shared: the window joins later
        self.push = (RtspPush(config.push.url, config.push.fps, config.push.transport)
                     if config.push.url else None)
        self.publish = publish
        self.stop = stop
        self.counters = CameraCounters()
        self.rates = _Rates(self.counters)
        self.clip_writer = clips[0] if clips is not None else None
        self.source: LiveSource | None = None
        self.storage = clips[1] if clips is not None else None
        self.recorder = (ClipRecorder(config.name, config.clips, clips[0])
                         if clips is not None and config.clips.enabled else None)
        self.notifier = (Notifier(config.name, config.notify.urls, config.notify.title,
                                  config.notify.body, config.notify.timeout_s,
                                  config.notify.retries)
                         if config.notify.urls else None)
        self.thread = threading.Thread(target=self._run, name=f"camera-{config.name}",
                                       daemon=True)

    def _run(self) -> None:
        backoff, attempt = Backoff(initial=1.0, maximum=60.0), 0
        rng = random.Random()  # noqa: S311 - retry jitter, not security
        while not self.stop.is_set():
            try:
                self._session()
                attempt = 0
                if self.source is not None and self.source.is_file and not self.config.loop:
                    log.info("camera %s: file played to its end", self.config.name)
                    return
            except FacetrackError as exc:
                self._failed(str(exc))
            except Exception as exc:  # a bug must not take the other cameras down
                log.exception("camera %s: processing failed", self.config.name)
                self._failed(f"{type(exc).__name__}: {exc}")
            if self.stop.is_set():
                return
            delay = backoff.delay(attempt, rng)
            attempt += 1
            if self.stop.wait(delay):
                return

    def _failed(self, reason: str) -> None:
        self.counters.failures += 1
        self.counters.last_failure = reason
        log.error("camera %s: %s", self.config.name, reason)

    def _session(self) -> None:
        from facetrack.pipeline import FaceTracker

        cfg = self.config
        options = {"rtsp_transport": cfg.rtsp_transport} if cfg.rtsp_transport else {}
        tracker = FaceTracker(cfg.tracker)
        rules = EventRules(cfg.name, cfg.events, cfg.zones)
        policy = AlertPolicy(cfg.alerts, rules, cfg.tracker.recognition.threshold)
        source = LiveSource(
            cfg.source, source_id=cfg.name, fps_cap=cfg.fps_cap, loop=cfg.loop,
            read_timeout=cfg.read_timeout_s, options=options, on_state=_log_state,
        )
        self.source = source
        self.counters.live = source.stats
        last_index, last_t = 0, 0.0
        with tracker.open(source) as (_, results):
            drawn_for_clips = self.recorder is not None and cfg.clips.annotated
            for result in results:
                events = rules.consume(result)
                alerts = policy.consider(events)
                # one drawing per frame, shared by the clip buffer and the RTSP push
                drawn = annotate(result) if self.push is not None or drawn_for_clips else None
                if self.recorder is not None:
                    self.recorder.push(result, drawn)
                    alerts = [self._record(a) for a in alerts]
                if self.notifier is not None:
                    for a in alerts:
                        self.notifier.notify(a, a.clip)
                for view in self.views:
                    view.put(cfg.name, result)
                if self.push is not None and drawn is not None:
                    self.push.put(drawn)
                self.counters.processed += 1
                last_index, last_t = result.frame.index, result.frame.timestamp
                if events or alerts:
                    self._publish([*events, *alerts])
                if self.stop.is_set():
                    break
        self._publish(rules.close(last_index, last_t))

    def _record(self, alert: Alert) -> Alert:
        assert self.recorder is not None and self.storage is not None
        key = self.recorder.alert(alert)
        self.counters.clips = self.recorder.opened
        return dataclasses.replace(alert, clip=self.storage.link(key))

    def _publish(self, events: list[Event]) -> None:
        if not events:
            return

        self.counters.events += sum(not isinstance(e, Alert) for e in events)
        self.counters.alerts += sum(isinstance(e, Alert) for e in events)
        self.publish(events)

    def refresh(self) -> CameraCounters:
        """The counters, with those kept by the clip writer and the notifier copied in."""
        c = self.counters
        if self.clip_writer is not None:
            w = self.clip_writer.stats(self.config.name)
            c.clips_written, c.clips_waiting, c.clips_lost = w.written, w.waiting, w.lost
        if self.notifier is not None:
            n = self.notifier.counters
            c.notifications_sent, c.notifications_failed = n.sent, n.failed
            c.notifications_dropped = n.dropped
        return c

    def close(self) -> None:
        if self.source is not None:
            self.source.close()

    def finish(self) -> None:
        """After the thread ended: the open clip is finished, queued notifications sent."""
        if self.recorder is not None:
            self.recorder.close()
        if self.notifier is not None:
            self.notifier.close()
        if self.push is not None:
            self.push.close()


def _log_state(camera: str, state: str, reason: str | None) -> None:
    if reason:
        log.warning("camera %s: %s (%s)", camera, state, reason)
    else:
        log.info("camera %s: %s", camera, state)


class Monitor:
    """``Monitor(config).run()`` watches every camera until ``stop()`` or ``duration_s``."""

    def __init__(self, config: MonitorConfig, *,
                 on_events: Callable[[list[Event]], None] | None = None) -> None:
        self.config = config
        self._stop = threading.Event()
        self._on_events = on_events
        self._store: EventStore | None = None
        self._jsonl: EventsJsonl | None = None
        self.outboxes: list[Outbox] = []  # the store's and events.jsonl's, while running
        self._sink_lock = threading.Lock()
        self.clip_storage: Any = None
        self.clip_writer: ClipWriter | None = None
        clips = None
        if any(c.clips.enabled for c in config.cameras):
            self.clip_storage = make_clip_storage(config.clips)
            self.clip_writer = ClipWriter(self.clip_storage,
                                          retry_s=config.clips.retry_every_s)
            clips = (self.clip_writer, self.clip_storage)
        self.view: LiveView | None = None
        self._views: list[LiveView | Window] = []  # shared with the cameras: filled by run()
        if config.live_view.port is not None:
            self.view = LiveView([c.name for c in config.cameras], config.live_view.port,
                                 config.live_view.host)
            self._views.append(self.view)
        self.window: Window | None = None
        self.cameras = {c.name: _Camera(c, self._publish, self._stop, clips, self._views)
                        for c in config.cameras}

    def _publish(self, events: list[Event]) -> None:
        with self._sink_lock:  # only queues: each outbox's thread writes (and retries)
            for outbox in self.outboxes:
                outbox.add(events)
        if self._on_events is not None:
            try:
                self._on_events(events)
            except Exception:
                log.exception("event listener failed")

    def counters(self) -> dict[str, CameraCounters]:
        return {name: cam.refresh() for name, cam in self.cameras.items()}

    def stop(self) -> None:
        self._stop.set()
        for cam in self.cameras.values():
            cam.close()

    def run(self, duration_s: float | None = None) -> dict[str, CameraCounters]:
        limit_malloc_arenas()
        store_cfg = self.config.store
        self._store = EventStore(store_cfg.events_db)
        self.outboxes = [Outbox("event store", self._store.add)]
        server = None
        try:
            if store_cfg.events_jsonl is not None:
                self._jsonl = EventsJsonl(store_cfg.events_jsonl)
                self.outboxes.append(Outbox("events file", self._jsonl.add))
            server = self._serve_metrics()
            if self.config.live_view.window:
                self.window = open_window([c.name for c in self.config.cameras])
                if self.window is not None:
                    self._views.append(self.window)
            for cam in self.cameras.values():
                cam.thread.start()
            self._watch(duration_s)
        finally:
            # whatever ended the run: cameras stop, clips and events are finished and written
            self.stop()
            for cam in self.cameras.values():
                if cam.thread.is_alive() or cam.thread.ident is not None:
                    cam.thread.join(timeout=30)
                cam.finish()
            if self.clip_writer is not None:
                self.clip_writer.close()  # every finished clip encoded and stored
            if hasattr(self.clip_storage, "flush"):
                self.clip_storage.flush(timeout=10.0)  # what fails stays spooled for next time
            if hasattr(self.clip_storage, "close"):
                self.clip_storage.close()
            if server is not None:
                server.shutdown()
                server.server_close()
            if self.view is not None:
                self.view.close()
            if self.window is not None:
                self.window.close()
            self._log_counters()
            with self._sink_lock:
                for outbox in self.outboxes:  # all retry at once, for up to 10 s
                    outbox.stop(10.0)
                for outbox in self.outboxes:
                    outbox.join(40.0)
                self.outboxes = []
                if self._jsonl is not None:
                    self._jsonl.close()
                self._store.close()
                self._store = self._jsonl = None
        return self.counters()

    def _watch(self, duration_s: float | None) -> None:
        end = None if duration_s is None else time.monotonic() + duration_s
        next_log = time.monotonic() + self.config.metrics.log_every_s
        while not self._stop.is_set():
            now = time.monotonic()
            if end is not None and now >= end:
                break
            if now >= next_log:
                self._log_counters()
                next_log = now + self.config.metrics.log_every_s
            for cam in self.cameras.values():
                cam.rates.sample(now)
            self._stop.wait(0.2 if end is None else max(0.0, min(0.2, end - now)))

    def _log_counters(self) -> None:
        for name, c in self.counters().items():
            s = c.live
            log.info("camera %s: %s fps in/out %.1f/%.1f in=%d processed=%d dropped=%d "
                     "skipped=%d reconnects=%d events=%d alerts=%d clips=%d/%d written "
                     "notifications=%d failed=%d failures=%d", name, s.state, c.fps_in,
                     c.fps_out, s.frames_in, c.processed, s.dropped, s.skipped, s.reconnects,
                     c.events, c.alerts, c.clips_written, c.clips, c.notifications_sent,
                     c.notifications_failed, c.failures)
        for outbox in self.outboxes:
            if outbox.waiting:
                log.warning("%s: %d events waiting (%s)", outbox.name, outbox.waiting,
                            outbox.failing)

    def _serve_metrics(self) -> Any:
        port = self.config.metrics.port
        if port is None:
            return None
        from prometheus_client import CollectorRegistry, start_http_server

        registry = CollectorRegistry()
        registry.register(_Collector(self))
        server, _thread = start_http_server(port, addr="127.0.0.1", registry=registry)
        return server


class _Collector:
    """Prometheus view of the counters, read at scrape time."""

    def __init__(self, monitor: Monitor) -> None:
        self.monitor = monitor

    def collect(self) -> Iterable[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        counters = self.monitor.counters()
        specs: list[tuple[str, str, Callable[[CameraCounters], int]]] = [
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
        for name, doc, get in specs:
            fam = CounterMetricFamily(f"facetrack_{name}", doc, labels=["camera"])
            for cam, c in counters.items():
                fam.add_metric([cam], float(get(c)))
            yield fam
        gauges: list[tuple[str, str, Callable[[CameraCounters], float]]] = [
            ("camera_online", "1 when the camera delivers frames",
             lambda c: 1.0 if c.live.state == "online" else 0.0),
            ("fps_in", "Frames a second decoded (last ~10 s)", lambda c: c.fps_in),
            ("fps_out", "Frames a second processed (last ~10 s)", lambda c: c.fps_out),
            ("clips_waiting", "Clips not written yet (retried)", lambda c: c.clips_waiting),
        ]
        for name, doc, gauge in gauges:
            g = GaugeMetricFamily(f"facetrack_{name}", doc, labels=["camera"])
            for cam, c in counters.items():
                g.add_metric([cam], float(gauge(c)))
            yield g
        waiting = GaugeMetricFamily("facetrack_events_waiting", "Events not stored yet "
                                    "(the sink refuses: full disk, ...)", labels=["sink"])
        lost = CounterMetricFamily("facetrack_events_lost", "Events dropped: too many waiting",
                                   labels=["sink"])
        for outbox in list(self.monitor.outboxes):
            waiting.add_metric([outbox.name], float(outbox.waiting))
            lost.add_metric([outbox.name], float(outbox.lost))
        yield waiting
        yield lost


def limit_malloc_arenas(arenas: int = 2) -> bool:
    """Ask glibc for at most ``arenas`` malloc arenas (``M_ARENA_MAX``), as
    ``MALLOC_ARENA_MAX=2`` would. Many threads each freeing large buffers (decoders, clip
    encoders) otherwise spread memory over many arenas that are rarely returned: in the 2-camera
    soak RSS rose 18% in 4 minutes without the limit and 4.9% (not steadily) with it. A no-op
    where the C library is not glibc."""
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        return bool(libc.mallopt(-8, arenas))  # M_ARENA_MAX = -8 in glibc's malloc.h
    except (OSError, AttributeError):
        return False
