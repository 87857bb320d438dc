"""The speed-ups on real video: analysis threads change nothing in the results, and following
faces from their landmarks (``tracking.detect_interval``) skips the detector on most frames
while tracking stays within the golden tolerance of the detector-every-frame run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from benchmarks import tracking
from facetrack.config import TrackerConfig
from facetrack.detection.yunet import YuNetDetector
from facetrack.pipeline import FaceTracker
from tests.golden.test_tracking import TOLERANCE


def results(config: TrackerConfig, video: Path) -> list[dict[str, Any]]:
    return [json.loads(json.dumps(r.to_json())) for r in FaceTracker(config).track(video)]


@pytest.mark.data
def test_analysis_threads_give_the_same_results(data_dir: Path) -> None:
    video = data_dir / "synth_tracks" / "synth04" / "video.mp4"  # 7 faces a frame
    one = results(TrackerConfig.model_validate({"runtime": {"analysis_threads": 1}}), video)
    two = results(TrackerConfig.model_validate({"runtime": {"analysis_threads": 2}}), video)
    assert sum(len(r["faces"]) for r in one) > 2000
    assert one == two


@pytest.mark.data
def test_following_skips_the_detector_and_keeps_tracking(data_dir: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    seq = data_dir / "synth_tracks" / "synth01"
    calls = {"n": 0}
    detect = YuNetDetector.detect

    def counted(self: YuNetDetector, frame: Any) -> Any:
        calls["n"] += 1
        return detect(self, frame)

    monkeypatch.setattr(YuNetDetector, "detect", counted)
    gt = tracking.load_mot(seq / "gt.txt")
    scores = {}
    for k in (1, 5):
        calls["n"] = 0
        hyp = tracking.run_pipeline(seq, TrackerConfig.model_validate(
            {"tracking": {"detect_interval": k}}))
        scores[k] = (tracking.mot_metrics(gt, hyp, len(hyp), min_iou=0.3, name="synth01"),
                     calls["n"])
    (every, n1), (followed, n5) = scores[1], scores[5]
    assert n1 == 300 and n5 < 300 / 2  # the detector ran on under half the frames
    assert followed["mota"] >= every["mota"] - TOLERANCE, (every, followed)
    assert followed["idf1"] >= every["idf1"] - TOLERANCE, (every, followed)


@pytest.mark.data
def test_a_face_rate_reads_fewer_faces_and_changes_no_track(data_dir: Path) -> None:
    """``analysis.face_rate_hz: 10`` on a 25 fps clip: every frame's faces, ids and boxes are
    the every-frame run's (analysis feeds no tracking); 10 reads a second of 25 frames is 0.4
    of the faces read (eyes and mouth filled in), each track at most 10 times a second of its
    time in view, and a face between reads gets no keypoint pose instead."""
    video = data_dir / "synth_tracks" / "synth03" / "video.mp4"
    every = results(TrackerConfig(), video)
    rated = results(TrackerConfig.model_validate({"analysis": {"face_rate_hz": 10}}), video)
    assert [[(f["track_id"], f["box"]) for f in r["faces"]] for r in every] == \
        [[(f["track_id"], f["box"]) for f in r["faces"]] for r in rated]

    def count(runs: list[dict[str, Any]], key: str, value: Any = None) -> dict[int, int]:
        out: dict[int, int] = {}
        for r in runs:
            for f in r["faces"]:
                hit = f[key] is not None if value is None else f[key] == value
                out[f["track_id"]] = out.get(f["track_id"], 0) + hit
        return out

    seen, read, read_every = (count(rated, "track_id"), count(rated, "eye_openness"),
                              count(every, "eye_openness"))
    assert sum(read_every.values()) > 500
    assert 0.35 <= sum(read.values()) / sum(read_every.values()) <= 0.45
    for tid, n in seen.items():
        assert read[tid] <= n * 10 / 25 + 2, (tid, n, read[tid])
    keypoints = count(rated, "pose_source", "keypoints")
    assert sum(keypoints.values()) <= sum(count(every, "pose_source", "keypoints").values())
