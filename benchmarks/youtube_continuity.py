"""Track continuity on YouTube Faces sequences: does the subject keep one track id?

Each sequence's annotated frames run in frame-index order through ``YuNetDetector`` and
``FaceTrackerCore`` (default configs; the true frame index goes to the tracker, so a gap in the
annotation is a run of skipped frames). Per frame, a track "matches" the subject when its box
overlaps the annotated box with IoU >= 0.3 (YTF boxes come from a Viola-Jones style localiser:
square, tighter or looser than YuNet's, hence the low threshold). The subject's main track is the
id that matches in the most frames.

Figures per sequence and pooled: annotated frames; coverage = frames the main track matches /
annotated frames (target >= 0.95; the first ``credence_count - 1`` frames cannot be covered
because a track is confirmed only then); the number of distinct ids that matched the subject
(1 = no fragmentation or swap); detection recall = frames where any detection matches the box.

Run from the repository root: ``python -m benchmarks.youtube_continuity [--json PATH]``.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks._common import data_root, print_table
from facetrack.config import DetectorConfig, TrackingConfig
from facetrack.detection.yunet import YuNetDetector
from facetrack.frames import Frame
from facetrack.geometry import iou_matrix
from facetrack.sources.images import read_image
from facetrack.tracking.tracker import FaceTrackerCore

DATASET = "youtube_faces_tracks"
MATCH_IOU = 0.3
FPS = 25.0  # nominal rate for timestamps; the tracker works on frame indices


def sequences(root: Path) -> list[str]:
    """Sequence names (``<Person><vid>``) that have a boxes.csv, sorted."""
    return sorted(p.name[: -len(".boxes.csv")] for p in (root / DATASET).glob("*/*.boxes.csv"))


def load_boxes(root: Path, name: str) -> list[tuple[int, Path, np.ndarray]]:
    """``(frame_index, frame_path, xyxy)`` per annotated frame, sorted by the numeric index."""
    matches = list((root / DATASET).glob(f"*/{name}.boxes.csv"))
    if len(matches) != 1:
        raise FileNotFoundError(f"{DATASET}: expected one {name}.boxes.csv, found {len(matches)}")
    rows = []
    with matches[0].open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row["frame_available"] != "1":
                continue
            box = np.array([float(row[k]) for k in ("x1", "y1", "x2", "y2")])
            rows.append((int(row["frame_index"]), root / DATASET / row["frame_file"], box))
    rows.sort(key=lambda r: r[0])
    return rows


def evaluate_sequence(root: Path, name: str, max_frames: int | None = None) -> dict[str, Any]:
    detector = YuNetDetector(DetectorConfig())
    tracker = FaceTrackerCore(TrackingConfig())
    per_frame_ids: list[set[int]] = []
    detected = 0
    times = []
    boxes = load_boxes(root, name)[:max_frames]
    for index, path, gt in boxes:
        frame = Frame(read_image(path), name, index, index / FPS, path=path)
        t0 = time.perf_counter()
        faces = detector.detect(frame)
        tracked = tracker.update(frame, faces)
        times.append((time.perf_counter() - t0) * 1000.0)
        detected += int((iou_matrix(gt, faces.xyxy) >= MATCH_IOU).any())
        hit = iou_matrix(gt, tracked.xyxy)[0] >= MATCH_IOU
        per_frame_ids.append({int(t) for t in tracked.track_id[hit]})
    counts = Counter(t for ids in per_frame_ids for t in ids)
    main_id, covered = counts.most_common(1)[0] if counts else (-1, 0)
    n = len(boxes)
    return {
        "sequence": name,
        "frames": n,
        "first_index": boxes[0][0] if boxes else None,
        "last_index": boxes[-1][0] if boxes else None,
        "main_track_id": main_id,
        "covered": covered,
        "coverage": covered / n if n else float("nan"),
        "ids_matched": len(counts),
        "detected": detected,
        "detection_recall": detected / n if n else float("nan"),
        "median_ms": statistics.median(times) if times else float("nan"),
    }


def evaluate(
    names: Sequence[str] | None = None,
    max_frames: int | None = None,
    root: Path | None = None,
) -> dict[str, Any]:
    """Continuity figures per sequence and pooled over all of them.

    ``max_frames`` keeps the first N annotated frames of each sequence (for the golden tests).
    Returns ``{"sequences": [...], "overall": {...}}``; overall coverage and recall are pooled
    over frames, ``min_coverage`` is the worst sequence and ``ids_matched`` the total.
    """
    root = data_root() if root is None else root
    names = sequences(root) if names is None else list(names)
    rows = [evaluate_sequence(root, name, max_frames) for name in names]
    frames = sum(r["frames"] for r in rows)
    overall = {
        "sequence": "overall",
        "frames": frames,
        "covered": sum(r["covered"] for r in rows),
        "coverage": sum(r["covered"] for r in rows) / frames if frames else float("nan"),
        "min_coverage": min((r["coverage"] for r in rows), default=float("nan")),
        "ids_matched": sum(r["ids_matched"] for r in rows),
        "detected": sum(r["detected"] for r in rows),
        "detection_recall": sum(r["detected"] for r in rows) / frames if frames else float("nan"),
        "median_ms": statistics.median(r["median_ms"] for r in rows) if rows else float("nan"),
    }
    return {
        "match_iou": MATCH_IOU,
        "detector_config": DetectorConfig().model_dump(mode="json"),
        "tracking_config": TrackingConfig().model_dump(mode="json"),
        "sequences": rows,
        "overall": overall,
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sequences", nargs="+", default=None, help="names like Alek_Wek1")
    parser.add_argument("--max-frames", type=int, default=None,
                        help="first N annotated frames of each sequence")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    result = evaluate(args.sequences, args.max_frames)
    headers = ["sequence", "frames", "main id covers", "coverage", "ids matched", "detected",
               "det. recall", "median ms"]
    print_table(headers, [
        [r["sequence"], r["frames"], r["covered"], r["coverage"], r["ids_matched"],
         r["detected"], r["detection_recall"], r["median_ms"]]
        for r in [*result["sequences"], result["overall"]]
    ])
    print(f"\n{time.perf_counter() - t0:.1f} s; IoU >= {MATCH_IOU}; worst sequence coverage "
          f"{result['overall']['min_coverage']:.3f}; median ms = detect + track per frame")
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
