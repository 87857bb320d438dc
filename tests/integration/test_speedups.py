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
