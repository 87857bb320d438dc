"""Faces left recognisable after anonymising, on synth_tracks (exact ground truth), for
``facetrack anonymize`` and deface (PyPI) on the same clips, and the speed of each.

    python -m benchmarks.anonymize [--styles blur pixelate fill] [--deface PYTHON]
                                   [--sequences synth01 ...]

Each sequence's video is anonymised by each tool to a file (as a user would run it), then the
output is decoded beside the input. Every ground-truth face box with ``visibility >= 0.5``
(``gt_visibility.csv``: at least half of the face not covered by another and inside the image)
is judged with ``facetrack.privacy.detail.retained``: the share of the face's detail the output
still shows (1: untouched, ~0: hidden). A face-frame with more than half of it
(``RECOGNISABLE``) is counted as left recognisable: the issue's target is 0 on every
sequence. ``--deface PYTHON``: the interpreter of an environment with ``pip install deface``
(its own dependencies: imageio, scikit-image; kept apart from facetrack's), run with its
defaults (threshold 0.2, mask scale 1.3, blurred ellipse). Speed: frames / wall seconds of the
whole command (decode, detect, blur, encode), median of ``--repeats``.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import av
import numpy as np

from benchmarks._common import SYNTH_SEQUENCES, data_root, load_mot, print_table
from facetrack.privacy.detail import RECOGNISABLE, retained


def visible_boxes(seq: Path) -> dict[int, list[tuple[int, np.ndarray]]]:
    """{frame (1-based): [(track, xyxy)]} of the faces at least half visible."""
    vis: dict[tuple[int, int], float] = {}
    with (seq / "gt_visibility.csv").open() as fh:
        for row in csv.DictReader(fh):
            vis[int(row["frame"]), int(row["track_id"])] = float(row["visibility"])
    out: dict[int, list[tuple[int, np.ndarray]]] = {}
    for frame, rows in load_mot(seq / "gt.txt").items():
        for tid, x, y, w, h in rows:
            if vis.get((frame, tid), 0.0) >= 0.5:
                out.setdefault(frame, []).append((tid, np.array([x, y, x + w, y + h])))
    return out


def judge(original: Path, output: Path, boxes: dict[int, list[tuple[int, np.ndarray]]]
          ) -> tuple[int, int, int, list[float]]:
    """(frames compared, face-frames judged, left recognisable, retained shares)."""
    shares: list[float] = []
    frames = 0
    with av.open(str(original)) as a, av.open(str(output)) as b:
        for i, (fa, fb) in enumerate(zip(a.decode(video=0), b.decode(video=0), strict=False)):
            ia, ib = fa.to_ndarray(format="bgr24"), fb.to_ndarray(format="bgr24")
            frames += 1
            if ib.shape != ia.shape:
                import cv2

                ib = cv2.resize(ib, (ia.shape[1], ia.shape[0]))
            for _tid, box in boxes.get(i + 1, []):
                r = retained(ia, ib, box)
                if r is not None:
                    shares.append(r)
    return frames, len(shares), sum(s > RECOGNISABLE for s in shares), shares


def run(cmd: list[str], repeats: int) -> float:
    """Median wall seconds of ``cmd``."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True)
        times.append(time.perf_counter() - t0)
        if done.returncode != 0:
            sys.exit(f"{' '.join(cmd[:3])} failed: {done.stderr[-2000:]}")
    return statistics.median(times)


def tools(args: argparse.Namespace, video: Path, work: Path) -> list[tuple[str, list[str], Path]]:
    out = []
    for style in args.styles:
        dest = work / f"facetrack-{style}.mp4"
        out.append((f"facetrack ({style})", [sys.executable, "-m", "facetrack", "anonymize",
                                             str(video), "--out", str(dest), "--style", style,
                                             "--quiet"], dest))
    if args.deface:
        dest = work / "deface.mp4"
        out.append(("deface (defaults)", [args.deface, "-m", "deface.deface", str(video),
                                          "--output", str(dest)], dest))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sequences", nargs="+", default=list(SYNTH_SEQUENCES))
    parser.add_argument("--styles", nargs="+", default=["blur"],
                        choices=["blur", "pixelate", "fill"])
    parser.add_argument("--deface", help="python of an environment with deface installed")
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    root = data_root() / "synth_tracks"
    rows, totals = [], {}
    with tempfile.TemporaryDirectory(prefix="facetrack-anon-") as tmp:
        for name in args.sequences:
            seq = root / name
            boxes = visible_boxes(seq)
            video = seq / "video.mp4"
            for label, cmd, dest in tools(args, video, Path(tmp)):
                seconds = run(cmd, args.repeats)
                frames, judged, left, shares = judge(video, dest, boxes)
                rows.append([name, label, frames, judged, left,
                             f"{np.median(shares):.3f}" if shares else "-",
                             f"{max(shares):.3f}" if shares else "-",
                             f"{frames / seconds:.1f}"])
                t = totals.setdefault(label, [0, 0, 0, 0.0])
                t[0] += frames
                t[1] += judged
                t[2] += left
                t[3] += seconds
                print(f"{name} {label}: {left} of {judged} face-frames left recognisable, "
                      f"{frames / seconds:.1f} fps", file=sys.stderr)
    for label, (frames, judged, left, seconds) in totals.items():
        rows.append(["all", label, frames, judged, left, "", "", f"{frames / seconds:.1f}"])
    print(f"faces left recognisable (detail retained > {RECOGNISABLE}) among ground-truth "
          "face-frames with visibility >= 0.5:")
    print_table(["sequence", "tool", "frames", "face-frames judged", "left recognisable",
                 "retained (median)", "retained (max)", "fps"], rows)
    print(f"(speed: the whole command, median of {args.repeats} run(s))")


if __name__ == "__main__":
    main()
