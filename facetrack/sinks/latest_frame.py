"""The latest result of a camera, drawn and JPEG-encoded only when someone looks (the live
view's pages, the API's snapshots and MJPEG streams): a camera nobody watches pays nothing but
keeping a reference to its last result."""

from __future__ import annotations

import threading
from collections.abc import Callable

import cv2
import numpy as np
import numpy.typing as npt

from facetrack.draw import annotate
from facetrack.results import FrameResult


class LatestFrame:
    """The latest result of one camera, annotated and JPEG-encoded lazily for viewers;
    ``drawing`` is the camera's (one drawing per frame for every output that shows it)."""

    def __init__(self) -> None:
        self.drawing: Callable[[FrameResult], npt.NDArray[np.uint8]] = annotate
        self.cond = threading.Condition()
        self.result: FrameResult | None = None
        self.jpeg: bytes | None = None
        self.seq = 0

    def consume(self, result: FrameResult) -> None:
        with self.cond:
            self.result, self.jpeg = result, None
            self.seq += 1
            self.cond.notify_all()

    def close(self) -> None:
        """The camera's feed ended; the view stays until the monitor closes it."""

    def get_jpeg(self) -> bytes | None:
        with self.cond:
            result, jpeg = self.result, self.jpeg
        if jpeg is None and result is not None:
            ok, buf = cv2.imencode(".jpg", self.drawing(result), [cv2.IMWRITE_JPEG_QUALITY, 80])
            jpeg = buf.tobytes() if ok else None
            with self.cond:
                if self.result is result:
                    self.jpeg = jpeg
        return jpeg
