"""A long video tracked in segments (``facetrack track --workers/--ray``): what the stitch
costs in tracking figures, and what the segments buy in wall time.

    python -m benchmarks.segments [--segment-s 4] [--lead-in-s 2] [--blinks] [--speed]
                                  [--runs 2]

**Tracking.** Each synth sequence is re-encoded with a keyframe every second (the shared
copies have one every 10 s, too few to cut a 12-16 s clip), then tracked three ways, MOTA and
IDF1 (motmetrics, IoU >= 0.3) from mot.txt against gt.txt:

- ``whole``: ``track_file`` on the whole clip (the single-process run);
- ``segments``: ``track_many`` with segments of ``--segment-s`` seconds and a lead-in of
  ``--lead-in-s``, stitched (``facetrack.pipeline.stitch``);
- ``cut, no stitch``: what a user gets from any tracker by cutting the video first: ffmpeg's
  segment muxer cuts it at keyframes (``-c copy``), each piece is tracked alone, and its
  frames and ids are offset to be unique (no lead-in, no matching across the cuts).

**Blinks** (``--blinks``): each ZJU Eyeblink person's four clips back to back (about 20 s,
re-encoded at 28 fps with a keyframe every 10 frames), tracked whole and in segments of 5 s
with a lead-in of 2.5 s: the blinks each writes, and how many of the whole run's blinks the
segments found (end within 0.1 s).

**Speed** (``--speed``): one long clip (synth03, 640x480, looped to ``--loop-s`` seconds,
keyframe every second) through the real CLI: ``facetrack track`` (one process, the whole
file) against ``--workers 2 --segment-minutes`` (1-minute segments by default), on both cores
and as two one-core nodes (``taskset``: one process on core 0 against two workers bound to
cores 0 and 1, which is how segments scale over nodes); median of ``--runs`` wall times each,
models loaded in the timing.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks._common import (
    SYNTH_SEQUENCES,
    data_root,
    load_mot,
    mot_metrics,
    pooled,
    print_table,
    wall_time,
)
from facetrack.pipeline.jobs import track_file
from facetrack.pipeline.many import track_many

Hyp = dict[int, list[tuple[int, float, float, float, float]]]


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", *args], check=True)


def keyframe_every_second(clip: Path, out: Path, loop_s: float | None = None) -> Path:
    """``clip`` re-encoded (x264, crf 18) with a keyframe every 25 frames; looped to
    ``loop_s`` seconds when given."""
    loop = ["-stream_loop", "-1"] if loop_s else []
    length = ["-t", str(loop_s)] if loop_s else []
    _ffmpeg(*loop, "-i", str(clip), *length, "-c:v", "libx264", "-crf", "18", "-preset",
            "veryfast", "-g", "25", "-keyint_min", "25", "-sc_threshold", "0", "-pix_fmt",
            "yuv420p", "-an", str(out))
    return out


def _figures(seq: Path, hyp: Hyp) -> dict[str, float]:
    gt = load_mot(seq / "gt.txt")
    frames = max(max(gt), max(hyp, default=0))
    return mot_metrics(gt, hyp, frames, min_iou=0.3, name=seq.name)


def _cut_no_stitch(clip: Path, work: Path, segment_s: float) -> tuple[Hyp, int]:
    pieces = work / "pieces"
    pieces.mkdir(parents=True)
    _ffmpeg("-i", str(clip), "-c", "copy", "-f", "segment", "-segment_time", str(segment_s),
            "-reset_timestamps", "1", str(pieces / "piece%03d.mp4"))
    hyp: Hyp = {}
    frame_offset = id_offset = 0
    files = sorted(pieces.glob("piece*.mp4"))
    for piece in files:
        run = track_file(piece, work / piece.stem, mot=True)
        ids = 0
        for f1, rows in load_mot(work / piece.stem / "mot.txt").items():
            hyp[f1 + frame_offset] = [(t + id_offset, *box) for t, *box in rows]
            ids = max([ids, *(r[0] for r in rows)])
        frame_offset += run.frames
        id_offset += ids
    return hyp, len(files)


def tracking(segment_s: float, lead_in_s: float, work: Path) -> list[list[object]]:
    rows: list[list[object]] = []
    per_way: dict[str, dict[str, dict[str, float]]] = {}
    for name in SYNTH_SEQUENCES:
        seq = data_root() / "synth_tracks" / name
        clip = keyframe_every_second(seq / "video.mp4", work / f"{name}.mp4")
        track_file(clip, work / name / "whole", mot=True)
        run = track_many([clip], work / name / "segments", workers=1, mot=True,
                         segment_s=segment_s, lead_in_s=lead_in_s)
        if run.failed:
            sys.exit(f"{name}: segmented run failed: {run.failed[0].error}")
        cut, pieces = _cut_no_stitch(clip, work / name / "cut", segment_s)
        hyps = {"whole": (load_mot(work / name / "whole" / "mot.txt"), 1),
                "segments": (load_mot(work / name / "segments" / name / "mot.txt"),
                             run.outcomes[0].segments),
                "cut, no stitch": (cut, pieces)}
        for way, (hyp, parts) in hyps.items():
            m = per_way.setdefault(way, {})[name] = _figures(seq, hyp)
            rows.append([name, way, parts, m["mota"], m["idf1"], int(m["num_switches"])])
    for way, figures in per_way.items():
        m = pooled(figures)
        rows.append(["overall", way, "", m["mota"], m["idf1"], int(m["num_switches"])])
    return rows


def concatenated(parts: list[Path], out: Path) -> Path:
    """``parts`` one after another, re-encoded at 28 fps with a keyframe every 10 frames."""
    inputs = [a for p in parts for a in ("-i", str(p))]
    streams = "".join(f"[{i}:v]" for i in range(len(parts)))
    _ffmpeg(*inputs, "-filter_complex", f"{streams}concat=n={len(parts)}:v=1[v]", "-map",
            "[v]", "-c:v", "libx264", "-crf", "16", "-preset", "veryfast", "-g", "10", "-bf",
            "0", "-r", "28", "-pix_fmt", "yuv420p", str(out))
    return out


def _blink_ends(path: Path) -> list[float]:
    with path.open(encoding="utf-8") as fh:
        return [float(row.split(",")[2]) for row in fh.read().splitlines()[1:]]


def blinks(segment_s: float, lead_in_s: float, work: Path) -> list[list[object]]:
    """Each ZJU person's four clips back to back, tracked whole and in segments: the blinks
    of each, and how many of the whole run's the segments found (end within 0.1 s)."""
    root = data_root() / "zju_eyeblink_video"
    people = sorted({p.name.split("_")[0] for p in root.iterdir() if p.is_dir()})
    rows: list[list[object]] = []
    totals = [0, 0, 0, 0]
    for person in people:
        clips = sorted(p / f"{p.name}.mp4" for p in root.glob(f"{person}_*"))
        clip = concatenated(clips, work / f"{person}.mp4")
        track_file(clip, work / person / "whole")
        run = track_many([clip], work / person / "segments", workers=1, segment_s=segment_s,
                         lead_in_s=lead_in_s)
        whole = _blink_ends(work / person / "whole" / "blinks.csv")
        parts = _blink_ends(work / person / "segments" / person / "blinks.csv")
        found = sum(any(abs(p - w) <= 0.1 for p in parts) for w in whole)
        rows.append([person, run.outcomes[0].segments, len(whole), len(parts), found])
        for i, v in enumerate((run.outcomes[0].segments - 1, len(whole), len(parts), found)):
            totals[i] += v
    rows.append(["all", f"{totals[0]} seams", *totals[1:]])
    return rows


