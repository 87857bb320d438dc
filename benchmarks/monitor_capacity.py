"""How many 720p cameras at 10 fps one machine sustains with analysis on, without drops.

    python -m benchmarks.monitor_capacity [--cameras 1 2 4 6] [--seconds 60] [--fps-cap 10]

For each N of ``--cameras``: N cameras, each a 1280x720 synth_tracks clip played in a loop
at its native 25 fps (decoded like a camera stream), processed at ``--fps-cap`` by one
``Monitor`` with every stage (detect, track, landmarks, head pose, eye and attention signals,
events). Per N: frames processed per second per camera (median over cameras), the share of
accepted frames dropped because processing fell behind, and the process CPU use. A camera count
is *sustained* when every camera processes >= 95% of the cap and drops < 1%.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks._common import data_root, print_table
from facetrack.service import Monitor, MonitorConfig


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cameras", type=int, nargs="+", default=[1, 2, 4, 6])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--fps-cap", type=float, default=10.0)
    args = parser.parse_args()
    root = data_root() / "synth_tracks"
    rows = []
    for n in args.cameras:
        tmp = Path(tempfile.mkdtemp(prefix="facetrack-capacity-"))
        cfg = MonitorConfig.model_validate({
            "store": {"events_db": str(tmp / "events.db"), "events_jsonl": None},
            "metrics": {"log_every_s": 3600},
            "cameras": [{"name": f"cam{i}", "source": str(root / f"synth0{i % 4 + 1}" /
                                                           "video.mp4"),
                         "loop": True, "fps_cap": args.fps_cap} for i in range(n)],
        })
        mon = Monitor(cfg)
        cpu0, t0 = os.times(), time.monotonic()
        counters = mon.run(duration_s=args.seconds)
        cpu1, wall = os.times(), time.monotonic() - t0
        cpu = (cpu1.user - cpu0.user + cpu1.system - cpu0.system) / wall
        fps = [c.processed / args.seconds for c in counters.values()]
        drop = [c.live.dropped / max(c.live.dropped + c.processed, 1)
                for c in counters.values()]
        ok = min(fps) >= 0.95 * args.fps_cap and max(drop) < 0.01
        rows.append([n, statistics.median(fps), min(fps), f"{max(drop):.1%}",
                     f"{cpu:.2f}", "yes" if ok else "no"])
        print(f"measured {n} camera(s)", flush=True)
    print_table(["cameras", "fps/camera (median)", "fps/camera (min)", "dropped (max)",
                 "CPU cores used", "sustained"], rows)


if __name__ == "__main__":
    main()
