"""``FaceTracker``: the Python entry point (``facetrack track`` uses the same object)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from facetrack.analysis.analyzer import FaceAnalyzer
from facetrack.analysis.summary import TrackSummarizer, TrackSummary
from facetrack.config import TrackerConfig, override
from facetrack.detection import Detector, make_detector
from facetrack.faces import Faces
from facetrack.frames import Frame, SourceInfo
from facetrack.recognition.database import FaceDatabase
from facetrack.recognition.embedder import Embedder, make_embedder
from facetrack.recognition.recognizer import FaceRecognizer
from facetrack.recognition.tracking import TrackRecognizer
from facetrack.results import FrameResult
from facetrack.runner import run_stages
from facetrack.sources import Source, open_source
from facetrack.tracking import FaceTrackerCore, IdAllocator
from facetrack.tracking.scenecut import SceneCutDetector


class FaceTracker:
    """Detect, track and analyse every face of a video, an image folder or an image.

    >>> tracker = FaceTracker(TrackerConfig())
    >>> for result in tracker.track("clip.mp4"):       # doctest: +SKIP
    ...     print(result.frame.index, result.faces.track_id)
    >>> summaries = tracker.analyze_file("clip.mp4")    # doctest: +SKIP

    Models load once per ``FaceTracker``; each ``track`` call starts fresh tracks, and ids keep
    counting (an id is never reused by one ``FaceTracker``; a new process starts at 1). Ids come
    from ``id_allocator``: pass one allocator to several trackers that must never share an id.
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
        # recognition is opt-in: with it off no embedding model is even loaded. ``embed``
        # (used by find_faces_in_file) embeds faces on the re-id schedule without a database:
        # every face stays unknown, the vectors are only in the results.
        self._embedder: Embedder | None = None
        if rec.enabled or embed:
            self._embedder = embedder if embedder is not None else make_embedder(rec.embedder)
        self._track_recognizer: TrackRecognizer | None = None

    @property
    def embeddings_computed(self) -> int:
        """Embeddings computed in the current or last run (0 with recognition off)."""
        tr = self._track_recognizer
        return 0 if tr is None else tr.embeddings_computed

    @contextmanager
    def open(self, source: str | Path | Source
             ) -> Iterator[tuple[SourceInfo, Iterator[FrameResult]]]:
        """Open ``source`` (a path, or a ``Source`` such as ``LiveSource``, which this closes)
        and give its info plus the iterator of results (pipelined).

        One input at a time per ``FaceTracker`` (its models and analyser state are shared):
        opening a second one while the first is running raises ``RuntimeError``.
        """
        if self._busy:
            raise RuntimeError(
                "this FaceTracker is already processing an input; use one FaceTracker per "
                "concurrent input (they can share an id_allocator)"
            )
        self._busy = True
        try:
            opened = source if not isinstance(source, (str, Path)) else open_source(
                source, images_fps=self.config.runtime.images_fps)
            with opened as src, self._results(src) as results:
                yield src.info, results
        finally:
            self._busy = False

    @contextmanager
    def _results(self, src: Source) -> Iterator[Iterator[FrameResult]]:
        runtime = self.config.runtime
        independent = src.info.kind == "image" or (
            src.info.kind == "images" and runtime.image_folder == "independent"
        )
        tracking = self.config.tracking
        if independent:
            # unrelated photos: every face is reported at once and nothing links two images
            tracking = override(tracking, {"credence_count": 1})
        tracker = FaceTrackerCore(tracking, new_id=self._ids)
        self._analyzer.reset()
        self._track_recognizer = None
        detector, analyzer = self._detector, self._analyzer
        with ExitStack() as stack:
            cuts = SceneCutDetector() if tracking.scene_cuts and not independent else None
            stages: list[Callable[[Any], Any]] = [
                self._detect_stage(detector),
                self._track_stage(tracker, analyzer, independent, cuts),
            ]
            names = ["detect", "track"]
            if self._embedder is not None:
                rec_cfg = self.config.recognition
                db = None
                if rec_cfg.enabled:
                    assert rec_cfg.database is not None  # checked by RecognitionConfig
                    db = stack.enter_context(FaceDatabase(rec_cfg.database, create=False))
                recognizer = FaceRecognizer(
                    rec_cfg, gallery=db, detector=detector, embedder=self._embedder
                )
                self._track_recognizer = TrackRecognizer(
                    recognizer, rec_cfg, self.config.tracking.credence_count
                )
                stages.append(self._recognize_stage(self._track_recognizer))
                names.append("recognize")
            # live: no deep queues between stages, or results would lag the camera
            live = runtime.mode == "live" or (runtime.mode == "auto" and src.info.kind == "stream")
            queue_size = 1 if live else runtime.queue_size
            results = run_stages(src, stages, queue_size=queue_size, names=names)
            try:
                yield results
            finally:
                results.close()  # type: ignore[attr-defined]

    @staticmethod
    def _detect_stage(detector: Detector) -> Callable[[Frame], tuple[Frame, Faces]]:
        def detect(frame: Frame) -> tuple[Frame, Faces]:
            return frame, detector.detect(frame)

        return detect

    @staticmethod
    def _track_stage(
        tracker: FaceTrackerCore, analyzer: FaceAnalyzer, independent: bool,
        cuts: SceneCutDetector | None,
    ) -> Callable[[tuple[Frame, Faces]], FrameResult]:
        def track_and_analyse(item: tuple[Frame, Faces]) -> FrameResult:
            frame, faces = item
            if independent or (cuts is not None and cuts.is_cut(frame)):
                # a new photo or a new shot: nobody continues from before (ids keep counting)
                tracker.reset()
                analyzer.reset()
            tracked = tracker.update(frame, faces)
            return FrameResult(frame, analyzer.analyze(frame, tracked))

        return track_and_analyse

    @staticmethod
    def _recognize_stage(stage: TrackRecognizer) -> Callable[[FrameResult], FrameResult]:
        def recognize(result: FrameResult) -> FrameResult:
            faces = stage.recognize(result.frame, result.faces)
            return FrameResult(result.frame, faces, names=dict(stage.names))

        return recognize

    def track(self, source: str | Path) -> Iterator[FrameResult]:
        """Yield one ``FrameResult`` per input frame, in order (frames with no face included)."""
        with self.open(source) as (_, results):
            yield from results

    def analyze_file(self, source: str | Path) -> list[TrackSummary]:
        """Run the whole input and return one summary per confirmed track."""
        with self.open(source) as (info, results):
            summarizer = TrackSummarizer(self.config.analysis, fps=info.fps)
            for result in results:
                summarizer.consume(result.frame, result.faces, result.names)
        return summarizer.summaries()


def predict_stream(
    source: str | Path,
    config: TrackerConfig | None = None,
    **live: Any,
) -> Iterator[FrameResult]:
    """Results of a live source (RTSP/HTTP URL, ``/dev/videoN``, or a file played at its native
    rate), frame by frame, latest-frame first: when processing falls behind, older frames are
    dropped (``LiveSource``). Runs until the stream is closed by breaking out of the loop (a
    file played once ends). ``live``: ``LiveSource`` options (``fps_cap``, ``loop``,
    ``options``, ``backoff``, ...).

    >>> for result in predict_stream("rtsp://cam/stream", fps_cap=10):   # doctest: +SKIP
    ...     print(result.frame.index, result.faces.track_id)
    """
    from facetrack.sources.live import LiveSource

    tracker = FaceTracker(config or TrackerConfig())
    with tracker.open(LiveSource(source, **live)) as (_, results):
        yield from results
