"""Every entry point that runs a whole input: ``track_file`` (what ``facetrack track`` writes),
``find_faces_in_file`` (tracks, crops, identities, grouped people) and ``predict_stream`` (a
live source, result by result). The CLI is a thin layer over these."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from facetrack.config import TrackerConfig, override
from facetrack.draw import pictures
from facetrack.errors import InputError, OutputError
from facetrack.pipeline.base import Sink
from facetrack.pipeline.tracker import FaceTracker
from facetrack.recognition.embedder import Embedder
from facetrack.recognition.grouping import FoundFace, FoundFaces, group_tracks
from facetrack.results import FrameResult
from facetrack.sinks.files import BlinksFile, JsonlWriter, MotWriter, Thumbnails, TracksTable
from facetrack.sinks.video import AnnotatedVideoWriter
from facetrack.sources import Source

#: files ``track_file`` may write; all are removed first, so a folder never mixes two runs
OUTPUTS = ("faces.jsonl", "tracks.csv", "tracks.json", "blinks.csv", "mot.txt", "annotated.mp4",
           "audience.csv", "crossings.csv", "report.html")

Progress = Callable[[int, "int | None"], None]


@dataclass(frozen=True)
class TrackRun:
    """What ``track_file`` did."""

    source: str
    frames: int
    tracks: int
    seconds: float
    fps: float
    out: str


def prepare_output(out: Path) -> None:
    """Create ``out``; remove what an earlier run left there (never following a link)."""
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out}: is not a folder (give a folder for the results)")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{out}: cannot create output folder ({exc.strerror or exc})"
                          ) from None
    try:
        for name in OUTPUTS:
            (out / name).unlink(missing_ok=True)  # a planted link is removed, not followed
        for old in out.glob("heatmap_*.png"):
            old.unlink()
        thumbs = out / "thumbnails"
        if thumbs.is_symlink():
            raise OutputError(f"{thumbs}: is a symbolic link; refusing to write through it "
                              "(remove it, or choose another --out)")
        if thumbs.is_dir():
            for old in thumbs.glob("track_*.jpg"):
                old.unlink()
    except OSError as exc:
        raise OutputError(f"{out}: cannot write there ({exc.strerror or exc})") from None


class DiskRoom:
    """Stops a run while the output device still has ``RESERVE`` free, so that however a full
    disk ends it, tracks.csv/json and the video's index can still be written (checked every
    ``EVERY`` frames)."""

    RESERVE = 4 * 2**20
    EVERY = 10

    def __init__(self, out: Path) -> None:
        self.out = out

    def check(self, frames: int) -> None:
        if frames % self.EVERY:
            return
        free = shutil.disk_usage(self.out).free
        if free < self.RESERVE:
            raise OutputError(
                f"{self.out}: less than {self.RESERVE // 2**20} MB left on the device; stopped "
                f"after frame {frames - 1} to keep room for tracks.csv/json (every file is "
                "valid; free some space and run again)")


def track_file(
    source: str | Path | Source,
    out: str | Path,
    config: TrackerConfig | None = None,
    *,
    video: bool = False,
    mot: bool = False,
    thumbnails: bool = False,
    progress: Progress | None = None,
    tracker: FaceTracker | None = None,
    finish: bool = True,
    extra: Sequence[Sink] = (),
) -> TrackRun:
    """Track every face of ``source`` (a video, an image folder or an image) and write into
    ``out``: faces.jsonl, tracks.csv, tracks.json and blinks.csv, and with the flags mot.txt,
    annotated.mp4 and thumbnails/ (docs/cli.md). Every file is valid whatever ends the run: a
    broken input (``DecodeError``), Ctrl-C or a full disk keep every frame processed so far,
    and tracks.csv/json summarise them. ``progress(frames_done, frame_count)`` after each
    frame. ``source`` may be a ``Source`` (this closes it); ``finish`` False leaves the tracks
    open at the last frame (a segment of a longer video: ``facetrack.pipeline.segments``);
    ``extra`` sinks get every result, the tracks' end included."""
    import time

    tracker = tracker if tracker is not None else FaceTracker(config)
    mode = tracker.config.privacy_mode
    if thumbnails and mode != "identified":
        raise InputError(f"thumbnails are face pictures, and privacy.mode {mode} "
                         f"{'(the default without recognition) ' if mode == 'anonymous' else ''}"
                         "writes none: set privacy.mode: identified in the config to keep them")
    out = Path(out)
    prepare_output(out)
    t0 = time.perf_counter()
    frames = 0
    with ExitStack() as stack:
        info, results = stack.enter_context(tracker.open(source, finish=finish))
        thumbs = Thumbnails(out) if thumbnails else None
        table = TracksTable(out, info.fps, thumbs, tracker.config.analytics)
        # tracks.csv is written on every exit path, so a broken input keeps its summaries
        stack.callback(table.close)
        sinks: list[Sink] = [stack.enter_context(JsonlWriter(out / "faces.jsonl")), table,
                             stack.enter_context(BlinksFile(out / "blinks.csv"))]
        if thumbs is not None:
            sinks.append(thumbs)
        if mot:
            sinks.append(stack.enter_context(MotWriter(out / "mot.txt")))
        if video:
            sinks.append(stack.enter_context(AnnotatedVideoWriter(
                out / "annotated.mp4", info.width, info.height, info.fps,
                pictures(tracker.config)[0])))
        # these also read the tracks' end: a blink, look or visit open on the last frame
        ending: list[Sink] = [table, sinks[2], *extra]
        sinks += extra
        if tracker.config.analytics.enabled:
            from facetrack.sinks.audience import audience_sinks

            ending += audience_sinks(out, tracker.config, info, stack, sinks)
        room = DiskRoom(out)
        last_frame = None
        for result in results:
            if result.frame is last_frame:  # the tracks' end (open(finish=True)): no new frame
                for sink in ending:
                    sink.consume(result)
                break
            last_frame = result.frame
            room.check(frames)
            for sink in sinks:
                sink.consume(result)
            frames += 1
            if progress is not None:
                progress(frames, info.frame_count)
    elapsed = time.perf_counter() - t0
    name = source.info.source_id if not isinstance(source, (str, Path)) else source
    return TrackRun(str(name), frames, len(table.summaries()), round(elapsed, 3),
                    round(frames / elapsed, 2) if elapsed > 0 else 0.0, str(out))


