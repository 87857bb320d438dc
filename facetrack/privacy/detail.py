"""How much of a face's detail a picture still shows: the measure behind "a face left
recognisable" (docs/privacy.md, docs/benchmarks.md).

Both crops (the original face and the same box of the produced picture) are turned grey and
resized to 64x64, so every face is judged at one scale; their detail is what a Gaussian blur of
sigma 2 pixels removes (the band of eyes, nose and mouth at that size). The share retained is
the projection of the output's detail on the original's:

    retained = <D(out), D(orig)> / <D(orig), D(orig)>

1 for an untouched face, about 0 for a face blurred, pixelated or filled (the blocks' own edges
do not line up with the face's features), about the visible share for a half-covered face.
A face with ``retained > 0.5`` counts as left recognisable.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

SIZE, SIGMA = 64, 2.0
#: above this share of its detail retained, a face counts as left recognisable
RECOGNISABLE = 0.5


def _detail(crop: npt.NDArray[np.uint8]) -> npt.NDArray[np.float64]:
    grey = crop if crop.ndim == 2 else cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)
    x = cv2.resize(grey, (SIZE, SIZE), interpolation=cv2.INTER_AREA).astype(np.float64)
    return np.asarray(x - cv2.GaussianBlur(x, (0, 0), SIGMA), np.float64)


def retained(original: npt.NDArray[np.uint8], output: npt.NDArray[np.uint8],
             box: npt.ArrayLike) -> float | None:
    """Share of the face's detail in ``box`` (xyxy) that ``output`` still shows; None for a
    box too small to judge (under 8 pixels) or with no detail at all."""
    x1, y1, x2, y2 = (int(v) for v in np.rint(np.asarray(box, np.float64)))
    h, w = original.shape[:2]
    x1, y1, x2, y2 = max(0, x1), max(0, y1), min(w, x2), min(h, y2)
    if x2 - x1 < 8 or y2 - y1 < 8:
        return None
    d_orig = _detail(original[y1:y2, x1:x2])
    energy = float((d_orig * d_orig).sum())
    if energy <= 1e-6:
        return None
    return float((_detail(output[y1:y2, x1:x2]) * d_orig).sum()) / energy
