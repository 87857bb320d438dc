"""Face verification (same person or not) with YuNet + SFace on lfw_pairs and deepface_pairs.

Each image goes through the real pipeline: YuNet (default ``DetectorConfig``), one face picked,
``SFaceEmbedder`` (5-keypoint alignment + SFace), then the cosine similarity of each pair; a pair
is called "same" when the similarity is at or above the threshold (higher = more alike, the one
meaning of ``RecognitionConfig.threshold``).

- ``lfw_pairs`` images are grayscale 350x350 crops that the face fills, which YuNet misses or
  mis-places; each gets a constant black border of 30% of its long side on every side before
  detection (its README: "a detector may need padding"), and the face nearest the image centre
  (relative to its size) is kept.
- ``deepface_pairs`` images are full photos, some with several people: the largest face among
  those at or above the tracker's confident score (``TrackingConfig.high_score``) is kept, or the
  highest-scoring face when none is confident.

Every image is embedded once. An image without a face makes each of its pairs a wrong decision
in every accuracy figure (never silently dropped); the ROC AUC is over the pairs with both faces
(``pairs_scored``).

Threshold. The accuracy at OpenCV's stock SFace threshold (0.363) and the best-accuracy
threshold on each dataset are printed for information only: the latter is tuned on the test
data. LFW's cross-validation protocol over the ``lfw_fold`` column (for each fold, the threshold
is picked on the other folds and tested on it) gives the accuracy a user can expect on LFW; the
shared split holds folds 1-5 only (6-10 are held out), so it runs over 5 folds. It cannot place
the threshold, though: LFW's different-person pairs all score below 0.25 and any value in its gap
up to 0.34 gives the same decisions, while full photos of different people (deepface_pairs)
reach 0.30-0.32. The recommended default is therefore the middle of the best-accuracy interval
over every pair of both sets (610 pairs), printed with the false accepts it allows.

Run from the repository root:
``python -m benchmarks.verification [--json PATH] [--limit N] [--dataset NAME]``.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from benchmarks._common import data_root, print_table
from facetrack.config import DetectorConfig, RecognitionConfig, TrackerConfig, TrackingConfig
from facetrack.detection.yunet import YuNetDetector
from facetrack.faces import Faces
from facetrack.frames import Frame
from facetrack.recognition.embedder import Embedder, SFaceEmbedder, make_embedder
from facetrack.sources.images import read_image

LFW = "lfw_pairs"
DEEPFACE = "deepface_pairs"
DATASETS = (LFW, DEEPFACE)
OPENCV_THRESHOLD = 0.363  # OpenCV's stock cosine threshold for SFace (opencv_zoo sface demo)
PAD_FRACTION = 0.3  # LFW: border on each side, as a fraction of the image's long side


@dataclass(frozen=True)
class Pair:
    image1: str
    image2: str
    same: bool
    fold: int  # LFW View-2 fold; 0 where the dataset has none


def load_pairs(dataset: str, limit: int | None = None,
               folds: Sequence[int] | None = None) -> list[Pair]:
    """``pairs.csv`` rows in file order, restricted to ``folds`` (LFW only) then to the first
    ``limit``. LFW's file is ordered by fold, so ``limit`` keeps whole leading folds."""
    with (data_root() / dataset / "pairs.csv").open(newline="") as fh:
        pairs = [
            Pair(r["image1"], r["image2"], r["same"].strip() == "1", int(r.get("lfw_fold") or 0))
            for r in csv.DictReader(fh)
        ]
    if folds is not None:
        pairs = [p for p in pairs if p.fold in set(folds)]
    return pairs[:limit]


def pad_image(image: npt.NDArray[np.uint8], fraction: float = PAD_FRACTION
              ) -> npt.NDArray[np.uint8]:
    """A constant black border of ``fraction`` x the long side on every side."""
    border = round(fraction * max(image.shape[:2]))
    return np.asarray(cv2.copyMakeBorder(image, border, border, border, border,
                                         cv2.BORDER_CONSTANT, value=(0, 0, 0)), np.uint8)


def pick_central(faces: Faces, width: int, height: int) -> int:
    """The face whose centre is nearest the image centre in units of its own size, so a large
    face slightly off centre wins over a small one at the centre (as in benchmarks.headpose)."""
    centres = (faces.xyxy[:, :2] + faces.xyxy[:, 2:]) / 2
    dist = np.linalg.norm(centres - np.array([width / 2, height / 2]), axis=1)
    size = np.sqrt(np.maximum(np.prod(faces.wh, axis=1), 1e-6))
    return int(np.argmin(dist / size))


