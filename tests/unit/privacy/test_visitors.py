"""The visitor memory of pseudonymous mode: matching, visits, faces on screen together, the
salt and the forgetting, on hand-made unit vectors."""

from __future__ import annotations

import numpy as np
import pytest

from facetrack.privacy.visitors import VisitorMemory


def unit(seed: int, dim: int = 128, near: np.ndarray | None = None, noise: float = 0.0
         ) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal(dim)
    if near is not None:
        v = near + noise * v / np.linalg.norm(v)
    return (v / np.linalg.norm(v)).astype(np.float32)


def memory(gap_s: float = 60.0, memory_s: float = 3600.0) -> VisitorMemory:
    m = VisitorMemory(0.333, memory_s, gap_s)
    m.tick(0.0)
    return m


def test_the_same_face_is_the_same_visitor_and_a_different_one_is_new() -> None:
    m = memory()
    ann = unit(1)
    first = m.meet(ann, track_id=1, first_seen=0.0, now=5.0)
    first.active.discard(1)  # track 1 ended
    again = m.meet(unit(7, near=ann, noise=0.6), track_id=2, first_seen=200.0, now=205.0)
    assert again is first and again.visits == 2  # back after more than the gap
    other = m.meet(unit(2), track_id=3, first_seen=210.0, now=215.0)
    assert other is not first and other.visits == 1 and other.token != first.token
    assert len(m.visitors) == 2


def test_a_track_soon_after_continues_the_visit() -> None:
    m = memory(gap_s=60.0)
    ann = unit(1)
    v = m.meet(ann, 1, 0.0, 10.0)
    v.active.discard(1)
    assert m.meet(ann, 2, 40.0, 45.0) is v and v.visits == 1  # 30 s after: the same visit


def test_two_faces_on_screen_at_once_are_two_visitors() -> None:
    m = memory()
    twin = unit(1)
    a = m.meet(twin, 1, 0.0, 1.0)  # track 1 still on screen
    b = m.meet(twin, 2, 0.0, 1.0)
    assert a is not b


def test_the_memory_forgets_and_draws_a_new_salt() -> None:
    m = memory(memory_s=100.0)
    ann = unit(1)
    v = m.meet(ann, 1, 0.0, 1.0)
    salted = m.salted(ann)
    m.tick(99.0)
    assert m.visitors == [v]
    m.tick(100.0)
    assert m.visitors == [] and m.rotations == 2
    assert not np.allclose(m.salted(ann), salted)
    w = m.meet(ann, 2, 100.0, 101.0)
    assert w.visits == 1 and w.token != v.token


def test_the_clock_going_back_is_a_new_input_and_a_new_memory() -> None:
    m = memory()
    m.meet(unit(1), 1, 0.0, 50.0)
    m.tick(10.0)
    assert m.visitors == [] and m.rotations == 2


def test_salting_keeps_similarity_and_hides_the_vector() -> None:
    m = memory()
    a, b = unit(1), unit(2)
    sa, sb = m.salted(a), m.salted(b)
    assert float(sa @ sb) == pytest.approx(float(a @ b), abs=1e-5)
    assert abs(float(sa @ a)) < 0.4  # the held vector is not the face's vector
