"""annotated.mp4: every frame drawn (``facetrack.draw``) and encoded."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np

from facetrack._closing import Closing
from facetrack.draw import Drawing, annotate
from facetrack.errors import OutputError
from facetrack.results import FrameResult


class AnnotatedVideoWriter(Closing):
    """annotated.mp4: H.264 (libx264, yuv420p) through PyAV at the source's frame rate, each
    result as ``drawing`` makes it (``facetrack.draw.pictures``: faces hidden when the privacy
    settings say so). A sink;
    ``close`` finishes the file (its index), so it plays whatever ended the run."""

    def __init__(self, path: Path, width: int, height: int, fps: float,
                 drawing: Drawing = annotate) -> None:
        self.path, self.drawing = path, drawing
        try:
            self._container: Any = av.open(str(path), mode="w")
        except (av.error.FFmpegError, OSError) as exc:
            raise OutputError(f"{path}: cannot create video ({exc})") from None
        rate = Fraction(fps).limit_denominator(1001) if fps > 0 else Fraction(25)
        self._stream = self._container.add_stream("libx264", rate=rate)
        # yuv420p needs even sizes (a 1-pixel input is scaled up to 2)
        self._size = (max(2, width - width % 2), max(2, height - height % 2))
        self._stream.width, self._stream.height = self._size
        self._stream.pix_fmt = "yuv420p"
        self._stream.options = {"crf": "23", "preset": "veryfast"}
        self._closed = False

    def consume(self, result: FrameResult) -> None:
        image = self.drawing(result)
        if (image.shape[1], image.shape[0]) != self._size:
            image = np.asarray(cv2.resize(image, self._size, interpolation=cv2.INTER_AREA))
        frame = av.VideoFrame.from_ndarray(image, format="bgr24")
        for packet in self._stream.encode(frame):
            self._container.mux(packet)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for packet in self._stream.encode():
            self._container.mux(packet)
        self._container.close()

