"""Golden multi-face tracking figures on two synth_tracks sequences (the CI-sized part of
``python -m benchmarks.tracking``). Fails when MOTA or IDF1 drop beyond the tolerance, or when
facetrack stops beating the ByteTrack peer on the same detections."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks import tracking

# measured with `python -m benchmarks.tracking` (docs/benchmarks.md)
GOLDEN = {  # sequence: (MOTA, IDF1, ID switches)
    "synth01": (0.958, 0.869, 1),
    "synth03": (0.971, 0.985, 0),
}
TOLERANCE = 0.02  # absolute, for MOTA and IDF1 (OpenCV / x264 build differences)
SWITCH_TOLERANCE = 1


@pytest.mark.data
def test_tracking_golden(data_dir: Path) -> None:
    result = tracking.evaluate(list(GOLDEN))
    for seq, (mota, idf1, switches) in GOLDEN.items():
        ours = result["sequences"][seq]["facetrack"]
        peers = [result["sequences"][seq][name] for name in (tracking.PEER, tracking.PEER_ALL)]
        assert ours["mota"] >= mota - TOLERANCE, (seq, ours)
        assert ours["idf1"] >= idf1 - TOLERANCE, (seq, ours)
        assert ours["num_switches"] <= switches + SWITCH_TOLERANCE, (seq, ours)
        assert all(ours["idf1"] > p["idf1"] for p in peers), (seq, ours, peers)
