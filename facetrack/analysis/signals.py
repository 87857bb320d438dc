"""Per-frame signals from Face Mesh points: eye aspect ratio, mouth opening, facing angle.

Indices are MediaPipe Face Mesh's 468-point topology. "Left" and "right" are the subject's.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]

# p1..p6 of the eye aspect ratio (Soukupova & Cech 2016): corners, then upper/lower lid pairs
LEFT_EYE = (362, 385, 387, 263, 373, 380)
RIGHT_EYE = (33, 160, 158, 133, 153, 144)
# inner-lip top/bottom and the inner mouth corners
MOUTH = (13, 14, 78, 308)
#: mouth aspect ratio (inner-lip gap / mouth width) of a closed and a fully open mouth
MAR_CLOSED, MAR_OPEN = 0.05, 0.6


def eye_aspect_ratio(points: npt.ArrayLike) -> Array:
    """EAR of the subject's left and right eye for (n,468,2|3) points -> (n,2).

    EAR ~0.25-0.35 for an open eye and under ~0.1 for a closed one, independent of face size.
    """
    p = np.asarray(points, np.float64)[..., :2]
    out = np.zeros((len(p), 2))
    for col, idx in enumerate((LEFT_EYE, RIGHT_EYE)):
        e = p[:, idx]
        vertical = np.linalg.norm(e[:, 1] - e[:, 5], axis=1) + np.linalg.norm(
            e[:, 2] - e[:, 4], axis=1
        )
        horizontal = np.linalg.norm(e[:, 0] - e[:, 3], axis=1)
        out[:, col] = vertical / np.maximum(2.0 * horizontal, 1e-6)
    return out


def mouth_openness(points: npt.ArrayLike) -> Array:
    """0 (lips together) .. 1 (wide open, as in a yawn) from the inner-lip aspect ratio."""
    p = np.asarray(points, np.float64)[..., :2]
    gap = np.linalg.norm(p[:, MOUTH[0]] - p[:, MOUTH[1]], axis=1)
    width = np.linalg.norm(p[:, MOUTH[2]] - p[:, MOUTH[3]], axis=1)
    mar = gap / np.maximum(width, 1e-6)
    return np.asarray(np.clip((mar - MAR_CLOSED) / (MAR_OPEN - MAR_CLOSED), 0.0, 1.0))


def facing_angle(yaw_pitch_deg: npt.ArrayLike) -> Array:
    """Angle in degrees between where the face points and the camera axis."""
    yp = np.radians(np.asarray(yaw_pitch_deg, np.float64).reshape(-1, 2))
    cos = np.cos(yp[:, 0]) * np.cos(yp[:, 1])
    return np.asarray(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))))
