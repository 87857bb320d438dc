"""Head pose (yaw, pitch, roll in degrees) from Face Mesh points, in AFLW2000-3D's convention.

Method: a rigid fit of all 468 mesh points, taken in 3-D (x, y and the mesh's own depth z), onto
MediaPipe's canonical face model (the metric, frontal, symmetric face the mesh topology is
defined on) by least squares (Kabsch/Umeyama: SVD of the 3x3 cross-covariance, reflections
excluded, every point weighted equally), then the rotation is split into AFLW2000-3D's Euler
angles. No constant in it was fitted to head-pose data.

Why this and not solvePnP on a handful of points with a generic 3-D head: PnP from 2-D alone is
ambiguous for profile faces (it flips between mirror solutions), and six points carry the noise
of six points. Using the mesh's depth makes the fit a closed-form 3-D alignment with no local
minima and no flips; using every point averages out per-point noise and mild expressions. The
trade-off is that the answer can only be as good as the mesh: Face Mesh flattens faces beyond
about 60 degrees of yaw, so near-profile yaw is underestimated (the fit still gets its sign and
the other angles roughly right).

Sign convention (exactly that of AFLW2000-3D's ``Pose_Para`` as used by Hopenet, FSA-Net and
6DRepNet, so a benchmark needs no flips). In a frame with X to the image's right, Y up and Z
towards the camera, the rotation that takes the frontal face to the observed one is
``R = Rx(-pitch) @ Ry(-yaw) @ Rz(-roll)`` (right-handed rotation matrices about each axis; this
is 3DDFA's ``R = R_x R_y R_z`` in its own sign convention). Read as what a viewer sees:

- yaw > 0: the face turns towards the image's left (the subject's right);
- pitch > 0: the face tilts up (chin raised);
- roll > 0: the face rotates clockwise in the image (the eye on the image's right is lower).

Canonical face: MediaPipe ``canonical_face_model.obj`` (mediapipe/modules/face_geometry/data),
Copyright 2020 The MediaPipe Authors, Apache License 2.0; vertex i is Face Mesh landmark i, in
centimetres, rounded here to 0.1 mm. It is exactly left-right symmetric.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

NUM_POINTS = 468

#: MediaPipe's canonical face (468, 3): X to the subject's left (image right), Y up, Z forward.
CANONICAL_FACE: npt.NDArray[np.float64]

#: image pixels (x right, y down, z farther) -> the canonical frame (X right, Y up, Z forward)
_TO_CANONICAL_FRAME = np.array([1.0, -1.0, -1.0])


def head_pose(landmarks: npt.ArrayLike) -> npt.NDArray[np.float32]:
    """Yaw, pitch, roll in degrees ``(n,3)`` float32 from Face Mesh points ``(n,468,3)``.

    ``landmarks`` are in image pixels with z in the same scale (larger = farther), as
    ``FaceMeshLandmarker`` returns them. Rows with a non-finite value give NaN. The angles follow
    AFLW2000-3D (see the module docstring): yaw > 0 turned to the image's left, pitch > 0 chin
    up, roll > 0 clockwise in the image.
    """
    pts = np.asarray(landmarks, np.float64)
    if pts.ndim != 3 or pts.shape[1:] != (NUM_POINTS, 3):
        raise ValueError(f"landmarks must have shape (n, {NUM_POINTS}, 3), got {pts.shape}")
    out = np.full((len(pts), 3), np.nan, np.float32)
    ok = np.isfinite(pts).all(axis=(1, 2))
    if not ok.any():
        return out
    obs = pts[ok] * _TO_CANONICAL_FRAME
    obs -= obs.mean(axis=1, keepdims=True)
    # cross-covariance sum_i c_i o_i^T; the best rotation with o ~ s R c is V diag(1,1,d) U^T
    cov = np.einsum("pi,npj->nij", _CANONICAL_CENTRED, obs)
    u, _, vt = np.linalg.svd(cov)
    v, ut = vt.transpose(0, 2, 1), u.transpose(0, 2, 1)
    v[:, :, 2] *= np.where(np.linalg.det(v @ ut) < 0, -1.0, 1.0)[:, None]
    rot = v @ ut
    yaw = -np.arcsin(np.clip(rot[:, 0, 2], -1.0, 1.0))
    pitch = np.arctan2(rot[:, 1, 2], rot[:, 2, 2])
    roll = np.arctan2(rot[:, 0, 1], rot[:, 0, 0])
    out[ok] = np.degrees(np.stack([yaw, pitch, roll], axis=1))
    return out


def rotation_matrix(yaw: float, pitch: float, roll: float) -> npt.NDArray[np.float64]:
    """The rotation of the convention above, for angles in degrees, in the frame X to the
    image's right, Y up, Z towards the camera: ``Rx(-pitch) @ Ry(-yaw) @ Rz(-roll)``."""
    p, y, r = np.radians([-pitch, -yaw, -roll])
    rx = np.array([[1, 0, 0], [0, np.cos(p), -np.sin(p)], [0, np.sin(p), np.cos(p)]])
    ry = np.array([[np.cos(y), 0, np.sin(y)], [0, 1, 0], [-np.sin(y), 0, np.cos(y)]])
    rz = np.array([[np.cos(r), -np.sin(r), 0], [np.sin(r), np.cos(r), 0], [0, 0, 1]])
    return np.asarray(rx @ ry @ rz, np.float64)


