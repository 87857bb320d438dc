"""Eye openness on each person's own scale, and the two eye states read from it.

People's eyes differ, and so do glasses and viewpoints: a fully closed eye behind glasses or seen
from below keeps a lid ratio over half of its open value (ZJU Eyeblink). So each track learns two
levels, per eye where it can:

- **open**: the 90th percentile of the eye's lid ratio over the last ``OPEN_WINDOW_S`` of
  frames read outside a lid movement. A closure teaches nothing and ages nothing, so eyes held
  closed for an hour still read closed. While the track's first ``SETTLE_S`` of samples come
  in, the level is the widest ratio seen so far, but at least ``OPEN_FLOOR`` (0.7) x the eye
  reader's population prior: a narrow-eyed person reads open from their first frame, and eyes
  closed when the track starts still read closed;
- **closed**: the median depth of the track's last lid movements (the lowest ratio / open level
  reached in each), blended with ``CLOSED_PRIOR`` (worth ``CLOSED_PRIOR_WEIGHT`` movements).
  Only movements that reach ``CLOSED_LEARN_MAX`` or deeper, and start once the open level has
  settled, teach it, and it never rises above that: noise dips of an open eye cannot ratchet
  it up until open eyes read closed.

``openness`` = (ratio / open level - closed level) / (1 - closed level), clipped to 0..1: 1 is
this person's open eye, 0 their fully closed one. Two states follow from the mean openness of the
eyes seen with confidence (the mean of their ratios / open levels, then rescaled):

- **closing** (a lid movement: a blink or a longer closure) starts when openness falls below
  ``closing_threshold`` and ends when it is back above it by ``RELEASE`` (hysteresis, so a
  reopening eye that hovers at the threshold is one movement, not two);
- **closed** (fully closed, PERCLOS's state): closing and openness below ``closed_threshold``.

A frame whose eyes cannot be read leaves the state as it was; a movement ends when the eyes
were not read for more than ``GAP_S``. Chosen on ZJU Eyeblink's shared split
(docs/benchmarks.md), where the thresholds sit on a plateau (closing 0.45-0.55, release
0.1-0.15, closed 0.35-0.4 gave blink F1 0.98-0.99 in a replay of the per-frame ratios).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

OPEN_WINDOW_S = 60.0
OPEN_PERCENTILE = 90.0
SETTLE_S = 0.5
OPEN_FLOOR = 0.7
CLOSED_PRIOR = 0.5
CLOSED_PRIOR_WEIGHT = 2.0
CLOSED_LEARN_MAX = 0.7
CLOSED_MEMORY = 20  # lid movements whose depth is remembered
RELEASE = 0.1
GAP_S = 1.0

FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True)
class EyeState:
    """One face's eyes at one frame: ``openness (2,)`` (NaN for an eye not seen with
    confidence), ``visible`` (at least one eye was), ``closing`` and ``closed``."""

    openness: npt.NDArray[np.float64]
    visible: bool
    closing: bool
    closed: bool


class _OpenLevel:
    """The lid ratios of the last ``OPEN_WINDOW_S`` (times in order), kept in two arrays so
    the percentile is read without copying ~1,800 samples out of Python objects each frame."""

    def __init__(self) -> None:
        self._t = np.empty(64)
        self._r = np.empty(64)
        self._start = self._end = 0
        self.settled = False  # its samples once spanned SETTLE_S (for good)

    def add(self, t: float, ratio: float) -> None:
        if self._end == len(self._t):
            self._make_room()
        self._t[self._end], self._r[self._end] = t, ratio
        self._end += 1
        while self._t[self._start] <= t - OPEN_WINDOW_S:
            self._start += 1
        self.settled = self.settled or t - self._t[self._start] >= SETTLE_S

    def _make_room(self) -> None:
        n = self._end - self._start
        size = len(self._t) * 2 if n > len(self._t) // 2 else len(self._t)
        t, r = np.empty(size), np.empty(size)
        t[:n], r[:n] = self._t[self._start:self._end], self._r[self._start:self._end]
        self._t, self._r, self._start, self._end = t, r, 0, n

    def value(self, prior: float) -> float:
        ratios = self._r[self._start:self._end]
        if self.settled:
            return max(float(np.percentile(ratios, OPEN_PERCENTILE)), 1e-6)
        return max(float(ratios.max()) if len(ratios) else 0.0, OPEN_FLOOR * prior)


class EyeLevels:
    """A track's open and closed levels and its closing state (kept in the analyser's
    per-track ``FaceState``)."""

    def __init__(self) -> None:
        self._open = (_OpenLevel(), _OpenLevel())
        self._depths: deque[float] = deque(maxlen=CLOSED_MEMORY)
        self.closing = False
        self._deepest = np.inf
        self._learns = False  # the current movement started with a settled open level
        self._last_seen: float | None = None

    def open_levels(self, prior: float) -> tuple[float, float]:
        """The open lid ratio of each eye."""
        return self._open[0].value(prior), self._open[1].value(prior)

    def closed_level(self) -> float:
        n = len(self._depths)
        own = float(np.median(np.fromiter(self._depths, np.float64, n))) if n else 0.0
        level = (CLOSED_PRIOR_WEIGHT * CLOSED_PRIOR + n * own) / (CLOSED_PRIOR_WEIGHT + n)
        return min(level, CLOSED_LEARN_MAX)

    def step(self, t: float, lid: npt.ArrayLike, seen: npt.ArrayLike, prior: float,
             thresholds: tuple[float, float]) -> EyeState:
        """Fold one frame: ``lid (2,)`` ratios, ``seen (2,)`` which eyes are confident,
        ``thresholds`` (closing, closed)."""
        ratios, ok = np.asarray(lid, np.float64), np.asarray(seen, bool) & np.isfinite(lid)
        openness = np.full(2, np.nan)
        if not ok.any():
            return EyeState(openness, False, False, False)  # unread: the state holds
        if self._last_seen is not None and t - self._last_seen > GAP_S:
            self._end_movement()  # not read for too long: a movement does not span it
        self._last_seen = t
        rel = np.full(2, np.nan)
        for k in np.flatnonzero(ok):
            rel[k] = ratios[k] / self._open[k].value(prior)
        low = self.closed_level()
        span = max(1.0 - low, 1e-6)
        openness[ok] = np.clip((rel[ok] - low) / span, 0.0, 1.0)
        mean = min(max((float(rel[ok].mean()) - low) / span, 0.0), 1.0)
        closing_at, closed_at = thresholds
        now = mean < (closing_at + RELEASE if self.closing else closing_at)
        if now:
            if not self.closing:
                self._learns = any(o.settled for o in self._open)
            self._deepest = min(self._deepest, float(rel[ok].mean()))
            self.closing = True
        else:
            self._end_movement()
            for k in np.flatnonzero(ok):  # only eyes outside a movement teach the open level
                self._open[k].add(t, float(ratios[k]))
        return EyeState(openness, True, now, now and mean < closed_at)

    def _end_movement(self) -> None:
        if self.closing and self._learns and self._deepest <= CLOSED_LEARN_MAX:
            self._depths.append(self._deepest)
        self.closing, self._deepest = False, np.inf
