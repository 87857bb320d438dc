"""The demo clip with its enrolment photos: who appears is found, the distractor never is."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks import demo_recognition


@pytest.mark.data
@pytest.mark.slow
def test_demo_clip_recognition(data_dir: Path) -> None:
    result = demo_recognition.evaluate()
    people = result["people"]
    assert not result["distractor_reported"]
    for name in ("lin-manuel-miranda", "alex-lacamoire", "obama"):
        assert people[name]["found"], (name, people[name])
    assert people["lin-manuel-miranda"]["frames"] >= 100
