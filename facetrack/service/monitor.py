"""``Monitor``: one process watching several cameras until told to stop.

``run`` opens what the cameras share, in this order: the live view, the local window and the
metrics server; the event store, ``events.jsonl`` and their sinks; the clip storage and writer;
then each camera's sinks and thread. Everything goes on one ``ExitStack``, so ``stop`` (or the
end of ``duration_s``, or an error) tears it down in exactly the reverse order: the cameras
stop and end their open tracks, clips are finished and written, notifications sent, waiting
events flushed (retried for up to ``flush_s``), the store closed, and only then the servers.
None of these steps waits on a client: stopping takes seconds whatever viewers do.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from facetrack.config.camera import CameraConfig
from facetrack.config.service import MonitorConfig
from facetrack.events import Event, utc_now
from facetrack.pipeline.base import Sink, Stage
from facetrack.pipeline.tracker import FaceTracker
from facetrack.redact import redact_url
from facetrack.results import FrameResult
from facetrack.rules.alerts import AlertStage, ClipPlan
from facetrack.rules.stage import RulesStage, default_rules, scene_rules
from facetrack.runtime import spawn
from facetrack.service.camera import Camera
from facetrack.service.leases import LeaseKeeper
from facetrack.service.metrics import CameraCounters, Collector, CountingSink, serve_metrics
from facetrack.service.retention import RetentionKeeper
from facetrack.service.status import StatusReporter
from facetrack.service.wiring import (
    CameraSinks,
    camera_sinks,
    limit_malloc_arenas,
    open_api,
    open_clips,
    open_views,
)
from facetrack.sinks.events import EventSink
from facetrack.sinks.latest_frame import LatestFrame
from facetrack.storage.audience import AudienceStore
from facetrack.storage.cameras import CameraStatusStore
from facetrack.storage.events import EventsJsonl, EventStore
from facetrack.storage.leases import LeaseStore
from facetrack.zones import zones_of

log = logging.getLogger(__name__)


class CallbackSink:
    """Hands each result's events to a function (tests, the soak benchmark)."""

    def __init__(self, on_events: Callable[[list[Event]], None]) -> None:
        self.on_events = on_events

    def consume(self, result: FrameResult) -> None:
        if result.events:
            self.on_events(list(result.events))

    def close(self) -> None:
        """Nothing held."""


def _halt(camera: Camera) -> None:
    """Tell one camera to stop (from any thread); its thread ends at its next frame."""
    camera.stop.set()
    camera.close_source()


def _log_state(camera: str, state: str, reason: str | None) -> None:
    if reason:
        log.warning("camera %s: %s (%s)", camera, state, redact_url(reason))
    else:
        log.info("camera %s: %s", camera, state)


