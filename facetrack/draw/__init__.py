"""Drawing results on frames: small annotators with one contract, composed per output.

An annotator is ``draw(image, result)``: it paints one concern (boxes and labels, keypoints,
head-pose axes, zones) onto ``image`` in place. ``annotate(result)`` copies the frame and runs
the default set; an output that wants other concerns passes its own list. ``DrawingCache``
draws a result once for every sink of a camera that shows it (clip buffer, RTSP push).
``pictures(config)`` gives the two an output may show, faces hidden when the privacy settings
say so (``facetrack.privacy``): every output that shows a picture takes one of them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

import cv2
import numpy as np
import numpy.typing as npt

from facetrack.analysis.headpose import rotation_matrix
from facetrack.config.pipeline import TrackerConfig
from facetrack.results import FrameResult
from facetrack.zones import Zone

Image = npt.NDArray[np.uint8]
Annotator = Callable[[Image, FrameResult], None]
#: a result's picture, as an output shows it
Drawing = Callable[[FrameResult], Image]

GREEN, RED, YELLOW, WHITE, CYAN = (80, 200, 80), (60, 60, 230), (0, 210, 255), (255, 255, 255), (
    230, 200, 40)


def _thickness(image: Image) -> int:
    return max(1, round(int(max(image.shape[:2])) / 640))


def _state(result: FrameResult, i: int) -> tuple[bool, bool, bool]:
    attrs = result.faces.attrs
    analysed = bool(attrs["analysed"][i]) if "analysed" in attrs else False
    posed = bool(attrs["pose_source"][i]) if "pose_source" in attrs else analysed
    return (analysed, analysed and bool(attrs["eyes_closed"][i]),
            posed and bool(attrs["looking"][i]))


def boxes(image: Image, result: FrameResult) -> None:
    """Each face's box and ``#id`` (+ eye state, + name when recognised): green = looking,
    red = eyes closed, yellow otherwise."""
    faces, thick = result.faces, _thickness(image)
    for i in range(len(faces)):
        x1, y1, x2, y2 = (round(v) for v in faces.xyxy[i])
        analysed, closed, looking = _state(result, i)
        colour = RED if closed else (GREEN if looking else YELLOW)
        cv2.rectangle(image, (x1, y1), (x2, y2), colour, thick)
        label = f"#{int(faces.track_id[i])}"
        visible = "eyes_visible" not in faces.attrs or bool(faces.attrs["eyes_visible"][i])
        if analysed:
            label += " closed" if closed else (" open" if visible else " eyes?")
        if faces.identity is not None and faces.identity.name[i]:
            label += f" {faces.identity.name[i]}"
        cv2.putText(image, label, (x1, max(12, y1 - 5)), cv2.FONT_HERSHEY_SIMPLEX,
                    0.4 * thick + 0.1, colour, thick, cv2.LINE_AA)


def keypoints(image: Image, result: FrameResult) -> None:
    thick = _thickness(image)
    for face in result.faces.keypoints:
        for x, y in face:
            cv2.circle(image, (int(x), int(y)), thick + 1, WHITE, -1)


def pose_axes(image: Image, result: FrameResult) -> None:
    """The head's axes from its yaw/pitch/roll: red = towards the image's right for a frontal
    face, green = up, blue = where the face points. Same rotation as the numbers
    (``headpose.rotation_matrix``), so the drawing and faces.jsonl agree."""
    faces, thick = result.faces, _thickness(image)
    for i in range(len(faces)):
        if "head_pose" not in faces.attrs:
            return
        pose = faces.attrs["head_pose"][i]
        if np.isnan(pose).any():
            continue
        rot = rotation_matrix(*(float(v) for v in pose))
        o = np.asarray(faces.keypoints[i][2], np.float64)
        length = (faces.xyxy[i, 3] - faces.xyxy[i, 1]) * 0.6
        for axis, colour in ((0, (0, 0, 255)), (1, (0, 255, 0)), (2, (255, 0, 0))):
            d = rot[:, axis] * length
            tip = o + np.array([d[0], -d[1]])  # Y up -> image y down
            cv2.line(image, (int(o[0]), int(o[1])), (int(tip[0]), int(tip[1])), colour, thick)


def zones(shapes: Sequence[Zone]) -> Annotator:
    """An annotator outlining ``shapes`` with their names."""

    def draw(image: Image, result: FrameResult) -> None:
        thick = _thickness(image)
        for zone in shapes:
            pts = np.asarray(zone.points, np.int32).reshape(-1, 1, 2)
            cv2.polylines(image, [pts], True, CYAN, thick)
            x, y = pts[0, 0]
            cv2.putText(image, zone.name, (int(x) + 4, int(y) + 16), cv2.FONT_HERSHEY_SIMPLEX,
                        0.5, CYAN, thick, cv2.LINE_AA)

    return draw


DEFAULT: tuple[Annotator, ...] = (boxes, keypoints, pose_axes)


def annotate(result: FrameResult, annotators: Sequence[Annotator] = DEFAULT) -> Image:
    """A copy of the frame with ``annotators`` applied in order."""
    image = result.frame.image.copy()
    for draw in annotators:
        draw(image, result)
    return image


def pictures(config: TrackerConfig) -> tuple[Drawing, Drawing]:
    """The drawn picture of a result and its plain one, under ``config``'s privacy: with
    faces blurred (``privacy``), both hide them first (``FrameResult.hidden``); the plain one
    is otherwise the frame itself. Each is made once per result for every output asking."""
    if not config.blur_faces:
        return DrawingCache(), _frame_image
    from facetrack.privacy.conceal import faces_hidden

    hide = faces_hidden(config.privacy.style, config.privacy.margin)
    return DrawingCache((hide, *DEFAULT)), DrawingCache((hide,))


def _frame_image(result: FrameResult) -> Image:
    return result.frame.image


class DrawingCache:
    """The drawing of the latest result, made once for every sink that asks for it."""

    def __init__(self, annotators: Sequence[Annotator] = DEFAULT) -> None:
        self.annotators = tuple(annotators)
        self._lock = threading.Lock()
        self._key: FrameResult | None = None
        self._image: Image | None = None

    def __call__(self, result: FrameResult) -> Image:
        with self._lock:
            if self._key is not result or self._image is None:
                self._key, self._image = result, annotate(result, self.annotators)
            return self._image
