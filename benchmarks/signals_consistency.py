"""One definition of each signal, checked against the per-frame output: tracks.csv's PERCLOS,
blinks and longest closure recomputed from faces.jsonl with the first definitions (share of
analysed frames; a spell is a run of consecutive analysed frames with the eyes closed).

    python -m benchmarks.signals_consistency

PERCLOS is now time-weighted (each analysed sample holds until the next, one frame across a
gap; ``facetrack/signals/perclos.py``), shared by tracks.csv and the monitor's ``drowsy`` event.
On a file read frame by frame every sample stands for one frame, so tracks.csv's figures must
equal the share-of-frames ones: the table prints the largest difference per input (expected 0,
up to float rounding).
"""

from __future__ import annotations

import csv
import json
import tempfile
from pathlib import Path

from benchmarks._common import SYNTH_SEQUENCES, data_root, print_table
from facetrack.pipeline.jobs import track_file


def per_track(records: list[dict], fps: float, blink_max_s: float = 0.5
              ) -> dict[int, dict[str, float]]:
    """The first definitions, from faces.jsonl rows."""
    seen: dict[int, list[tuple[int, bool]]] = {}
    for r in records:
        for f in r["faces"]:
            if f["eyes_closed"] is not None:
                seen.setdefault(f["track_id"], []).append((r["frame"], f["eyes_closed"]))
    out = {}
    for tid, frames in seen.items():
        closed = sum(c for _, c in frames)
        spells, run, last = [], 0, None
        for index, c in frames:
            if last is not None and index != last + 1 and run:  # a gap ends a spell
                spells.append(run)
                run = 0
            if c:
                run += 1
            elif run:
                spells.append(run)
                run = 0
            last = index
        if run:
            spells.append(run)
        out[tid] = {"perclos": closed / len(frames),
                    "blinks": sum(n / fps <= blink_max_s for n in spells),
                    "longest": max((n / fps for n in spells), default=0.0)}
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
            d_perclos = max((abs(float(now[t]["perclos"]) - v["perclos"])
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
