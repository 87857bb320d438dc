"""How many 720p cameras at 10 fps one machine sustains with analysis on, without drops.

    python -m benchmarks.monitor_capacity [--cameras 1 2 4 6] [--seconds 60] [--fps-cap 10]
        [--runs 3] [--detect-interval N]

For each N of ``--cameras``: N cameras, each a 1280x720 synth_tracks clip played in a loop
at its native 25 fps (decoded like a camera stream), processed at ``--fps-cap`` by one
``Monitor`` with every stage (detect, track, landmarks, head pose, eye and attention signals,
events). Per N: frames processed per second per camera (median over cameras), the share of
accepted frames dropped because processing fell behind, and the process CPU use. A camera count
is *sustained* when every camera processes >= 95% of the cap and drops < 1%. Each N runs
``--runs`` times (the machine is shared: capacity is reported with its spread), and the latency
from each frame's capture to every event raised on it (p50/p99 over the runs) is measured
through the monitor's ``on_events`` hook. ``--detect-interval`` sets
``tracking.detect_interval`` (default 1: the detector on every frame).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks._common import data_root, print_table
from facetrack.events import Event
from facetrack.service import Monitor, MonitorConfig


def measure(n: int, args: argparse.Namespace) -> dict[str, Any]:
    """One run of ``n`` cameras: fps per camera, drops, CPU cores, event latencies."""
    root = data_root() / "synth_tracks"
    tmp = Path(tempfile.mkdtemp(prefix="facetrack-capacity-"))
    tracker: dict[str, Any] = {}
    if args.detect_interval is not None:
        tracker = {"tracking": {"detect_interval": args.detect_interval}}
    cfg = MonitorConfig.model_validate({
        "store": {"events_db": str(tmp / "events.db"), "events_jsonl": None},
        "metrics": {"log_every_s": 3600},
        "cameras": [{"name": f"cam{i}", "source": str(root / f"synth0{i % 4 + 1}" /
                                                       "video.mp4"),
                     "loop": True, "fps_cap": args.fps_cap, "tracker": tracker}
                    for i in range(n)],
    })
    latency: list[float] = []

    def on_events(events: list[Event]) -> None:
        now = time.monotonic()
        for e in events:
            latency.append(now - (mon.cameras[e.camera].source.started_at + e.timestamp))

    mon = Monitor(cfg, on_events=on_events)
    cpu0, t0 = os.times(), time.monotonic()
    counters = mon.run(duration_s=args.seconds)
    cpu1, wall = os.times(), time.monotonic() - t0
    fps = [c.processed / args.seconds for c in counters.values()]
    drop = [c.live.dropped / max(c.live.dropped + c.processed, 1) for c in counters.values()]
    return {"fps": fps, "drop": max(drop), "latency": latency,
            "cpu": (cpu1.user - cpu0.user + cpu1.system - cpu0.system) / wall,
            "ok": min(fps) >= 0.95 * args.fps_cap and max(drop) < 0.01}


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[round(q * 100) - 1] if len(values) > 1 else \
        float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cameras", type=int, nargs="+", default=[1, 2, 4, 6])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--fps-cap", type=float, default=10.0)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--detect-interval", type=int)
    args = parser.parse_args()
    rows = []
    for n in args.cameras:
        runs = [measure(n, args) for _ in range(args.runs)]
        lat = [v for r in runs for v in r["latency"]]
        rows.append([n, f"{sum(r['ok'] for r in runs)}/{len(runs)}",
                     statistics.median(v for r in runs for v in r["fps"]),
                     f"{min(min(r['fps']) for r in runs):.2f}-"
                     f"{max(min(r['fps']) for r in runs):.2f}",
                     f"{min(r['drop'] for r in runs):.1%}-{max(r['drop'] for r in runs):.1%}",
                     f"{min(r['cpu'] for r in runs):.2f}-{max(r['cpu'] for r in runs):.2f}",
                     1000 * pct(lat, 0.5), 1000 * pct(lat, 0.99)])
        print(f"measured {n} camera(s)", flush=True)
    print_table(["cameras", "runs sustained", "fps/camera (median)", "slowest camera fps",
                 "dropped (max)", "CPU cores used", "event latency p50 ms",
                 "event latency p99 ms"], rows)

if __name__ == "__main__":
    main()
