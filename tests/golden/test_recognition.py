"""Golden figures of tracking with recognition on synth03 (the CI-sized part of
``python -m benchmarks.recognition_tracking``; docs/benchmarks.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks import recognition_tracking

KNOWN_RIGHT = 0.944  # share of known actors' rows labelled with the right person
IDF1_IDENTITY = 0.985
TOLERANCE = 0.03
UNKNOWN_WRONG_MAX = 0.01  # the target


@pytest.mark.data
@pytest.mark.slow
def test_recognition_tracking_golden(data_dir: Path) -> None:
    result = recognition_tracking.evaluate(["synth03"], every_frame=False)
    a = result["sequences"]["synth03"]["adaptive"]
    assert a["known_right"] >= KNOWN_RIGHT - TOLERANCE, a
    assert a["unknown_wrong"] <= UNKNOWN_WRONG_MAX, a
    assert a["idf1_identity"] >= IDF1_IDENTITY - TOLERANCE, a
    # adaptive re-id: far fewer embeddings than faces seen (3 actors, 250 frames)
    assert a["embeddings"] <= 660 / 8, a
