from __future__ import annotations

import logging
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import av

from facetrack._closing import Closing
from facetrack.errors import DamagedInputError, DecodeError, InputError
from facetrack.frames import Frame, SourceInfo

log = logging.getLogger(__name__)

VIDEO_SUFFIXES = frozenset({".mp4", ".avi", ".mkv", ".mov", ".m4v", ".webm"})
#: damaged packets in a row after which the rest of a file counts as unreadable
MAX_DAMAGED_IN_A_ROW = 50
#: frames larger than this are refused (8K UHD is 33 Mpx): decoded, one frame is 3 bytes a
#: pixel, and the pipeline holds several
MAX_VIDEO_PIXELS = 40_000_000


class VideoFileSource(Closing):
    """Every frame of a video file, decoded with PyAV (FFmpeg), none dropped.

    Timestamps come from each frame's pts * time_base, relative to the first frame, so variable
    frame-rate files keep true times. A decode failure part-way raises ``DecodeError`` with the
    index of the first frame that could not be decoded; frames before it have been yielded.
    """

    def __init__(self, path: Path) -> None:
        self._path = path
        try:
            self._container: Any = av.open(str(path), mode="r")
        except (av.error.FFmpegError, OSError, UnicodeDecodeError) as exc:
            raise InputError(f"{path}: not a readable video ({_reason(exc)})") from None
        streams = self._container.streams.video
        if not streams:
            self._container.close()
            raise InputError(f"{path}: file has no video stream (no frames?)")
        self._stream = streams[0]
        ctx = self._stream.codec_context
        if ctx is None:  # a codec id FFmpeg has no decoder for (a damaged header, often)
            self._container.close()
            raise InputError(f"{path}: no decoder for its video codec (corrupt header?)")
        self._stream.thread_type = "AUTO"
        limit_decoder(self._stream)
        rate = self._stream.average_rate or self._stream.guessed_rate or Fraction(25)
        width, height = int(ctx.width or 0), int(ctx.height or 0)
        if width <= 0 or height <= 0:
            self._container.close()
            raise InputError(f"{path}: video stream has no frame size (corrupt header?)")
        if width * height > MAX_VIDEO_PIXELS:
            self._container.close()
            raise InputError(f"{path}: frames of {width}x{height} are {width * height / 1e6:.0f} "
                             f"million pixels; facetrack reads video up to "
                             f"{MAX_VIDEO_PIXELS / 1e6:.0f} million pixels a frame")
        self.skipped = 0  # damaged packets skipped
        self.frames_read = 0
        self._info = SourceInfo(
            source_id=path.name,
            kind="video",
            width=width,
            height=height,
            fps=float(rate),
            frame_count=int(self._stream.frames) or None,
        )

    @property
    def info(self) -> SourceInfo:
        return self._info

    def __iter__(self) -> Iterator[Frame]:
        """Every decodable frame, in order. A damaged packet costs its frames only: they are
        skipped and counted (FFmpeg decodes around them too); after the last frame a
        ``DamagedInputError`` reports them. Many damaged packets in a row mean the rest of the
        file is unreadable: ``DecodeError`` there."""
        index = 0
        timestamp = 0.0
        first_pts: int | None = None
        time_base = self._stream.time_base
        fps = self._info.fps
        for vf in self._frames():
            if vf.pts is not None and time_base is not None:
                if first_pts is None:
                    first_pts = vf.pts
                timestamp = float((vf.pts - first_pts) * time_base)
            else:
                timestamp = index / fps
            yield Frame(vf.to_ndarray(format="bgr24"), self._info.source_id, index, timestamp)
            index += 1
            self.frames_read = index
        if index == 0:
            raise InputError(f"{self._path}: video has no decodable frames")
        undecoded = (f"{self.skipped} packets could not be decoded and were skipped (damaged, "
                     f"or frames over {MAX_VIDEO_PIXELS / 1e6:.0f} million pixels)")
        if self._ended_early(index, timestamp):
            raise DecodeError(
                f"{self._path}: video ended at frame {index} but its header declares "
                f"{self._info.frame_count} frames "
                f"({undecoded if self.skipped else 'truncated file?'})", frame=index)
        if self.skipped:
            raise DamagedInputError(
                f"{self._path}: {undecoded}; the other {index} frames were processed",
                frame=index)

    def _frames(self) -> Iterator[Any]:
        """Decoded frames, packet by packet; damaged packets are skipped and counted."""
        in_a_row = 0
        packets = self._container.demux(self._stream)
        while True:
            try:
                packet = next(packets)
            except StopIteration:
                return
            except (av.error.FFmpegError, OSError, ValueError) as exc:
                at = self.frames_read
                raise DecodeError(f"{self._path}: video is corrupt or truncated at frame {at} "
                                  f"({_reason(exc)})", frame=at) from None
            try:
                frames = packet.decode()
            except (av.error.FFmpegError, ValueError) as exc:
                self.skipped += 1
                in_a_row += 1
                if in_a_row > MAX_DAMAGED_IN_A_ROW:
                    at = self.frames_read
                    raise DecodeError(f"{self._path}: video is corrupt from frame {at} on "
                                      f"({_reason(exc)})", frame=at) from None
                continue
            in_a_row = 0
            yield from frames

    def _ended_early(self, decoded: int, last_timestamp: float) -> bool:
        """True when decoding stopped well short of what the header declares, in frames and in
        time. FFmpeg ends a truncated file silently; checking the duration as well keeps a
        complete file whose header over-counts frames (edit lists) from being called broken."""
        declared = self._info.frame_count
        if declared is None or decoded >= declared * 0.98 - 1:
            return False
        stream, tb = self._stream, self._stream.time_base
        if stream.duration is not None and tb is not None:
            duration = float(stream.duration * tb)
        elif self._container.duration is not None:
            duration = self._container.duration / 1_000_000
        else:
            return True
        return last_timestamp + 2.0 / self._info.fps < duration * 0.98

    def close(self) -> None:
        self._container.close()


def limit_decoder(stream: Any) -> None:
    """The decoder refuses any frame over ``MAX_VIDEO_PIXELS`` before allocating it: the size
    checked when a file opens is only its first frame's, and a few-megabyte MJPEG can carry
    16000x16000 frames after small ones (2 GB decoded). Such a frame fails like a damaged
    packet (skipped and counted). A stream with no decoder is a ``ValueError``."""
    if stream.codec_context is None:
        raise ValueError("no decoder for the video codec")
    stream.codec_context.options = {**stream.codec_context.options,
                                    "max_pixels": str(MAX_VIDEO_PIXELS)}


def _reason(exc: BaseException) -> str:
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return str(text).splitlines()[0]