def pick_main(faces: Faces, confident: float) -> int:
    """The largest face scoring at least ``confident``; the highest-scoring one when none does.
    In a photo of a person the subject is usually the largest confident face; a large
    low-score box is more often a false detection than the subject."""
    area = np.prod(faces.wh, axis=1)
    ok = faces.score >= confident
    if not ok.any():
        return int(np.argmax(faces.score))
    return int(np.argmax(np.where(ok, area, -1.0)))


def _average_ranks(values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """1-based ranks, ties sharing the mean of their ranks."""
    order = np.argsort(values, kind="mergesort")
    sorted_vals = values[order]
    _, first, counts = np.unique(sorted_vals, return_index=True, return_counts=True)
    mean_rank = first + (counts + 1) / 2.0  # mean of ranks first+1 .. first+count
    ranks = np.empty(len(values), np.float64)
    ranks[order] = np.repeat(mean_rank, counts)
    return ranks


def roc_auc(scores: npt.ArrayLike, labels: npt.ArrayLike) -> float:
    """Area under the ROC curve: the probability that a random positive scores above a random
    negative, ties counting one half (Mann-Whitney U / (n_pos n_neg))."""
    s = np.asarray(scores, np.float64).reshape(-1)
    y = np.asarray(labels, bool).reshape(-1)
    if s.shape != y.shape:
        raise ValueError(f"scores {s.shape} and labels {y.shape} differ in shape")
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        raise ValueError(f"AUC needs both classes (got {n_pos} positive, {n_neg} negative)")
    ranks = _average_ranks(s)
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def accuracy_at(sims: npt.ArrayLike, labels: npt.ArrayLike, threshold: float) -> float:
    """Fraction of pairs decided right at ``sim >= threshold``; a NaN similarity (a face not
    found) is always wrong."""
    s = np.asarray(sims, np.float64)
    y = np.asarray(labels, bool)
    with np.errstate(invalid="ignore"):
        right = ~np.isnan(s) & ((s >= threshold) == y)
    return float(right.mean())


def best_threshold(sims: npt.ArrayLike, labels: npt.ArrayLike) -> tuple[float, float]:
    """(threshold, accuracy) with the highest accuracy. Candidates are the midpoints between
    consecutive distinct similarities (and one below / above all); among equally good ones the
    middle candidate is taken, so the choice is not pushed against one side's nearest pair."""
    s = np.asarray(sims, np.float64)
    y = np.asarray(labels, bool)
    found = ~np.isnan(s)
    u = np.unique(s[found])
    if len(u) == 0:
        return float("nan"), 0.0
    cands = np.concatenate([[u[0] - 1e-3], (u[:-1] + u[1:]) / 2, [u[-1] + 1e-3]])
    # correct decisions at each candidate: same pairs at/above it + different pairs below it
    ss, sd = np.sort(s[found & y]), np.sort(s[found & ~y])
    correct = (len(ss) - np.searchsorted(ss, cands, side="left")
               + np.searchsorted(sd, cands, side="left"))
    best = np.flatnonzero(correct == correct.max())
    k = best[len(best) // 2]
    return float(cands[k]), float(correct[k] / len(s))


def same_decisions(sims: npt.ArrayLike, threshold: float) -> tuple[float, float]:
    """(lo, hi): every threshold in (lo, hi] decides each pair as ``threshold`` does; lo / hi
    are the nearest similarities below / at-or-above it. A wide interval means the data cannot
    tell its thresholds apart: the choice inside it is a convention, not a measurement."""
    s = np.asarray(sims, np.float64)
    s = s[~np.isnan(s)]
    below, above = s[s < threshold], s[s >= threshold]
    return (float(below.max()) if len(below) else -1.0,
            float(above.min()) if len(above) else 1.0)


def fold_protocol(sims: npt.ArrayLike, labels: npt.ArrayLike, folds: npt.ArrayLike
                  ) -> dict[str, Any]:
    """LFW's protocol: for each fold, pick the best threshold on all other folds, test there."""
    s, y, f = np.asarray(sims, np.float64), np.asarray(labels, bool), np.asarray(folds)
    rows = []
    for fold in np.unique(f):
        train, test = f != fold, f == fold
        t, train_acc = best_threshold(s[train], y[train])
        rows.append({"fold": int(fold), "pairs": int(test.sum()), "threshold": t,
                     "train_accuracy": train_acc, "accuracy": accuracy_at(s[test], y[test], t)})
    accs = [r["accuracy"] for r in rows]
    thresholds = [r["threshold"] for r in rows]
    return {
        "folds": rows,
        "accuracy_mean": float(np.mean(accs)),
        "accuracy_std": float(np.std(accs, ddof=1)) if len(accs) > 1 else float("nan"),
        "threshold_mean": float(np.mean(thresholds)),
        "threshold_median": float(np.median(thresholds)),
    }


#: the embedder measured (``--config``: the one a YAML config names; default SFace)
EMBEDDER: list[Embedder] = []


def embed_images(dataset: str, names: Sequence[str]) -> tuple[dict[str, np.ndarray | None],
                                                                list[float]]:
    """{image: unit embedding, or None when no face is found} and the embedding times (ms)."""
    root = data_root() / dataset
    detector = YuNetDetector(DetectorConfig())
    if not EMBEDDER:
        EMBEDDER.append(SFaceEmbedder())
    embedder = EMBEDDER[0]
    confident = TrackingConfig().high_score
    out: dict[str, np.ndarray | None] = {}
    times: list[float] = []
    for index, name in enumerate(names):
        path = root / name
        image = read_image(path)
        if dataset == LFW:
            image = pad_image(image)
        faces = detector.detect(Frame(image, dataset, index, float(index), path=path))
        if len(faces) == 0:
            out[name] = None
            continue
        h, w = image.shape[:2]
        k = pick_central(faces, w, h) if dataset == LFW else pick_main(faces, confident)
        if not times:  # first call pays OpenCV's set-up; keep it out of the latency
            embedder.embed(image, faces.keypoints[k : k + 1])
        t0 = time.perf_counter()
        out[name] = embedder.embed(image, faces.keypoints[k : k + 1])[0]
        times.append((time.perf_counter() - t0) * 1000.0)
    return out, times


def evaluate(dataset: str, limit: int | None = None,
             folds: Sequence[int] | None = None) -> dict[str, Any]:
    """Figures for one dataset on its first ``limit`` pairs (of ``folds`` for LFW; all when
    None): counts, ROC AUC, accuracy at OpenCV's threshold and at the configured default, the
    best (test-tuned) threshold, LFW's fold protocol, median embedding ms per face, and the
    per-pair similarities (NaN where a face was not found)."""
    if dataset not in DATASETS:
        raise ValueError(f"unknown dataset {dataset!r} (one of {', '.join(DATASETS)})")
    t_start = time.perf_counter()
    pairs = load_pairs(dataset, limit, folds)
    names = sorted({n for p in pairs for n in (p.image1, p.image2)})
    emb, times = embed_images(dataset, names)
    sims = np.array([
        float(np.dot(a, b)) if (a := emb[p.image1]) is not None and (b := emb[p.image2]) is not None
        else np.nan
        for p in pairs
    ])
    labels = np.array([p.same for p in pairs], bool)
    scored = ~np.isnan(sims)
    best_t, best_acc = best_threshold(sims, labels)
    default_t = RecognitionConfig().threshold
    res: dict[str, Any] = {
        "dataset": dataset,
        "pairs": len(pairs),
        "same": int(labels.sum()),
        "different": int((~labels).sum()),
        "images": len(names),
        "no_face": sorted(n for n, e in emb.items() if e is None),
        "pairs_scored": int(scored.sum()),
        "auc": (roc_auc(sims[scored], labels[scored])
                if len(set(labels[scored].tolist())) == 2 else float("nan")),
        "accuracy_opencv": accuracy_at(sims, labels, OPENCV_THRESHOLD),
        "config_threshold": default_t,
        "accuracy_config": accuracy_at(sims, labels, default_t),
        "best_threshold": best_t,
        "best_accuracy": best_acc,
        "best_interval": same_decisions(sims, best_t),
        "embed_ms_median": statistics.median(times) if times else float("nan"),
        "similarities": [None if np.isnan(v) else round(float(v), 6) for v in sims],
        "labels": labels.astype(int).tolist(),
    }
    if dataset == LFW:
        res["fold_protocol"] = fold_protocol(sims, labels, [p.fold for p in pairs])
    res["seconds"] = time.perf_counter() - t_start
    return res


def _summary_rows(results: Sequence[dict[str, Any]]) -> list[list[object]]:
    return [
        [r["dataset"], f"{r['pairs']} ({r['same']}/{r['different']})", r["images"],
         len(r["no_face"]), r["auc"], r["accuracy_opencv"],
         f"{r['best_threshold']:.3f} ({r['best_accuracy']:.3f})",
         "({:.3f}, {:.3f}]".format(*r["best_interval"]), r["embed_ms_median"]]
        for r in results
    ]


def _false_accepts(result: dict[str, Any], threshold: float) -> int:
    pairs = zip(result["similarities"], result["labels"], strict=True)
    return sum(1 for v, y in pairs if y == 0 and v is not None and v >= threshold)


def api_accuracy(dataset: str, limit: int | None) -> dict[str, Any]:
    """``FaceRecognizer.verify`` given each pair's images as they are (no benchmark padding),
    at the configured threshold: what a user calling the API gets."""
    from facetrack.errors import InputError
    from facetrack.recognition.recognizer import FaceRecognizer

    recognizer = FaceRecognizer()
    pairs = load_pairs(dataset, limit)
    right = no_face = 0
    for p in pairs:
        try:
            right += recognizer.verify(data_root() / dataset / p.image1,
                                       data_root() / dataset / p.image2).same == p.same
        except InputError:
            no_face += 1
    return {"dataset": dataset, "pairs": len(pairs), "accuracy": right / len(pairs),
            "no_face": no_face}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--api", action="store_true",
                        help="only FaceRecognizer.verify on the images as they are")
    parser.add_argument("--limit", type=int, default=None, help="first N pairs of each dataset")
    parser.add_argument("--dataset", choices=DATASETS, action="append", default=None,
                        help="only this dataset (repeatable; default: both)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument("--config", type=Path, default=None,
                        help="YAML config whose recognition embedder is measured (default SFace)")
    args = parser.parse_args()
    if args.api:
        print_table(["dataset", "pairs", "FaceRecognizer.verify accuracy", "no face"],
                    [[r["dataset"], r["pairs"], r["accuracy"], r["no_face"]] for r in
                     (api_accuracy(name, args.limit) for name in args.dataset or DATASETS)])
        return
    if args.config is not None:
        EMBEDDER.append(make_embedder(TrackerConfig.from_yaml(args.config).recognition.embedder))
    t0 = time.perf_counter()
    results = [evaluate(name, args.limit) for name in args.dataset or DATASETS]

    print("Verification (no-face pairs count as wrong; AUC over pairs with both faces)\n")
    print_table(
        ["dataset", "pairs (same/diff)", "images", "no face", "ROC AUC",
         f"acc @ {OPENCV_THRESHOLD}", "best thr (acc), test-tuned", "same decisions in",
         "embed ms/face (median)"],
        _summary_rows(results),
    )
    lfw = next((r for r in results if r["dataset"] == LFW), None)
    if lfw is not None:
        proto = lfw["fold_protocol"]
        print(f"\nLFW fold protocol ({len(proto['folds'])} folds present): threshold picked on "
              "the other folds, tested on this one\n")
        print_table(["fold", "pairs", "threshold", "train acc", "test acc"],
                    [[f["fold"], f["pairs"], f["threshold"], f["train_accuracy"], f["accuracy"]]
                     for f in proto["folds"]])
        print(f"\naccuracy {proto['accuracy_mean']:.4f} ± {proto['accuracy_std']:.4f} "
              f"(mean ± sample std over folds); fold thresholds mean "
              f"{proto['threshold_mean']:.4f}, median {proto['threshold_median']:.4f}")
    if len(results) > 1:
        # the default: the middle of the interval of best accuracy over every pair of both
        # sets. LFW alone cannot place it (any value in its gap gives the same decisions) and
        # its gap reaches below where full photos of different people already match.
        sims = np.concatenate([[np.nan if v is None else v for v in r["similarities"]]
                               for r in results])
        labels = np.concatenate([r["labels"] for r in results])
        recommended, pooled_acc = best_threshold(sims, labels)
        lo, hi = same_decisions(sims, recommended)
        print(f"\npooled over {len(labels)} pairs: best accuracy {pooled_acc:.4f} for any "
              f"threshold in ({lo:.3f}, {hi:.3f}]; recommended default {recommended:.3f}\n")
        print_table(
            ["dataset", f"acc @ recommended {recommended:.3f}",
             f"acc @ config default {results[0]['config_threshold']:.3f}",
             f"false accepts @ {recommended:.3f}"],
            [[r["dataset"], accuracy_at([np.nan if v is None else v for v in r["similarities"]],
                                        r["labels"], recommended), r["accuracy_config"],
              f"{_false_accepts(r, recommended)}/{r['different']}"]
             for r in results],
        )
        for r in results:
            r["recommended_threshold"] = recommended
    print(f"\nno face found: {[n for r in results for n in r['no_face']] or 'none'}")
    print(f"total {time.perf_counter() - t0:.1f} s")
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
