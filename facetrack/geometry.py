"""Pure box and transform helpers (no state, no I/O)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


def iou_matrix(a: npt.ArrayLike, b: npt.ArrayLike) -> FloatArray:
    """IoU of every box in ``a`` (n,4 xyxy) against every box in ``b`` (m,4): shape (n, m)."""
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    tl = np.maximum(a[:, None, :2], b[None, :, :2])
    br = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(br - tl, 0, None), axis=2)
    area_a = np.prod(np.clip(a[:, 2:] - a[:, :2], 0, None), axis=1)
    area_b = np.prod(np.clip(b[:, 2:] - b[:, :2], 0, None), axis=1)
    union = area_a[:, None] + area_b[None, :] - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(union > 0, inter / union, 0.0)
    return np.asarray(out, np.float64)


def xyxy_to_cxcywh(boxes: npt.ArrayLike) -> FloatArray:
    b = np.asarray(boxes, np.float64).reshape(-1, 4)
    wh = b[:, 2:] - b[:, :2]
    return np.concatenate([b[:, :2] + wh / 2, wh], axis=1)


def cxcywh_to_xyxy(boxes: npt.ArrayLike) -> FloatArray:
    b = np.asarray(boxes, np.float64).reshape(-1, 4)
    half = b[:, 2:] / 2
    return np.concatenate([b[:, :2] - half, b[:, :2] + half], axis=1)


def crop(image: npt.NDArray[np.uint8], box: npt.ArrayLike, margin: float = 0.0
         ) -> npt.NDArray[np.uint8]:
    """The part of ``image`` inside the xyxy ``box`` grown by ``margin`` times its width and
    height on each side, clipped to the image (a view: copy it to keep it). The one crop
    helper: thumbnails, face crops of ``find_faces_in_file``, sharpness."""
    h, w = image.shape[:2]
    x1, y1, x2, y2 = (float(v) for v in np.asarray(box).reshape(4))
    mx, my = (x2 - x1) * margin, (y2 - y1) * margin
    xa, ya = max(0, int(x1 - mx)), max(0, int(y1 - my))
    xb, yb = min(w, int(x2 + mx)), min(h, int(y2 + my))
    return image[ya:max(yb, ya), xa:max(xb, xa)]


def rotated_square_transform(
    center: tuple[float, float], size: float, angle_rad: float, out_size: int
) -> FloatArray:
    """2x3 affine that maps a square of side ``size`` centred at ``center`` and rotated by
    ``angle_rad`` (counter-clockwise in image coordinates, i.e. y down) onto an
    ``out_size`` x ``out_size`` image, upright."""
    scale = out_size / size
    cos, sin = np.cos(angle_rad) * scale, np.sin(angle_rad) * scale
    cx, cy = center
    # rotate by -angle about the centre, scale, then move the centre to the middle of the output
    m = np.array([[cos, sin, 0.0], [-sin, cos, 0.0]])
    m[:, 2] = np.array([out_size / 2, out_size / 2]) - m[:, :2] @ np.array([cx, cy])
    return m


def invert_affine(m: npt.ArrayLike) -> FloatArray:
    """The inverse of a 2x3 affine (the 2x2 part inverted in closed form: this runs three
    times per face and frame, where ``np.linalg.inv``'s checks cost more than the sum)."""
    m = np.asarray(m, np.float64)
    (a, b, tx), (c, d, ty) = m.tolist()
    det = a * d - b * c
    if det == 0.0:
        raise np.linalg.LinAlgError("Singular matrix")
    ia, ib, ic, id_ = d / det, -b / det, -c / det, a / det
    return np.array([[ia, ib, -(ia * tx + ib * ty)], [ic, id_, -(ic * tx + id_ * ty)]])


def apply_affine(m: npt.ArrayLike, points: npt.ArrayLike) -> FloatArray:
    m = np.asarray(m, np.float64)
    p = np.asarray(points, np.float64)
    return np.asarray(p @ m[:, :2].T + m[:, 2], np.float64)
