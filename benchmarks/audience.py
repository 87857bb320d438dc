"""Audience analytics: is a face attending, judged against AFLW2000-3D's true pose, and what the
analytics cost in file mode.

Attention classification: every protocol image of AFLW2000-3D (|angle| <= 99) gets its pose as
the pipeline reads it (Face Mesh, or the 5-keypoint fallback where the mesh cannot read the
face; ``benchmarks.headpose``). A face attends to the camera when the angle between where it
points and the camera (``facing_angle`` of yaw and pitch) is within the cone; the truth is the
same test on the true yaw and pitch. Peer: the route open-source "looker" counters take, OpenCV's
``solvePnP`` of the 5 detector keypoints on a generic 3-D face (MediaPipe's canonical face), same
cone. Accuracy, precision and recall at cones of 15, 25 (the default) and 35 degrees, and the
accuracy on the images whose true angle is more than 3 degrees from the cone's edge.

Speed: ``facetrack track`` on the synth sequences with and without ``--analytics`` (default
target, audience.csv, crossings.csv, heatmaps), alternating, each run in a fresh process; the
ratio of the medians.

    python -m benchmarks.audience [--runs 3] [--no-speed] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from benchmarks._common import SYNTH_SEQUENCES, data_root, print_table
from facetrack.analysis.headpose import CANONICAL_FACE
from facetrack.analysis.signals import facing_angle

CONES = (15.0, 25.0, 35.0)
#: images whose true angle is within this of the cone's edge are a coin toss for any estimator
#: with a few degrees of error: reported apart
EDGE_DEG = 3.0
#: canonical-face points for YuNet's keypoints: image-left eye, image-right eye, nose, mouth
_MODEL = np.stack([(CANONICAL_FACE[33] + CANONICAL_FACE[133]) / 2,
                   (CANONICAL_FACE[362] + CANONICAL_FACE[263]) / 2,
                   CANONICAL_FACE[1], CANONICAL_FACE[61], CANONICAL_FACE[291]])


def pnp_pose(keypoints: np.ndarray, width: int, height: int) -> np.ndarray:
    """The peer's yaw, pitch, roll: solvePnP (iterative) of the 5 keypoints on the canonical
    face, focal length = image width, read in AFLW2000's convention."""
    flip = np.array([1.0, -1.0, -1.0])  # our frame (Y up, Z to the camera) <-> OpenCV's
    camera = np.array([[width, 0, width / 2], [0, width, height / 2], [0, 0, 1]], np.float64)
    kp = np.asarray(keypoints, np.float64)
    # 5 points are too few for OpenCV's DLT start: start from a frontal face at the distance
    # its eye spacing gives (what the usual snippets do with a fixed guess)
    iod_px = max(float(np.linalg.norm(kp[1] - kp[0])), 1.0)
    tvec = np.array([[0.0], [0.0], [width * float(np.linalg.norm(_MODEL[1] - _MODEL[0])) / iod_px]])
    ok, rvec, _ = cv2.solvePnP(_MODEL * flip, kp, camera, None, np.zeros((3, 1)), tvec,
                               useExtrinsicGuess=True, flags=cv2.SOLVEPNP_ITERATIVE)
    if not ok:
        return np.full(3, np.nan)
    rot = np.diag(flip) @ cv2.Rodrigues(rvec)[0] @ np.diag(flip)
    yaw = -np.arcsin(np.clip(rot[0, 2], -1.0, 1.0))
    pitch = np.arctan2(rot[1, 2], rot[2, 2])
    roll = np.arctan2(rot[0, 1], rot[0, 0])
    return np.degrees([yaw, pitch, roll])


def _scores(truth: np.ndarray, said: np.ndarray) -> dict[str, float]:
    tp = int((truth & said).sum())
    return {"accuracy": float((truth == said).mean()),
            "precision": tp / max(int(said.sum()), 1), "recall": tp / max(int(truth.sum()), 1),
            "attending": int(truth.sum())}


def classification() -> list[dict[str, Any]]:
    """Rows per cone and method: accuracy, precision, recall of "attends to the camera"."""
    from benchmarks.headpose import evaluate

    poses = evaluate()["poses"]
    truth = np.array([p["truth"][:2] for p in poses])
    ours = np.array([p["used"][:2] for p in poses])
    peer = np.array([pnp_pose(np.array(p["keypoints"]), 450, 450)[:2] for p in poses])
    rows = []
    true_angle = facing_angle(truth)
    for cone in CONES:
        true_att = true_angle <= cone
        clear = np.abs(true_angle - cone) > EDGE_DEG  # not within EDGE_DEG of the cone's edge
        for name, est in (("facetrack", ours), ("solvePnP 5 points", peer)):
            said = facing_angle(est) <= cone
            rows.append({"cone_deg": cone, "method": name, "images": len(poses),
                         **_scores(true_att, said), "clear_images": int(clear.sum()),
                         "clear_accuracy": float((true_att == said)[clear].mean())})
    return rows


def _time_track(video: Path, analytics: bool) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "facetrack", "track", str(video), "--out", tmp, "-q"]
        if analytics:
            cmd.append("--analytics")
        out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return float(json.loads(out.stdout.strip().splitlines()[-1])["seconds"])


def speed(runs: int) -> list[dict[str, Any]]:
    """Median seconds of ``facetrack track`` per synth sequence, analytics off and on."""
    rows = []
    for seq in SYNTH_SEQUENCES:
        video = data_root() / "synth_tracks" / seq / "video.mp4"
        off, on = [], []
        for _ in range(runs):
            off.append(_time_track(video, False))
            on.append(_time_track(video, True))
        rows.append({"input": seq, "off_s": statistics.median(off),
                     "on_s": statistics.median(on),
                     "ratio": statistics.median(on) / statistics.median(off)})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per mode for the speed")
    parser.add_argument("--no-speed", action="store_true", help="skip the speed runs")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    t0 = time.perf_counter()
    res: dict[str, Any] = {"classification": classification()}
    print_table(["cone deg", "method", "images", "attending (truth)", "accuracy", "precision",
                 "recall", f"images > {EDGE_DEG:g} deg from the edge", "their accuracy"],
                [[r["cone_deg"], r["method"], r["images"], r["attending"], r["accuracy"],
                  r["precision"], r["recall"], r["clear_images"], r["clear_accuracy"]]
                 for r in res["classification"]])
    if not args.no_speed:
        res["speed"] = speed(args.runs)
        print_table(["input", "analytics off s", "analytics on s", "on / off"],
                    [[r["input"], r["off_s"], r["on_s"], r["ratio"]] for r in res["speed"]])
    res["seconds"] = time.perf_counter() - t0
    if args.json is not None:
        args.json.write_text(json.dumps(res, indent=2) + "\n")


if __name__ == "__main__":
    main()
