"""A long video as segments tracked in parallel (``facetrack track --workers/--ray``).

``probe_timeline`` reads a video's packets (no decoding, about a second per GB) for the
presentation time of every frame and where its keyframes are; ``plan_segments`` cuts it into
segments of about ``segment_s`` seconds; ``VideoSegmentSource`` decodes one segment, frames
numbered and timed exactly as a whole-file ``VideoFileSource`` numbers and times them.

A segment owns the frames ``[cut, end)``: its results for them are written out. Decoding
starts earlier, at the last keyframe at least ``lead_in_s`` before ``cut`` (a video can only be
entered at a keyframe), and the frames of this lead-in are tracked and analysed but not
written: they confirm the tracks already on screen at the cut, calibrate their eyes, and give
the overlap where the segment's tracks are matched with the previous segment's
(``facetrack.pipeline.stitch``).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import numpy.typing as npt

from facetrack.errors import DamagedInputError, DecodeError, InputError
from facetrack.frames import Frame
from facetrack.sources.video import VideoFileSource


@dataclass(frozen=True)
class Segment:
    """Frames ``[start, end)`` of a video are decoded (``end`` None: to its end), and
    ``[cut, end)`` are this segment's own. ``start_pts`` is the keyframe decoding starts at,
    ``first_pts`` the video's first frame (timestamps count from it), both in the stream's
    time base."""

    number: int  # 0-based
    count: int  # segments of the video
    start: int
    cut: int
    end: int | None
    start_pts: int
    first_pts: int
    end_pts: int | None = None  # the pts of frame ``end`` (decoding stops there)

    @property
    def last(self) -> bool:
        return self.end is None

    def describe(self) -> str:
        end = "the end" if self.end is None else str(self.end - 1)
        return f"segment {self.number + 1} of {self.count} (frames {self.cut} to {end})"


@dataclass(frozen=True)
class Timeline:
    """Every frame's pts in presentation order (``pts``), the indexes of the keyframes, and
    the time base."""

    pts: npt.NDArray[np.int64]
    keyframes: tuple[int, ...]
    time_base: Fraction

    @property
    def frames(self) -> int:
        return len(self.pts)

    def seconds(self, index: int) -> float:
        """Frame ``index``'s timestamp, as ``VideoFileSource`` gives it."""
        return float((int(self.pts[index]) - int(self.pts[0])) * self.time_base)


def video_seconds(path: Path) -> float | None:
    """The duration a video's header declares (None: not a video, or none declared)."""
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                return None
            stream = container.streams.video[0]
            if stream.duration is not None and stream.time_base is not None:
                return float(stream.duration * stream.time_base)
            return None if container.duration is None else container.duration / 1_000_000
    except (av.error.FFmpegError, OSError, UnicodeDecodeError):
        return None


def probe_timeline(path: Path) -> Timeline | None:
    """``path``'s frames and keyframes from its packets; None when it cannot be segmented (a
    packet without pts, repeated pts, no time base, or no decodable first frame): such a file
    is tracked whole."""
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            first = _first_pts(container, stream)
            container.seek(0)
            pts, keys = [], []
            for packet in container.demux(stream):
                if packet.size == 0:  # the flush packet at the end
                    continue
                if packet.pts is None:
                    return None
                pts.append(packet.pts)
                if packet.is_keyframe:
                    keys.append(packet.pts)
            time_base = stream.time_base
    except (av.error.FFmpegError, OSError, UnicodeDecodeError, IndexError, StopIteration):
        return None
    ordered = np.array(sorted(p for p in pts if p >= first), dtype=np.int64)
    if time_base is None or len(ordered) == 0 or ordered[0] != first or (
            np.diff(ordered) <= 0).any():
        return None
    where = {int(p): i for i, p in enumerate(ordered)}
    keyframes = tuple(sorted(where[k] for k in keys if k in where))
    if not keyframes or keyframes[0] != 0:
        return None
    return Timeline(ordered, keyframes, Fraction(time_base))


def _first_pts(container: Any, stream: Any) -> int:
    """The pts of the first frame the decoder gives (an edit list can hide packets before
    it), which timestamps count from."""
    frame = next(container.decode(stream))
    if frame.pts is None:
        raise StopIteration
    return int(frame.pts)


def plan_segments(timeline: Timeline, segment_s: float, lead_in_s: float) -> list[Segment]:
    """Cut points every ``segment_s`` seconds (the frame at or after each), none closer
    than half a segment to the end; each segment's decoding starts at the last keyframe at
    least ``lead_in_s`` (at most half a segment) before its cut. One segment (the whole
    video) when it is not longer than 1.5 segments, or when its keyframes are so far apart
    that a lead-in would be longer than itself plus half a segment (splitting would add more
    work than it shares out)."""
    lead_in_s = min(lead_in_s, segment_s / 2)
    times = [timeline.seconds(i) for i in range(timeline.frames)]
    duration = times[-1] if times else 0.0
    cuts = [0]
    k = 1
    while k * segment_s <= duration - segment_s / 2:
        cut = bisect.bisect_left(times, k * segment_s)
        if cut > cuts[-1]:
            cuts.append(cut)
        k += 1
    key_times = [times[i] for i in timeline.keyframes]
    starts = [timeline.keyframes[max(0, bisect.bisect_right(
        key_times, times[cut] - lead_in_s + 1e-9) - 1)] if cut else 0 for cut in cuts]
    if any(times[cut] - times[start] > lead_in_s + segment_s / 2
           for cut, start in zip(cuts, starts, strict=True)):
        cuts, starts = [0], [0]
    ends: list[int | None] = [*cuts[1:], None]
    return [Segment(n, len(cuts), start, cut, end, int(timeline.pts[start]),
                    int(timeline.pts[0]), None if end is None else int(timeline.pts[end]))
            for n, (start, cut, end) in enumerate(zip(starts, cuts, ends, strict=True))]


class VideoSegmentSource(VideoFileSource):
    """The frames of one ``Segment`` of a video, lead-in included: seeks to its keyframe and
    decodes up to ``end``. Frame indexes and timestamps are the whole video's."""

    def __init__(self, path: Path, segment: Segment) -> None:
        super().__init__(path)
        self.segment = segment

    def __iter__(self) -> Iterator[Frame]:
        seg = self.segment
        time_base = self._stream.time_base
        if seg.start:
            try:
                self._container.seek(seg.start_pts, stream=self._stream, backward=True,
                                     any_frame=False)
            except av.error.FFmpegError as exc:
                raise DecodeError(f"{self._path}: cannot seek to {seg.describe()} ({exc})",
                                  frame=seg.start) from None
        index = self.frames_read = seg.start
        timestamp = 0.0
        for vf in self._frames():
            if vf.pts is None or vf.pts < seg.start_pts:
                continue  # before the keyframe (an open GOP's leading pictures)
            if seg.end_pts is not None and vf.pts >= seg.end_pts:
                break
            timestamp = float((vf.pts - seg.first_pts) * time_base)
            yield Frame(vf.to_ndarray(format="bgr24"), self._info.source_id, index, timestamp)
            index += 1
            self.frames_read = index
        if index == seg.start:
            raise InputError(f"{self._path}: no decodable frames in {seg.describe()}")
        if seg.last and self._ended_early(index, timestamp):
            raise DecodeError(
                f"{self._path}: video ended at frame {index} but its header declares "
                f"{self._info.frame_count} frames (truncated file?)", frame=index)
        if self.skipped:
            raise DamagedInputError(
                f"{self._path}: {self.skipped} packets of {seg.describe()} could not be "
                f"decoded and were skipped (damaged); the other frames were processed",
                frame=index)

