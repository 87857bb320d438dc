from __future__ import annotations

import math

import numpy as np

from facetrack.recognition.reid import IdentityVote, ReidSchedule, unit_mean


def embedded_frames(s: ReidSchedule, frames: int, person: int = 7, quality: float = 0.5,
                    cap: int = 8) -> list[int]:
    out = []
    for f in range(frames):
        if s.due(f, quality):
            s.record(f, person, quality, cap)
            out.append(f)
    return out


def test_intervals_double_up_to_the_cap() -> None:
    s = ReidSchedule()
    assert embedded_frames(s, 40) == [0, 1, 3, 7, 15, 23, 31, 39]


def test_changed_match_resets_the_interval() -> None:
    s = ReidSchedule()
    embedded_frames(s, 16)  # at the cap by now
    assert s.due(23, 0.5)
    s.record(23, person_id=3, quality=0.5, max_interval=8)  # a different answer
    assert s.due(24, 0.5)


def test_quality_jump_triggers_an_early_look() -> None:
    s = ReidSchedule()
    embedded_frames(s, 20, quality=0.2, cap=16)
    assert not s.due(20, 0.25)
    assert s.due(20, 0.6)


def test_far_fewer_embeddings_than_frames() -> None:
    s = ReidSchedule()
    assert len(embedded_frames(s, 1000, cap=32)) <= 1000 / 8


def test_vote_confirms_after_credence_and_resists_one_outlier() -> None:
    v = IdentityVote()
    v.add(5, 0.6, 0.5, 3)
    v.add(5, 0.62, 0.5, 3)
    assert v.identity() == (5, 0.62, False)
    v.add(5, 0.58, 0.5, 3)
    assert v.identity() == (5, 0.62, True)
    v.add(9, 0.45, 0.9, 3)  # one confident-looking outlier
    assert v.identity()[:2] == (5, 0.62)


def test_vote_switches_only_when_another_wins_the_vote_and_a_streak() -> None:
    v = IdentityVote()
    for _ in range(2):
        v.add(5, 0.6, 0.2, 2)
    for _ in range(2):
        v.add(9, 0.7, 0.1, 2)  # streak, but 5 still leads the weighted vote
    assert v.identity()[0] == 5
    for _ in range(3):
        v.add(9, 0.7, 0.3, 2)
    assert v.identity() == (9, 0.7, True)


def test_a_track_never_embedded_is_unknown() -> None:
    pid, sim, confirmed = IdentityVote().identity()
    assert pid == -1 and math.isnan(sim) and not confirmed


def test_unit_mean() -> None:
    assert unit_mean(np.zeros((0, 4))) is None
    np.testing.assert_allclose(unit_mean([[1, 0], [0, 1]]), [2**-0.5, 2**-0.5], rtol=1e-6)
    assert unit_mean([[1, 0], [-1, 0]]) is None  # they cancel