# fmt: off
_CANONICAL_TEXT = """
0.00 -3.41 5.98 0.00 -1.13 7.48 0.00 -2.09 6.06 -0.46 0.96 6.63 0.00 -0.46 7.59
0.00 0.37 7.24 0.00 2.47 5.79 -4.25 2.58 3.28 0.00 4.02 5.28 0.00 4.89 5.39
0.00 8.26 4.48 0.00 -3.71 5.86 0.00 -3.92 5.57 0.00 -3.99 5.22 0.00 -4.54 5.40
0.00 -4.75 5.53 0.00 -5.02 5.60 0.00 -5.37 5.54 0.00 -6.15 5.07 0.00 -1.50 7.11
-0.42 -1.47 6.45 -7.09 5.43 0.10 -2.63 2.04 3.85 -3.20 1.99 3.80 -3.78 2.04 3.65
-4.47 2.42 3.16 -2.16 2.19 3.85 -3.21 3.22 4.12 -2.67 3.21 4.09 -3.75 3.17 3.97
-4.16 3.06 3.72 -5.06 1.93 2.78 -2.27 -7.43 4.39 -4.45 2.66 3.17 -7.21 2.26 0.07
-5.80 2.35 2.20 -2.84 -0.72 4.43 -0.71 -3.33 5.88 -0.61 -3.92 5.44 -1.43 -3.50 5.50
-1.91 -3.80 5.03 -1.13 -3.97 5.19 -1.56 -4.08 4.84 -2.65 -5.00 4.19 -0.43 -1.09 7.36
-0.50 -0.48 7.44 -5.25 3.88 3.36 -1.72 0.97 4.56 -1.61 -0.94 5.81 -1.65 -0.61 5.58
-4.77 -0.70 3.53 -0.48 0.30 7.10 -3.73 4.51 4.55 -4.59 4.30 4.05 -6.28 6.62 1.43
-1.22 4.14 5.11 -2.19 3.10 4.00 -3.10 -4.35 4.10 -6.72 -4.79 -1.75 -1.19 -1.31 5.74
-0.73 -1.59 5.83 -2.46 -4.34 4.28 -2.20 -4.30 4.16 -4.99 4.80 3.75 -1.59 -1.26 5.46
-2.64 4.52 4.92 -2.76 5.10 5.02 -3.52 8.01 3.73 -5.60 5.72 2.72 -3.06 6.57 4.53
-5.72 4.25 2.83 -6.37 4.79 1.59 -0.67 -3.69 5.74 -1.26 -3.79 5.42 -1.73 -3.95 5.00
-1.04 -1.46 5.66 -2.32 -4.33 4.26 -2.06 -4.48 4.52 -2.15 -4.28 4.04 -0.95 -1.04 6.51
-1.47 -4.04 4.60 -1.02 -3.99 4.93 -0.53 -3.99 5.14 -0.77 -6.10 4.99 -0.70 -5.29 5.45
-0.67 -4.95 5.51 -0.63 -4.70 5.45 -0.58 -4.52 5.34 -1.54 -4.42 4.75 -1.62 -4.48 4.81
-1.73 -4.62 4.85 -1.84 -4.83 4.82 -2.37 -3.11 4.87 -7.54 -1.05 -2.43 0.00 -1.72 6.60
-1.83 -4.40 4.40 -1.93 -4.41 4.50 -0.60 -2.01 5.87 -1.41 -1.71 5.24 -0.66 -1.82 5.86
-2.34 0.57 4.29 -3.33 0.10 4.11 -1.73 -0.92 5.27 -5.13 7.49 2.66 -4.54 6.32 3.68
-3.99 5.11 4.47 -2.17 -5.44 4.46 -1.40 5.01 5.32 -1.62 6.60 4.92 -1.89 8.24 4.27
-4.20 2.24 3.38 -5.73 1.41 2.43 -1.86 2.36 3.84 -4.99 3.07 3.08 -1.30 1.42 4.83
-1.31 -0.67 6.42 -6.47 0.94 1.69 -5.26 0.95 2.97 -4.43 0.72 3.52 -3.30 0.86 3.87
-2.43 1.13 4.04 -1.82 1.47 4.22 -0.56 2.31 5.57 -6.34 -0.53 1.88 -5.59 3.21 2.69
-0.24 -1.46 7.07 -1.61 0.34 4.90 -7.74 2.36 -2.01 -1.39 1.85 4.45 -1.79 -0.98 4.85
-4.67 2.66 3.08 -1.33 -0.28 6.10 -7.27 -2.89 -2.25 -1.86 2.59 3.76 -0.92 0.07 6.67
-5.00 -6.14 1.89 -5.09 -7.18 0.71 -7.16 -0.81 -0.07 -5.84 -5.25 0.92 -6.85 3.66 0.72
-2.41 -8.26 4.12 -0.18 -1.69 6.57 -2.10 -0.16 4.57 -6.41 2.24 1.56 -3.67 2.36 3.64
-3.18 2.29 3.78 -2.20 -4.60 4.48 -6.23 -1.94 1.66 -1.29 -9.30 4.09 -3.21 -8.53 2.80
-4.07 -7.99 1.93 0.00 6.55 5.03 0.00 -9.40 4.26 -2.72 2.32 3.78 -2.29 2.40 3.70
-2.00 2.50 3.69 -6.13 3.40 2.04 -2.29 2.89 3.78 -2.72 2.96 3.87 -3.18 2.96 3.88
-3.67 2.93 3.72 -4.02 2.86 3.48 -7.56 4.11 -0.99 -4.02 2.48 3.44 0.00 -2.52 5.93
-1.78 -2.68 5.21 -1.22 -1.18 5.95 -0.73 -2.54 5.82 0.00 3.27 5.24 -4.14 -7.00 2.67
-3.31 -7.66 3.38 -1.31 -8.64 4.70 -5.94 -6.22 -0.63 -2.00 2.74 3.74 -0.90 1.24 5.75
0.00 -8.77 4.89 -2.31 -8.97 3.61 -6.95 -2.44 -0.13 -1.10 -4.46 5.12 -1.18 -4.58 5.19
-1.26 -4.79 5.24 -1.33 -5.11 5.21 -1.55 -5.82 4.76 -1.95 -4.18 4.43 -2.12 -4.14 4.56
-2.29 -4.05 4.58 -2.85 -3.67 4.48 -5.28 -2.24 2.86 -0.95 1.91 5.20 -1.31 3.10 4.23
-1.78 2.86 3.88 -1.85 -4.10 4.25 -5.44 -4.03 2.11 -0.77 3.18 4.86 -1.94 -6.61 4.52
0.00 1.06 6.77 -0.52 1.58 6.15 0.00 1.73 6.32 -1.25 0.23 5.68 0.00 -7.94 5.18
0.00 -6.99 5.15 -1.00 -6.93 4.98 -3.29 -5.38 3.80 -2.31 -1.57 4.59 -2.68 -6.11 4.10
-3.83 -1.54 4.14 -2.96 -2.27 4.44 -4.39 -2.68 3.64 -1.22 -7.83 4.97 -1.54 -0.14 5.20
-3.88 -6.04 3.31 -3.08 -6.81 3.81 -3.75 -4.50 3.73 -6.09 -3.21 1.47 -4.59 -4.73 2.98
-6.58 -3.94 0.07 -3.49 -3.20 4.13 -1.26 0.80 5.31 -1.13 -0.93 6.54 -1.44 -1.14 5.91
-0.92 -0.53 7.00 -1.76 3.53 4.33 -2.63 3.71 4.36 -3.39 3.72 4.31 -4.08 3.68 4.08
-4.62 3.47 3.65 -5.17 2.54 2.67 -7.30 0.76 -0.05 -4.71 1.65 3.11 -4.07 1.48 3.48
-3.27 1.47 3.73 -2.53 1.62 3.87 -1.97 1.86 3.96 -1.58 2.10 4.08 -7.66 0.67 -2.44
-1.40 -1.34 5.63 -0.88 0.66 6.23 -0.77 -0.97 7.08 -0.46 -1.33 6.79 -0.75 -1.07 6.80
-1.24 -1.59 5.48 -0.39 -1.41 6.96 -0.32 -1.61 6.51 -1.64 2.56 3.86 -1.26 2.47 4.20
-1.03 2.38 4.62 -4.25 2.77 3.32 -4.53 2.91 3.34 0.46 0.96 6.63 4.25 2.58 3.28
0.42 -1.47 6.45 7.09 5.43 0.10 2.63 2.04 3.85 3.20 1.99 3.80 3.78 2.04 3.65
4.47 2.42 3.16 2.16 2.19 3.85 3.21 3.22 4.12 2.67 3.21 4.09 3.75 3.17 3.97
4.16 3.06 3.72 5.06 1.93 2.78 2.27 -7.43 4.39 4.45 2.66 3.17 7.21 2.26 0.07
5.80 2.35 2.20 2.84 -0.72 4.43 0.71 -3.33 5.88 0.61 -3.92 5.44 1.43 -3.50 5.50
1.91 -3.80 5.03 1.13 -3.97 5.19 1.56 -4.08 4.84 2.65 -5.00 4.19 0.43 -1.09 7.36
0.50 -0.48 7.44 5.25 3.88 3.36 1.72 0.97 4.56 1.61 -0.94 5.81 1.65 -0.61 5.58
4.77 -0.70 3.53 0.48 0.30 7.10 3.73 4.51 4.55 4.59 4.30 4.05 6.28 6.62 1.43
1.22 4.14 5.11 2.19 3.10 4.00 3.10 -4.35 4.10 6.72 -4.79 -1.75 1.19 -1.31 5.74
0.73 -1.59 5.83 2.46 -4.34 4.28 2.20 -4.30 4.16 4.99 4.80 3.75 1.59 -1.26 5.46
2.64 4.52 4.92 2.76 5.10 5.02 3.52 8.01 3.73 5.60 5.72 2.72 3.06 6.57 4.53
5.72 4.25 2.83 6.37 4.79 1.59 0.67 -3.69 5.74 1.26 -3.79 5.42 1.73 -3.95 5.00
1.04 -1.46 5.66 2.32 -4.33 4.26 2.06 -4.48 4.52 2.15 -4.28 4.04 0.95 -1.04 6.51
1.47 -4.04 4.60 1.02 -3.99 4.93 0.53 -3.99 5.14 0.77 -6.10 4.99 0.70 -5.29 5.45
0.67 -4.95 5.51 0.63 -4.70 5.45 0.58 -4.52 5.34 1.54 -4.42 4.75 1.62 -4.48 4.81
1.73 -4.62 4.85 1.84 -4.83 4.82 2.37 -3.11 4.87 7.54 -1.05 -2.43 1.83 -4.40 4.40
1.93 -4.41 4.50 0.60 -2.01 5.87 1.41 -1.71 5.24 0.66 -1.82 5.86 2.34 0.57 4.29
3.33 0.10 4.11 1.73 -0.92 5.27 5.13 7.49 2.66 4.54 6.32 3.68 3.99 5.11 4.47
2.17 -5.44 4.46 1.40 5.01 5.32 1.62 6.60 4.92 1.89 8.24 4.27 4.20 2.24 3.38
5.73 1.41 2.43 1.86 2.36 3.84 4.99 3.07 3.08 1.30 1.42 4.83 1.31 -0.67 6.42
6.47 0.94 1.69 5.26 0.95 2.97 4.43 0.72 3.52 3.30 0.86 3.87 2.43 1.13 4.04
1.82 1.47 4.22 0.56 2.31 5.57 6.34 -0.53 1.88 5.59 3.21 2.69 0.24 -1.46 7.07
1.61 0.34 4.90 7.74 2.36 -2.01 1.39 1.85 4.45 1.79 -0.98 4.85 4.67 2.66 3.08
1.33 -0.28 6.10 7.27 -2.89 -2.25 1.86 2.59 3.76 0.92 0.07 6.67 5.00 -6.14 1.89
5.09 -7.18 0.71 7.16 -0.81 -0.07 5.84 -5.25 0.92 6.85 3.66 0.72 2.41 -8.26 4.12
0.18 -1.69 6.57 2.10 -0.16 4.57 6.41 2.24 1.56 3.67 2.36 3.64 3.18 2.29 3.78
2.20 -4.60 4.48 6.23 -1.94 1.66 1.29 -9.30 4.09 3.21 -8.53 2.80 4.07 -7.99 1.93
2.72 2.32 3.78 2.29 2.40 3.70 2.00 2.50 3.69 6.13 3.40 2.04 2.29 2.89 3.78
2.72 2.96 3.87 3.18 2.96 3.88 3.67 2.93 3.72 4.02 2.86 3.48 7.56 4.11 -0.99
4.02 2.48 3.44 1.78 -2.68 5.21 1.22 -1.18 5.95 0.73 -2.54 5.82 4.14 -7.00 2.67
3.31 -7.66 3.38 1.31 -8.64 4.70 5.94 -6.22 -0.63 2.00 2.74 3.74 0.90 1.24 5.75
2.31 -8.97 3.61 6.95 -2.44 -0.13 1.10 -4.46 5.12 1.18 -4.58 5.19 1.26 -4.79 5.24
1.33 -5.11 5.21 1.55 -5.82 4.76 1.95 -4.18 4.43 2.12 -4.14 4.56 2.29 -4.05 4.58
2.85 -3.67 4.48 5.28 -2.24 2.86 0.95 1.91 5.20 1.31 3.10 4.23 1.78 2.86 3.88
1.85 -4.10 4.25 5.44 -4.03 2.11 0.77 3.18 4.86 1.94 -6.61 4.52 0.52 1.58 6.15
1.25 0.23 5.68 1.00 -6.93 4.98 3.29 -5.38 3.80 2.31 -1.57 4.59 2.68 -6.11 4.10
3.83 -1.54 4.14 2.96 -2.27 4.44 4.39 -2.68 3.64 1.22 -7.83 4.97 1.54 -0.14 5.20
3.88 -6.04 3.31 3.08 -6.81 3.81 3.75 -4.50 3.73 6.09 -3.21 1.47 4.59 -4.73 2.98
6.58 -3.94 0.07 3.49 -3.20 4.13 1.26 0.80 5.31 1.13 -0.93 6.54 1.44 -1.14 5.91
0.92 -0.53 7.00 1.76 3.53 4.33 2.63 3.71 4.36 3.39 3.72 4.31 4.08 3.68 4.08
4.62 3.47 3.65 5.17 2.54 2.67 7.30 0.76 -0.05 4.71 1.65 3.11 4.07 1.48 3.48
3.27 1.47 3.73 2.53 1.62 3.87 1.97 1.86 3.96 1.58 2.10 4.08 7.66 0.67 -2.44
1.40 -1.34 5.63 0.88 0.66 6.23 0.77 -0.97 7.08 0.46 -1.33 6.79 0.75 -1.07 6.80
1.24 -1.59 5.48 0.39 -1.41 6.96 0.32 -1.61 6.51 1.64 2.56 3.86 1.26 2.47 4.20
1.03 2.38 4.62 4.25 2.77 3.32 4.53 2.91 3.34
"""
# fmt: on

CANONICAL_FACE = np.array(_CANONICAL_TEXT.split(), np.float64).reshape(NUM_POINTS, 3)
CANONICAL_FACE.setflags(write=False)
_CANONICAL_CENTRED = CANONICAL_FACE - CANONICAL_FACE.mean(axis=0)
_CANONICAL_CENTRED.setflags(write=False)
