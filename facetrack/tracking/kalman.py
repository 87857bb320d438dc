from __future__ import annotations

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]

_POS_STD = 1.0 / 20.0
_VEL_STD = 1.0 / 160.0


class BoxKalman:
    """Constant-velocity Kalman filter over a box (cx, cy, w, h) and its velocity.

    Noise scales with the box height, as in DeepSORT/ByteTrack, so a small far face and a large
    near face are equally trusted relative to their size. ``predict(dt)`` takes the number of
    frames elapsed, so skipped frames widen the uncertainty instead of being ignored.
    """

    def __init__(self, cxcywh: npt.ArrayLike) -> None:
        z = np.asarray(cxcywh, np.float64).reshape(4)
        self.x: Array = np.concatenate([z, np.zeros(4)])
        h = max(z[3], 1.0)
        std = np.array([2 * _POS_STD * h] * 4 + [10 * _VEL_STD * h] * 4)
        self.P: Array = np.diag(std**2)

    def predict(self, dt: float = 1.0, motion: float | None = None) -> Array:
        """Advance ``dt`` frames. ``motion`` (default ``dt``) is how many frames of velocity to
        apply: less than ``dt`` damps the extrapolation of a face that is not being seen."""
        f = np.eye(8)
        f[:4, 4:] = np.eye(4) * (dt if motion is None else motion)
        h = max(self.x[3], 1.0)
        q = np.array([_POS_STD * h] * 4 + [_VEL_STD * h] * 4) ** 2 * dt
        self.x = f @ self.x
        self.x[2:4] = np.maximum(self.x[2:4], 1.0)
        self.P = f @ self.P @ f.T + np.diag(q)
        return self.x[:4].copy()

    def update(self, cxcywh: npt.ArrayLike) -> Array:
        z = np.asarray(cxcywh, np.float64).reshape(4)
        h = max(self.x[3], 1.0)
        r = np.diag(np.array([_POS_STD * h] * 4) ** 2)
        hm = np.zeros((4, 8))
        hm[:, :4] = np.eye(4)
        s = hm @ self.P @ hm.T + r
        k = np.linalg.solve(s, hm @ self.P).T
        self.x = self.x + k @ (z - hm @ self.x)
        self.P = (np.eye(8) - k @ hm) @ self.P
        return self.x[:4].copy()

    @property
    def box(self) -> Array:
        return self.x[:4].copy()
