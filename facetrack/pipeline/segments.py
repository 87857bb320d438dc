"""One segment of a long video, tracked on a worker (``facetrack.sources.segments`` plans
them, ``facetrack.pipeline.stitch`` joins them).

A segment's folder holds what ``track_file`` writes for every frame it decoded, lead-in
included, with the segment's own track ids (faces.jsonl, blinks.csv, mot.txt when asked), and
parts.json: for each track, what its signals added up to over the segment's own frames (its
last snapshot less its snapshot on the last lead-in frame), which the stitch sums into the
tracks.csv row of the whole track. The tracks are not ended on the last frame of a segment
that is not the video's last: a blink under way there is the next segment's to count.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from facetrack.config import TrackerConfig
from facetrack.pipeline.jobs import TrackRun, prepare_output, track_file
from facetrack.results import FrameResult
from facetrack.sinks.files import BlinkEnds
from facetrack.sources.segments import Segment, VideoSegmentSource
from facetrack.storage.atomic import write_atomically
from facetrack.tracks import TrackSignals, TrackSnapshot

PARTS = "parts.json"


class TrackParts:
    """Each track's snapshot on the last frame before ``cut`` and on its last frame, and what
    only the segment's own frames show: the track's first time on them, its highest PERCLOS
    window ending on them, its longest closure under way on them, and the blinks that ended
    on them (``blinks``: each blink is counted on the frame that ends it, which only one
    segment owns; a blink still under way at a segment's last frame is the next one's)."""

    def __init__(self, cut: int) -> None:
        self.cut = cut
        self.before: dict[int, TrackSnapshot] = {}
        self.last: dict[int, TrackSnapshot] = {}
        self.own: dict[int, dict[str, Any]] = {}
        self.blinks: list[list[float]] = []  # [track id, start_s, end_s, closed_s]
        self._blink_ends = BlinkEnds()

    def consume(self, result: FrameResult) -> None:
        ended = self._blink_ends.of(result)  # read on every frame, kept on the segment's own
        if result.frame.index < self.cut:
            for track in result.tracks:
                self.before[track.track_id] = track
            return
        self.blinks += [[tid, b.start_s, b.end_s, b.closed_s] for tid, b in ended]
        for tid in result.faces.track_id.tolist():
            self.own.setdefault(tid, _own_start(result.frame.timestamp))
        for track in result.tracks:
            tid = track.track_id
            own = self.own.setdefault(tid, _own_start(result.frame.timestamp))
            earlier = self.last.get(tid) or self.before.get(tid)
            s = track.signals
            if s.perclos is not None:
                own["perclos_max"] = max(own["perclos_max"] or 0.0, s.perclos)
            if s.longest_closed_s > (earlier.signals.longest_closed_s if earlier else 0.0):
                own["longest_closed_s"] = max(own["longest_closed_s"], s.longest_closed_s)
            self.last[tid] = track

    def close(self) -> None:
        """Written by ``write`` (on every exit path of the segment's run)."""

    def parts(self) -> dict[int, dict[str, Any]]:
        """What each track seen after the cut added over the segment's own frames."""
        out = {}
        for tid, last in sorted(self.last.items()):
            before = self.before.get(tid)
            out[tid] = {**own_part(last.signals, before.signals if before is not None else None),
                        **self.own[tid], "last_time": last.last_time}
        return out

    def write(self, folder: Path, fps: float) -> None:
        rows = {str(k): v for k, v in self.parts().items()}
        write_atomically(folder / PARTS, [json.dumps(
            {"fps": fps, "tracks": rows, "blinks": self.blinks}, allow_nan=False), "\n"])


def _own_start(t: float) -> dict[str, Any]:
    return {"first_time": t, "perclos_max": None, "longest_closed_s": 0.0}


def own_part(last: TrackSignals, before: TrackSignals | None) -> dict[str, Any]:
    """Sums over the frames after ``before`` (None: all of them), and the best quality so
    far."""
    a, b = _sums(last), _sums(before)
    return {**{k: _minus(a[k], b[k]) for k in a}, "best_quality": last.best_quality}


def _sums(s: TrackSignals | None) -> dict[str, Any]:
    if s is None:
        return {"frames_analysed": 0, "looking_frames": 0, "yawns": 0, "box_sum": [0.0, 0.0],
                "eye_time_s": 0.0, "closed_time_s": 0.0, "pose_sum": [0.0] * 3,
                "pose_sq": [0.0] * 3}
    n = s.frames_analysed
    mean, std = s.pose_mean or (0.0,) * 3, s.pose_std or (0.0,) * 3
    return {"frames_analysed": n, "looking_frames": s.looking_frames, "yawns": s.yawns,
            "box_sum": list(s.box_sum), "eye_time_s": s.eye_time_s,
            "closed_time_s": s.closed_time_s, "pose_sum": [m * n for m in mean],
            "pose_sq": [(d * d + m * m) * n for m, d in zip(mean, std, strict=True)]}


def _minus(a: Any, b: Any) -> Any:
    if isinstance(a, list):
        return [x - y for x, y in zip(a, b, strict=True)]
    return a - b


def track_segment(source: str | Path, segment: Segment, out: Path,
                  config: TrackerConfig, *, mot: bool = False) -> TrackRun:
    """Track ``segment`` of the video ``source`` into the folder ``out``."""
    prepare_output(out)
    parts = TrackParts(segment.cut)
    frames = VideoSegmentSource(Path(source), segment)
    try:
        return track_file(frames, out, config, mot=mot, finish=segment.last, extra=[parts])
    finally:
        parts.write(out, frames.info.fps)
