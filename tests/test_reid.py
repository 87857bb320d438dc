from __future__ import annotations

import math

import pytest

from facetrack.recognition.reid import IdentityVote, ReidScheduler


def embedded_frames(s: ReidScheduler, frames: int, person: int = 7, quality: float = 0.5
                    ) -> list[int]:
    out = []
    for f in range(frames):
        if s.due(1, f, quality):
            s.record(1, f, person, quality)
            out.append(f)
    return out


def test_intervals_double_up_to_the_cap() -> None:
    s = ReidScheduler(max_interval=8)
    assert embedded_frames(s, 40) == [0, 1, 3, 7, 15, 23, 31, 39]


def test_changed_match_resets_the_interval() -> None:
    s = ReidScheduler(max_interval=8)
    embedded_frames(s, 16)  # at the cap by now
    assert s.due(1, 23, 0.5)
    s.record(1, 23, person_id=3, quality=0.5)  # a different answer
    assert s.due(1, 24, 0.5)


def test_quality_jump_triggers_an_early_look() -> None:
    s = ReidScheduler(max_interval=16)
    embedded_frames(s, 20, quality=0.2)
    assert not s.due(1, 20, 0.25)
    assert s.due(1, 20, 0.6)


def test_far_fewer_embeddings_than_frames() -> None:
    s = ReidScheduler(max_interval=32)
    assert len(embedded_frames(s, 1000)) <= 1000 / 8


def test_vote_confirms_after_credence_and_resists_one_outlier() -> None:
    v = IdentityVote(credence_count=3)
    v.add(1, 5, 0.6, 0.5)
    v.add(1, 5, 0.62, 0.5)
    assert v.identity(1) == (5, 0.62, False)
    v.add(1, 5, 0.58, 0.5)
    assert v.identity(1) == (5, 0.62, True)
    v.add(1, 9, 0.45, 0.9)  # one confident-looking outlier
    assert v.identity(1)[:2] == (5, 0.62)


def test_vote_switches_only_when_another_wins_the_vote_and_a_streak() -> None:
    v = IdentityVote(credence_count=2)
    for _ in range(2):
        v.add(1, 5, 0.6, 0.2)
    for _ in range(2):
        v.add(1, 9, 0.7, 0.1)  # streak, but 5 still leads the weighted vote
    assert v.identity(1)[0] == 5
    for _ in range(3):
        v.add(1, 9, 0.7, 0.3)
    assert v.identity(1) == (9, 0.7, True)


def test_unknown_track() -> None:
    v = IdentityVote(credence_count=2)
    pid, sim, confirmed = v.identity(42)
    assert pid == -1 and math.isnan(sim) and not confirmed
    with pytest.raises(ValueError):
        ReidScheduler(0)
