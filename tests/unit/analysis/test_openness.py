"""The per-track eye levels and the two eye states (analysis/openness.py), on scripted lid
ratios."""

from __future__ import annotations

import itertools

import numpy as np

from facetrack.analysis.openness import EyeLevels

PRIOR = 0.3
THRESHOLDS = (0.5, 0.4)  # closing, closed
BOTH = (True, True)


def feed(levels: EyeLevels, ratios: list[float], t0: float = 0.0, fps: float = 30.0,
         seen: tuple[bool, bool] = BOTH) -> list:
    return [levels.step(t0 + i / fps, (r, r), seen, PRIOR, THRESHOLDS)
            for i, r in enumerate(ratios)]


def blink(depth: float, open_ratio: float = 0.3) -> list[float]:
    """A lid movement down to ``depth`` x the open ratio and back, 9 frames."""
    shape = [0.8, 0.6, 0.4, 1.0, 1.0, 1.0, 0.5, 0.7, 0.9]
    return [open_ratio * (1 - (1 - depth) * min(1.0, s)) for s in shape]


def test_open_eyes_read_open_and_a_blink_is_one_movement() -> None:
    levels = EyeLevels()
    states = feed(levels, [0.3] * 60)
    assert all(s.openness.min() > 0.9 and not s.closing for s in states[5:])
    states = feed(levels, [0.3, 0.22, 0.12, 0.05, 0.05, 0.23, 0.26, 0.3], t0=2.0)
    closing = [s.closing for s in states]
    assert closing == [False, True, True, True, True, True, False, False]
    assert [s.closed for s in states] == [False, False, True, True, True, False, False, False]


def test_hysteresis_keeps_a_hovering_reopening_as_one_movement() -> None:
    """Openness 0.45 -> 0.55 -> 0.45: below the closing threshold, then above it but under the
    release (0.6), then below again: one movement."""
    levels = EyeLevels()
    feed(levels, [0.3] * 60)
    low = levels.closed_level()
    ratio = [0.3 * (low + o * (1 - low)) for o in (0.3, 0.45, 0.55, 0.45, 0.9)]
    states = feed(levels, ratio, t0=2.0)
    assert [s.closing for s in states] == [True, True, True, True, False]


def test_glasses_closed_level_is_learnt_from_the_persons_own_blinks() -> None:
    """A closed eye behind glasses keeps 60% of its open ratio: after a few blinks the closed
    level moves from the prior (0.5) to 0.6, and such a closure reads fully closed."""
    levels = EyeLevels()
    feed(levels, [0.3] * 60)
    t = 2.0
    for _ in range(6):
        feed(levels, blink(0.6) + [0.3] * 20, t0=t)
        t += 1.0
    assert abs(levels.closed_level() - 0.6) < 0.03
    states = feed(levels, [0.3 * 0.6] * 5, t0=t)
    assert all(s.closed for s in states[1:])


def test_a_long_closure_stays_closed_and_does_not_become_the_open_level() -> None:
    """Eyes shut for 2 minutes (longer than the open level's 60 s window) stay closed."""
    levels = EyeLevels()
    feed(levels, [0.3] * 300)  # 10 s open
    states = feed(levels, [0.03] * 3600, t0=10.0)  # 120 s closed
    assert all(s.closed for s in states)
    assert min(levels.open_levels(PRIOR)) > 0.29


def test_noisy_open_eyes_do_not_ratchet_the_closed_level() -> None:
    """10 minutes of open eyes with 8% noise on the ratio and a real blink every 4 s: the
    closed level stays where the blinks put it, and in the last 5 minutes the open frames
    between blinks are never read closed, and the movements are the blinks."""
    rng = np.random.default_rng(0)
    levels = EyeLevels()
    open_states, movements = [], 0
    for second in range(0, 600, 4):
        noisy = list(0.3 * (1 + 0.08 * rng.standard_normal(111)))
        states = feed(levels, noisy + blink(0.2), t0=float(second))
        if second >= 300:
            open_states += states[10:111]  # clear of the blinks on either side
            movements += sum(1 for a, b in itertools.pairwise(states)
                             if b.closing and not a.closing)
    assert levels.closed_level() < 0.4
    assert not any(s.closed for s in open_states)
    assert sum(s.closing for s in open_states) / len(open_states) < 0.01
    assert movements <= 1.1 * 75  # 75 blinks in the last 5 minutes


def test_a_narrow_eyed_person_reads_open_from_the_first_frame() -> None:
    levels = EyeLevels()
    states = feed(levels, [0.17] * 30)
    assert not any(s.closing for s in states)


def test_eyes_unreadable_for_a_few_frames_do_not_end_a_closure() -> None:
    """A 3 s closure where every 4th frame cannot be read: one movement, closed throughout."""
    levels = EyeLevels()
    feed(levels, [0.3] * 60)
    states = [levels.step(2.0 + i / 30, (0.03, 0.03), (i % 4 != 3,) * 2, PRIOR, THRESHOLDS)
              for i in range(90)]
    read = [s for s in states if s.visible]
    assert all(s.closing and s.closed for s in read)
    assert levels.closing
    assert levels.closed_level() == 0.5  # one movement, still open: nothing learnt yet


def test_unreadable_eyes_are_uncertain_not_open() -> None:
    levels = EyeLevels()
    feed(levels, [0.3] * 30)
    state = feed(levels, [0.3], seen=(False, False))[0]
    assert not state.visible and not state.closing and not state.closed
    assert np.isnan(state.openness).all()


def test_one_readable_eye_decides_alone() -> None:
    levels = EyeLevels()
    feed(levels, [0.3] * 30)
    state = levels.step(1.0, (np.nan, 0.03), (False, True), PRIOR, THRESHOLDS)
    assert state.visible and state.closed
    assert np.isnan(state.openness[0]) and state.openness[1] == 0.0


def test_a_movement_before_the_open_level_settles_does_not_teach_the_closed_level() -> None:
    levels = EyeLevels()
    feed(levels, [0.3, 0.1, 0.05, 0.05, 0.3, 0.3])
    assert levels.closed_level() == 0.5
