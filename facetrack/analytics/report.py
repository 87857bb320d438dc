"""``facetrack report DIR``: one self-contained page, ``DIR/report.html``, of what ``facetrack
track --analytics`` wrote in DIR (audience.csv, tracks.csv, crossings.csv, the heatmaps).

This module reads the files (the csv module only) and sums them up; ``report_page`` draws the
page. What each figure of the page is:

- headline (the whole input): people = tracks in tracks.csv (each track a person in view once);
  watchers = tracks whose ``watcher`` column is True; attention, glances, time in view =
  tracks' ``attention_s``, ``glances``, ``dwell_s`` summed; smiling = tracks with ``smile_s``
  above 0. Without tracks.csv they come from audience.csv's ``all`` rows (people = entries
  summed over windows; watchers and smiling only when there is one window, as a track counts in
  every window it is in);
- over time: audience.csv's ``all`` rows, one bar per window;
- dwell: audience.csv's ``dwell_*`` buckets of the ``all`` rows (first target) summed: visits by
  their whole length, each counted in the window it ended in;
- zones: per zone, summed over windows: visits = ``entries``; time spent = ``dwell_mean_s`` x
  ``ots`` (person-seconds); attention = ``attention_total_s``; watchers: the most in one window.
"""

from __future__ import annotations

import base64
import csv
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from facetrack.analytics.windows import ALL, BUCKET_COLUMNS
from facetrack.errors import InputError
from facetrack.storage.atomic import write_atomically

Row = dict[str, str]

AUDIENCE, TRACKS, CROSSINGS = "audience.csv", "tracks.csv", "crossings.csv"
NUMBERS = ("window_start", "window_end", "ots", "watchers", "dwell_mean_s",
           "attention_total_s", "glances", "smiles", "entries", *BUCKET_COLUMNS)
NEEDED = ("source", "zone", "target", *NUMBERS)
#: a heatmap smaller than this is embedded as it is; a bigger one is shrunk to a JPEG
RAW_BYTES, MAX_WIDTH = 300_000, 1280
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class Totals:
    """One target's figures over the whole input (None: not known from the files)."""

    people: float | None
    dwell_s: float | None
    smiling: float | None
    watchers: float | None
    attention_s: float | None
    glances: float | None


@dataclass(frozen=True)
class ZoneFigures:
    zone: str
    visits: float
    time_s: float
    attention_s: dict[str, float]
    watchers_peak: dict[str, float]


@dataclass(frozen=True)
class Heatmap:
    name: str  # "occupancy" or a target
    file: str
    data_uri: str | None  # None: the file is missing or unreadable


@dataclass
class Report:
    """Everything the page shows, summed up from the folder's files."""

    sources: list[str]
    span: tuple[float, float] | None
    window_s: float | None
    targets: list[str]
    totals: dict[str, Totals]
    windows: list[tuple[float, float]]
    ots: list[float]
    watchers: dict[str, list[float]]
    attention: dict[str, list[float]]
    dwell: list[float]
    zones: list[ZoneFigures]
    crossings: dict[str, tuple[int, int]]
    heatmaps: list[Heatmap]
    models: list[str] = field(default_factory=list)
    configs: list[str] = field(default_factory=list)
    from_tracks: bool = True

    @property
    def anyone(self) -> bool:
        return any(t.people for t in self.totals.values()) or any(self.ots)


def build_report(folder: Path) -> str:
    """The page of ``folder`` (made by ``facetrack track --analytics``)."""
    from facetrack.analytics.report_page import page

    return page(summarise(folder))


def write_report(folder: Path, out: Path | None = None) -> Path:
    """Write the page to ``out`` (default ``folder/report.html``) atomically; the path."""
    html = build_report(folder)
    path = out if out is not None else folder / "report.html"
    write_atomically(path, [html])
    return path


def summarise(folder: Path) -> Report:
    if not folder.is_dir():
        raise InputError(f"{folder}: no such folder" if not folder.exists()
                         else f"{folder}: is not a folder")
    if not (folder / AUDIENCE).is_file():
        raise InputError(f"{folder} has no {AUDIENCE}: run facetrack track --analytics first")
    rows, _ = read_csv(folder / AUDIENCE, NEEDED, NUMBERS)
    tracks = read_csv(folder / TRACKS, ("dwell_s",), ("dwell_s",)) \
        if (folder / TRACKS).is_file() else None
    crossings = read_csv(folder / CROSSINGS, ("line", "direction"), ())[0] \
        if (folder / CROSSINGS).is_file() else []
    targets = unique(r["target"] for r in rows)
    everyone = [r for r in rows if r["zone"] == ALL]
    per_target = {t: sorted((r for r in everyone if r["target"] == t),
                            key=lambda r: num(r, "window_start")) for t in targets}
    first = per_target[targets[0]] if targets else []
    windows = [(num(r, "window_start"), num(r, "window_end")) for r in first]
    totals = {t: track_totals(tracks, t, len(targets) > 1) if tracks is not None else None
              for t in targets}
    return Report(
        sources=unique(r["source"] for r in rows),
        span=(min(w[0] for w in windows), max(w[1] for w in windows)) if windows else None,
        window_s=windows[0][1] - windows[0][0] if len(windows) > 1 else None,
        targets=targets,
        totals={t: v if v is not None else window_totals(per_target[t])
                for t, v in totals.items()},
        windows=windows,
        ots=[num(r, "ots") for r in first],
        watchers={t: aligned(per_target[t], windows, "watchers") for t in targets},
        attention={t: aligned(per_target[t], windows, "attention_total_s") for t in targets},
        dwell=[sum(num(r, c) for r in first) for c in BUCKET_COLUMNS],
        zones=[zone_figures(rows, z, targets) for z in unique(r["zone"] for r in rows)],
        crossings=count_crossings(crossings),
        heatmaps=[heatmap(folder, n) for n in ("occupancy", *targets)],
        models=unique(r.get("model_version") or "" for r in rows),
        configs=unique(r.get("config_hash") or "" for r in rows),
        from_tracks=all(v is not None for v in totals.values()),
    )


