"""A long video's segments joined into the files one run writes (``facetrack.sources.segments``
says what a segment is).

The rule, for segments ``s`` and ``s+1``:

- **Frames.** Each frame comes from the segment that owns it: faces.jsonl and mot.txt hold
  segment ``s``'s records for its frames ``[cut_s, cut_s+1)``; a lead-in's records only
  serve the matching.
- **Tracks.** The lead-in of ``s+1`` decodes frames that ``s`` owns, so the two segments'
  tracks are seen on the same frames. A track of ``s+1`` continues the track of ``s`` whose
  boxes overlap its own (IoU >= ``SAME_FACE_IOU``) on the most of those frames, one to one
  (the assignment that maximises the shared frames), and only when they overlap on at least
  half of the frames where both are seen (two people crossing overlap on a few). A track of
  ``s+1`` that continues none gets the next new id; ids of the first segment are its own.
- **Blinks.** A blink belongs to the segment that owns the frame where it ended (where the
  lids were seen open again, or the video's end): each is written once. A blink under way on
  a segment's last frame is not ended there; the next segment, which saw it start on its
  lead-in, ends it on one of its own frames.
- **Gaps.** A segment with no results (it failed before writing any) leaves a gap: the
  segments after it are joined all the same, their tracks with new ids (nothing to match).
- **tracks.csv.** A track's row adds up its parts: each segment's part counts the segment's
  own frames only (``facetrack.pipeline.segments``); blinks are its rows of blinks.csv; the
  highest PERCLOS window, the longest closure and the best quality are the highest of the
  parts' (a window across a seam is measured by the segment after it, over its lead-in).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from facetrack.analysis.summary import TrackSummary
from facetrack.errors import OutputError
from facetrack.geometry import iou_matrix
from facetrack.pipeline.segments import PARTS
from facetrack.signals.perclos import closed_share
from facetrack.signals.track import pose_moments
from facetrack.sinks.files import BlinksFile, LineFile, blink_row, write_tracks
from facetrack.sources.segments import Segment
from facetrack.tracks import TrackSignals, TrackSnapshot

#: boxes of one face seen by two segments on the same frame overlap at least this much
SAME_FACE_IOU = 0.5
#: a pair of tracks is one face when their boxes overlap on this share of their common frames
SAME_FACE_SHARE = 0.5

Boxes = dict[int, list[tuple[int, list[float]]]]  # frame -> [(track id, box)]


@dataclass
class _Track:
    """A whole track as the segments are read: its span and its parts."""

    first_frame: int
    first_time: float
    last_frame: int = 0
    last_time: float = 0.0
    frames: int = 0
    blinks: int = 0
    parts: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class _Joined:
    """What the stitch has written so far."""

    tracks: dict[int, _Track] = field(default_factory=dict)
    next_id: int = 1
    frames: int = 0
    fps: float = 0.0


def stitch(folders: Sequence[Path], segments: Sequence[Segment], out: Path, *,
           mot: bool = False) -> tuple[int, int]:
    """Join the folders of ``segments`` (in order; any may have stopped part-way, and any
    may be missing: a gap) into ``out``: faces.jsonl, blinks.csv, tracks.csv/json and
    mot.txt when asked. Returns (frames, tracks) written."""
    joined = _Joined()
    overlap: Boxes = {}
    with LineFile(out / "faces.jsonl") as faces, LineFile(out / "blinks.csv") as blinks:
        blinks.write(BlinksFile.HEADER)
        motfile = LineFile(out / "mot.txt") if mot else None
        try:
            for n, (folder, seg) in enumerate(zip(folders, segments, strict=True)):
                following = segments[n + 1] if n + 1 < len(folders) else None
                ids, overlap = _join_faces(folder, seg, following, overlap, joined, faces)
                parts = _parts(folder)
                _join_blinks(parts, ids, joined, blinks)
                if motfile is not None:
                    _join_mot(folder, seg, ids, motfile)
                _join_parts(parts, ids, joined)
        finally:
            if motfile is not None:
                motfile.close()
    summaries = [_summary(tid, t, joined.fps) for tid, t in sorted(joined.tracks.items())]
    write_tracks(out, summaries)
    return joined.frames, len(summaries)


def _records(folder: Path) -> Iterator[dict[str, Any]]:
    try:
        with (folder / "faces.jsonl").open(encoding="utf-8") as fh:
            for line in fh:
                yield json.loads(line)
    except OSError as exc:
        raise OutputError(f"{folder}: cannot read a segment's results ({exc.strerror or exc})"
                          ) from None


def _join_faces(folder: Path, seg: Segment, following: Segment | None, before: Boxes,
                joined: _Joined, faces: LineFile) -> tuple[dict[int, int], Boxes]:
    """Write the segment's own frames with the whole video's ids; returns its ids (segment's
    -> whole video's) and its boxes on the next segment's lead-in frames."""
    lead: Boxes = {}
    ids: dict[int, int] | None = {} if seg.cut == 0 else None  # the first keeps its own
    overlap: Boxes = {}
    for rec in _records(folder):
        frame = rec["frame"]
        if frame < seg.cut:
            lead[frame] = [(f["track_id"], f["box"]) for f in rec["faces"]]
            continue
        if ids is None:
            ids = match_tracks(before, lead)
        for face in rec["faces"]:
            face["track_id"] = _whole_id(face["track_id"], ids, joined, first=seg.cut == 0)
            _seen(joined, face["track_id"], frame, rec["timestamp"])
        faces.write(json.dumps(rec, separators=(",", ":"), allow_nan=False) + "\n")
        joined.frames += 1
        if following is not None and frame >= following.start:
            overlap[frame] = [(f["track_id"], f["box"]) for f in rec["faces"]]
    return (ids if ids is not None else match_tracks(before, lead)), overlap


def _whole_id(local: int, ids: dict[int, int], joined: _Joined, first: bool) -> int:
    if local not in ids:
        ids[local] = local if first else joined.next_id
        joined.next_id = max(joined.next_id, ids[local] + 1)
    return ids[local]


def _seen(joined: _Joined, tid: int, frame: int, t: float) -> None:
    track = joined.tracks.get(tid)
    if track is None:
        track = joined.tracks[tid] = _Track(frame, t)
    track.last_frame, track.last_time = frame, t
    track.frames += 1


def match_tracks(earlier: Boxes, lead: Boxes) -> dict[int, int]:
    """The lead-in's tracks that continue the earlier segment's (``lead``'s id -> earlier id),
    from their boxes on the frames both saw (the rule in this module's docstring)."""
    from scipy.optimize import linear_sum_assignment

    shared: dict[tuple[int, int], int] = {}
    both: dict[tuple[int, int], int] = {}
    for frame, theirs in lead.items():
        ours = earlier.get(frame)
        if not ours or not theirs:
            continue
        iou = iou_matrix([b for _, b in ours], [b for _, b in theirs])
        for i, (gid, _) in enumerate(ours):
            for j, (lid, _) in enumerate(theirs):
                both[gid, lid] = both.get((gid, lid), 0) + 1
                if iou[i, j] >= SAME_FACE_IOU:
                    shared[gid, lid] = shared.get((gid, lid), 0) + 1
    if not shared:
        return {}
    gids = sorted({g for g, _ in shared})
    lids = sorted({k for _, k in shared})
    score = np.zeros((len(gids), len(lids)))
    for (g, k), count in shared.items():
        score[gids.index(g), lids.index(k)] = count
    rows, cols = linear_sum_assignment(-score)
    return {lids[c]: gids[r] for r, c in zip(rows, cols, strict=True)
            if score[r, c] > 0 and score[r, c] >= SAME_FACE_SHARE * both[gids[r], lids[c]]}


def _join_blinks(parts: dict[str, Any], ids: dict[int, int], joined: _Joined,
                 blinks: LineFile) -> None:
    """The blinks that ended on the segment's own frames, with the whole video's ids."""
    lines = []
    for local, start, end, closed in parts["blinks"]:
        tid = ids.get(int(local))
        if tid is not None:
            joined.tracks[tid].blinks += 1
            lines.append(blink_row(tid, start, end, closed))
    if lines:
        blinks.write("".join(lines))


def _join_mot(folder: Path, seg: Segment, ids: dict[int, int], mot: LineFile) -> None:
    lines = []
    with (folder / "mot.txt").open(encoding="utf-8") as fh:
        for line in fh:
            frame, local, rest = line.split(",", 2)
            if int(frame) - 1 >= seg.cut and int(local) in ids:
                lines.append(f"{frame},{ids[int(local)]},{rest}")
    if lines:
        mot.write("".join(lines))


def _parts(folder: Path) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads((folder / PARTS).read_text(encoding="utf-8"))
    except OSError as exc:
        raise OutputError(f"{folder}: cannot read a segment's results ({exc.strerror or exc})"
                          ) from None
    return data


def _join_parts(data: dict[str, Any], ids: dict[int, int], joined: _Joined) -> None:
    joined.fps = joined.fps or float(data["fps"])
    for local, part in data["tracks"].items():
        tid = ids.get(int(local))
        track = joined.tracks.get(tid) if tid is not None else None
        if track is not None:
            if not track.parts:  # the exact times (faces.jsonl's are rounded)
                track.first_time = part["first_time"]
            track.last_time = part["last_time"]
            track.parts.append(part)


def _summary(tid: int, track: _Track, fps: float) -> TrackSummary:
    """The track's tracks.csv row, through the one ``TrackSummary.of``."""
    parts = track.parts

    def total(key: str) -> Any:
        values = [p[key] for p in parts]
        if values and isinstance(values[0], list):
            return np.sum(np.array(values, dtype=np.float64), axis=0)
        return sum(values)

    n = int(total("frames_analysed")) if parts else 0
    mean, std = pose_moments(total("pose_sum"), total("pose_sq"), n)
    highest = [p["perclos_max"] for p in parts if p["perclos_max"] is not None]
    signals = TrackSignals(
        frames_analysed=n, looking_frames=int(total("looking_frames")) if parts else 0,
        blinks=track.blinks, yawns=int(total("yawns")) if parts else 0,
        perclos_track=closed_share(total("closed_time_s"), total("eye_time_s")) if parts
        else None,
        perclos_max=max(highest) if highest else None,
        longest_closed_s=max((p["longest_closed_s"] for p in parts), default=0.0),
        pose_mean=None if mean is None else tuple(float(v) for v in mean),  # type: ignore[arg-type]
        pose_std=None if std is None else tuple(float(v) for v in std),  # type: ignore[arg-type]
        best_quality=max((p["best_quality"] for p in parts), default=0.0),
        box_sum=tuple(float(v) for v in total("box_sum")) if parts  # type: ignore[arg-type]
        else (0.0, 0.0),
    )
    snapshot = TrackSnapshot(tid, "ended", track.first_frame, track.first_time,
                             track.last_frame, track.last_time, track.frames, signals=signals)
    return TrackSummary.of(snapshot, 1.0 / fps if fps > 0 else 0.0)
