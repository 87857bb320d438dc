"""Result files of ``facetrack track``: faces.jsonl, mot.txt, tracks.csv/json, thumbnails.

Each is a sink (``consume(result)``, ``close()``). Lines are written whole and flushed as they
go, so a run that stops part-way (a broken input, Ctrl-C, a full disk) leaves valid files with
every frame written so far: a write the disk refuses is cut back to the last whole line and
raises ``OutputError``. Files are created without following symbolic links (a link planted in
a shared output folder is refused, never written through) and tracks.csv/json go through
randomly named temporaries renamed into place, so a reader never sees half a file.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
from collections.abc import Sequence
from dataclasses import fields
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from facetrack._closing import Closing
from facetrack.analysis.quality import face_quality_of
from facetrack.analysis.summary import TrackSummary, audience_columns
from facetrack.config.analytics import AnalyticsConfig
from facetrack.errors import OutputError
from facetrack.geometry import crop
from facetrack.results import FrameResult
from facetrack.storage.atomic import write_atomically
from facetrack.tracks import Blink, TrackSnapshot

#: thumbnails keep this margin around the face box (fraction of its size, each side)
THUMBNAIL_MARGIN = 0.15


def open_output(path: Path) -> int:
    """A new, empty file at ``path`` for writing (mode 0644); a symbolic link there is
    refused, not followed."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
    try:
        return os.open(path, flags, 0o644)
    except OSError as exc:
        if path.is_symlink():
            raise OutputError(f"{path}: is a symbolic link; refusing to write through it "
                              "(remove it, or choose another --out)") from None
        raise OutputError(f"{path}: cannot write ({exc.strerror or exc})") from None


