"""Speed and memory in file mode: decode-only fps, full-pipeline fps (detect, track, Face Mesh,
signals, summaries and faces.jsonl), their ratio, peak RSS, and the peer loop (decode + YuNet at
640 + supervision's ByteTrack, no analysis), run back to back in one session. The full pipeline
runs several ways (``--modes``, default all), to show what each speed-up buys: ``full-1`` with
one analysis thread (as before ``runtime.analysis_threads``), ``full`` with the defaults,
``follow`` with the defaults plus ``tracking.detect_interval: 5`` (faces followed from their
landmarks between detections), ``rate10`` and ``rate15`` with ``analysis.face_rate_hz`` 10 and
15 (each face read at most that often).

    python -m benchmarks.speed [--runs 3] [--modes MODE ...] [--inputs PATH ...]
        [--json out.json]

Each measurement runs in a fresh subprocess (so peak RSS is that mode's own) and is repeated
``--runs`` times; the table shows medians. The machine is shared, so compare ratios.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks._common import SYNTH_SEQUENCES, data_root, print_table

#: the config of each full-pipeline mode
CONFIGS: dict[str, dict[str, Any]] = {
    "full-1": {"runtime": {"analysis_threads": 1}},
    "full": {},
    "follow": {"tracking": {"detect_interval": 5}},
    "rate10": {"analysis": {"face_rate_hz": 10}},
    "rate15": {"analysis": {"face_rate_hz": 15}},
}
MODES = ("decode", "peer", *CONFIGS)


def _one(mode: str, path: Path) -> dict[str, Any]:
    """Run one mode over one input in this process and report frames, seconds, peak RSS."""
    frames = 0
    t0 = time.perf_counter()
    if mode == "decode":
        from facetrack.sources import open_source

        with open_source(path) as src:
            for _ in src:
                frames += 1
    elif mode in CONFIGS:
        from facetrack.config import TrackerConfig
        from facetrack.pipeline import FaceTracker
        from facetrack.sinks import JsonlWriter, TracksTable

        tracker = FaceTracker(TrackerConfig.model_validate(CONFIGS[mode]))
        t0 = time.perf_counter()  # model loading is not per-frame work
        with tempfile.TemporaryDirectory() as tmp, tracker.open(path) as (info, results), \
                JsonlWriter(Path(tmp) / "faces.jsonl") as sink:
            table = TracksTable(None, info.fps)
            for result in results:
                table.consume(result)
                sink.consume(result)
                frames += 1
            table.summaries()
    elif mode == "peer":
        import numpy as np
        import supervision as sv

        from facetrack.config import DetectorConfig
        from facetrack.detection.yunet import YuNetDetector
        from facetrack.sources import open_source

        det = YuNetDetector(DetectorConfig(score_threshold=0.6))
        bt = sv.ByteTrack(frame_rate=25)
        t0 = time.perf_counter()
        with open_source(path) as src:
            for frame in src:
                f = det.detect(frame)
                bt.update_with_detections(sv.Detections(
                    xyxy=f.xyxy, confidence=f.score, class_id=np.zeros(len(f), int)))
                frames += 1
    else:
        raise SystemExit(f"unknown mode {mode}")
    seconds = time.perf_counter() - t0
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"frames": frames, "seconds": seconds, "fps": frames / seconds, "peak_rss_mb": rss_mb}


def measure(path: Path, mode: str, runs: int) -> dict[str, float]:
    fps, rss = [], []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-m", "benchmarks.speed", "--one", mode, str(path)],
            capture_output=True, text=True, check=True,
        )
        row = json.loads(out.stdout.strip().splitlines()[-1])
        fps.append(row["fps"])
        rss.append(row["peak_rss_mb"])
    return {"fps": statistics.median(fps), "peak_rss_mb": max(rss), "frames": row["frames"]}


def default_inputs() -> list[Path]:
    root = data_root()
    return [root / "synth_tracks" / s / "video.mp4" for s in SYNTH_SEQUENCES] + sorted(
        (root / "demo_videos" / "videos").glob("*.mp4")
    )


def evaluate(inputs: list[Path], runs: int = 3, modes: tuple[str, ...] = MODES
             ) -> dict[str, dict[str, dict[str, float]]]:
    return {str(p): {m: measure(p, m, runs) for m in modes} for p in inputs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--one", nargs=2, metavar=("MODE", "PATH"), help=argparse.SUPPRESS)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--inputs", nargs="+", type=Path)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--modes", nargs="+", choices=list(CONFIGS),
                        help="the full-pipeline modes to run (default: all)")
    args = parser.parse_args()
    if args.one:
        print(json.dumps(_one(args.one[0], Path(args.one[1]))))
        return
    import av

    inputs = args.inputs or default_inputs()
    modes = tuple(dict.fromkeys(("decode", "peer", *(args.modes or CONFIGS))))
    result = evaluate(inputs, args.runs, modes)
    full = [m for m in modes if m in CONFIGS]
    rows = []
    for path, m in result.items():
        with av.open(path) as c:
            s = c.streams.video[0]
            size = f"{s.codec_context.width}x{s.codec_context.height}"
        name = Path(path).parent.name if Path(path).name == "video.mp4" else Path(path).name
        peer, decode = m["peer"]["fps"], m["decode"]["fps"]
        rows.append([name, size, int(m["peer"]["frames"]), decode, peer,
                     *(m[k]["fps"] / peer for k in full), *(m[k]["fps"] / decode for k in full),
                     round(max(m[k]["peak_rss_mb"] for k in full))])
    print_table(["input", "size", "frames", "decode fps", "peer fps",
                 *(f"{k}/peer" for k in full), *(f"{k}/decode" for k in full),
                 "peak RSS MB"], rows)
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
