"""Golden eye figures on ZJU Eyeblink's shared split (all 48 clips, `python -m
benchmarks.eyeblink`): blinks, fully-closed frames and PERCLOS against the labels, and the
classic eye-aspect-ratio threshold peer on the same frames. Fails when facetrack drops under the
issue's targets or the measured figures beyond the tolerance, or stops beating the peer."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks import eyeblink

# measured with `python -m benchmarks.eyeblink` (docs/benchmarks.md)
GOLDEN = {"f1": 0.977, "closed_accuracy": 0.988, "perclos_mae": 0.019}
TOLERANCE = 0.015  # absolute (OpenCV / x264 / LiteRT build differences)
TARGET_F1, TARGET_F1_CONDITION, TARGET_PERCLOS_MAE = 0.95, 0.9, 0.02


@pytest.mark.data
def test_eyeblink_golden(data_dir: Path) -> None:
    scores = eyeblink.evaluate()
    ours = {cond: dict(zip(("blinks", "found", "false", "missed", "precision", "recall", "f1",
                            "closed_accuracy", "perclos_mae"), s.row(), strict=True))
            for cond, s in scores["facetrack"].items()}
    overall = ours["all"]
    assert overall["blinks"] == 152
    assert overall["f1"] >= max(TARGET_F1, GOLDEN["f1"] - TOLERANCE), overall
    assert overall["closed_accuracy"] >= GOLDEN["closed_accuracy"] - TOLERANCE, overall
    assert overall["perclos_mae"] <= min(TARGET_PERCLOS_MAE, GOLDEN["perclos_mae"] + TOLERANCE)
    for cond in eyeblink.CONDITIONS:
        assert ours[cond]["f1"] >= TARGET_F1_CONDITION, (cond, ours[cond])
    for peer, by in scores.items():
        if peer != "facetrack":
            f1 = by["all"].row()[6]
            assert overall["f1"] > f1 + 0.1, (peer, f1)