def read_csv(path: Path, needed: Sequence[str], numbers: Sequence[str]
             ) -> tuple[list[Row], list[str]]:
    """The rows of ``path`` and its header; an ``InputError`` naming the file when it is not
    the csv expected (columns missing, a number that is not one)."""
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh)
            rows = [{k: v or "" for k, v in r.items() if isinstance(k, str)} for r in reader]
            header = list(reader.fieldnames or [])
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"{path}: cannot read it ({exc})") from None
    missing = [c for c in needed if c not in header]
    if missing:
        raise InputError(f"{path}: not the file facetrack writes (no column "
                         f"{', '.join(missing)})")
    for line, row in enumerate(rows, start=2):
        for col in numbers:
            try:
                float(row.get(col) or 0)
            except ValueError:
                raise InputError(f"{path}: line {line}: {col} is not a number") from None
    return rows, header


def num(row: Row, col: str) -> float:
    """A number of a checked row; 0 for an empty cell or one that is not finite."""
    value = float(row.get(col) or 0)
    return value if math.isfinite(value) else 0.0


def unique(values: Iterable[str]) -> list[str]:
    """``values`` without repeats, in their first order."""
    return list(dict.fromkeys(values))


def aligned(rows: list[Row], windows: list[tuple[float, float]], col: str) -> list[float]:
    """``col`` of ``rows`` in the order of ``windows`` (0 where a window has no row)."""
    by_start = {num(r, "window_start"): num(r, col) for r in rows}
    return [by_start.get(start, 0.0) for start, _ in windows]


def track_totals(found: tuple[list[Row], list[str]], target: str, several: bool
                 ) -> Totals | None:
    """A target's figures from tracks.csv; None when it lacks the analytics columns."""
    tracks, header = found

    def column(name: str) -> str | None:
        if f"{name}_{target}" in header:
            return f"{name}_{target}"
        return name if name in header and not several else None

    attention, glances, watcher = column("attention_s"), column("glances"), column("watcher")
    if attention is None or glances is None or watcher is None:
        return None

    def total(col: str) -> float:
        return sum(_float(r.get(col)) for r in tracks)

    return Totals(
        people=len(tracks), dwell_s=total("dwell_s"),
        smiling=sum(_float(r.get("smile_s")) > 0 for r in tracks) if "smile_s" in header
        else None,
        watchers=sum((r.get(watcher) or "").lower() == "true" for r in tracks),
        attention_s=total(attention), glances=total(glances))


def window_totals(rows: list[Row]) -> Totals:
    """A target's figures from its ``all`` rows of audience.csv (no tracks.csv)."""
    one = rows[0] if len(rows) == 1 else None
    return Totals(
        people=sum(num(r, "entries") for r in rows),
        dwell_s=sum(num(r, "dwell_mean_s") * num(r, "ots") for r in rows),
        smiling=num(one, "smiles") if one is not None else None,
        watchers=num(one, "watchers") if one is not None else None,
        attention_s=sum(num(r, "attention_total_s") for r in rows),
        glances=sum(num(r, "glances") for r in rows))


def zone_figures(rows: list[Row], zone: str, targets: list[str]) -> ZoneFigures:
    mine = [r for r in rows if r["zone"] == zone]
    first = [r for r in mine if r["target"] == targets[0]]
    return ZoneFigures(
        zone=zone,
        visits=sum(num(r, "entries") for r in first),
        time_s=sum(num(r, "dwell_mean_s") * num(r, "ots") for r in first),
        attention_s={t: sum(num(r, "attention_total_s") for r in mine if r["target"] == t)
                     for t in targets},
        watchers_peak={t: max((num(r, "watchers") for r in mine if r["target"] == t),
                              default=0.0) for t in targets})


def count_crossings(rows: list[Row]) -> dict[str, tuple[int, int]]:
    counts: dict[str, tuple[int, int]] = {}
    for r in rows:
        ins, outs = counts.get(r["line"], (0, 0))
        counts[r["line"]] = (ins + (r["direction"] == "in"), outs + (r["direction"] == "out"))
    return counts


def heatmap(folder: Path, name: str) -> Heatmap:
    """``heatmap_<name>.png`` as a data URI: as it is when small, else shrunk to a JPEG."""
    file = f"heatmap_{name}.png"
    try:
        data = (folder / file).read_bytes()
    except OSError:
        return Heatmap(name, file, None)
    if not data.startswith(PNG_MAGIC):
        return Heatmap(name, file, None)
    if len(data) <= RAW_BYTES:
        return Heatmap(name, file, "data:image/png;base64," + base64.b64encode(data).decode())
    jpeg = _shrunk_jpeg(data)
    if jpeg is None:
        return Heatmap(name, file, None)
    return Heatmap(name, file, "data:image/jpeg;base64," + base64.b64encode(jpeg).decode())


def _shrunk_jpeg(png: bytes) -> bytes | None:
    import cv2
    import numpy as np

    image = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        return None
    h, w = image.shape[:2]
    if w > MAX_WIDTH:
        image = cv2.resize(image, (MAX_WIDTH, max(1, round(h * MAX_WIDTH / w))),
                           interpolation=cv2.INTER_AREA)
    ok, jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 85])
    return bytes(jpeg.tobytes()) if ok else None


def _float(text: str | None) -> float:
    try:
        value = float(text or 0)
    except ValueError:
        return 0.0
    return value if math.isfinite(value) else 0.0
