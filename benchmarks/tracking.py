"""Multi-face tracking on synth_tracks: MOTA and IDF1 (motmetrics, IoU >= 0.3) per sequence and
overall, for facetrack and for the peer a user would pick instead (the same YuNet detections fed
to supervision's ByteTrack with its defaults: once with YuNet's usual score >= 0.6, once with
every detection facetrack gets), plus a greedy IoU tracker as a floor.

    python -m benchmarks.tracking [--sequences synth01 synth03] [--pipeline N] [--json out.json]

Detection runs once per sequence; every tracker sees the same detections. facetrack's tracker
also gets the frames, for its colour-histogram appearance cue. ``--pipeline N`` adds the whole
``FaceTracker`` (analysis on) as a user runs it, once with the detector on every frame and once
with ``tracking.detect_interval: N`` (faces followed from their landmarks between
detections), so what following costs in tracking is measured on the same sequences.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks._common import (
    SYNTH_SEQUENCES,
    data_root,
    load_mot,
    mot_metrics,
    pooled,
    print_table,
)
from facetrack.config import TrackerConfig
from facetrack.detection.yunet import YuNetDetector
from facetrack.faces import Faces
from facetrack.geometry import iou_matrix
from facetrack.sources import open_source
from facetrack.tracking import FaceTrackerCore

Hyp = dict[int, list[tuple[int, float, float, float, float]]]
PEER = "ByteTrack (supervision)"
PEER_ALL = "ByteTrack, all detections >= 0.1"


def _rows(
    frame: int, ids: Sequence[int], xyxy: np.ndarray
) -> list[tuple[int, float, float, float, float]]:
    return [(int(t), float(b[0]), float(b[1]), float(b[2] - b[0]), float(b[3] - b[1]))
            for t, b in zip(ids, xyxy, strict=True)]


def run_sequence(seq_dir: Path, config: TrackerConfig) -> tuple[dict[str, Hyp], int]:
    """Return hypotheses of every tracker (keyed by name) and the frame count."""
    import supervision as sv

    detector = YuNetDetector(config.detector)
    ours = FaceTrackerCore(config.tracking)
    peer = sv.ByteTrack(frame_rate=25)
    peer_all = sv.ByteTrack(frame_rate=25)
    greedy = _GreedyIoU()
    hyps: dict[str, Hyp] = {"facetrack": {}, PEER: {}, PEER_ALL: {}, "greedy IoU": {}}
    n = 0
    with open_source(seq_dir / "video.mp4") as src:
        for frame in src:
            faces = detector.detect(frame)
            f1 = frame.index + 1
            out = ours.update(frame, faces)
            hyps["facetrack"][f1] = _rows(f1, out.track_id.tolist(), out.xyxy)
            # the peer gets what a user would give it: YuNet's usual score >= 0.6;
            # the second peer row gets every detection facetrack sees (>= 0.1), so ByteTrack's
            # own low-score pass has the same material as ours
            conf = faces[faces.score >= 0.6]
            for name, tracker, given in ((PEER, peer, conf), (PEER_ALL, peer_all, faces)):
                tracked = tracker.update_with_detections(sv.Detections(
                    xyxy=given.xyxy.astype(np.float32), confidence=given.score,
                    class_id=np.zeros(len(given), int)))
                ids = tracked.tracker_id.tolist() if tracked.tracker_id is not None else []
                hyps[name][f1] = _rows(f1, ids, tracked.xyxy)
            g_ids, g_boxes = greedy.update(conf)
            hyps["greedy IoU"][f1] = _rows(f1, g_ids, g_boxes)
            n += 1
    return hyps, n


def run_pipeline(seq_dir: Path, config: TrackerConfig) -> Hyp:
    """The confirmed faces the whole pipeline (``FaceTracker``) reports on every frame."""
    from facetrack.pipeline import FaceTracker

    hyp: Hyp = {}
    for result in FaceTracker(config).track(seq_dir / "video.mp4"):
        f1 = result.frame.index + 1
        hyp[f1] = _rows(f1, result.faces.track_id.tolist(), result.faces.xyxy)
    return hyp


def pipeline_name(interval: int) -> str:
    return "full pipeline, " + ("detector every frame" if interval == 1
                                else f"detector every {interval} frames")


class _GreedyIoU:
    """Floor: each detection takes the id of the best-overlapping box of the previous frame."""

    def __init__(self, min_iou: float = 0.3) -> None:
        self.prev_boxes = np.zeros((0, 4))
        self.prev_ids: list[int] = []
        self.next_id = 1
        self.min_iou = min_iou

    def update(self, faces: Faces) -> tuple[list[int], np.ndarray]:
        iou = iou_matrix(faces.xyxy, self.prev_boxes)
        ids: list[int] = []
        taken: set[int] = set()
        for i in np.argsort(-faces.score):
            j = int(np.argmax(iou[i])) if iou.shape[1] else -1
            if j >= 0 and iou[i, j] >= self.min_iou and j not in taken:
                taken.add(j)
                ids.append(self.prev_ids[j])
            else:
                ids.append(self.next_id)
                self.next_id += 1
        order = np.argsort(-faces.score)
        boxes = faces.xyxy[order]
        self.prev_boxes, self.prev_ids = boxes, ids
        return ids, boxes


def evaluate(sequences: Sequence[str] = SYNTH_SEQUENCES, config: TrackerConfig | None = None,
             pipeline: int | None = None) -> dict[str, Any]:
    config = config or TrackerConfig()
    root = data_root() / "synth_tracks"
    per_seq: dict[str, dict[str, dict[str, float]]] = {}
    intervals = sorted({1, pipeline}) if pipeline else []
    for name in sequences:
        hyps, n = run_sequence(root / name, config)
        for k in intervals:
            cfg = config.model_copy(update={"tracking": config.tracking.model_copy(
                update={"detect_interval": k})})
            hyps[pipeline_name(k)] = run_pipeline(root / name, cfg)
        gt = load_mot(root / name / "gt.txt")
        per_seq[name] = {t: mot_metrics(gt, h, n, min_iou=0.3, name=name) for t, h in hyps.items()}
    overall = {tracker: pooled({s: per_seq[s][tracker] for s in per_seq})
               for tracker in next(iter(per_seq.values()))}
    return {"sequences": per_seq, "overall": overall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sequences", nargs="+", default=list(SYNTH_SEQUENCES))
    parser.add_argument("--pipeline", type=int, metavar="N",
                        help="also the whole pipeline, detector every frame and every N frames")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    result = evaluate(args.sequences, pipeline=args.pipeline)
    rows = []
    for seq, by_tracker in result["sequences"].items():
        for tracker, m in by_tracker.items():
            rows.append([seq, tracker, m["mota"], m["idf1"], int(m["num_switches"]),
                         int(m["num_misses"]), int(m["num_false_positives"])])
    for tracker, m in result["overall"].items():
        rows.append(["overall", tracker, m["mota"], m["idf1"], int(m["num_switches"]), "", ""])
    print_table(["sequence", "tracker", "MOTA", "IDF1", "ID sw", "misses", "FP"], rows)
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