def find_faces_in_file(
    path: str | Path,
    config: TrackerConfig | None = None,
    *,
    database: str | Path | None = None,
    max_representatives: int = 5,
    best_crops: int = 3,
    group_threshold: float | None = None,
    progress: Progress | None = None,
    on_result: Callable[[FrameResult], None] | None = None,
    embedder: Embedder | None = None,
) -> list[FoundFace]:
    """Every track of a video (or image folder) with its span, best crops, identity and
    representative embeddings, in order of first appearance; tracks of one person share a
    ``group``.

    ``database``: a face database to name enrolled people (else everyone is unknown; the
    config's ``recognition.database`` is used when this is not given and recognition is
    enabled there). ``group_threshold``: cosine similarity of two tracks' mean embeddings at
    which they are taken for one person (default: ``recognition.threshold``).
    ``progress(frames_done, frame_count)`` is called after each frame, ``on_result`` with
    each frame's result (faces with track ids and, where embedded, vectors). ``embedder``:
    one already loaded (else the config's).
    """
    if max_representatives < 1:
        raise ValueError("max_representatives must be at least 1")
    cfg = config or TrackerConfig()
    if database is not None:
        if "://" not in str(database) and not Path(database).is_file():
            raise InputError(f"{database}: face database not found")
        cfg = override(cfg, {"recognition.enabled": True, "recognition.database": str(database)})
    rec = cfg.recognition
    tracker = FaceTracker(cfg, embed=True, embedder=embedder)
    found = FoundFaces(best_crops, identify=rec.enabled)
    with tracker.open(path) as (info, results):
        for done, result in enumerate(results, 1):
            found.consume(result)
            if on_result is not None:
                on_result(result)
            if progress is not None:
                progress(done, info.frame_count)
    faces = found.finish(max_representatives)
    group_tracks(faces, rec.threshold if group_threshold is None else group_threshold)
    return faces


def predict_stream(source: str | Path, config: TrackerConfig | None = None, **live: Any
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
