"""One camera of the monitor: a live source through its pipeline, each result to each sink.

``Camera.run`` (on its own thread) runs sessions until told to stop: a session opens the
source, builds the pipeline for it and hands every result to every sink; when it ends (a file
played once, or a failure) every open track ends (``track_ended``) through the same sinks. A
session that fails (a bug, a locked database) is logged, counted and started again after a
back-off; the source itself reconnects forever on its own. A sink that raises is logged (once
per sink and error kind) and counted; the others still get the result.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Sequence
from contextlib import ExitStack

from facetrack.errors import FacetrackError
from facetrack.frames import SourceInfo
from facetrack.pipeline.base import Sink
from facetrack.pipeline.pipeline import Pipeline
from facetrack.results import FrameResult
from facetrack.service.metrics import CameraCounters, Rates
from facetrack.sources.base import Source
from facetrack.sources.live import Backoff, LiveSource

log = logging.getLogger(__name__)

MakePipeline = Callable[[SourceInfo, ExitStack], Pipeline]


class Camera:
    def __init__(self, name: str, open_source: Callable[[], Source],
                 make_pipeline: MakePipeline, *, stop: threading.Event | None = None,
                 play_once: bool = False, backoff: Backoff | None = None) -> None:
        self.name = name
        self.open_source = open_source
        self.make_pipeline = make_pipeline
        self.stop = stop if stop is not None else threading.Event()
        self.play_once = play_once  # a file played once: its end ends the camera
        self.backoff = backoff or Backoff(initial=1.0, maximum=60.0)
        self.sinks: list[Sink] = []
        self.owned: list[Sink] = []  # closed with the camera (shared sinks are not)
        self.counters = CameraCounters()
        self.rates = Rates(self.counters)
        self.source: Source | None = None
        self._sink_errors: set[tuple[int, str]] = set()

    def attach(self, sinks: Sequence[Sink], owned: Sequence[Sink] | None = None) -> None:
        """Results go to ``sinks``; ``owned`` (default: all of them) are this camera's own
        and close with it, the others (the event store's, shared by every camera) do not."""
        self.sinks = list(sinks)
        self.owned = list(sinks if owned is None else owned)

    def run(self) -> None:
        attempt = 0
        rng = random.Random()  # noqa: S311 - retry jitter, not security
        while not self.stop.is_set():
            try:
                self.session()
                attempt = 0
                if self.play_once:
                    log.info("camera %s: file played to its end", self.name)
                    return
            except FacetrackError as exc:
                self._failed(str(exc))
            except Exception as exc:  # a bug must not take the other cameras down
                log.exception("camera %s: processing failed", self.name)
                self._failed(f"{type(exc).__name__}: {exc}")
            delay = self.backoff.delay(attempt, rng)
            attempt += 1
            if self.stop.wait(delay):
                return

    def _failed(self, reason: str) -> None:
        self.counters.failures += 1
        self.counters.last_failure = reason
        log.error("camera %s: %s", self.name, reason)

    def session(self) -> None:
        """One source, one pipeline, until the source ends or ``stop``."""
        with ExitStack() as stack:
            source = stack.enter_context(self.open_source())
            self.source = source
            if isinstance(source, LiveSource):
                self.counters.live = source.stats
            pipeline = self.make_pipeline(source.info, stack)
            last: FrameResult | None = None
            with pipeline.run(source) as results:
                for result in results:
                    self.deliver(result)
                    last = result
                    if self.stop.is_set():
                        break
            if last is not None:
                self.deliver(pipeline.finish(last))

    def deliver(self, result: FrameResult) -> None:
        for sink in self.sinks:
            try:
                sink.consume(result)
            except Exception as exc:
                self.counters.sink_errors += 1
                key = (id(sink), type(exc).__name__)
                if key not in self._sink_errors:
                    self._sink_errors.add(key)
                    log.exception("camera %s: %s failed on a result (%s); it goes on",
                                  self.name, type(sink).__name__, exc)

    def close_source(self) -> None:
        """Stop reading (from another thread): the session ends at its next frame."""
        source = self.source
        if source is not None:
            source.close()

    def close_sinks(self) -> None:
        """After the camera's thread ended: finish open clips, send queued notifications."""
        for sink in self.owned:
            try:
                sink.close()
            except Exception:
                log.exception("camera %s: closing %s failed", self.name, type(sink).__name__)
