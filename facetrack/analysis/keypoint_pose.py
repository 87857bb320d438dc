"""Head pose from the detector's 5 keypoints: the fallback for faces Face Mesh cannot read.

Face Mesh gives no trustworthy points on profiles, small or blurred faces (its presence score
falls below ``analysis.min_landmark_score``), yet those are exactly the people turning away from
a display. Every detected face has YuNet's 5 keypoints (the eyes, the nose tip, the mouth
corners), and these fix a rough pose in closed form, in the same convention as
``facetrack.analysis.headpose`` (AFLW2000-3D: yaw > 0 turned to the image's left, pitch > 0 chin
up, roll > 0 clockwise in the image):

- roll: the angle of the line through the eyes, or, on a near-profile where YuNet puts both
  eyes almost on one spot (closer than half the eye-mouth distance, or swapped), the tilt of the
  line from the eyes to the mouth;
- then, with the points turned upright about the eyes' midpoint, under weak perspective:
- yaw: the nose tip stands ``d`` in front of the face's midline (the line from the eyes'
  midpoint to the mouth's); turning by yaw moves it sideways by ``d sin(yaw)`` while the eyes'
  distance shrinks to ``iod cos(yaw)``, so ``yaw = -atan(offset / iod / (d / iod))``;
- pitch: the nose sits a share ``h`` of the way from the eye line to the mouth line in a frontal
  face and ``D`` in front of that line; tilting moves it by ``D sin(pitch)`` against the
  ``em cos(pitch)`` between eyes and mouth, so ``pitch = -atan((share - h) / (D / em))``.

The three ratios ``d / iod``, ``h`` and ``D / em`` are read from MediaPipe's canonical face (the
same metric face the mesh pose is fitted to), not fitted to any head-pose data. Fitted to the
visible AFLW2000-3D images instead, they come out within 10% (0.52, 0.53, 0.63 against 0.57,
0.54, 0.58) and predict left-out images no better (``benchmarks/headpose.py``), so the canonical
values stay. The answer is rough where YuNet guesses: a hidden far eye on a near-profile makes
``iod`` too large and yaw too small (about 70 deg reads as about 50). ``keypoint_confidence``
says so: it is lower than any mesh pose's.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from facetrack.analysis.headpose import CANONICAL_FACE

FloatArray = npt.NDArray[np.float32]

#: Face Mesh indices of the points YuNet marks: each eye's corners, the nose tip, mouth corners
_EYES = ((33, 133), (362, 263))
_NOSE, _MOUTH = 1, (61, 291)


def _canonical_ratios() -> tuple[float, float, float]:
    c = CANONICAL_FACE
    eyes = [(c[a] + c[b]) / 2 for a, b in _EYES]
    eye_mid, mouth_mid = (eyes[0] + eyes[1]) / 2, (c[_MOUTH[0]] + c[_MOUTH[1]]) / 2
    iod = float(np.linalg.norm(eyes[1] - eyes[0]))
    em = float(eye_mid[1] - mouth_mid[1])
    nose = c[_NOSE]
    midline_depth = (eye_mid[2] + mouth_mid[2]) / 2
    return (float(nose[2] - midline_depth) / iod, float(eye_mid[1] - nose[1]) / em,
            float(nose[2] - eye_mid[2]) / em)


#: the nose's depth in front of the face's midline per eye distance; where the nose sits between
#: the eye and mouth lines (0 = eyes, 1 = mouth); its depth in front of the eyes per eye-mouth
NOSE_DEPTH_PER_IOD, NOSE_HEIGHT, NOSE_DEPTH_PER_EM = _canonical_ratios()
#: a keypoint pose never claims more confidence than this (any mesh pose used claims more)
MAX_KEYPOINT_CONFIDENCE = 0.45
#: faces this many pixels tall (and up) give the keypoint pose its full confidence
GOOD_FACE_PX = 48.0


def keypoint_pose(keypoints: npt.ArrayLike) -> FloatArray:
    """Yaw, pitch, roll in degrees ``(n,3)`` float32 from YuNet's keypoints ``(n,5,2)``
    (the image-left eye, the image-right eye, the nose tip, the image-left and image-right
    mouth corners, in pixels). Rows with a non-finite value or coincident eyes give NaN."""
    kp = np.asarray(keypoints, np.float64)
    if kp.ndim != 3 or kp.shape[1:] != (5, 2):
        raise ValueError(f"keypoints must have shape (n, 5, 2), got {kp.shape}")
    out = np.full((len(kp), 3), np.nan, np.float32)
    if not len(kp):
        return out
    roll = _roll(kp)
    cos, sin = np.cos(-roll), np.sin(-roll)
    upright = np.stack([cos, -sin, sin, cos], axis=1).reshape(-1, 2, 2)
    eye_mid = (kp[:, 0] + kp[:, 1]) / 2
    p = np.einsum("nij,nkj->nki", upright, kp - eye_mid[:, None])  # eyes' midpoint at 0
    mouth = (p[:, 3] + p[:, 4]) / 2
    # a hidden far eye: YuNet puts it on (or past) the near one; the nose's side still tells
    iod = np.maximum(p[:, 1, 0] - p[:, 0, 0], 0.05 * np.abs(mouth[:, 1]))
    em = mouth[:, 1]
    nose = p[:, 2]
    offset = nose[:, 0] - mouth[:, 0] / 2  # from the midline's middle
    with np.errstate(divide="ignore", invalid="ignore"):
        yaw = -np.arctan(offset / iod / NOSE_DEPTH_PER_IOD)
        pitch = -np.arctan((nose[:, 1] / em - NOSE_HEIGHT) / NOSE_DEPTH_PER_EM)
    ok = np.isfinite(kp).all(axis=(1, 2)) & (iod > 1e-6) & (em > 1e-6)
    out[ok] = np.degrees(np.stack([yaw, pitch, roll], axis=1))[ok]
    return out


def _roll(kp: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Radians, clockwise in the image: from the eye line, or from the eyes-to-mouth line where
    the eyes are too close together (or swapped) to give a direction."""
    eye_line = kp[:, 1] - kp[:, 0]
    axis = (kp[:, 3] + kp[:, 4]) / 2 - (kp[:, 0] + kp[:, 1]) / 2  # eyes to mouth: "down"
    from_eyes = np.arctan2(eye_line[:, 1], eye_line[:, 0])
    from_axis = np.arctan2(-axis[:, 0], axis[:, 1])
    across = eye_line[:, 0] * axis[:, 1] - eye_line[:, 1] * axis[:, 0]  # > 0: eyes in order
    usable = (np.linalg.norm(eye_line, axis=1) >= 0.5 * np.linalg.norm(axis, axis=1)) & (
        across > 0)
    return np.where(usable, from_eyes, from_axis)


def keypoint_confidence(heights: npt.ArrayLike, scores: npt.ArrayLike) -> FloatArray:
    """How much a keypoint pose is worth, ``(n,)`` in 0..``MAX_KEYPOINT_CONFIDENCE``: the
    detector's score times the face's height up to ``GOOD_FACE_PX``. A ranking for users'
    filters, not a probability."""
    h = np.asarray(heights, np.float64)
    s = np.asarray(scores, np.float64)
    size = np.clip(h / GOOD_FACE_PX, 0.0, 1.0)
    return (MAX_KEYPOINT_CONFIDENCE * np.clip(s, 0.0, 1.0) * size).astype(np.float32)
