"""The Python API end to end on a real clip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from facetrack import FaceTracker, TrackerConfig
from facetrack.tracking import IdAllocator


@pytest.fixture(scope="module")
def tracker() -> FaceTracker:
    return FaceTracker(TrackerConfig())


@pytest.mark.data
def test_track_yields_every_frame_in_order(tracker: FaceTracker, data_dir: Path) -> None:
    video = data_dir / "synth_tracks" / "synth03" / "video.mp4"
    results = list(tracker.track(video))
    assert [r.frame.index for r in results] == list(range(250))
    assert all(np.all(r.faces.track_id >= 1) for r in results)
    with_faces = [r for r in results if len(r.faces)]
    assert len(with_faces) > 200
    f = with_faces[50].faces
    assert f.landmarks is not None and f.landmarks.shape[1:] == (468, 3)
    assert set(f.attrs) >= {"head_pose", "eye_openness", "eyes_closed", "mouth_open", "looking"}
    # 3 actors, one re-enters: at most a handful of ids, never reused
    ids = sorted({int(t) for r in results for t in r.faces.track_id})
    assert 3 <= len(ids) <= 5

    summaries = tracker.analyze_file(video)
    # each call starts fresh tracks, but ids keep counting: never reused by this FaceTracker
    again = [s.track_id for s in summaries]
    assert len(again) == len(ids) and min(again) > max(ids)
    assert all(s.frames_seen > 0 and s.dwell_s > 0 for s in summaries)


@pytest.mark.data
def test_shared_allocator_across_trackers(data_dir: Path) -> None:
    """Two trackers (two cameras) given one allocator never hand out the same id."""
    image = data_dir / "helen_300w" / "images"
    first = sorted(image.iterdir())[0]
    shared = IdAllocator()
    cfg = TrackerConfig.model_validate({"tracking": {"credence_count": 1}})
    a = FaceTracker(cfg, id_allocator=shared)
    b = FaceTracker(cfg, id_allocator=shared)
    ids_a = {int(t) for r in a.track(first) for t in r.faces.track_id}
    ids_b = {int(t) for r in b.track(first) for t in r.faces.track_id}
    assert ids_a and ids_b and not ids_a & ids_b
