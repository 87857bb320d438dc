"""Face-detection recall (AFW, Helen) and precision/recall (dlib PASCAL faces) of YuNet.

Compares the detector's resize setting (``input_long_side`` 640, the default, against native
resolution) at score thresholds: by default the tracker's confident score
(``TrackingConfig.high_score``) and the detector's default, lower threshold that feeds the
tracker's second pass (``--scores`` picks others).

The detector runs once per (image, long side) at the lowest threshold and each higher threshold
keeps the detections scoring at or above it. That equals a run at the higher threshold: greedy
NMS keeps or drops a box only because of higher-scoring boxes, so boxes above the higher
threshold see the same competitors either way (checked: identical boxes on 45 images).

Matching: a ground-truth face is found when any detection overlaps it with IoU >= 0.4. The 300-W
boxes are the min/max of the 68 landmarks (brows to chin, no forehead), so they are tighter than
a detector box; AFW and Helen leave some visible faces unannotated, so they only measure recall.
dlib's boxes are hand-drawn detector-style boxes; precision there is one-to-one matched
detections / all detections, but tiny background faces are unlabelled upstream, so some
"false positives" can be real faces (``--show-unmatched`` lists them).

Run from the repository root: ``python -m benchmarks.detection [--json PATH]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment

from benchmarks._common import data_root, print_table
from facetrack.config import DetectorConfig, TrackingConfig
from facetrack.detection.yunet import YuNetDetector
from facetrack.frames import Frame
from facetrack.geometry import iou_matrix
from facetrack.sources.images import read_image

MATCH_IOU = 0.4
RECALL_SETS = ("afw_300w", "helen_300w")
PRECISION_SET = "dlib_pascal_faces"
DATASETS = (*RECALL_SETS, PRECISION_SET)
LONG_SIDES: tuple[int | None, ...] = (640, None)


def default_scores() -> tuple[float, float]:
    """The tracker's confident score and the detector's default (lowest kept) score, read from
    the config defaults at call time so the table follows the shipped configuration."""
    return TrackingConfig().high_score, DetectorConfig().score_threshold


@dataclass(frozen=True)
class Item:
    """One image and its ground-truth face boxes (n,4 xyxy, 0-based pixels)."""

    dataset: str
    path: Path
    gt: np.ndarray
    face_ids: tuple[str, ...]


def load_300w(root: Path, name: str, limit: int | None = None) -> list[Item]:
    """``annotations.json`` of afw_300w / helen_300w; 300-W's 1-based points become 0-based."""
    folder = root / name
    entries = json.loads((folder / "annotations.json").read_text(encoding="utf-8"))
    items = []
    for entry in entries[:limit]:
        boxes = np.array([f["bbox_from_landmarks_xyxy"] for f in entry["faces"]], np.float64)
        items.append(Item(name, folder / entry["image"], boxes.reshape(-1, 4) - 1.0,
                          tuple(f["face_id"] for f in entry["faces"])))
    return items


def load_dlib(root: Path, limit: int | None = None) -> list[Item]:
    """dlib imglab XML: ``<box top left width height>`` per face (0-based pixels)."""
    folder = root / PRECISION_SET
    tree = ET.parse(folder / "faces_with_landmarks.xml")
    items = []
    for image in tree.getroot().iter("image"):
        boxes = []
        for box in image.iter("box"):
            if box.get("ignore") == "1":
                continue
            x, y = float(box.get("left", 0)), float(box.get("top", 0))
            w, h = float(box.get("width", 0)), float(box.get("height", 0))
            boxes.append([x, y, x + w, y + h])
        file = image.get("file", "")
        items.append(Item(PRECISION_SET, folder / file, np.array(boxes, np.float64).reshape(-1, 4),
                          tuple(f"{Path(file).stem}#{k}" for k in range(len(boxes)))))
    return items[:limit]


def _matched_pairs(iou: np.ndarray) -> int:
    """One-to-one matches at IoU >= MATCH_IOU (Hungarian on IoU), so a duplicate box of one
    face counts once."""
    if iou.size == 0:
        return 0
    rows, cols = linear_sum_assignment(-iou)
    return int(np.sum(iou[rows, cols] >= MATCH_IOU))


