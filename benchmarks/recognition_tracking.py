"""Tracking with recognition on synth_tracks: each sequence's enrollment/ photos are enrolled in
a fresh face database, the video is tracked with recognition on, and every output face is
matched to the ground truth (IoU >= 0.3, Hungarian per frame).

    python -m benchmarks.recognition_tracking [--sequences synth03] [--json out.json]

Figures per sequence and overall:
- known right: share of the known actors' ground-truth rows whose matched face carries a
  confirmed identity naming that actor (rows with no matched face count as not labelled);
- unknown wrong: share of the unknown actors' rows whose face is confirmed as someone enrolled
  (target <= 1%);
- IDF1 (identity): motmetrics IDF1 after the post-pass join: every frame of a track confirmed
  as an enrolled person takes that person as its id (so a known person's re-entry keeps the
  same id), other tracks keep their track id; for reference, the plain tracker's IDF1;
- embeddings computed with adaptive re-id (the default schedule) and when every face is embedded
  every frame (``reid_expiration_frames: 1``), with both modes' known-right share.
"""

from __future__ import annotations

import argparse
import csv
import json
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment

from benchmarks._common import SYNTH_SEQUENCES, data_root, load_mot, mot_metrics, print_table
from facetrack.config import DetectorConfig, TrackerConfig
from facetrack.detection.yunet import YuNetDetector
from facetrack.geometry import iou_matrix
from facetrack.pipeline import FaceTracker
from facetrack.recognition.embedder import SFaceEmbedder
from facetrack.recognition.enroll import enroll_images
from facetrack.recognition.gallery import FaceDatabase

IDENTITY_OFFSET = 1_000_000  # hypothesis ids for confirmed enrolled people


def enrol_sequence(seq: Path, db_path: Path) -> dict[str, int]:
    detector, embedder = YuNetDetector(DetectorConfig()), SFaceEmbedder()
    ids = {}
    with FaceDatabase(db_path) as db:
        for photo in sorted((seq / "enrollment").glob("*.jpg")):
            # --largest: one enrolment photo (synth04) shows a second, smaller face
            ids[photo.stem] = enroll_images(
                db, photo.stem, [photo], detector, embedder, largest=True
            ).person_id
    return ids


def run(seq: Path, db_path: Path, reid_frames: int | None) -> dict[str, Any]:
    data = TrackerConfig().model_dump()
    data["recognition"].update(enabled=True, database=db_path)
    if reid_frames is not None:
        data["recognition"]["reid_expiration_frames"] = reid_frames
    tracker = FaceTracker(TrackerConfig.model_validate(data))
    frames = []
    t0 = time.perf_counter()
    for result in tracker.track(seq / "video.mp4"):
        f = result.faces
        frames.append({
            "xyxy": f.xyxy.copy(), "track": f.track_id.copy(),
            "person": f.identity.person_id.copy(),
            "confirmed": f.identity.confirmed.copy(),
        })
    return {"frames": frames, "embeddings": tracker.embeddings_computed,
            "seconds": time.perf_counter() - t0}


