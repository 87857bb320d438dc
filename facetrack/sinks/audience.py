"""Audience outputs of ``facetrack track --analytics``: audience.csv (a row per window, zone and
target, written as each window closes), crossings.csv (each line crossing as it happens) and
the heatmaps (heatmap_occupancy.png, heatmap_<target>.png, written at close).

No face pixel and no embedding goes into any of them: the heatmaps are drawn over the scene's
background (the per-pixel median of frames sampled across the input, with every face box seen
in those frames blurred out).
"""

from __future__ import annotations

import csv
import io
import math
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

from facetrack.analytics.heatmaps import Heatmaps
from facetrack.analytics.windows import COLUMNS, Audience
from facetrack.config.analytics import AnalyticsConfig
from facetrack.frames import SourceInfo
from facetrack.results import FrameResult
from facetrack.sinks.files import LineFile

if TYPE_CHECKING:
    from facetrack.config import TrackerConfig
    from facetrack.pipeline.base import Sink

__all__ = ["AudienceFile", "CrossingsFile", "HeatmapFiles", "audience_sinks"]


def audience_sinks(out: Path, config: TrackerConfig, info: SourceInfo, stack: ExitStack,
                   sinks: list[Sink]) -> list[Sink]:
    """Add the analytics files of ``facetrack track --analytics`` to ``sinks``; the ones that
    must also read the tracks' end are returned."""
    audience = Audience.of(config, info)
    a, period = config.analytics, audience.period_s
    table = stack.enter_context(AudienceFile(out / "audience.csv", audience))
    crossings = stack.enter_context(CrossingsFile(out / "crossings.csv"))
    heatmaps = HeatmapFiles(out, a, info.width, info.height, period, info.frame_count)
    stack.callback(heatmaps.close)
    sinks += [table, crossings, heatmaps]
    return [table, crossings]


def _cell(value: Any) -> Any:
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("a non-finite figure reached audience.csv")
        return f"{value:g}"
    return value


def _csv_lines(rows: list[list[Any]]) -> str:
    """CSV text (quoted as the csv module quotes: a zone or line name may hold , or ")."""
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerows(rows)
    return text.getvalue()


class AudienceFile(LineFile):
    """audience.csv (columns: ``windows.COLUMNS``)."""

    def __init__(self, path: Path, audience: Audience) -> None:
        super().__init__(path)
        self.audience = audience
        audience.on_rows = self._write
        self.write(",".join(COLUMNS) + "\n")

    def _write(self, rows: list[dict[str, Any]]) -> None:
        self.write(_csv_lines([[_cell(r[c]) for c in COLUMNS] for r in rows]))

    def consume(self, result: FrameResult) -> None:
        self.audience.consume(result)

    def close(self) -> None:
        try:
            if self._fd is not None:
                self.audience.close()  # the last, partial window
        finally:
            super().close()


class CrossingsFile(LineFile):
    """crossings.csv: ``time_s,track_id,line,direction`` for each crossing of a line."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.write("time_s,track_id,line,direction\n")
        self._written: dict[int, int] = {}

    def consume(self, result: FrameResult) -> None:
        lines = []
        for track in result.tracks:
            a = track.audience
            if a is None:
                continue
            done = self._written.get(track.track_id, 0)
            for t, line, direction in a.crossings[done:]:
                lines.append([f"{t:.4f}", track.track_id, line, direction])
            self._written[track.track_id] = len(a.crossings)
        if lines:
            self.write(_csv_lines(lines))


class HeatmapFiles:
    """heatmap_occupancy.png and one heatmap_<target>.png per target, written at close."""

    def __init__(self, out: Path, config: AnalyticsConfig, width: int, height: int,
                 period_s: float, frame_count: int | None) -> None:
        self.out = out
        self.heatmaps = Heatmaps(config, width, height, period_s, frame_count)

    def consume(self, result: FrameResult) -> None:
        self.heatmaps.consume(result)

    def close(self) -> None:
        self.heatmaps.save(self.out)
