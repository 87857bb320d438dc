"""The monitor's per-camera loop with fake stages and sinks (no model, no RTSP): a pipeline
over a source, every result to every sink, tracks closed at the end, failures isolated."""

from __future__ import annotations

import threading
import time
from contextlib import ExitStack

import numpy as np

from facetrack.events import TrackEnded, TrackStarted
from facetrack.frames import Frame, SourceInfo
from facetrack.pipeline import Pipeline, Step
from facetrack.results import FrameResult
from facetrack.service.camera import Camera
from facetrack.service.metrics import CountingSink
from facetrack.sources.live import Backoff
from facetrack.tracking.history import TrackHistory
from facetrack.tracking.stage import TrackStage
from tests.fakes import FrameSource, RecordingSink

WALL = "2026-11-30T12:00:00.000+00:00"


def frames(n: int) -> list[Frame]:
    return [Frame(np.zeros((8, 8, 3), np.uint8), "cam", i, i / 10) for i in range(n)]


class OneTrack(TrackStage):
    """A tracker stage that sees one face (track 1) in every frame."""

    def __init__(self) -> None:
        self.record: TrackHistory | None = None

    def process(self, result: FrameResult) -> FrameResult:
        f = result.frame
        if self.record is None:
            self.record = TrackHistory(1, f.index, f.timestamp)
        else:
            self.record.seen(f.index, f.timestamp)
        return result.replace(tracks=(self.record.snapshot(),), records={1: self.record})

    def end_all(self, result: FrameResult) -> FrameResult:
        assert self.record is not None
        self.record.state = "ended"
        return FrameResult(result.frame, tracks=(self.record.snapshot(),),
                           records={1: self.record})


class Lifecycle:
    """A rules stage: started / ended events from the snapshots."""

    def process(self, result: FrameResult) -> FrameResult:
        f = result.frame
        events = []
        for t in result.tracks:
            if t.started:
                events.append(TrackStarted("cam", f.index, f.timestamp, t.track_id, WALL))
            if t.state == "ended":
                events.append(TrackEnded("cam", f.index, f.timestamp, t.track_id, WALL,
                                         frames=t.frames_seen))
        return result.replace(events=(*result.events, *events))

    def reset(self) -> None:
        pass

    def close(self) -> None:
        pass


def make_pipeline(info: SourceInfo, stack: ExitStack) -> Pipeline:
    return Pipeline([Step("track", [OneTrack(), Lifecycle()])], queue_size=1)


def test_every_result_reaches_every_sink_and_tracks_end_with_the_input() -> None:
    source = FrameSource(frames(12))
    camera = Camera("cam", lambda: source, make_pipeline, play_once=True)
    first, second = RecordingSink(), RecordingSink()
    camera.attach([CountingSink(camera.counters), first, second])
    camera.run()
    assert source.closed
    assert [r.frame.index for r in first.results] == [*range(12), 11]  # + the closing result
    assert first.results == second.results
    assert [e.kind for e in first.events] == ["track_started", "track_ended"]
    assert first.events[-1].frames == 12
    assert camera.counters.processed == 13 and camera.counters.events == 2


def test_a_failing_sink_costs_only_itself() -> None:
    camera = Camera("cam", lambda: FrameSource(frames(5)), make_pipeline, play_once=True)
    broken, fine = RecordingSink(fail_on=[1, 2]), RecordingSink()
    camera.attach([broken, fine])
    camera.run()
    assert len(fine.results) == 6 and len(broken.results) == 4
    assert camera.counters.sink_errors == 2 and camera.counters.failures == 0


def test_a_failing_session_is_counted_and_started_again() -> None:
    calls = []

    def flaky(info: SourceInfo, stack: ExitStack) -> Pipeline:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("a bug in the first session")
        return make_pipeline(info, stack)

    camera = Camera("cam", lambda: FrameSource(frames(3)), flaky, play_once=True,
                    backoff=Backoff(initial=0.01, maximum=0.01))
    sink = RecordingSink()
    camera.attach([sink])
    camera.run()
    assert camera.counters.failures == 1 and "a bug" in (camera.counters.last_failure or "")
    assert len(sink.results) == 4 and len(calls) == 2


def test_stop_ends_the_session_and_closes_the_tracks() -> None:
    """A live source that never ends: ``stop`` ends the loop at the next frame and the open
    track still gets its track_ended."""
    stop = threading.Event()

    class Endless(FrameSource):
        def __iter__(self):  # type: ignore[override]
            i = 0
            while not self.closed and not stop.is_set():
                yield Frame(np.zeros((8, 8, 3), np.uint8), "cam", i, i / 10)
                i += 1

    camera = Camera("cam", lambda: Endless(frames(1)), make_pipeline, stop=stop)
    sink = RecordingSink()
    camera.attach([sink])
    thread = threading.Thread(target=camera.run)
    thread.start()
    end = time.monotonic() + 10
    while len(sink.results) < 5 and time.monotonic() < end:
        time.sleep(0.01)
    stop.set()
    camera.close_source()
    thread.join(5)
    assert not thread.is_alive()
    assert [e.kind for e in sink.events] == ["track_started", "track_ended"]