def score(seq: Path, out: dict[str, Any], enrolled: dict[str, int]) -> dict[str, float]:
    gt = load_mot(seq / "gt.txt")
    with (seq / "identities.csv").open() as fh:
        actors = {int(r["track_id"]): (r["person"], r["known"] == "1") for r in csv.DictReader(fh)}
    # post-pass join: every frame of a track takes the identity the track was last confirmed as
    final: dict[int, int] = {}
    for fr in out["frames"]:
        for t, p, c in zip(fr["track"], fr["person"], fr["confirmed"], strict=True):
            if c and p >= 0:
                final[int(t)] = IDENTITY_OFFSET + int(p)
    known_rows = known_right = unknown_rows = unknown_wrong = 0
    hyp_identity: dict[int, list[tuple[int, float, float, float, float]]] = {}
    hyp_plain: dict[int, list[tuple[int, float, float, float, float]]] = {}
    for index, fr in enumerate(out["frames"]):
        f1 = index + 1
        rows = gt.get(f1, [])
        boxes = fr["xyxy"]
        ident_ids = [final.get(int(t), int(t)) for t in fr["track"]]
        hyp_identity[f1] = [(i, b[0], b[1], b[2] - b[0], b[3] - b[1])
                            for i, b in zip(ident_ids, boxes.tolist(), strict=True)]
        hyp_plain[f1] = [(int(t), b[0], b[1], b[2] - b[0], b[3] - b[1])
                         for t, b in zip(fr["track"], boxes.tolist(), strict=True)]
        gxyxy = np.array([[x, y, x + w, y + h] for _, x, y, w, h in rows]).reshape(-1, 4)
        iou = iou_matrix(gxyxy, boxes)
        match: dict[int, int] = {}
        if iou.size:
            r, c = linear_sum_assignment(-iou)
            match = {int(a): int(b) for a, b in zip(r, c, strict=True) if iou[a, b] >= 0.3}
        for g, (tid, *_rest) in enumerate(rows):
            person, known = actors[tid]
            h = match.get(g)
            labelled = (h is not None and bool(fr["confirmed"][h])
                        and int(fr["person"][h]) >= 0)
            if known:
                known_rows += 1
                known_right += labelled and int(fr["person"][h]) == enrolled[person]
            else:
                unknown_rows += 1
                unknown_wrong += labelled
    n = len(out["frames"])
    return {
        "known_rows": known_rows, "known_right": known_right / max(known_rows, 1),
        "unknown_rows": unknown_rows, "unknown_wrong": unknown_wrong / max(unknown_rows, 1),
        "idf1_identity": mot_metrics(gt, hyp_identity, n)["idf1"],
        "idf1_tracks": mot_metrics(gt, hyp_plain, n)["idf1"],
        "mota": mot_metrics(gt, hyp_identity, n)["mota"],
        "embeddings": out["embeddings"], "frames": n, "seconds": out["seconds"],
    }


def evaluate(sequences: Sequence[str] = SYNTH_SEQUENCES, every_frame: bool = True
             ) -> dict[str, Any]:
    root = data_root() / "synth_tracks"
    per: dict[str, dict[str, Any]] = {}
    for name in sequences:
        seq = root / name
        with tempfile.TemporaryDirectory() as tmp:
            db_path = Path(tmp) / "faces.db"
            enrolled = enrol_sequence(seq, db_path)
            per[name] = {"adaptive": score(seq, run(seq, db_path, None), enrolled)}
            if every_frame:
                per[name]["every_frame"] = score(seq, run(seq, db_path, 1), enrolled)
    overall: dict[str, float] = {}
    for key, rows in (("known_right", "known_rows"), ("unknown_wrong", "unknown_rows")):
        tot = sum(p["adaptive"][rows] for p in per.values())
        overall[key] = sum(p["adaptive"][key] * p["adaptive"][rows] for p in per.values()) / tot
    gt_rows = {n: sum(len(v) for v in load_mot(root / n / "gt.txt").values()) for n in per}
    for key in ("idf1_identity", "idf1_tracks"):
        overall[key] = sum(per[n]["adaptive"][key] * gt_rows[n] for n in per) / sum(
            gt_rows.values())
    overall["embeddings"] = sum(p["adaptive"]["embeddings"] for p in per.values())
    if every_frame:
        overall["embeddings_every_frame"] = sum(p["every_frame"]["embeddings"]
                                                for p in per.values())
        tot = sum(p["every_frame"]["known_rows"] for p in per.values())
        overall["known_right_every_frame"] = sum(
            p["every_frame"]["known_right"] * p["every_frame"]["known_rows"]
            for p in per.values()) / tot
    return {"sequences": per, "overall": overall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sequences", nargs="+", default=list(SYNTH_SEQUENCES))
    parser.add_argument("--no-every-frame", action="store_true",
                        help="skip the (slow) embed-every-frame comparison")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    result = evaluate(args.sequences, every_frame=not args.no_every_frame)
    rows = []
    for name, modes in result["sequences"].items():
        a, e = modes["adaptive"], modes.get("every_frame")
        rows.append([name, a["known_right"], a["unknown_wrong"], a["idf1_identity"],
                     a["idf1_tracks"], a["embeddings"],
                     e["embeddings"] if e else "", e["known_right"] if e else ""])
    o = result["overall"]
    rows.append(["overall", o["known_right"], o["unknown_wrong"], o["idf1_identity"],
                 o["idf1_tracks"], int(o["embeddings"]), int(o.get("embeddings_every_frame", 0))
                 or "", o.get("known_right_every_frame", "")])
    print_table(["sequence", "known right", "unknown wrong", "IDF1 (identity)", "IDF1 (tracks)",
                 "embeddings (adaptive)", "embeddings (every frame)",
                 "known right (every frame)"], rows)
    if args.json:
        args.json.write_text(json.dumps(result, indent=1, default=float))


if __name__ == "__main__":
    main()
