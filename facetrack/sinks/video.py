from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
import numpy.typing as npt

from facetrack._closing import Closing
from facetrack.analysis.headpose import rotation_matrix
from facetrack.errors import InputError
from facetrack.results import FrameResult

_GREEN, _RED, _YELLOW, _WHITE = (80, 200, 80), (60, 60, 230), (0, 210, 255), (255, 255, 255)


def annotate(result: FrameResult) -> npt.NDArray[np.uint8]:
    """A copy of the frame with each face's box and id, keypoints, head-pose axes and eye state
    (green = looking, red box = eyes closed)."""
    image = result.frame.image.copy()
    faces = result.faces
    attrs = faces.attrs
    thick = max(1, round(max(image.shape[:2]) / 640))
    for i in range(len(faces)):
        x1, y1, x2, y2 = (round(v) for v in faces.xyxy[i])
        analysed = bool(attrs["analysed"][i]) if "analysed" in attrs else False
        closed = analysed and bool(attrs["eyes_closed"][i])
        looking = analysed and bool(attrs["looking"][i])
        colour = _RED if closed else (_GREEN if looking else _YELLOW)
        cv2.rectangle(image, (x1, y1), (x2, y2), colour, thick)
        label = f"#{int(faces.track_id[i])}"
        if analysed:
            label += " closed" if closed else " open"
        cv2.putText(image, label, (x1, max(12, y1 - 5)), cv2.FONT_HERSHEY_SIMPLEX,
                    0.4 * thick + 0.1, colour, thick, cv2.LINE_AA)
        for x, y in faces.keypoints[i]:
            cv2.circle(image, (int(x), int(y)), thick + 1, _WHITE, -1)
        if analysed:
            _axes(image, faces.keypoints[i][2], attrs["head_pose"][i], (y2 - y1) * 0.6, thick)
    return image


def _axes(
    image: npt.NDArray[np.uint8],
    origin: npt.NDArray[np.float32],
    pose: npt.NDArray[np.float32],
    length: float,
    thick: int,
) -> None:
    """Draw the head's axes from its yaw/pitch/roll: red = towards the image's right for a
    frontal face, green = up, blue = where the face
    points (towards the viewer for a frontal face, so short). Uses the same rotation as the
    numbers (``headpose.rotation_matrix``), so the drawing and faces.jsonl agree."""
    if np.isnan(pose).any():
        return
    rot = rotation_matrix(*(float(v) for v in pose))
    o = np.asarray(origin, np.float64)
    for axis, colour in ((0, (0, 0, 255)), (1, (0, 255, 0)), (2, (255, 0, 0))):
        d = rot[:, axis] * length
        tip = o + np.array([d[0], -d[1]])  # Y up -> image y down
        cv2.line(image, (int(o[0]), int(o[1])), (int(tip[0]), int(tip[1])), colour, thick)


class AnnotatedVideoWriter(Closing):
    """annotated.mp4: H.264 (libx264, yuv420p) through PyAV at the source's frame rate."""

    def __init__(self, path: Path, width: int, height: int, fps: float) -> None:
        self.path = path
        try:
            self._container: Any = av.open(str(path), mode="w")
        except (av.error.FFmpegError, OSError) as exc:
            raise InputError(f"{path}: cannot create video ({exc})") from None
        rate = Fraction(fps).limit_denominator(1001) if fps > 0 else Fraction(25)
        self._stream = self._container.add_stream("libx264", rate=rate)
        # yuv420p needs even sizes
        self._size = (width - width % 2, height - height % 2)
        self._stream.width, self._stream.height = self._size
        self._stream.pix_fmt = "yuv420p"
        self._stream.options = {"crf": "23", "preset": "veryfast"}
        self._closed = False

    def consume(self, result: FrameResult) -> None:
        image = annotate(result)
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

