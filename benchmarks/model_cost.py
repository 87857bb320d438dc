"""What the analysis costs per face: each model's time per call (batch 1 to 8), and the analysis
of synth04's frames on one and on two threads (results identical), on this machine.

    python -m benchmarks.model_cost [--frames 200]

The floor in docs/benchmarks.md ("Speed") comes from these figures.
"""

from __future__ import annotations

import argparse
import time
from contextlib import ExitStack

import numpy as np

from benchmarks._common import data_root, print_table


def per_call(name: str, batch: int, calls: int = 200) -> float:
    """Milliseconds per face of the packaged model ``name`` at batch size ``batch``."""
    from ai_edge_litert.interpreter import Interpreter

    from facetrack import models

    net = Interpreter(model_path=str(models.locate(name)), num_threads=1)
    inp = net.get_input_details()[0]
    shape = [batch, *list(inp["shape"])[1:]]
    net.resize_tensor_input(inp["index"], shape)
    net.allocate_tensors()
    x = np.random.default_rng(0).random(shape, np.float32)
    net.set_tensor(inp["index"], x)
    net.invoke()
    n = max(20, calls // batch)
    t0 = time.perf_counter()
    for _ in range(n):
        net.set_tensor(inp["index"], x)
        net.invoke()
    return 1000 * (time.perf_counter() - t0) / n / batch


def analysis_ms(frames: int) -> list[list[object]]:
    """ms per frame of ``FaceAnalyzer.analyze`` over synth04's first ``frames`` frames."""
    from facetrack.pipeline import FaceTracker
    from facetrack.results import FrameResult
    from facetrack.sources import open_source

    tracker = FaceTracker()
    rows: list[list[object]] = []
    with ExitStack() as stack, open_source(
            data_root() / "synth_tracks" / "synth04" / "video.mp4") as src:
        pipe = tracker.pipeline(src.info, stack)
        detect, track, analyzer = (pipe.steps[0].stages[0], pipe.steps[1].stages[0],
                                   pipe.steps[1].stages[1])
        results = []
        for frame in list(src)[:frames]:
            results.append(track.process(detect.process(FrameResult(frame))))
        faces = sum(len(r.faces) for r in results)
        for threads in (1, 2):
            analyzer.set_threads(threads)
            analyzer.process(results[0])  # models of the second thread load here
            t0 = time.perf_counter()
            for r in results:
                analyzer.analyze(r.frame, r.faces, {})
            ms = 1000 * (time.perf_counter() - t0) / len(results)
            rows.append([threads, len(results), faces / len(results), ms])
        analyzer.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=200)
    args = parser.parse_args()
    print_table(["model", "batch", "ms per face"],
                [[m, b, per_call(m, b)] for m in ("face_mesh", "iris") for b in (1, 2, 4, 8)])
    print_table(["analysis threads", "synth04 frames", "faces per frame", "ms per frame"],
                analysis_ms(args.frames))


if __name__ == "__main__":
    main()
