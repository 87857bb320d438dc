"""Enrolment from a monitor's track in an evidence clip (Frigate's "train from review").

The clip's sidecar lists, frame by frame, the faces the monitor saw with its track ids. Tracking
the clip again numbers tracks afresh, so the monitor's track is found in the new tracking by
its boxes: the new track that covers the monitor track's boxes (IoU >= 0.5) in the most frames.
Enrolment then takes that track's best, most different faces like ``facetrack db enroll CLIP
--track ID``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from facetrack.config import TrackerConfig
from facetrack.errors import InputError
from facetrack.geometry import iou_matrix
from facetrack.recognition.embedder import Embedder
from facetrack.recognition.gallery import FaceDatabase
from facetrack.recognition.records import Enrolment

MIN_IOU = 0.5


def monitor_boxes(records: Sequence[Mapping[str, Any]], track_id: int
                  ) -> dict[int, np.ndarray]:
    """Clip frame position -> the monitor track's box there."""
    boxes = {}
    for i, record in enumerate(records):
        for face in record.get("faces", []):
            if int(face.get("track_id", -1)) == track_id:
                boxes[i] = np.asarray(face["box"], np.float32)
    return boxes


def matching_track(video: Path, records: Sequence[Mapping[str, Any]], track_id: int,
                   config: TrackerConfig,
                   progress: Callable[[int, int | None], None] | None = None) -> int:
    """The id tracking ``video`` again gives the monitor's ``track_id``."""
    from facetrack.pipeline.tracker import FaceTracker

    wanted = monitor_boxes(records, track_id)
    if not wanted:
        raise InputError(f"{video.name}: track {track_id} does not appear in this clip")
    votes: Counter[int] = Counter()
    with FaceTracker(config).open(video) as (info, results):
        for i, result in enumerate(results):
            box = wanted.get(i)
            faces = result.faces
            if box is not None and len(faces):
                overlap = iou_matrix(box[None], faces.xyxy)[0]
                best = int(np.argmax(overlap))
                if overlap[best] >= MIN_IOU and faces.track_id[best] >= 0:
                    votes[int(faces.track_id[best])] += 1
            if progress is not None:
                progress(i + 1, info.frame_count)
    if not votes:
        raise InputError(f"{video.name}: track {track_id}'s face could not be found again in "
                         "the clip (too small, or turned away)")
    return votes.most_common(1)[0][0]


def enrol_monitor_track(db: FaceDatabase, name: str, video: Path,
                        records: Sequence[Mapping[str, Any]], track_id: int,
                        config: TrackerConfig, *, embedder: Embedder | None = None,
                        progress: Callable[[int, int | None], None] | None = None
                        ) -> Enrolment:
    """Enrol ``name`` from the monitor's ``track_id`` in ``video`` (one transaction)."""
    from facetrack.recognition.enroll import enroll_files

    half = None if progress is None else (lambda d, t: progress(d, None if t is None else 2 * t))
    found = matching_track(video, records, track_id, config, half)
    done = len(records)

    def second(d: int, t: int | None) -> None:
        if progress is not None:
            progress(done + d, None if t is None else done + t)

    return enroll_files(db, name, [video], config, track=found, embedder=embedder,
                        progress=lambda _clip, d, t: second(d, t))
