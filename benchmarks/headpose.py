"""Head pose on AFLW2000-3D: MAE of yaw, pitch and roll through the whole pipeline, and the
share of tracked faces that get a pose on the demo clips.

Each image goes through YuNet (default config), the face nearest the image centre relative to
its size is kept (the images are face-centred crops that often show other faces at the edges),
then Face Mesh and ``head_pose``. Protocol: rows with any |angle| > 99 deg (``outside_99deg``)
are dropped, as in Hopenet/FSA-Net/6DRepNet. Images where YuNet finds no face are counted as
missed and reported, not silently dropped; the MAE is over the evaluated images.

Three rows: ``mesh`` (the images whose Face Mesh presence score passes
``analysis.min_landmark_score``, which the pipeline reads with the mesh), ``keypoints`` (the
5-keypoint fallback on every image, so its error is seen on frontal and profile faces alike)
and ``as used`` (each image's pose as the pipeline picks it: the mesh where it passes, else the
fallback; every image scored). ``--fit`` also fits the fallback's three ratios to these images
and scores them leaving each image out, against the canonical face's ratios the code uses.
``--coverage`` runs ``facetrack track`` on the demo clips and counts face rows with a pose.

    python -m benchmarks.headpose [--limit N] [--fit] [--coverage] [--json PATH]
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
from facetrack.analysis.keypoint_pose import keypoint_pose
from facetrack.analysis.landmarks import FaceMeshLandmarker
from facetrack.config import AnalysisConfig, DetectorConfig
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


def _mae(err: list[np.ndarray], name: str) -> dict[str, Any]:
    e = np.array(err).reshape(-1, 3)
    mae = e.mean(axis=0) if len(e) else np.full(3, np.nan)
    return {"path": name, "n": len(e), "mae_yaw": float(mae[0]), "mae_pitch": float(mae[1]),
            "mae_roll": float(mae[2]), "mae_mean": float(mae.mean())}


def evaluate(limit: int | None = None) -> dict[str, Any]:
    """Run the benchmark on the first ``limit`` protocol images (all when None).

    Returns the figures: ``n_images``, ``n_evaluated``, ``n_missed``, ``mae_yaw``,
    ``mae_pitch``, ``mae_roll``, ``mae_mean`` (degrees, the mesh on every evaluated image, as
    before the fallback existed), ``paths`` (one dict per row: ``mesh``, ``keypoints``, ``as
    used``) and ``landmarks_ms_median`` (Face Mesh per face, crop + model + mapping back).
    """
    root = data_root() / DATASET
    rows = load_rows(root)
    if limit is not None:
        rows = rows[:limit]
    detector = YuNetDetector(DetectorConfig())
    landmarker = FaceMeshLandmarker()
    bar = AnalysisConfig().min_landmark_score
    errors: dict[str, list[np.ndarray]] = {"all": [], "mesh": [], "keypoints": [], "as used": []}
    poses: list[dict[str, Any]] = []
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
        points, score = landmarker.landmarks(image, face.keypoints, face.xyxy)
        times.append(time.perf_counter() - t0)
        truth = np.array([float(row[k]) for k in ("yaw_deg", "pitch_deg", "roll_deg")])
        mesh_pose = head_pose(points)[0].astype(np.float64)
        keypoints = face.keypoints[0].astype(np.float64)
        fallback_pose = keypoint_pose(face.keypoints)[0].astype(np.float64)
        used = mesh_pose if float(score[0]) >= bar else fallback_pose
        poses.append({"image": row["image"], "truth": truth.tolist(), "used": used.tolist(),
                      "keypoints": keypoints.tolist(), "box": face.xyxy[0].tolist()})
        mesh, fallback = np.abs(mesh_pose - truth), np.abs(fallback_pose - truth)
        errors["all"].append(mesh)
        errors["keypoints"].append(fallback)
        if float(score[0]) >= bar:
            errors["mesh"].append(mesh)
        errors["as used"].append(mesh if float(score[0]) >= bar else fallback)
    overall = _mae(errors["all"], "all")
    return {
        "dataset": DATASET,
        "n_images": len(rows),
        "n_evaluated": overall["n"],
        "n_missed": len(missed),
        "missed": missed,
        "mae_yaw": overall["mae_yaw"],
        "mae_pitch": overall["mae_pitch"],
        "mae_roll": overall["mae_roll"],
        "mae_mean": overall["mae_mean"],
        "paths": [_mae(errors[k], k) for k in ("mesh", "keypoints", "as used")],
        "poses": poses,
        "landmarks_ms_median": statistics.median(times) * 1000 if times else float("nan"),
    }


def fit_ratios() -> dict[str, Any]:
    """The fallback's ratios fitted to the visible protocol images (least absolute error), and
    the MAE of each when every image is predicted by a fit that left it out."""
    from scipy.optimize import minimize

    import facetrack.analysis.keypoint_pose as kp_pose

    root = data_root() / DATASET
    rows = load_rows(root)
    detector = YuNetDetector(DetectorConfig())
    kps, truths = [], []
    for index, row in enumerate(rows):
        image = read_image(root / row["image"])
        faces = detector.detect(Frame(image, DATASET, index, float(index)))
        if len(faces):
            kps.append(faces[pick_face(faces, image.shape[1], image.shape[0])].keypoints[0])
            truths.append([float(row[k]) for k in ("yaw_deg", "pitch_deg")])
    kp, truth = np.array(kps), np.array(truths)
    canonical = np.array([kp_pose.NOSE_DEPTH_PER_IOD, kp_pose.NOSE_HEIGHT,
                          kp_pose.NOSE_DEPTH_PER_EM])

    def predict(ratios: np.ndarray, rows_: np.ndarray) -> np.ndarray:
        saved = (kp_pose.NOSE_DEPTH_PER_IOD, kp_pose.NOSE_HEIGHT, kp_pose.NOSE_DEPTH_PER_EM)
        kp_pose.NOSE_DEPTH_PER_IOD, kp_pose.NOSE_HEIGHT, kp_pose.NOSE_DEPTH_PER_EM = ratios
        try:
            return kp_pose.keypoint_pose(kp[rows_])[:, :2].astype(np.float64)
        finally:
            kp_pose.NOSE_DEPTH_PER_IOD, kp_pose.NOSE_HEIGHT, kp_pose.NOSE_DEPTH_PER_EM = saved

    def fit(rows_: np.ndarray) -> np.ndarray:
        def loss(r: np.ndarray) -> float:
            return float(np.abs(predict(r, rows_) - truth[rows_]).mean())
        return np.asarray(minimize(loss, canonical, method="Nelder-Mead").x)

    everything = np.arange(len(kp))
    fitted = fit(everything)
    left_out = np.array([np.abs(predict(fit(np.delete(everything, i)), np.array([i]))[0]
                                - truth[i]) for i in everything])
    canon = np.abs(predict(canonical, everything) - truth)
    return {"canonical": canonical.tolist(), "fitted": fitted.tolist(),
            "canonical_mae_yaw_pitch": canon.mean(axis=0).tolist(),
            "left_out_mae_yaw_pitch": left_out.mean(axis=0).tolist()}


def box_per_eye_distance(poses: list[dict[str, Any]], max_deg: float = 15.0
                         ) -> tuple[int, float]:
    """YuNet's box height over the distance between its two eye keypoints, median over the
    frontal images (|yaw| and |pitch| within ``max_deg``): what ``analytics.camera.
    face_height_m`` is derived from (x 63 mm, adults' mean eye distance)."""
    ratios = [(p["box"][3] - p["box"][1])
              / float(np.linalg.norm(np.subtract(p["keypoints"][1], p["keypoints"][0])))
              for p in poses if abs(p["truth"][0]) <= max_deg and abs(p["truth"][1]) <= max_deg]
    return len(ratios), float(np.median(ratios)) if ratios else float("nan")


def coverage() -> list[dict[str, Any]]:
    """Share of the face rows ``facetrack track`` writes with a head pose, per demo clip, and
    how many came from each source."""
    import tempfile

    from facetrack.pipeline.jobs import track_file

    out = []
    for clip in ("short_hamilton_clip.mp4", "crowd_walking.mp4"):
        with tempfile.TemporaryDirectory() as tmp:
            track_file(data_root() / "demo_videos" / "videos" / clip, tmp)
            lines = (Path(tmp) / "faces.jsonl").read_text().splitlines()
        faces = [f for line in lines for f in json.loads(line)["faces"]]
        sources = [f["pose_source"] for f in faces]
        out.append({"clip": clip, "rows": len(faces),
                    "with_pose": sum(s is not None for s in sources) / max(len(faces), 1),
                    "mesh": sources.count("mesh"), "keypoints": sources.count("keypoints")})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="first N protocol images only")
    parser.add_argument("--fit", action="store_true",
                        help="also fit the fallback's ratios and score them left-out")
    parser.add_argument("--coverage", action="store_true",
                        help="also count face rows with a pose on the demo clips")
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
    print_table(["path", "images", "MAE yaw", "MAE pitch", "MAE roll", "MAE mean"],
                [[p["path"], p["n"], p["mae_yaw"], p["mae_pitch"], p["mae_roll"], p["mae_mean"]]
                 for p in res["paths"]])
    if args.fit:
        res["fit"] = fit_ratios()
        f = res["fit"]
        print_table(["ratios", "d/iod", "h", "D/em", "MAE yaw", "MAE pitch"],
                    [["canonical (used)", *f["canonical"], *f["canonical_mae_yaw_pitch"]],
                     ["fitted, left-out", *f["fitted"], *f["left_out_mae_yaw_pitch"]]])
        n, ratio = box_per_eye_distance(res["poses"])
        res["box_per_eye_distance"] = {"images": n, "median": ratio}
        print_table(["frontal images", "box height / eye distance (median)"], [[n, ratio]])
    if args.coverage:
        res["coverage"] = coverage()
        print_table(["clip", "face rows", "with a pose", "mesh", "keypoints"],
                    [[c["clip"], c["rows"], c["with_pose"], c["mesh"], c["keypoints"]]
                     for c in res["coverage"]])
    if args.json is not None:
        args.json.write_text(json.dumps(res, indent=2) + "\n")


if __name__ == "__main__":
    main()