class Monitor:
    """``Monitor(config).run()`` watches every camera until ``stop()`` or ``duration_s``."""

    def __init__(self, config: MonitorConfig, *,
                 on_events: Callable[[list[Event]], None] | None = None,
                 clock: Callable[[], str] = utc_now, flush_s: float = 10.0) -> None:
        self.config = config
        self.clock = clock
        self.flush_s = flush_s
        self._stop = threading.Event()
        self._on_events = on_events
        self.event_sinks: list[EventSink] = []
        self.clip_writer: Any = None
        self.clip_storage: Any = None
        self.view: Any = None
        self.window: Any = None
        self._outputs: dict[str, CameraSinks] = {}
        self.audience_store: Any = None
        #: each camera's live audience windows (analytics on), for the gauges
        self.audiences: dict[str, Any] = {}
        #: each camera's latest result, for the live view and the API (when either is on)
        self.frames: dict[str, LatestFrame] = {}
        self.api_port: int | None = None
        self.mqtt: Any = None  # the MQTT publisher (mqtt:)
        self.retention: RetentionKeeper | None = None  # old rows removed (retention:)
        self.lease_holder: str | None = None  # this monitor in the lease table (cluster:)
        self._run_stacks: dict[str, ExitStack] = {}  # cameras started by their lease
        self.cameras = {c.name: self._camera(c) for c in config.cameras}

    def _camera(self, cfg: CameraConfig) -> Camera:
        from facetrack.sources.live import LiveSource

        options = {"rtsp_transport": cfg.rtsp_transport} if cfg.rtsp_transport else {}

        def open_source() -> LiveSource:
            return LiveSource(cfg.source, source_id=cfg.name, fps_cap=cfg.fps_cap,
                              loop=cfg.loop, read_timeout=cfg.read_timeout_s,
                              open_timeout=cfg.read_timeout_s, options=options,
                              on_state=_log_state)

        camera = Camera(cfg.name, open_source, self._unbuilt, stop=threading.Event(),
                        play_once=not cfg.loop and LiveSource.plays_file(cfg.source))
        return camera

    @staticmethod
    def _unbuilt(*_: Any) -> Any:
        raise RuntimeError("the camera's pipeline is built by Monitor.run")

    def counters(self) -> dict[str, CameraCounters]:
        for cam in self.cameras.values():
            self._refresh(cam)
        return {name: cam.counters for name, cam in self.cameras.items()}

    def _refresh(self, cam: Camera) -> None:
        """Copy in the counters kept by the clip writer and the notifier."""
        c, outputs = cam.counters, self._outputs.get(cam.name)
        if outputs is None:
            return
        if outputs.recorder is not None:
            c.clips = outputs.recorder.opened
            w = outputs.recorder.writer.stats(cam.name)
            c.clips_written, c.clips_waiting, c.clips_lost = w.written, w.waiting, w.lost
        if outputs.notifier is not None:
            n = outputs.notifier.counters
            c.notifications_sent, c.notifications_failed = n.sent, n.failed
            c.notifications_dropped = n.dropped

    def stop(self) -> None:
        self._stop.set()
        for cam in self.cameras.values():
            _halt(cam)

    def run(self, duration_s: float | None = None) -> dict[str, CameraCounters]:
        limit_malloc_arenas()
        with ExitStack() as stack:
            self._open_views(stack)
            self._open_mqtt(stack)
            self._open_events(stack)
            self._open_audience(stack)
            self._open_clips(stack)
            self._open_status(stack)
            self._open_retention(stack)
            self._open_api(stack)
            self._open_cameras(stack)
            self._watch(duration_s)
            self.stop()
        self._log_counters()
        return self.counters()

    # -- what the cameras share ----------------------------------------------------------

    def _open_views(self, stack: ExitStack) -> None:
        if self.config.live_view.port is not None or self.config.api is not None:
            self.frames = {c.name: LatestFrame() for c in self.config.cameras}
        self.view, self.window = open_views(self.config, stack, self.frames)
        port = self.config.metrics.port
        if port is not None:
            server = serve_metrics(self.collector(), port)
            stack.callback(server.close)

    def collector(self) -> Collector:
        return Collector(
            self.running_counters,
            lambda: [*self.event_sinks, *(a.queue for a in self.audiences.values())],
            lambda: {name: list(a.latest.values()) for name, a in self.audiences.items()},
            lambda: None if self.mqtt is None else self.mqtt.counters)

    def _open_mqtt(self, stack: ExitStack) -> None:
        """The one MQTT connection (closed after the cameras, so their tracks' ``end``
        messages go out first)."""
        if self.config.mqtt is not None:
            from facetrack.sinks.mqtt_client import MqttPublisher

            self.mqtt = stack.enter_context(MqttPublisher(self.config.mqtt))

    def _open_status(self, stack: ExitStack) -> None:
        """Report the cameras' states to the store (what `facetrack serve` shows)."""
        store = stack.enter_context(CameraStatusStore(self.config.store.events_db))
        stack.callback(StatusReporter(store, self.running_counters).close)

    def _open_retention(self, stack: ExitStack) -> None:
        """Old events and audience windows removed now and every ``retention.every_s``."""
        db = self.config.store.events_db
        events = stack.enter_context(EventStore(db))
        audience = stack.enter_context(AudienceStore(db))
        self.retention = RetentionKeeper(self.config.retention, events, audience)
        stack.callback(self.retention.close)

    def _open_api(self, stack: ExitStack) -> None:
        """The REST API and dashboard in this process, with live frames (``api:``)."""
        if self.config.api is not None:
            self.api_port = open_api(self, stack)

    def latest_frame(self, camera: str) -> LatestFrame | None:
        return self.frames.get(camera)

    def heatmap(self, camera: str, name: str) -> bytes | None:
        live = self.audiences.get(camera)
        return None if live is None else live.heatmap(name)

    def _open_events(self, stack: ExitStack) -> None:
        store_cfg = self.config.store
        store = stack.enter_context(EventStore(store_cfg.events_db))
        sinks = [EventSink("event store", store.add, patience_s=self.flush_s)]
        if store_cfg.events_jsonl is not None:
            jsonl = stack.enter_context(EventsJsonl(store_cfg.events_jsonl))
            sinks.append(EventSink("events file", jsonl.add, patience_s=self.flush_s))
        self.event_sinks = sinks
        stack.callback(self._close_event_sinks)

    def _close_event_sinks(self) -> None:
        # all retry at once for up to flush_s, then report what could not be written
        for sink in self.event_sinks:
            sink.queue.close(self.flush_s)
        self.event_sinks = []

    def _open_audience(self, stack: ExitStack) -> None:
        """The audience table, in the event store's database, when a camera has analytics."""
        if any(c.tracker.analytics.enabled for c in self.config.cameras):
            self.audience_store = stack.enter_context(
                AudienceStore(self.config.store.events_db))

    def _live_audience(self, cfg: CameraConfig) -> Any:
        if self.audience_store is None or not cfg.tracker.analytics.enabled:
            return None
        from facetrack.sinks.audience_live import LiveAudience

        on_window = None if self.mqtt is None else (
            lambda rows: self.mqtt.publish_audience(cfg.name, rows))
        live = self.audiences[cfg.name] = LiveAudience(cfg.name, cfg.tracker,
                                                       self.audience_store,
                                                       patience_s=self.flush_s,
                                                       on_window=on_window)
        return live

    def _open_clips(self, stack: ExitStack) -> None:
        self.clip_storage, self.clip_writer = open_clips(self.config, stack)

    # -- the cameras ---------------------------------------------------------------------

    def _open_cameras(self, stack: ExitStack) -> None:
        """Every camera; with ``cluster:``, only those this monitor holds a lease on, as the
        leases come and go (``facetrack.service.leases``)."""
        cluster = self.config.cluster
        if cluster is None:
            for cam_cfg in self.config.cameras:
                stack.enter_context(self._running(cam_cfg))
            return
        store = stack.enter_context(LeaseStore(self.config.store.events_db))
        keeper = LeaseKeeper(store, list(self.cameras), cluster.lease_s,
                             start=self._start_cameras, stop=self._stop_cameras)
        self.lease_holder = keeper.holder
        stack.callback(keeper.close)

    def _start_cameras(self, names: list[str]) -> None:
        by_name = {c.name: c for c in self.config.cameras}
        for name in names:
            if name not in self._run_stacks and not self._stop.is_set():
                with ExitStack() as stack:
                    stack.enter_context(self._running(by_name[name]))
                    self._run_stacks[name] = stack.pop_all()

    def _stop_cameras(self, names: list[str]) -> None:
        for name in names:  # all told at once, then each waited for
            _halt(self.cameras[name])
        for name in names:
            stack = self._run_stacks.pop(name, None)
            if stack is not None:
                stack.close()

    def running_counters(self) -> dict[str, CameraCounters]:
        """The counters of the cameras this monitor runs (with ``cluster:``, those it holds
        a lease on): what it reports to the shared status table and to Prometheus."""
        counters = self.counters()
        if self.config.cluster is None:
            return counters
        return {name: counters[name] for name in list(self._run_stacks)}

    # -- one camera ----------------------------------------------------------------------

    @contextmanager
    def _running(self, cfg: CameraConfig) -> Iterator[None]:
        camera = self.cameras[cfg.name]
        tracker = FaceTracker(cfg.tracker)
        zones = zones_of(cfg.zones)
        links = None if self.clip_storage is None or not cfg.clips.enabled else \
            self.clip_storage.links
        alerts = AlertStage(cfg.alerts, cfg.tracker.recognition.threshold,
                            None if links is None else ClipPlan(cfg.name, cfg.clips, links.link))
        rules = default_rules(cfg.events, cfg.tracker.analysis, cfg.tracker.analytics)
        audience = self._live_audience(cfg)

        def make_pipeline(info: Any, stack: ExitStack) -> Any:
            extra: list[Stage] = [RulesStage(cfg.name, rules, self.clock,
                                             scene_rules(cfg.events)), alerts]
            pipeline = tracker.pipeline(info, stack, zones=zones, extra=extra)
            if audience is not None:
                audience.start(info, stack)
            return pipeline

        camera.make_pipeline = make_pipeline
        sinks: list[Sink] = [CountingSink(camera.counters), *self.event_sinks]
        if self._on_events is not None:
            sinks.append(CallbackSink(self._on_events))
        outputs = self._outputs[cfg.name] = camera_sinks(cfg, self.clip_writer, links,
                                                         self.frames.get(cfg.name),
                                                         self.window)
        if audience is not None:
            outputs.sinks.append(audience)
        if self.mqtt is not None:
            outputs.sinks.append(self.mqtt.sink(cfg.name))
        camera.attach([*sinks, *outputs.sinks], owned=outputs.sinks)
        camera.stop.clear()
        thread = spawn(camera.run, f"camera-{cfg.name}")
        try:
            yield
        finally:
            _halt(camera)
            thread.join(timeout=30)
            if thread.is_alive():
                log.error("camera %s: still busy 30 s after the stop; going on without it",
                          cfg.name)
            camera.close_sinks()

    # -- watching ------------------------------------------------------------------------

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
            log.info("camera %s: %s", name, c.log_line())
        for sink in self.event_sinks:
            if sink.waiting:
                log.warning("%s: %d events waiting (%s)", sink.name, sink.waiting, sink.failing)
        if self.mqtt is not None:
            m = self.mqtt.counters
            log.info("mqtt: %s, %d published, %d dropped",
                     "connected" if m.connected else "not connected", m.published, m.dropped)
