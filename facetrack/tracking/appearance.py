from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from facetrack.faces import Faces
from facetrack.frames import Frame

_BINS = (12, 8)  # hue x saturation
DIM = _BINS[0] * _BINS[1]


def colour_histogram(frame: Frame, faces: Faces) -> npt.NDArray[np.float32]:
    """Hue-saturation histogram of each face's inner box, square-rooted and L2-normalised, so the
    dot product of two descriptors is their Bhattacharyya coefficient (1 = same colours).

    It is a crude, brightness-tolerant appearance cue used only to keep two crossing faces apart
    and to resume a track after an occlusion. It is not an identity embedding: it lives in memory
    for the track's lifetime and is never written out.
    """
    out = np.zeros((len(faces), DIM), np.float32)
    h, w = frame.image.shape[:2]
    for i, (x1, y1, x2, y2) in enumerate(faces.xyxy):
        bw, bh = x2 - x1, y2 - y1
        xa, xb = int(max(0, x1 + 0.2 * bw)), int(min(w, x2 - 0.2 * bw))
        ya, yb = int(max(0, y1 + 0.2 * bh)), int(min(h, y2 - 0.15 * bh))
        if xb - xa < 2 or yb - ya < 2:
            continue
        crop = frame.image[ya:yb, xa:xb]
        if crop.shape[0] * crop.shape[1] > 48 * 48:
            crop = np.asarray(cv2.resize(crop, (48, 48), interpolation=cv2.INTER_AREA), np.uint8)
        hsv = cv2.cvtColor(crop, cv2.COLOR_BGR2HSV)
        hist = cv2.calcHist([hsv], [0, 1], None, list(_BINS), [0, 180, 0, 256]).ravel()
        hist = np.sqrt(hist / max(hist.sum(), 1.0))
        out[i] = hist / max(float(np.linalg.norm(hist)), 1e-6)
    return out