def _detect_all(
    items: Sequence[Item], long_side: int | None, score: float
) -> list[tuple[Any, float]]:
    detector = YuNetDetector(DetectorConfig(input_long_side=long_side, score_threshold=score))
    out = []
    for k, item in enumerate(items):
        frame = Frame(read_image(item.path), item.dataset, k, 0.0, path=item.path)
        t0 = time.perf_counter()
        faces = detector.detect(frame)
        out.append((faces, (time.perf_counter() - t0) * 1000.0))
    return out


def _score(
    name: str,
    items: Sequence[Item],
    detections: Sequence[tuple[Any, float]],
    long_side: int | None,
    threshold: float,
    missed: list[dict[str, Any]],
    unmatched: list[dict[str, Any]],
) -> dict[str, Any]:
    """One table row; appends every missed face (and, on the precision set, every detection
    matching no labelled face) for inspection."""
    faces_n = found = dets_n = matched = 0
    for item, (faces, _) in zip(items, detections, strict=True):
        keep = faces.score >= threshold
        boxes, scores = faces.xyxy[keep], faces.score[keep]
        iou = iou_matrix(item.gt, boxes)  # (faces, detections); zero-sized when either is empty
        hit = (iou >= MATCH_IOU).any(axis=1)
        faces_n += len(item.gt)
        found += int(hit.sum())
        dets_n += len(boxes)
        matched += _matched_pairs(iou)
        setting = {"dataset": name, "input_long_side": long_side, "score_threshold": threshold,
                   "image": item.path.name}
        for k in np.flatnonzero(~hit):
            missed.append({**setting, "face_id": item.face_ids[k],
                           "gt_xyxy": item.gt[k].round(1).tolist(),
                           "best_iou": round(float(iou[k].max(initial=0.0)), 3)})
        if name == PRECISION_SET:
            for k in np.flatnonzero(~(iou >= MATCH_IOU).any(axis=0)):
                unmatched.append({**setting, "xyxy": boxes[k].round(1).tolist(),
                                  "score": round(float(scores[k]), 3)})
    precise = name == PRECISION_SET
    times = [ms for _, ms in detections]
    return {
        "dataset": name, "input_long_side": long_side, "score_threshold": threshold,
        "images": len(items), "faces": faces_n, "found": found,
        "recall": found / faces_n if faces_n else float("nan"),
        "detections": dets_n,
        "matched": matched if precise else None,
        "precision": (matched / dets_n if dets_n else float("nan")) if precise else None,
        "median_ms": statistics.median(times) if times else float("nan"),
    }


def evaluate(
    datasets: Sequence[str] = DATASETS,
    long_sides: Sequence[int | None] = LONG_SIDES,
    thresholds: Sequence[float] | None = None,
    limit: int | None = None,
    root: Path | None = None,
) -> dict[str, Any]:
    """Detection figures per (dataset, long side, threshold), plus the AFW+Helen pool.

    ``thresholds`` default to ``default_scores()``; the detector runs once per long side at the
    lowest of them. ``limit`` takes the first N images of each dataset (for the golden tests).
    Returns ``{"rows": [...], "missed": [...], "unmatched": [...], ...}``: a row has dataset,
    input_long_side (None = native), score_threshold, images, faces, found, recall,
    detections, matched, precision (None on the recall-only sets) and median_ms.
    """
    root = data_root() if root is None else root
    scores = sorted(set(default_scores() if thresholds is None else thresholds), reverse=True)
    loaded = {
        name: load_dlib(root, limit) if name == PRECISION_SET else load_300w(root, name, limit)
        for name in datasets
    }
    pooled = [name for name in loaded if name in RECALL_SETS]
    rows: list[dict[str, Any]] = []
    missed: list[dict[str, Any]] = []
    unmatched: list[dict[str, Any]] = []
    for long_side in long_sides:
        runs = {name: _detect_all(items, long_side, scores[-1]) for name, items in loaded.items()}
        for threshold in scores:
            for name, items in loaded.items():
                rows.append(_score(name, items, runs[name], long_side, threshold, missed,
                                   unmatched))
            if len(pooled) > 1:
                part = [r for r in rows[-len(loaded):] if r["dataset"] in pooled]
                faces_n, found = sum(r["faces"] for r in part), sum(r["found"] for r in part)
                rows.append({
                    "dataset": "afw+helen", "input_long_side": long_side,
                    "score_threshold": threshold, "images": sum(r["images"] for r in part),
                    "faces": faces_n, "found": found,
                    "recall": found / faces_n if faces_n else float("nan"),
                    "detections": None, "matched": None, "precision": None,
                    "median_ms": statistics.median(ms for name in pooled for _, ms in runs[name]),
                })
    return {
        "match_iou": MATCH_IOU,
        "thresholds": scores,
        "detector_config": DetectorConfig().model_dump(mode="json"),
        "rows": rows,
        "missed": missed,
        "unmatched": unmatched,
    }


