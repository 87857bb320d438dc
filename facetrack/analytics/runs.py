"""``Runs``: the intervals during which a condition held for one track, kept as intervals.

One definition for looks at a target, presence, zone visits and smiles. A run seen from
``start`` to ``last`` lasts ``last - start + period`` (k frames in a row last k frame
intervals, as ``facetrack.signals.spells``). Frames in which the condition could not be judged
(the face not seen, no pose) neither extend nor end a run; a run ends when the condition is seen
false, or when nothing extended it for longer than ``max_gap_s``. A run shorter than ``min_s``
is dropped: a glance under ``analytics.min_glance_s`` is not attention.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

Interval = tuple[float, float]
#: durations are sums of frame times: k frames of 1/fps compare equal to k/fps
EPS = 1e-6


@dataclass
class Runs:
    period: float
    max_gap_s: float
    min_s: float = 0.0
    start: float | None = None
    last: float | None = None
    done: list[Interval] = field(default_factory=list)
    _frozen: tuple[Interval, ...] = ()

    def step(self, active: bool | None, t: float) -> None:
        """The condition at time ``t``: True, False, or None (not judged)."""
        if self.last is not None and t - self.last > self.max_gap_s:
            self.close()
        if active is None:
            return
        if active:
            if self.start is None:
                self.start = t
            self.last = t
        else:
            self.close()

    @property
    def open(self) -> bool:
        """A run is under way and has reached ``min_s``."""
        return self.start is not None and self.duration >= self.min_s - EPS

    @property
    def duration(self) -> float:
        if self.start is None or self.last is None:
            return 0.0
        return self.last - self.start + self.period

    def close(self) -> None:
        if self.start is not None and self.duration >= self.min_s - EPS:
            self.done.append((self.start, self.start + self.duration))
        self.start = self.last = None

    def intervals(self) -> tuple[Interval, ...]:
        """Every run so far, the one under way included once it reached ``min_s``."""
        if len(self._frozen) != len(self.done):
            self._frozen = tuple(self.done)
        if self.open:
            assert self.start is not None
            return (*self._frozen, (self.start, self.start + self.duration))
        return self._frozen


def total(intervals: Sequence[Interval]) -> float:
    return sum(b - a for a, b in intervals)


def clip(intervals: Sequence[Interval], lo: float, hi: float) -> list[Interval]:
    """The parts of ``intervals`` inside ``[lo, hi)``."""
    return [(max(a, lo), min(b, hi)) for a, b in intervals if b > lo and a < hi]


def intersect(a: Sequence[Interval], b: Sequence[Interval]) -> list[Interval]:
    """The parts of ``a`` also in ``b`` (each list sorted and non-overlapping)."""
    out, j = [], 0
    for lo, hi in a:
        while j < len(b) and b[j][1] <= lo:
            j += 1
        k = j
        while k < len(b) and b[k][0] < hi:
            s, e = max(lo, b[k][0]), min(hi, b[k][1])
            if e > s:
                out.append((s, e))
            k += 1
    return out