def speed(loop_s: float, minutes: float, runs: int, work: Path) -> list[list[object]]:
    """Each command's median wall time, and its speed-up over one process tracking the
    whole file on the same cores."""
    clip = keyframe_every_second(data_root() / "synth_tracks" / "synth03" / "video.mp4",
                                 work / "long.mp4", loop_s)
    segmented = ["--segment-minutes", f"{minutes:g}"]
    cases = [("2 cores: one process, whole file", [], "0,1"),
             (f"2 cores: --workers 2 --segment-minutes {minutes:g}",
              ["--workers", "2", *segmented], "0,1"),
             ("1-core node: one process, whole file", [], "0"),
             (f"1-core nodes: --workers 2 --segment-minutes {minutes:g} on cores 0,1",
              ["--workers", "2", *segmented], "0,1")]
    rows: list[list[object]] = []
    base = 0.0
    for n, (label, extra, cpus) in enumerate(cases):
        cli = ["taskset", "-c", cpus, sys.executable, "-m", "facetrack", "track", str(clip),
               "-q"]
        t = statistics.median(wall_time([*cli, "-o", str(work / f"speed{n}-{i}"), *extra])
                              for i in range(runs))
        base = t if not extra else base
        rows.append([label, f"{t:.1f}", base / t])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--segment-s", type=float, default=4.0)
    parser.add_argument("--lead-in-s", type=float, default=2.0)
    parser.add_argument("--blinks", action="store_true",
                        help="also blinks across the seams (ZJU Eyeblink)")
    parser.add_argument("--blink-segment-s", type=float, default=5.0)
    parser.add_argument("--blink-lead-in-s", type=float, default=2.5)
    parser.add_argument("--speed", action="store_true", help="also the wall-time rows")
    parser.add_argument("--loop-s", type=float, default=240.0)
    parser.add_argument("--minutes", type=float, default=1.0)
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="facetrack-segments-") as tmp:
        work = Path(tmp)
        print(f"segments of {args.segment_s:g} s, lead-in {args.lead_in_s:g} s, "
              "keyframe every second")
        print_table(["sequence", "run", "segments", "MOTA", "IDF1", "ID sw"],
                    tracking(args.segment_s, args.lead_in_s, work))
        if args.blinks:
            print(f"\nZJU Eyeblink, each person's 4 clips back to back; segments of "
                  f"{args.blink_segment_s:g} s, lead-in {args.blink_lead_in_s:g} s")
            print_table(["person", "segments", "blinks whole", "blinks in segments",
                         "whole's found in segments"],
                        blinks(args.blink_segment_s, args.blink_lead_in_s, work))
        if args.speed:
            print(f"\none {args.loop_s:g} s clip (640x480), median of {args.runs} runs")
            print_table(["command", "wall s", "speed-up"],
                        speed(args.loop_s, args.minutes, args.runs, work))


if __name__ == "__main__":
    main()