class LineFile(Closing):
    """Whole lines appended to a new file; a refused write is cut back to the last line."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = open_output(path)
        self._size = 0

    def write(self, text: str) -> None:
        if self._fd is None:
            raise OutputError(f"{self.path}: already closed")
        data = memoryview(text.encode("utf-8"))
        try:
            while data:
                data = data[os.write(self._fd, data):]
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, self._size)
            raise OutputError(f"{self.path}: cannot write ({exc.strerror or exc}); it holds "
                              "every line written before") from None
        self._size += len(text.encode("utf-8"))

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class JsonlWriter(LineFile):
    """faces.jsonl: one JSON object per frame (schema in docs/schema.md)."""

    def consume(self, result: FrameResult) -> None:
        self.write(json.dumps(result.to_json(), separators=(",", ":"), allow_nan=False) + "\n")


class MotWriter(LineFile):
    """mot.txt in MOTChallenge format: ``frame,id,x,y,w,h,score,-1,-1,-1`` with 1-based frames,
    readable by TrackEval and motmetrics."""

    def consume(self, result: FrameResult) -> None:
        faces = result.faces
        lines = [
            f"{result.frame.index + 1},{tid},{x1:.2f},{y1:.2f},{x2 - x1:.2f},{y2 - y1:.2f},"
            f"{score:.4f},-1,-1,-1\n"
            for tid, (x1, y1, x2, y2), score in zip(
                faces.track_id.tolist(), faces.xyxy.tolist(), faces.score.tolist(), strict=True)
        ]
        if lines:
            self.write("".join(lines))


def blink_row(track_id: int, start_s: float, end_s: float, closed_s: float) -> str:
    """One line of blinks.csv."""
    return f"{track_id},{start_s:.4f},{end_s:.4f},{closed_s:.4f}\n"


class BlinkEnds:
    """The blinks that end on each result, each once: a track's ``last_blink`` stays on its
    snapshots until the next one ends."""

    def __init__(self) -> None:
        self._seen: dict[int, float] = {}  # track -> start of its last blink

    def of(self, result: FrameResult) -> list[tuple[int, Blink]]:
        ended = []
        for track in result.tracks:
            blink = track.signals.last_blink
            if blink is not None and self._seen.get(track.track_id) != blink.start_s:
                self._seen[track.track_id] = blink.start_s
                ended.append((track.track_id, blink))
            if track.state == "ended":
                self._seen.pop(track.track_id, None)
        return ended


class BlinksFile(LineFile):
    """blinks.csv: one row per blink as it ends, ``track_id,start_s,end_s,closed_s`` (source
    seconds from the frames' timestamps; ``closed_s`` the time fully closed within it)."""

    HEADER = "track_id,start_s,end_s,closed_s\n"

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.write(self.HEADER)
        self._ends = BlinkEnds()

    def consume(self, result: FrameResult) -> None:
        lines = [blink_row(tid, b.start_s, b.end_s, b.closed_s) for tid, b in
                 self._ends.of(result)]
        if lines:
            self.write("".join(lines))


class TracksTable(Closing):
    """tracks.csv and tracks.json: each track's latest snapshot, summarised, written at close
    (``out`` None: only kept, for ``summaries()``)."""

    def __init__(self, out: Path | None, fps: float, thumbnails: Thumbnails | None = None,
                 analytics: AnalyticsConfig | None = None) -> None:
        self.out, self.thumbnails = out, thumbnails
        self.period_s = 1.0 / fps if fps > 0 else 0.0
        self._last: dict[int, TrackSnapshot] = {}
        on = analytics is not None and analytics.enabled
        self._targets = [t.name for t in analytics.targets] if on and analytics else []
        self._watcher_min_s = analytics.watcher_min_s if analytics is not None else 0.0

    def consume(self, result: FrameResult) -> None:
        for track in result.tracks:
            self._last[track.track_id] = track

    def summaries(self, thumbnails: dict[int, str] | None = None) -> list[TrackSummary]:
        thumbs = thumbnails or {}
        return [TrackSummary.of(self._last[t], self.period_s, thumbs.get(t), self._targets,
                                self._watcher_min_s) for t in sorted(self._last)]

    def close(self) -> None:
        if self.out is None:
            return
        thumbs = self.thumbnails.save() if self.thumbnails is not None else {}
        write_tracks(self.out, self.summaries(thumbs), audience_columns(self._targets))
        self.out = None


class Thumbnails:
    """The best-quality crop of each track, saved as thumbnails/track_ID.jpg (only when asked:
    no face image is stored otherwise). One crop per track is held in memory."""

    def __init__(self, out: Path) -> None:
        self.folder = out / "thumbnails"
        self._best: dict[int, tuple[float, npt.NDArray[np.uint8]]] = {}

    def consume(self, result: FrameResult) -> None:
        faces = result.faces
        quality = face_quality_of(faces)
        analysed = faces.attrs.get("analysed", np.zeros(len(faces), bool))
        for i, tid in enumerate(faces.track_id.tolist()):
            q = float(quality[i])
            if analysed[i] and tid >= 0 and q > self._best.get(tid, (-1.0, None))[0]:
                self._best[tid] = (q, crop(result.frame.image, faces.xyxy[i],
                                           THUMBNAIL_MARGIN).copy())

    def save(self) -> dict[int, str]:
        if self.folder.is_symlink():
            raise OutputError(f"{self.folder}: is a symbolic link; refusing to write through "
                              "it")
        try:
            self.folder.mkdir(exist_ok=True)
        except OSError as exc:
            raise OutputError(f"{self.folder}: cannot create ({exc.strerror or exc})") from None
        paths = {}
        for tid, (_, image) in sorted(self._best.items()):
            rel = f"thumbnails/track_{tid}.jpg"
            ok, data = cv2.imencode(".jpg", image) if image.size else (False, None)
            if ok and data is not None:
                fd = open_output(self.folder / f"track_{tid}.jpg")
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data.tobytes())
                paths[tid] = rel
        return paths

    def close(self) -> None:
        """Saved by ``TracksTable`` (which links each row to its thumbnail)."""


def write_tracks(out_dir: Path, summaries: Sequence[TrackSummary],
                 extra_columns: Sequence[str] = ()) -> tuple[Path, Path]:
    """tracks.csv and tracks.json (same rows), each written to a new temporary file then
    renamed, so a reader never sees half a file; nothing is left behind on failure."""
    names = [f.name for f in fields(TrackSummary) if f.name != "audience"]
    names += list(extra_columns)
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=names, lineterminator="\n")
    writer.writeheader()
    for s in summaries:
        writer.writerow({k: ("" if v is None else v) for k, v in s.as_dict().items()})
    rows = json.dumps([s.as_dict() for s in summaries], indent=1, allow_nan=False) + "\n"
    csv_path, json_path = out_dir / "tracks.csv", out_dir / "tracks.json"
    write_atomically(csv_path, [text.getvalue()])
    write_atomically(json_path, [rows])
    return csv_path, json_path
