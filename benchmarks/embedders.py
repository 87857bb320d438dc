"""Embedders compared on real faces: OpenCV's SFace (the default) and the same network as a
float32 ONNX file on onnxruntime (``recognition.embedder: onnx``, the path any ArcFace-style
model takes).

    python -m benchmarks.embedders [--faces 40] [--runs 5]

For the first ``--faces`` faces of deepface_pairs (detected by YuNet, aligned on 5 keypoints):
milliseconds per face (median of ``--runs`` passes, one thread each, alignment included) and
the cosine between each face's ONNX and OpenCV vectors (min and median).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from benchmarks._common import data_root, print_table
from facetrack.config import DetectorConfig, OnnxEmbedderConfig
from facetrack.detection.yunet import YuNetDetector
from facetrack.frames import Frame
from facetrack.recognition.convert import sface_to_float32
from facetrack.recognition.embedder import Embedder, OnnxEmbedder, SFaceEmbedder


def faces(n: int) -> list[tuple[np.ndarray, np.ndarray]]:
    detector = YuNetDetector(DetectorConfig())
    out = []
    for path in sorted((data_root() / "deepface_pairs" / "images").iterdir()):
        image = cv2.imread(str(path))
        if image is None:
            continue
        found = detector.detect(Frame(image, path.name, 0, 0.0))
        for kps in found.keypoints:
            out.append((image, kps[None]))
        if len(out) >= n:
            break
    return out[:n]


def per_face_ms(embedder: Embedder, items: list[tuple[np.ndarray, np.ndarray]], runs: int
                ) -> tuple[float, np.ndarray]:
    times = []
    vectors = np.zeros((0, embedder.dim), np.float32)
    for _ in range(runs):
        t0 = time.perf_counter()
        vectors = np.concatenate([embedder.embed(image, kps) for image, kps in items])
        times.append((time.perf_counter() - t0) / len(items) * 1000)
    return statistics.median(times), vectors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=int, default=40)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    cv2.setNumThreads(1)
    items = faces(args.faces)
    with tempfile.TemporaryDirectory() as tmp:
        model = sface_to_float32(Path(tmp) / "sface-float32.onnx")
        onnx = OnnxEmbedder(OnnxEmbedderConfig(model_path=model, mean=0.0, std=1.0,
                                               channels="rgb"))
        ms_cv, ref = per_face_ms(SFaceEmbedder(), items, args.runs)
        ms_onnx, vec = per_face_ms(onnx, items, args.runs)
    cos = np.sum(ref * vec, axis=1)
    print_table(["embedder", "faces", "ms / face (median)", "cosine to OpenCV SFace (min)",
                 "cosine (median)"], [
        ["SFace int8 on OpenCV (default)", len(items), ms_cv, "1", "1"],
        ["SFace float32 on onnxruntime (embedder: onnx)", len(items), ms_onnx,
         f"{cos.min():.6f}", f"{np.median(cos):.6f}"],
    ])


if __name__ == "__main__":
    main()
