"""Speed and memory guard (CI-sized): the full pipeline on one 640x480 synth sequence, in a
fresh process. Timing on a shared 2-core machine is noisy, so the bound is loose: it catches a
pipeline that stopped overlapping its stages or a hot-path regression, not a 10% drift. The
full table is `python -m benchmarks.speed` (docs/benchmarks.md)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

GOLDEN_FPS = 57.4  # synth03, median of 3 runs, docs/benchmarks.md
FPS_FLOOR = 0.4 * GOLDEN_FPS  # tolerance: a loaded CI machine can be 2x slower
RSS_CEILING_MB = 1536  # the 1.5 GiB


@pytest.mark.data
@pytest.mark.slow
def test_full_pipeline_speed_and_memory(data_dir: Path) -> None:
    video = data_dir / "synth_tracks" / "synth03" / "video.mp4"
    runs = []
    for _ in range(2):
        out = subprocess.run(
            [sys.executable, "-m", "benchmarks.speed", "--one", "full", str(video)],
            capture_output=True, text=True, check=True, timeout=300,
        )
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    assert all(r["frames"] == 250 for r in runs)
    assert max(r["fps"] for r in runs) >= FPS_FLOOR, runs
    assert max(r["peak_rss_mb"] for r in runs) <= RSS_CEILING_MB, runs
