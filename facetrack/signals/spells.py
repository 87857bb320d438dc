"""Spells: runs of samples during which a condition held (eyes closed, looking away, mouth
wide open). One definition for blinks, eye closures, yawns and distraction alike."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Spell:
    """A run of samples where a condition held.

    A spell seen from ``start`` to ``last`` lasts ``last - start + period``: a spell seen in k
    consecutive frames lasts k frame intervals. ``step`` returns the duration of a spell that
    just ended (the condition stopped holding); ``close`` ends an open spell (a gap in the
    samples, or the end of the track)."""

    period: float
    start: float | None = None
    last: float | None = None

    def step(self, active: bool, t: float) -> float | None:
        if active:
            if self.start is None:
                self.start = t
            self.last = t
            return None
        return self.close()

    @property
    def duration(self) -> float:
        """The open spell's duration so far (0 when none is open)."""
        if self.start is None or self.last is None:
            return 0.0
        return self.last - self.start + self.period

    def close(self) -> float | None:
        if self.start is None:
            return None
        duration = self.duration
        self.start = self.last = None
        return duration
