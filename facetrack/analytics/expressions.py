"""Expression proxies from Face Mesh points: ``smile``, ``brow_raise``, ``jaw_open``.

These are geometric proxies, not emotions. Each is a distance on the face divided by the outer
eye-corner distance (so the face's size cancels), read on the track's own scale like eye
openness: 0 at the track's neutral (the 20th percentile of its last ``HISTORY`` readings; a
face is neutral more often than not), 1 at ``SPANS`` above it (a share of the neutral value).

- smile: mouth-corner distance (a smile widens the mouth; FACS AU12);
- brow_raise: mean brow-to-upper-lid distance (AU1+2);
- jaw_open: nose-tip-to-chin distance (AU26/27).

The spans come from facial anatomy (a broad smile widens the mouth by about a fifth), not from
labelled data: the shared data has no expression labels, so no accuracy is claimed for them.
Faces turned more than ``MAX_YAW_DEG`` or shorter than ``MIN_FACE_PX`` are not read
(foreshortening and jitter would pass for expression), and a smile must last ``MIN_SMILE_S``
once the track has its own neutral.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

#: Face Mesh indices: mouth corners, outer eye corners, brow middles over upper-lid middles,
#: nose tip and chin
MOUTH, EYES = (61, 291), (33, 263)
BROWS, LIDS = (105, 334), (159, 386)
NOSE, CHIN = 1, 152
#: how far above the track's neutral (a share of it) reads 1: smile, brow_raise, jaw_open
SPANS = np.array([0.15, 0.2, 0.2])
NEUTRAL_PERCENTILE = 20.0
HISTORY = 900
#: readings before the track's own neutral is used (until then: the lowest seen so far)
MIN_READINGS = 10
#: the neutral is recomputed every this many readings (a percentile per face per frame costs)
REFRESH = 15
MAX_YAW_DEG = 30.0
#: faces shorter than this (px) are not read: the mesh's mouth corners jitter by more than a
#: smile's widening on small faces
MIN_FACE_PX = 60.0
#: a smile is a run of at least this long (a single jittery frame is not one)
MIN_SMILE_S = 0.5


def raw_expressions(points: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """(n,3) raw ratios (mouth width, brow height, nose-chin) over the eye-corner distance for
    Face Mesh points (n,468,2|3)."""
    p = np.asarray(points, np.float64)[..., :2]

    def dist(a: int, b: int) -> npt.NDArray[np.float64]:
        return np.asarray(np.linalg.norm(p[:, a] - p[:, b], axis=-1))

    eyes = np.maximum(dist(*EYES), 1e-6)
    brow = (dist(BROWS[0], LIDS[0]) + dist(BROWS[1], LIDS[1])) / 2
    return np.stack([dist(*MOUTH), brow, dist(NOSE, CHIN)], axis=1) / eyes[:, None]


@dataclass
class ExpressionScale:
    """One track's neutral for each proxy, from its own readings."""

    history: deque[npt.NDArray[np.float64]] = field(
        default_factory=lambda: deque(maxlen=HISTORY))
    neutral: npt.NDArray[np.float64] | None = None
    readings: int = 0

    @property
    def settled(self) -> bool:
        """The track has its own neutral (before that no expression is claimed)."""
        return self.readings >= MIN_READINGS

    def read(self, raw: npt.NDArray[np.float64]) -> tuple[float, float, float]:
        self.history.append(raw)
        self.readings += 1
        if self.readings < MIN_READINGS:
            self.neutral = np.asarray(self.history).min(axis=0)
        elif self.readings == MIN_READINGS or self.readings % REFRESH == 0 or \
                self.neutral is None:
            self.neutral = self._percentile()  # settled from here: its own neutral
        neutral = self.neutral
        value = np.clip((raw / np.maximum(neutral, 1e-6) - 1.0) / SPANS, 0.0, 1.0)
        return float(value[0]), float(value[1]), float(value[2])

    def _percentile(self) -> npt.NDArray[np.float64]:
        return np.asarray(np.percentile(np.asarray(self.history), NEUTRAL_PERCENTILE, axis=0))
