"""Shared helpers for the benchmark scripts and the golden-figure tests.

Data is read from ``../shared/data`` beside the repository (override with FACETRACK_DATA); it is
research-licensed and never copied into the repo.
"""

from __future__ import annotations

import csv
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from facetrack.geometry import iou_matrix

REPO = Path(__file__).resolve().parents[1]


def data_root() -> Path:
    root = Path(os.environ.get("FACETRACK_DATA", REPO.parent / "shared" / "data"))
    if not root.is_dir():
        sys.exit(f"data folder not found: {root} (set FACETRACK_DATA)")
    return root


SYNTH_SEQUENCES = ("synth01", "synth02", "synth03", "synth04")


def load_mot(path: Path) -> dict[int, list[tuple[int, float, float, float, float]]]:
    """MOT text (frame,id,x,y,w,h,...) -> {frame: [(id, x, y, w, h)]}, frames as in the file."""
    out: dict[int, list[tuple[int, float, float, float, float]]] = {}
    with path.open() as fh:
        for row in csv.reader(fh):
            if not row:
                continue
            frame, tid = int(float(row[0])), int(float(row[1]))
            x, y, w, h = (float(v) for v in row[2:6])
            out.setdefault(frame, []).append((tid, x, y, w, h))
    return out


def mot_metrics(
    gt: dict[int, list[tuple[int, float, float, float, float]]],
    hyp: dict[int, list[tuple[int, float, float, float, float]]],
    n_frames: int,
    min_iou: float = 0.3,
    name: str = "seq",
) -> dict[str, float]:
    """MOTA, IDF1 and their parts with motmetrics (CLEAR-MOT and ID measures)."""
    import motmetrics as mm

    acc = mm.MOTAccumulator(auto_id=True)
    for frame in range(1, n_frames + 1):
        g = gt.get(frame, [])
        h = hyp.get(frame, [])
        gx = np.array([[x, y, x + w, y + hh] for _, x, y, w, hh in g]).reshape(-1, 4)
        hx = np.array([[x, y, x + w, y + hh] for _, x, y, w, hh in h]).reshape(-1, 4)
        dist = 1.0 - iou_matrix(gx, hx)
        dist[dist > 1.0 - min_iou] = np.nan
        acc.update([r[0] for r in g], [r[0] for r in h], dist)
    mh = mm.metrics.create()
    summary = mh.compute(
        acc,
        metrics=["mota", "idf1", "num_switches", "num_misses", "num_false_positives",
                 "num_objects", "num_unique_objects", "mostly_tracked"],
        name=name,
    )
    row = summary.iloc[0]
    return {k: float(row[k]) for k in summary.columns}


def pooled(per_seq: dict[str, dict[str, float]]) -> dict[str, float]:
    """MOTA and IDF1 pooled over all GT boxes of the sequences (weighted by boxes), ID
    switches added up, from each sequence's ``mot_metrics``."""
    objs = sum(m["num_objects"] for m in per_seq.values())
    out = {k: sum(m[k] * m["num_objects"] for m in per_seq.values()) / objs
           for k in ("mota", "idf1")}
    out["num_switches"] = sum(m["num_switches"] for m in per_seq.values())
    return out


def median_time(fn: Callable[[], object], runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def wall_time(cmd: list[str]) -> float:
    """Seconds ``cmd`` took; the benchmark stops with its stderr if it failed."""
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{proc.stderr}")
    return time.perf_counter() - t0


def print_table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    """A GitHub-markdown table, so output can be pasted into docs/benchmarks.md."""
    def fmt(v: object) -> str:
        return f"{v:.3f}" if isinstance(v, float) else str(v)

    rows = [[fmt(v) for v in r] for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(headers)]
    print("| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in rows:
        print("| " + " | ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) + " |")


def stop_process(proc: subprocess.Popen[Any], timeout: float = 30.0) -> None:
    """Stop a facetrack process as a service manager would: SIGTERM (it finishes cleanly),
    then SIGKILL after ``timeout`` seconds."""
    import signal

    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
