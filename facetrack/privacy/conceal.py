"""Hide faces in a picture, driven by the tracks (``FrameResult.hidden``: every detection and
every followed track's box, so a face the detector missed for a few frames is hidden where its
track predicts it), each box grown by a margin to cover the whole head.

The styles destroy the face rather than smear it: ``blur`` shrinks the head to about 6 pixels
across and smooths it back up (what is gone cannot be sharpened back), ``pixelate`` leaves 8
blocks across, ``fill`` paints it grey. ``docs/benchmarks.md`` measures what is left
(``facetrack.privacy.detail``).
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np
import numpy.typing as npt

from facetrack.results import FrameResult

Image = npt.NDArray[np.uint8]
#: cells across the shorter side of a hidden box: ``blur`` keeps this few, ``pixelate`` these
BLUR_CELLS, PIXEL_CELLS = 6, 8
GREY = (128, 128, 128)


def grown(boxes: npt.ArrayLike, margin: float, width: int, height: int
          ) -> npt.NDArray[np.int64]:
    """xyxy boxes grown by ``margin`` of their size on every side, clipped to the image, as
    integer pixel bounds (empty boxes dropped)."""
    b = np.asarray(boxes, np.float64).reshape(-1, 4)
    size = np.stack([b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]], axis=1).clip(min=0) * margin
    out = np.concatenate([b[:, :2] - size, b[:, 2:] + size], axis=1)
    out = np.stack([np.floor(out[:, 0]).clip(0, width), np.floor(out[:, 1]).clip(0, height),
                    np.ceil(out[:, 2]).clip(0, width), np.ceil(out[:, 3]).clip(0, height)],
                   axis=1).astype(np.int64)
    return out[(out[:, 2] > out[:, 0]) & (out[:, 3] > out[:, 1])]


def _cells(roi: Image, across: int, interpolation: int) -> Image:
    h, w = roi.shape[:2]
    scale = across / max(1, min(h, w))
    small = cv2.resize(roi, (max(1, round(w * scale)), max(1, round(h * scale))),
                       interpolation=cv2.INTER_AREA)
    return np.asarray(cv2.resize(small, (w, h), interpolation=interpolation))


def _smoothed(roi: Image) -> Image:
    """The head shrunk to ``BLUR_CELLS`` across, smoothed at an eighth of its size (the same
    picture as smoothing at full size: 1.1 ms instead of 15 ms for three heads on a 720p
    frame) and scaled back up."""
    h, w = roi.shape[:2]
    scale = BLUR_CELLS / max(1, min(h, w))
    small = cv2.resize(roi, (max(1, round(w * scale)), max(1, round(h * scale))),
                       interpolation=cv2.INTER_AREA)
    mw, mh = max(2, w // 8), max(2, h // 8)
    mid = cv2.resize(small, (mw, mh), interpolation=cv2.INTER_LINEAR)
    k = max(3, (min(mw, mh) // BLUR_CELLS) | 1)
    return np.asarray(cv2.resize(cv2.GaussianBlur(mid, (k, k), 0), (w, h),
                                 interpolation=cv2.INTER_LINEAR))


def conceal(image: Image, boxes: npt.ArrayLike, style: str = "blur",
            margin: float = 0.35) -> None:
    """Hide every box of ``boxes`` (xyxy) in ``image``, in place."""
    height, width = image.shape[:2]
    for x1, y1, x2, y2 in grown(boxes, margin, width, height):
        roi = image[y1:y2, x1:x2]
        if style == "fill":
            roi[...] = GREY
        elif style == "pixelate":
            roi[...] = _cells(roi, PIXEL_CELLS, cv2.INTER_NEAREST)
        else:
            roi[...] = _smoothed(roi)


def hidden_boxes(result: FrameResult) -> npt.NDArray[np.float32]:
    """The boxes to hide in a result's picture: the tracker's ``hidden`` (every detection,
    which includes every confirmed face, and every missed track), or the faces of a result
    made without the tracker."""
    return result.hidden if len(result.hidden) else result.faces.xyxy


def faces_hidden(style: str = "blur", margin: float = 0.35
                 ) -> Callable[[Image, FrameResult], None]:
    """An annotator (``facetrack.draw``) hiding the result's faces (``hidden_boxes``)."""

    def draw(image: Image, result: FrameResult) -> None:
        conceal(image, hidden_boxes(result), style, margin)

    return draw
