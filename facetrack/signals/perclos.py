"""PERCLOS: the share of time the eyes were closed. The one definition facetrack uses, for
tracks.csv and for the monitor's ``drowsy`` event alike.

Time-weighted: each analysed sample holds until the next one, so irregular live frames (drops,
an fps cap) weigh by the time they stand for. A sample followed by a gap longer than
``max_gap_s`` (the face was not analysed: turned away, occluded, not seen) holds for one
``period_s`` only, so a gap never counts as open or as closed; so does a sample followed by
frames whose eyes could not be read (``pause``). The newest sample holds for one
``period_s``. On a file read frame by frame (every sample ``period_s`` after the last) this is
the share of analysed frames with eyes closed. The windowed value counts once the samples in the
window cover ``cover`` of it; before that it is None.
"""

from __future__ import annotations

from collections import deque


class Perclos:
    def __init__(self, window_s: float, period_s: float, max_gap_s: float,
                 cover: float = 0.8) -> None:
        self.window_s, self.period_s, self.max_gap_s = window_s, period_s, max_gap_s
        self.cover = cover
        self._samples: deque[list[float]] = deque()  # [t, closed (0/1), hold]
        self._win_closed = self._win_total = 0.0
        self._all_closed = self._all_total = 0.0
        self.max_value: float | None = None
        self._paused = False

    def pause(self) -> None:
        """The eyes could not be read: the last sample does not stretch to the next one."""
        self._paused = True

    def add(self, t: float, closed: bool) -> None:
        if self._samples and not self._paused:
            prev = self._samples[-1]
            dt = t - prev[0]
            hold = dt if 0.0 <= dt <= self.max_gap_s else self.period_s
            change = hold - prev[2]
            prev[2] = hold
            self._win_total += change
            self._all_total += change
            if prev[1]:
                self._win_closed += change
                self._all_closed += change
        self._paused = False
        c = 1.0 if closed else 0.0
        self._samples.append([t, c, self.period_s])
        self._win_total += self.period_s
        self._all_total += self.period_s
        self._win_closed += c * self.period_s
        self._all_closed += c * self.period_s
        while self._samples and self._samples[0][0] <= t - self.window_s:
            _, old_c, old_hold = self._samples.popleft()
            self._win_total -= old_hold
            self._win_closed -= old_c * old_hold
        value = self.value
        if value is not None:
            self.max_value = value if self.max_value is None else max(self.max_value, value)

    @property
    def value(self) -> float | None:
        """PERCLOS over the last ``window_s`` (None until covered)."""
        if self._win_total < self.cover * self.window_s - 1e-9 or self._win_total <= 0:
            return None
        return min(1.0, max(0.0, self._win_closed / self._win_total))

    @property
    def track_times(self) -> tuple[float, float]:
        """(closed, total) seconds over every sample so far."""
        return self._all_closed, self._all_total

    @property
    def track_value(self) -> float | None:
        """PERCLOS over every sample so far (None without samples)."""
        return closed_share(self._all_closed, self._all_total)


def closed_share(closed_s: float, total_s: float) -> float | None:
    """PERCLOS from summed times: closed over total (None without any time)."""
    if total_s <= 0:
        return None
    return min(1.0, max(0.0, closed_s / total_s))
