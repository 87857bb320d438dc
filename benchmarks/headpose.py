"""Head pose on AFLW2000-3D: MAE of yaw, pitch and roll through the whole pipeline.

Each image goes through YuNet (default config), the face nearest the image centre relative to
its size is kept (the images are face-centred crops that often show other faces at the edges),
then Face Mesh and ``head_pose``. Protocol: rows with any |angle| > 99 deg (``outside_99deg``)
are dropped, as in Hopenet/FSA-Net/6DRepNet. Images where YuNet finds no face are counted as
missed and reported, not silently dropped; the MAE is over the evaluated images.

    python -m benchmarks.headpose [--limit N] [--json PATH]
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks._common import data_root, print_table
from facetrack.analysis.headpose import head_pose
from facetrack.analysis.landmarks import FaceMeshLandmarker
from facetrack.config import DetectorConfig
from facetrack.detection.yunet import YuNetDetector
from facetrack.faces import Faces
from facetrack.frames import Frame
from facetrack.sources.images import read_image

DATASET = "aflw2000_headpose"


def load_rows(root: Path) -> list[dict[str, str]]:
    """poses.csv rows kept by the protocol (all |angle| <= 99 deg), in file order."""
    with (root / "poses.csv").open(newline="") as fh:
        return [r for r in csv.DictReader(fh) if r["outside_99deg"].strip() != "1"]


def pick_face(faces: Faces, width: int, height: int) -> int:
    """Index of the face whose centre is nearest the image centre, in units of its own size:
    a large face slightly off centre wins over a small one at the centre."""
    centres = (faces.xyxy[:, :2] + faces.xyxy[:, 2:]) / 2
    dist = np.linalg.norm(centres - np.array([width / 2, height / 2]), axis=1)
    size = np.sqrt(np.maximum(np.prod(faces.wh, axis=1), 1e-6))
    return int(np.argmin(dist / size))


def evaluate(limit: int | None = None) -> dict[str, Any]:
    """Run the benchmark on the first ``limit`` protocol images (all when None).

    Returns the figures: ``n_images``, ``n_evaluated``, ``n_missed``, ``mae_yaw``,
    ``mae_pitch``, ``mae_roll``, ``mae_mean`` (degrees, over evaluated images) and
    ``landmarks_ms_median`` (Face Mesh per face, crop + model + mapping back).
    """
    root = data_root() / DATASET
    rows = load_rows(root)
    if limit is not None:
        rows = rows[:limit]
    detector = YuNetDetector(DetectorConfig())
    landmarker = FaceMeshLandmarker()
    errors: list[np.ndarray] = []
    times: list[float] = []
    missed: list[str] = []
    for index, row in enumerate(rows):
        path = root / row["image"]
        image = read_image(path)
        faces = detector.detect(Frame(image, DATASET, index, float(index), path=path))
        if len(faces) == 0:
            missed.append(row["image"])
            continue
        face = faces[pick_face(faces, image.shape[1], image.shape[0])]
        if not times:  # first call pays for XNNPACK's set-up; keep it out of the latency
            landmarker.landmarks(image, face.keypoints, face.xyxy)
        t0 = time.perf_counter()
        points, _ = landmarker.landmarks(image, face.keypoints, face.xyxy)
        times.append(time.perf_counter() - t0)
        truth = np.array([float(row[k]) for k in ("yaw_deg", "pitch_deg", "roll_deg")])
        errors.append(np.abs(head_pose(points)[0].astype(np.float64) - truth))
    err = np.array(errors).reshape(-1, 3)
    mae = err.mean(axis=0) if len(err) else np.full(3, np.nan)
    return {
        "dataset": DATASET,
        "n_images": len(rows),
        "n_evaluated": len(err),
        "n_missed": len(missed),
        "missed": missed,
        "mae_yaw": float(mae[0]),
        "mae_pitch": float(mae[1]),
        "mae_roll": float(mae[2]),
        "mae_mean": float(mae.mean()),
        "landmarks_ms_median": statistics.median(times) * 1000 if times else float("nan"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="first N protocol images only")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    res = evaluate(args.limit)
    print_table(
        [
            "images",
            "evaluated",
            "no face",
            "MAE yaw",
            "MAE pitch",
            "MAE roll",
            "MAE mean",
            "landmarks ms/face (median)",
        ],
        [
            [
                res["n_images"],
                res["n_evaluated"],
                res["n_missed"],
                res["mae_yaw"],
                res["mae_pitch"],
                res["mae_roll"],
                res["mae_mean"],
                res["landmarks_ms_median"],
            ]
        ],
    )
    if args.json is not None:
        args.json.write_text(json.dumps(res, indent=2) + "\n")


if __name__ == "__main__":
    main()
