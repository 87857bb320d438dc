"""``attention`` events: one ``start`` when a look at a target starts counting, one ``end`` when
it is over (or its track ended), paired by the look's start."""

from __future__ import annotations

from facetrack.rules.attention import AttentionRule
from facetrack.rules.base import Now, RuleMemory
from facetrack.tracks import TargetLooks, TrackAudience, TrackSnapshot


def snap(looks: tuple, is_open: bool, state: str = "active") -> TrackSnapshot:
    return TrackSnapshot(1, state, 0, 0.0, 0, 1.0, 10,  # type: ignore[arg-type]
                         audience=TrackAudience(targets={"screen": TargetLooks(
                             looks, is_open, None, is_open)}))


def test_a_look_gives_one_start_and_one_end() -> None:
    rule, memory = AttentionRule(), RuleMemory()
    seen = []
    script = [((), False, 0.1), (((0.2, 0.5),), True, 0.5), (((0.2, 0.9),), True, 0.9),
              (((0.2, 1.1),), False, 1.2), (((0.2, 1.1),), False, 1.3)]
    for looks, is_open, t in script:
        seen += rule.evaluate(snap(looks, is_open), memory, Now("cam", 0, t, "w"))
    assert [(e.state, e.start_s) for e in seen] == [("start", 0.2), ("end", 0.2)]  # type: ignore[attr-defined]
    assert abs(seen[1].duration_s - 0.9) < 1e-9  # type: ignore[attr-defined]


def test_a_new_look_right_after_ends_the_old_one_first() -> None:
    rule, memory = AttentionRule(), RuleMemory()
    rule.evaluate(snap(((0.0, 0.4),), True), memory, Now("cam", 0, 0.4, "w"))
    events = rule.evaluate(snap(((0.0, 0.4), (0.6, 1.0)), True), memory, Now("cam", 0, 1.0, "w"))
    assert [(e.state, e.start_s) for e in events] == [("end", 0.0), ("start", 0.6)]  # type: ignore[attr-defined]


def test_the_end_of_the_track_ends_its_look() -> None:
    rule, memory = AttentionRule(), RuleMemory()
    rule.evaluate(snap(((0.0, 0.4),), True), memory, Now("cam", 0, 0.4, "w"))
    events = rule.evaluate(snap(((0.0, 0.8),), False, "ended"), memory, Now("cam", 0, 2.0, "w"))
    assert [e.state for e in events] == ["end"]  # type: ignore[attr-defined]
    assert rule.evaluate(snap((), False), RuleMemory(), Now("cam", 0, 0.0, "w")) == []
