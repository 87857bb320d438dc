"""Golden attention figures on the 8 s scripted clip of `python -m benchmarks.attention_time
--short` (three real faces turned through known head poses: a look, a glance under 0.3 s that
must not count and one over it, a face that never looks, a face entering and leaving). Fails
when the attention error passes the issue's target (median <= 0.2 s) or the measured figures
beyond the tolerance, or when any glance count, watcher, ots or watchers figure stops being
exact."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks import attention_time

# measured with `python -m benchmarks.attention_time --short --window-s 4`
GOLDEN = {"attention_err_max_s": 0.04, "pose_mae_yaw": 4.43, "pose_mae_pitch": 7.57,
          "first_glance_err_median_s": 0.08}
TOLERANCE_S = 0.12  # three frames at 25 fps (x264 / LiteRT build differences)
TOLERANCE_DEG = 1.5
TARGET_MEDIAN_S = 0.2


@pytest.mark.data
def test_attention_time_golden(data_dir: Path) -> None:
    res = attention_time.evaluate(short=True, window_s=4.0)
    s = res["summary"]
    faces = res["clips"][0]["faces"]
    # the script's own truth: the 0.2 s glance is dropped, the 0.48 s one counts
    assert [f["truth_glances"] for f in faces] == [3, 0, 1], faces
    assert [f["truth_watcher"] for f in faces] == [True, False, True], faces
    assert s["faces"] == 3 and s["one_track_per_face"] == 1.0, faces
    assert s["attention_err_median_s"] <= TARGET_MEDIAN_S, s
    assert s["attention_err_max_s"] <= GOLDEN["attention_err_max_s"] + TOLERANCE_S, faces
    assert s["glances_exact"] == 1.0 and s["watcher_exact"] == 1.0, faces
    assert s["first_glance_err_median_s"] <= GOLDEN["first_glance_err_median_s"] + TOLERANCE_S
    assert s["windows"] == 2, res["clips"][0]["windows"]
    assert s["ots_exact"] == s["watchers_exact"] == s["window_glances_exact"] == 1.0, \
        res["clips"][0]["windows"]
    assert s["pose_mae_yaw"] <= GOLDEN["pose_mae_yaw"] + TOLERANCE_DEG, s
    assert s["pose_mae_pitch"] <= GOLDEN["pose_mae_pitch"] + TOLERANCE_DEG, s
