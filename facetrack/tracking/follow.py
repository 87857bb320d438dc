"""Following faces from their landmarks between detections (``tracking.detect_interval``).

MediaPipe's face pipeline runs its detector only when it has lost a face: otherwise each face's
crop for the next frame comes from its landmarks on this one. Here the detector runs on every
``detect_interval``-th frame; on the frames between, each face seen on the frame before is
looked for where its Face Mesh points were, in the detector's own terms: ``FollowStage``
(after the analyser) turns each face's mesh into a box and 5 keypoints, shifted by offsets
measured against the detector's box on the last frame the detector found that face, and
``followed`` hands them to the tracker as that track's detection on the next frame, moved by its
velocity.

The detector runs anyway (``TrackStage``) on any frame where a face cannot be followed: a face
seen on the frame before without trusted landmarks (too small for Face Mesh, occluded, turned
away), faces overlapping, a new face still waiting to be confirmed, and the first frame after a
scene cut. So
only easy frames skip the detector; a new face entering waits at most ``detect_interval - 1``
frames for the next scheduled detection.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from facetrack.faces import Faces
from facetrack.geometry import iou_matrix
from facetrack.results import FrameResult
from facetrack.tracking.tracker import FaceTrackerCore

FloatArray = npt.NDArray[np.float32]

#: Face Mesh points standing for the detector's 5 keypoints, in its order: the eye on the
#: image's left (two corners), the eye on the image's right, nose tip, mouth corners
_KEYPOINTS = ((33, 133), (362, 263), (1,), (61,), (291,))


def mesh_box(points: FloatArray) -> FloatArray:
    """The box around a face's mesh points ``(468,2|3)``: x0, y0, x1, y1."""
    xy = np.asarray(points, np.float32)[:, :2]
    return np.concatenate([xy.min(axis=0), xy.max(axis=0)])


def mesh_keypoints(points: FloatArray) -> FloatArray:
    """The 5 keypoints ``(5,2)`` read from a face's mesh points."""
    xy = np.asarray(points, np.float32)[:, :2]
    return np.stack([xy[list(idx)].mean(axis=0) for idx in _KEYPOINTS])


@dataclass
class Follow:
    """Where one track's face is, from its landmarks; written by ``FollowStage`` only."""

    #: index of the frame the landmarks were read on (-1: never)
    frame: int = -1
    xyxy: FloatArray | None = None
    keypoints: FloatArray | None = None
    #: the detector's box and keypoints minus the mesh's, in mesh-box heights, measured on the
    #: last frame the detector found this face
    box_offset: FloatArray | None = None
    keypoint_offset: FloatArray | None = None

    def read(self, frame: int, points: FloatArray, detected: FloatArray | None,
             detected_keypoints: FloatArray | None) -> None:
        box, kps = mesh_box(points), mesh_keypoints(points)
        size = max(float(box[3] - box[1]), 1.0)
        if detected is not None and detected_keypoints is not None:
            self.box_offset = (np.asarray(detected, np.float32) - box) / size
            self.keypoint_offset = (np.asarray(detected_keypoints, np.float32) - kps) / size
        if self.box_offset is None or self.keypoint_offset is None:
            return  # never measured against the detector: cannot speak its terms
        self.frame = frame
        self.xyxy = box + self.box_offset * size
        self.keypoints = kps + self.keypoint_offset * size


class FollowStage:
    """After the analyser: each face with trusted landmarks records where it is (``Follow``)."""

    def process(self, result: FrameResult) -> FrameResult:
        faces, records = result.faces, result.records
        analysed = faces.attrs.get("analysed")
        if faces.landmarks is None or analysed is None:
            return result
        detected = result.detected
        for i in np.flatnonzero(analysed):
            record = records.get(int(faces.track_id[i]))
            if record is None:
                continue
            record.state_of(Follow).read(
                result.frame.index, faces.landmarks[i],
                faces.xyxy[i] if detected else None, faces.keypoints[i] if detected else None)
        return result

    def reset(self) -> None:
        """Nothing to forget: the state is in each track's record."""

    def close(self) -> None:
        """Nothing held."""


#: faces overlapping more than this (IoU of their boxes, or with where a lost face is
#: predicted) are not followed: one face's mesh could slide onto the other, so the detector
#: decides who is where. On synth_tracks at interval 5, 0.1 ran the detector on 26-54% of the
#: frames (synth01: 30%); 0.0 on 55% of synth01's, and still 32-63% with lost faces left out,
#: with MOTA and IDF1 no better
TOUCHING_IOU = 0.1


def _overlapping(boxes: FloatArray, others: FloatArray) -> bool:
    iou = iou_matrix(boxes, np.concatenate([boxes, others]))
    iou[np.arange(len(boxes)), np.arange(len(boxes))] = 0.0
    return bool((iou > TOUCHING_IOU).any())


def followed(tracker: FaceTrackerCore, index: int, size: tuple[int, int]) -> Faces | None:
    """The faces of frame ``index`` (``size`` w, h) followed from the frame before, boxes
    clipped to the frame as the detector's are, ``track_id`` naming the track each belongs to;
    None when the detector must run (see the module's docstring)."""
    last = tracker.last_index
    tracks = tracker.tracks
    if last is None or any(not t.confirmed for t in tracks):
        return None
    boxes, kps, scores, ids = [], [], [], []
    for track in tracks:
        if track.last_frame != last:
            continue  # lost before: it waits for the detector
        follow = track.history.state_of(Follow) if track.history is not None else None
        if follow is None or follow.frame != last or follow.xyxy is None \
                or follow.keypoints is None:
            return None
        shift = np.asarray(track.kalman.x[4:6] * (index - last), np.float32)
        boxes.append(follow.xyxy + np.tile(shift, 2))
        kps.append(follow.keypoints + shift)
        scores.append(track.score)
        ids.append(track.track_id)
    if not ids:
        return Faces.empty()
    others = [t.predicted_xyxy for t in tracks if t.last_frame != last]
    if _overlapping(np.stack(boxes), np.asarray(others, np.float32).reshape(-1, 4)):
        return None
    w, h = size
    xyxy = np.clip(np.stack(boxes), 0, np.array([w, h, w, h], np.float32))
    return Faces.from_arrays(xyxy, np.asarray(scores, np.float32), np.stack(kps),
                             np.asarray(ids, np.int64))
