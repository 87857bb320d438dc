"""One definition of each signal, checked against the per-frame output: tracks.csv's PERCLOS,
blinks and longest closure recomputed from faces.jsonl with the definitions written out here
(docs/schema.md): PERCLOS is time-weighted (each analysed sample holds until the next, one frame
across a gap), a blink is a run of `eyes_closing` frames up to `blink_max_s`, a closure a run of
`eyes_closed` frames; a run ends at a gap (frames more than max(0.25 s, 1.5 frames) apart);
frames whose eyes could not be read neither extend nor end it.

    python -m benchmarks.signals_consistency

The table prints the largest difference per input (expected 0, up to float rounding).
"""

from __future__ import annotations

import csv
import json
import tempfile
from pathlib import Path

from benchmarks._common import SYNTH_SEQUENCES, data_root, print_table
from facetrack.pipeline.jobs import track_file


def per_track(records: list[dict], fps: float, blink_max_s: float = 1.0
              ) -> dict[int, dict[str, float]]:
    """The definitions, from faces.jsonl rows."""
    period = 1.0 / fps
    gap = max(0.25, 1.5 * period)
    seen: dict[int, list[tuple[float, bool | None, bool | None]]] = {}
    for r in records:
        for f in r["faces"]:
            if f["eye_openness"] is not None:  # analysed
                seen.setdefault(f["track_id"], []).append(
                    (r["timestamp"], f["eyes_closing"], f["eyes_closed"]))
    out = {}
    for tid, samples in seen.items():
        closed_time = total = 0.0
        for k, (t, _, closed) in enumerate(samples):
            if closed is None:
                continue
            nxt = samples[k + 1] if k + 1 < len(samples) else None
            hold = nxt[0] - t if nxt is not None and nxt[2] is not None and nxt[0] - t <= gap \
                else period
            total += hold
            closed_time += hold * closed
        out[tid] = {"perclos": closed_time / total if total else float("nan"),
                    "blinks": sum(d <= blink_max_s for d in runs(samples, 1, period, gap)),
                    "longest": max(runs(samples, 2, period, gap), default=0.0)}
    return out


def runs(samples: list[tuple[float, bool | None, bool | None]], column: int, period: float,
         gap: float) -> list[float]:
    """Durations of the runs where ``column`` held (last - first + one frame); frames whose
    eyes were not read (None) neither extend nor end a run, which ends when the next frame read
    comes more than ``gap`` after its last one."""
    out: list[float] = []
    start = last = None
    for sample in samples:
        t, on = sample[0], sample[column]
        if on is None:
            continue
        if start is not None and last is not None and (not on or t - last > gap):
            out.append(last - start + period)
            start = None
        if on:
            start = t if start is None else start
            last = t
    if start is not None and last is not None:
        out.append(last - start + period)
    return out


def main() -> None:
    root = data_root()
    inputs = [root / "synth_tracks" / s / "video.mp4" for s in SYNTH_SEQUENCES]
    inputs += sorted((root / "demo_videos" / "videos").glob("*.mp4"))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for video in inputs:
            out = Path(tmp) / video.stem
            track_file(video, out)
            records = [json.loads(x) for x in (out / "faces.jsonl").read_text().splitlines()]
            fps = 1.0 / (records[1]["timestamp"] - records[0]["timestamp"])
            first = per_track(records, fps)
            with (out / "tracks.csv").open() as fh:
                now = {int(r["track_id"]): r for r in csv.DictReader(fh)}
            d_perclos = max((abs(float(now[t]["perclos"] or "nan") - v["perclos"])
                             if v["perclos"] == v["perclos"] else float(now[t]["perclos"] != "")
                             for t, v in first.items()), default=0.0)
            d_blinks = sum(int(now[t]["blinks"]) != v["blinks"] for t, v in first.items())
            d_longest = max((abs(float(now[t]["longest_eyes_closed_s"]) - v["longest"])
                             for t, v in first.items()), default=0.0)
            label = video.parent.name if video.name == "video.mp4" else video.name
            rows.append([label, len(first), f"{d_perclos:.4f}", d_blinks,
                         f"{d_longest:.4f}"])
    print_table(["input", "analysed tracks", "max PERCLOS difference", "tracks with other blinks",
                 "max longest-closure difference s"], rows)


if __name__ == "__main__":
    main()