def find_row(result: dict[str, Any], dataset: str, long_side: int | None,
             threshold: float) -> dict[str, Any]:
    """The row of ``evaluate``'s result for one dataset and setting."""
    for row in result["rows"]:
        if (row["dataset"], row["input_long_side"], row["score_threshold"]) == (
                dataset, long_side, threshold):
            return row
    raise KeyError(f"no row for {dataset} at long side {long_side}, score {threshold}")


def _print(result: dict[str, Any], show_missed: bool, show_unmatched: bool) -> None:
    def cell(v: object) -> object:
        return "-" if v is None else v

    headers = ["dataset", "long side", "score >=", "images", "faces", "found", "recall",
               "detections", "precision", "median ms"]
    print_table(headers, [
        [r["dataset"], "native" if r["input_long_side"] is None else r["input_long_side"],
         r["score_threshold"], r["images"], r["faces"], r["found"], r["recall"],
         cell(r["detections"]), cell(r["precision"]), r["median_ms"]]
        for r in result["rows"]
    ])
    if show_missed and result["missed"]:
        print("\nmissed faces:")
        print_table(["dataset", "long side", "score >=", "image", "face", "gt xyxy", "best IoU"], [
            [m["dataset"], "native" if m["input_long_side"] is None else m["input_long_side"],
             m["score_threshold"], m["image"], m["face_id"], m["gt_xyxy"], m["best_iou"]]
            for m in result["missed"]
        ])
    if show_unmatched and result["unmatched"]:
        print(f"\n{PRECISION_SET} detections matching no labelled box:")
        print_table(["long side", "score >=", "image", "xyxy", "score"], [
            ["native" if u["input_long_side"] is None else u["input_long_side"],
             u["score_threshold"], u["image"], u["xyxy"], u["score"]]
            for u in result["unmatched"]
        ])


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=DATASETS)
    parser.add_argument("--limit", type=int, default=None, help="first N images per dataset")
    parser.add_argument("--long-sides", nargs="+", default=["640", "native"],
                        help="input_long_side values to compare ('native' = no resize)")
    parser.add_argument("--scores", nargs="+", type=float, default=None,
                        help="score thresholds to compare (default: tracking.high_score and "
                        "detector.score_threshold from the config defaults)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument("--show-missed", action="store_true", help="list every missed face")
    parser.add_argument("--show-unmatched", action="store_true",
                        help=f"list {PRECISION_SET} detections matching no labelled face")
    args = parser.parse_args(argv)
    long_sides = [None if s == "native" else int(s) for s in args.long_sides]
    t0 = time.perf_counter()
    result = evaluate(args.datasets, long_sides, args.scores, limit=args.limit)
    _print(result, args.show_missed, args.show_unmatched)
    scores = result["thresholds"]
    print(f"\n{time.perf_counter() - t0:.1f} s; IoU >= {MATCH_IOU}; one detector run per long "
          f"side at score {scores[-1]}, filtered to {', '.join(map(str, scores[:-1]))}")
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
