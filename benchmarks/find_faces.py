"""``find_faces_in_file`` on synth_tracks: are the tracks of one person grouped, and only them?

    python -m benchmarks.find_faces [--sequences synth01 ...] [--threshold 0.333]

No database: every actor is unknown, so grouping rests on appearance alone (the mean embedding
of each track, joined at ``--threshold``, never two tracks on screen at once). Each output
track is mapped to the ground-truth actor it overlaps most (IoU >= 0.3, Hungarian per frame).
Per sequence and overall:
- tracks, actors (ground truth), groups (people found);
- join precision: of the track pairs put in one group, the share that are one actor;
- join recall: of the track pairs that are one actor, the share put in one group;
- IDF1 with each track's own id, and with its group as id (a returning person keeps the id);
- the margin: among track pairs never on screen together (the only ones that may be joined),
  the lowest mean-embedding similarity of two tracks of one actor and the highest of two tracks
  of different actors (the threshold must fall between them);
- seconds and frames per second of the whole call (tracking, analysis, embeddings, grouping).
"""

from __future__ import annotations

import argparse
import itertools
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment

from benchmarks._common import SYNTH_SEQUENCES, data_root, load_mot, mot_metrics, print_table
from facetrack.geometry import iou_matrix
from facetrack.pipeline.jobs import find_faces_in_file
from facetrack.results import FrameResult


def run(seq: Path, threshold: float | None) -> dict[str, Any]:
    frames: list[tuple[np.ndarray, np.ndarray]] = []

    def keep(result: FrameResult) -> None:
        frames.append((result.faces.xyxy.copy(), result.faces.track_id.copy()))

    t0 = time.perf_counter()
    found = find_faces_in_file(seq / "video.mp4", group_threshold=threshold, on_result=keep)
    seconds = time.perf_counter() - t0
    gt = load_mot(seq / "gt.txt")
    votes: dict[int, Counter[int]] = {}
    hyp_tracks: dict[int, list[tuple[int, float, float, float, float]]] = {}
    hyp_groups: dict[int, list[tuple[int, float, float, float, float]]] = {}
    group = {f.track_id: f.group for f in found}
    for index, (boxes, tids) in enumerate(frames):
        f1 = index + 1
        keep_rows = tids >= 0
        boxes, tids = boxes[keep_rows], tids[keep_rows]
        hyp_tracks[f1] = [(int(t), b[0], b[1], b[2] - b[0], b[3] - b[1])
                          for t, b in zip(tids, boxes.tolist(), strict=True)]
        hyp_groups[f1] = [(group[int(t)], *rest[1:]) for t, rest in
                          zip(tids, hyp_tracks[f1], strict=True)]
        rows = gt.get(f1, [])
        gx = np.array([[x, y, x + w, y + h] for _, x, y, w, h in rows]).reshape(-1, 4)
        iou = iou_matrix(gx, boxes)
        if iou.size:
            r, c = linear_sum_assignment(-iou)
            for a, b in zip(r, c, strict=True):
                if iou[a, b] >= 0.3:
                    votes.setdefault(int(tids[b]), Counter())[rows[a][0]] += 1
    actor = {t: v.most_common(1)[0][0] for t, v in votes.items()}
    tp = fp = fn = 0
    means = {f.track_id: f.mean_embedding for f in found}
    span = {f.track_id: (f.first_frame, f.last_frame) for f in found}
    same_sims, diff_sims = [], []
    for a, b in itertools.combinations(sorted(actor), 2):
        apart = span[a][1] < span[b][0] or span[b][1] < span[a][0]
        if apart and means[a] is not None and means[b] is not None:
            sim = float(means[a] @ means[b])
            (same_sims if actor[a] == actor[b] else diff_sims).append(sim)
        same_actor, same_group = actor[a] == actor[b], group[a] == group[b]
        tp += same_actor and same_group
        fp += same_group and not same_actor
        fn += same_actor and not same_group
    n = len(frames)
    return {
        "tracks": len(found), "actors": len({r[0] for rows in gt.values() for r in rows}),
        "groups": len({f.group for f in found}),
        "pairs_joined": tp + fp, "pairs_same_actor": tp + fn,
        "join_precision": tp / (tp + fp) if tp + fp else 1.0,
        "join_recall": tp / (tp + fn) if tp + fn else 1.0,
        "idf1_tracks": mot_metrics(gt, hyp_tracks, n)["idf1"],
        "idf1_groups": mot_metrics(gt, hyp_groups, n)["idf1"],
        "seconds": seconds, "fps": n / seconds,
        "weakest_same": min(same_sims, default=float("nan")),
        "closest_other": max(diff_sims, default=float("nan")),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sequences", nargs="+", default=list(SYNTH_SEQUENCES))
    parser.add_argument("--threshold", type=float, default=None,
                        help="grouping threshold (default: recognition.threshold)")
    args = parser.parse_args()
    root = data_root() / "synth_tracks"
    results = {name: run(root / name, args.threshold) for name in args.sequences}
    rows = [[name, r["tracks"], r["actors"], r["groups"], f"{r['pairs_joined']}",
             r["join_precision"], r["join_recall"], r["idf1_tracks"], r["idf1_groups"],
             r["weakest_same"], r["closest_other"], r["fps"]] for name, r in results.items()]
    tp = sum(round(r["join_precision"] * r["pairs_joined"]) for r in results.values())
    joined = sum(r["pairs_joined"] for r in results.values())
    same = sum(r["pairs_same_actor"] for r in results.values())
    rows.append([
        "overall", sum(r["tracks"] for r in results.values()),
        sum(r["actors"] for r in results.values()), sum(r["groups"] for r in results.values()),
        f"{joined}", tp / joined if joined else 1.0, tp / same if same else 1.0,
        float(np.mean([r["idf1_tracks"] for r in results.values()])),
        float(np.mean([r["idf1_groups"] for r in results.values()])),
        float(np.nanmin([r["weakest_same"] for r in results.values()])),
        float(np.nanmax([r["closest_other"] for r in results.values()])),
        float(np.median([r["fps"] for r in results.values()])),
    ])
    print_table(["sequence", "tracks", "actors", "groups", "pairs joined", "join precision",
                 "join recall", "IDF1 (tracks)", "IDF1 (groups)", "weakest same-actor sim",
                 "closest other-actor sim", "fps"], rows)


if __name__ == "__main__":
    main()
