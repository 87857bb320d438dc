"""``FaceTracker``: the Python entry point; every job (``facetrack track``, the monitor's
cameras, ``find_faces_in_file``) builds its pipeline through it."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path

from facetrack.analysis.analyzer import FaceAnalyzer
from facetrack.analysis.summary import TrackSummary
from facetrack.config import TrackerConfig
from facetrack.detection import Detector, DetectStage, SharedDetector, make_detector
from facetrack.frames import SourceInfo
from facetrack.pipeline.base import Stage
from facetrack.pipeline.pipeline import Pipeline, Step
from facetrack.privacy.visitors import VisitorMemory, VisitorStage, file_clock, live_clock
from facetrack.recognition.embedder import Embedder, make_embedder
from facetrack.recognition.identity import IdentityStage
from facetrack.recognition.recognizer import FaceRecognizer
from facetrack.results import FrameResult
from facetrack.runtime.threads import usable_cores
from facetrack.signals import SignalSettings
from facetrack.signals.stage import SignalStage
from facetrack.sources import Source, open_source
from facetrack.tracking import FaceTrackerCore, IdAllocator
from facetrack.tracking.follow import FollowStage
from facetrack.tracking.scenecut import SceneCutDetector
from facetrack.tracking.stage import TrackStage
from facetrack.zones import Zone

#: live: a face not analysed for longer than this starts fresh spells
LIVE_MAX_GAP_S = 1.0
#: files: the same, at least 1.5 frames; a capture that skipped frames (ZJU Eyeblink's webcam
#: clips step up to 0.2 s) keeps a blink or a closure whole across the skipped slots
FILE_MAX_GAP_S = 0.25


def is_live(config: TrackerConfig, info: SourceInfo) -> bool:
    mode = config.runtime.mode
    return mode == "live" or (mode == "auto" and info.kind == "stream")


#: frames waiting between two stages hold at most about this much memory (a 4096x4096 input
#: would otherwise queue over a gigabyte)
QUEUE_BYTES = 128 * 2**20


def queue_size(config: TrackerConfig, info: SourceInfo) -> int:
    """Frames each queue between stages holds: one live (results follow the camera); in file
    mode ``runtime.queue_size``, fewer for very large frames."""
    if is_live(config, info):
        return 1
    frame_bytes = max(1, info.width * info.height * 3)
    return max(1, min(config.runtime.queue_size, QUEUE_BYTES // frame_bytes))


#: file mode: at most this many analysis threads by default (more cores go to other work)
MAX_ANALYSIS_THREADS = 4


def analysis_threads(config: TrackerConfig, info: SourceInfo) -> int:
    """Threads reading one frame's faces: ``runtime.analysis_threads``, else one per core in
    file mode (at most ``MAX_ANALYSIS_THREADS``) and 1 live."""
    if config.runtime.analysis_threads is not None:
        return config.runtime.analysis_threads
    if is_live(config, info):
        return 1
    return min(MAX_ANALYSIS_THREADS, usable_cores())


def detect_interval(config: TrackerConfig, independent: bool) -> int:
    """Every how many frames the detector runs (``tracking.detect_interval``); following
    faces between detections needs their landmarks, and unrelated photos are each detected."""
    if independent or not config.analysis.landmarks:
        return 1
    return config.tracking.detect_interval


def signal_settings(config: TrackerConfig, info: SourceInfo) -> SignalSettings:
    """A sample stands for one frame of the source (files) or of the processed rate (live)."""
    a = config.analysis
    period = 1.0 / info.fps if info.fps > 0 else 0.04
    gap = max(LIVE_MAX_GAP_S, 2.5 * period) if is_live(config, info) else max(
        FILE_MAX_GAP_S, 1.5 * period)
    return SignalSettings(period, gap, a.blink_max_s, a.perclos_window_s, a.yawn_threshold,
                          a.yawn_min_s)


class FaceTracker:
    """Detect, track and analyse every face of a video, an image folder, an image or a stream.

    >>> tracker = FaceTracker(TrackerConfig())
    >>> for result in tracker.track("clip.mp4"):       # doctest: +SKIP
    ...     print(result.frame.index, result.faces.track_id)
    >>> summaries = tracker.analyze_file("clip.mp4")    # doctest: +SKIP

    Models load once per ``FaceTracker``; each ``open`` starts fresh tracks, and ids keep
    counting (an id is never reused by one ``FaceTracker``; a new process starts at 1). Ids come
    from ``id_allocator``: pass one allocator to several trackers that must never share an id.
    ``embed`` (``find_faces_in_file``) embeds faces on the re-id schedule without a database:
    every face stays unknown, the vectors are only in the results.
    """

    def __init__(
        self,
        config: TrackerConfig | None = None,
        *,
        id_allocator: Callable[[], int] | None = None,
        detector: Detector | None = None,
        analyzer: FaceAnalyzer | None = None,
        embedder: Embedder | None = None,
        embed: bool = False,
    ) -> None:
        self.config = config or TrackerConfig()
        self._ids = id_allocator if id_allocator is not None else IdAllocator()
        self._detector = detector if detector is not None else make_detector(self.config.detector)
        self._analyzer = analyzer if analyzer is not None else FaceAnalyzer(self.config.analysis)
        self._busy = False
        rec = self.config.recognition
        # recognition is opt-in: with it off no embedding model is even loaded
        self._embedder: Embedder | None = None
        # find_faces_in_file (``embed``) wants the vectors themselves: no visitor stage
        self._pseudonymous = self.config.privacy_mode == "pseudonymous" and not embed
        if rec.enabled or embed or self._pseudonymous:
            self._embedder = embedder if embedder is not None else make_embedder(rec.embedder)
        self._identity: IdentityStage | None = None
        #: pseudonymous and live: the visitor memory of this tracker's camera, kept across
        #: reconnects (a file gets a memory of its own)
        self._visitors: VisitorMemory | None = None

    @property
    def embeddings_computed(self) -> int:
        """Embeddings computed in the current or last run (0 with recognition off)."""
        return 0 if self._identity is None else self._identity.embeddings_computed

    def pipeline(self, info: SourceInfo, stack: ExitStack, *, zones: Sequence[Zone] = (),
                 extra: Sequence[Stage] = ()) -> Pipeline:
        """The stages for one input described by ``info``, grouped into threads; ``extra``
        stages (rules, alerts) run last. Resources (the face database) go on ``stack``."""
        cfg = self.config
        independent = info.kind == "image" or (
            info.kind == "images" and cfg.runtime.image_folder == "independent")
        cuts = SceneCutDetector() if cfg.tracking.scene_cuts and not independent else None
        # unrelated photos: every face is reported at once and nothing links two images
        confirm = 1 if independent else cfg.tracking.credence_count
        tracker = FaceTrackerCore(cfg.tracking, new_id=self._ids, credence_count=confirm)
        settings = signal_settings(cfg, info)
        self._analyzer.set_threads(analysis_threads(cfg, info))
        interval = detect_interval(cfg, independent)
        detector = self._detector if interval == 1 else SharedDetector(self._detector)
        track = TrackStage(tracker, cuts=cuts, independent=independent, detector=detector)
        steps = [
            Step("detect", [DetectStage(detector, interval)]),
            Step("track", [track, self._analyzer, SignalStage(settings, zones)]),
        ]
        if interval > 1:
            steps[1].stages.insert(2, FollowStage())
        if cfg.analytics.enabled:
            from facetrack.analytics.stage import AudienceStage

            steps[-1].stages.append(AudienceStage(
                cfg.analytics, cfg.analysis.looking_cone_deg, info, settings.period_s,
                settings.max_gap_s))
        self._identity = None
        if self._embedder is not None:
            rec = cfg.recognition
            db = None
            if rec.enabled:
                from facetrack.privacy.keys import load_key  # recognition only
                from facetrack.recognition.gallery import FaceDatabase

                assert rec.database is not None  # checked by RecognitionConfig
                db = stack.enter_context(FaceDatabase(rec.database, read_only=True, key=(
                    load_key(rec.key_file) if rec.key_file is not None else "env"),
                    index=rec.index))
            recognizer = FaceRecognizer(rec, gallery=db, detector=self._detector,
                                        embedder=self._embedder)
            self._identity = IdentityStage(recognizer, rec, cfg.tracking.credence_count)
            steps.append(Step("recognize", [self._identity]))
            if self._pseudonymous:
                steps[-1].stages.append(self._visitor_stage(info))
        steps[-1].stages.extend(extra)
        return Pipeline(steps, queue_size(cfg, info))

    def _visitor_stage(self, info: SourceInfo) -> VisitorStage:
        p, threshold = self.config.privacy, self.config.recognition.threshold
        memory = VisitorMemory(threshold, p.visitor_memory_h * 3600.0, p.visitor_gap_s)
        if not is_live(self.config, info):
            return VisitorStage(memory, file_clock)
        if self._visitors is None:
            self._visitors = memory
        return VisitorStage(self._visitors, live_clock)

    @contextmanager
    def open(self, source: str | Path | Source, *, zones: Sequence[Zone] = (),
             extra: Sequence[Stage] = (), finish: bool = False
             ) -> Iterator[tuple[SourceInfo, Iterator[FrameResult]]]:
        """Open ``source`` (a path, or a ``Source`` such as ``LiveSource``, which this closes)
        and give its info plus the iterator of results (pipelined). With ``finish``, once the
        input ended the iterator gives one more result: no faces, on the last frame, the
        snapshots of every track ending there (their open blinks and spells closed).

        One input at a time per ``FaceTracker`` (its models are shared): opening a second one
        while the first is running raises ``RuntimeError``."""
        if self._busy:
            raise RuntimeError(
                "this FaceTracker is already processing an input; use one FaceTracker per "
                "concurrent input (they can share an id_allocator)"
            )
        self._busy = True
        try:
            opened = source if not isinstance(source, (str, Path)) else open_source(
                source, images_fps=self.config.runtime.images_fps)
            with ExitStack() as stack:
                src = stack.enter_context(opened)
                pipeline = self.pipeline(src.info, stack, zones=zones, extra=extra)
                with pipeline.run(src) as results:
                    yield src.info, _finished(results, pipeline) if finish else results
        finally:
            self._busy = False

    def track(self, source: str | Path, *, finish: bool = False) -> Iterator[FrameResult]:
        """Yield one ``FrameResult`` per input frame, in order (frames with no face included);
        with ``finish``, then the tracks' end (``open``)."""
        with self.open(source, finish=finish) as (_, results):
            yield from results

    def analyze_file(self, source: str | Path) -> list[TrackSummary]:
        """Run the whole input and return one summary per confirmed track."""
        from facetrack.sinks.files import TracksTable

        with self.open(source) as (info, results):
            table = TracksTable(None, info.fps)
            for result in results:
                table.consume(result)
        return table.summaries()


def _finished(results: Iterator[FrameResult], pipeline: Pipeline) -> Iterator[FrameResult]:
    last = None
    for result in results:
        last = result
        yield result
    if last is not None:
        yield pipeline.finish(last)
