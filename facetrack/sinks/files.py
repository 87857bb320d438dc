from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from dataclasses import fields
from pathlib import Path
from typing import IO

from facetrack._closing import Closing
from facetrack.analysis.summary import TrackSummary
from facetrack.results import FrameResult


class _LineWriter(Closing):
    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh: IO[str] = path.open("w", encoding="utf-8", newline="\n")

    def _write(self, line: str) -> None:
        self._fh.write(line)
        self._fh.flush()

    def close(self) -> None:
        if not self._fh.closed:
            self._fh.close()



class JsonlWriter(_LineWriter):
    """faces.jsonl: one JSON object per frame (schema in docs/schema.md), flushed per line."""

    def consume(self, result: FrameResult) -> None:
        self._write(json.dumps(result.to_json(), separators=(",", ":"), allow_nan=False) + "\n")


class MotWriter(_LineWriter):
    """mot.txt in MOTChallenge format: ``frame,id,x,y,w,h,score,-1,-1,-1`` with 1-based frames,
    readable by TrackEval and motmetrics."""

    def consume(self, result: FrameResult) -> None:
        faces = result.faces
        lines = []
        for tid, (x1, y1, x2, y2), score in zip(
            faces.track_id.tolist(), faces.xyxy.tolist(), faces.score.tolist(), strict=True
        ):
            lines.append(
                f"{result.frame.index + 1},{tid},{x1:.2f},{y1:.2f},{x2 - x1:.2f},{y2 - y1:.2f},"
                f"{score:.4f},-1,-1,-1\n"
            )
        if lines:
            self._write("".join(lines))


def write_tracks(out_dir: Path, summaries: Sequence[TrackSummary]) -> tuple[Path, Path]:
    """tracks.csv and tracks.json (same rows), written to temporary names then renamed, so a
    reader never sees half a file."""
    names = [f.name for f in fields(TrackSummary)]
    csv_path, json_path = out_dir / "tracks.csv", out_dir / "tracks.json"
    tmp_csv, tmp_json = csv_path.with_suffix(".csv.tmp"), json_path.with_suffix(".json.tmp")
    with tmp_csv.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=names)
        writer.writeheader()
        for s in summaries:
            writer.writerow({k: ("" if v is None else v) for k, v in s.as_dict().items()})
    tmp_json.write_text(
        json.dumps([s.as_dict() for s in summaries], indent=1, allow_nan=False) + "\n",
        encoding="utf-8",
    )
    tmp_csv.replace(csv_path)
    tmp_json.replace(json_path)
    return csv_path, json_path
