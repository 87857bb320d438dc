"""MediaPipe Face Mesh (468 points with depth) on the detector's faces, through LiteRT.

The mesh model wants an upright, face-centred square crop, the way MediaPipe feeds it: the crop
is rotated by the angle of the line between the two eyes, centred on the detector's box and a
fixed multiple of the box's long side wide. Each face costs one ``cv2.warpAffine`` to 192x192
and one model call: about 2 ms a face on one core, 1.2 ms of it the model. Points come back in
image pixels, so callers never see the crop.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
from ai_edge_litert.interpreter import Interpreter

from facetrack import models
from facetrack._native import native_stderr_silenced
from facetrack.errors import ModelError
from facetrack.geometry import apply_affine, invert_affine, rotated_square_transform

FloatArray = npt.NDArray[np.float32]

NUM_POINTS = 468
#: side of the square crop relative to the long side of YuNet's box. MediaPipe uses 1.5 x its
#: own detector's box; on YuNet's boxes 1.5 leaves the face too small in the crop. Chosen on
#: 300-W (AFW + HELEN, 315 faces, disjoint from the head-pose set) by the error of 7 mesh
#: points against their 68-point annotation, normalised by the inter-ocular distance:
#: 1.2: 0.054, 1.3: 0.050, 1.35: 0.051, 1.4: 0.052, 1.5: 0.062, 1.65: 0.096; 1.35 is the
#: middle of the flat part, leaving margin for turned faces.
ROI_SCALE = 1.35
_INV_255 = np.float32(1.0 / 255.0)


def load_tflite(path: Path, threads: int = 1) -> Interpreter:
    """A LiteRT interpreter for the model file at ``path``, tensors allocated; ``ModelError``
    (one line) when the file is missing or not a TFLite model."""
    if not path.is_file():
        raise ModelError(f"{path}: model file not found")
    try:
        with native_stderr_silenced():
            net = Interpreter(model_path=str(path), num_threads=threads)
            net.allocate_tensors()
    except (ValueError, RuntimeError) as exc:
        raise ModelError(f"{path}: cannot load as a TFLite model ({exc})") from None
    return net


class FaceMeshLandmarker:
    """468 Face Mesh points ``(n,468,3)`` in image pixels and a presence score per face.

    x, y are image pixels; z is depth relative to the face's centre in the same pixel scale
    (larger = farther from the camera), as MediaPipe defines it. The presence score (0..1) is the
    model's own "is there a face in this crop" output: low values mean the points are guesses
    (the detector's box was a false positive or the face is badly occluded or cut off).

    One interpreter serves all faces in turn, so the object is not thread-safe; make one per
    worker. ``threads`` is LiteRT's thread count; 1 is best when several cameras share a CPU.
    """

    def __init__(
        self, model_path: Path | None = None, threads: int = 1, roi_scale: float = ROI_SCALE
    ) -> None:
        path = model_path if model_path is not None else models.locate("face_mesh")
        self._net = load_tflite(path, threads)
        inp = self._net.get_input_details()
        outs = self._net.get_output_details()
        shape = tuple(int(v) for v in inp[0]["shape"])
        if len(inp) != 1 or len(shape) != 4 or shape[1] != shape[2] or shape[3] != 3:
            raise ModelError(f"{path}: expected one 1xSxSx3 input, got {shape}")
        self._size = shape[1]
        self._input = int(inp[0]["index"])
        by_len = {int(np.prod(o["shape"])): int(o["index"]) for o in outs}
        if NUM_POINTS * 3 not in by_len or 1 not in by_len:
            raise ModelError(
                f"{path}: expected outputs of {NUM_POINTS * 3} and 1 values (Face Mesh), got "
                f"{sorted(by_len)}"
            )
        self._points_out = by_len[NUM_POINTS * 3]
        self._score_out = by_len[1]
        self._roi_scale = float(roi_scale)
        self._buffer = np.empty((1, self._size, self._size, 3), np.float32)

    def rois(self, keypoints: npt.ArrayLike, xyxy: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """The 2x3 image -> crop affine of every face, ``(n,2,3)``.

        Rotation: the eye on the image's left to the eye on the image's right becomes
        horizontal, so a rolled face is upright in the crop (MediaPipe's rule). Centre: the
        box's centre. Side: ``roi_scale`` x the box's long side.
        """
        kps = np.asarray(keypoints, np.float64).reshape(-1, 5, 2)
        boxes = np.asarray(xyxy, np.float64).reshape(-1, 4)
        eye_vec = kps[:, 1] - kps[:, 0]
        angle = np.arctan2(eye_vec[:, 1], eye_vec[:, 0])
        centre = (boxes[:, :2] + boxes[:, 2:]) / 2
        side = np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]) * self._roi_scale
        out = np.empty((len(kps), 2, 3))
        for i in range(len(kps)):
            out[i] = rotated_square_transform(
                (float(centre[i, 0]), float(centre[i, 1])),
                max(float(side[i]), 1e-6),
                float(angle[i]),
                self._size,
            )
        return out

    def landmarks(
        self, image: npt.NDArray[np.uint8], keypoints: npt.ArrayLike, xyxy: npt.ArrayLike
    ) -> tuple[FloatArray, FloatArray]:
        """Mesh points ``(n,468,3)`` float32 in image pixels and presence ``(n,)`` in 0..1.

        ``image`` is the BGR frame, ``keypoints (n,5,2)`` and ``xyxy (n,4)`` the detector's.
        """
        kps = np.asarray(keypoints, np.float64)
        boxes = np.asarray(xyxy, np.float64)
        if kps.size == 0 and boxes.size == 0:
            kps, boxes = kps.reshape(0, 5, 2), boxes.reshape(0, 4)
        if kps.shape[1:] != (5, 2) or boxes.shape[1:] != (4,) or len(kps) != len(boxes):
            raise ValueError(
                f"keypoints must be (n,5,2) and xyxy (n,4) for the same n, got {kps.shape} "
                f"and {boxes.shape}"
            )
        mats = self.rois(kps, boxes)
        n = len(mats)
        points = np.empty((n, NUM_POINTS, 3), np.float32)
        logits = np.empty(n, np.float32)
        size = self._size
        net = self._net
        buf = self._buffer
        for i in range(n):
            crop = cv2.warpAffine(
                image,
                mats[i],
                (size, size),
                flags=cv2.INTER_LINEAR,
                borderMode=cv2.BORDER_REPLICATE,
            )
            # BGR -> RGB in [0, 1] into a reused buffer; the model was trained on [0, 1]
            # (MediaPipe's graph), and [-1, 1] measurably worsens the points
            rgb = cv2.cvtColor(crop, cv2.COLOR_BGR2RGB)
            np.multiply(rgb, _INV_255, out=buf[0], casting="unsafe")
            net.set_tensor(self._input, buf)
            net.invoke()
            raw = net.get_tensor(self._points_out).reshape(NUM_POINTS, 3)
            logits[i] = float(net.get_tensor(self._score_out).reshape(-1)[0])
            # crop -> image: x, y through the inverse affine; z scaled like x, y
            inverse = invert_affine(mats[i])
            points[i, :, :2] = apply_affine(inverse, raw[:, :2])
            points[i, :, 2] = raw[:, 2] * np.sqrt(abs(np.linalg.det(inverse[:, :2])))
        score = (1.0 / (1.0 + np.exp(-logits))).astype(np.float32)
        return points, score
