from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from facetrack.sources import open_source
from facetrack.tracking.scenecut import SceneCutDetector
from tests.conftest import make_frame


def test_cut_needs_colour_and_picture_to_change() -> None:
    rng = np.random.default_rng(0)
    a = rng.integers(0, 255, (72, 128, 3), dtype=np.uint8)
    d = SceneCutDetector()
    assert not d.is_cut(make_frame(0, a))
    assert not d.is_cut(make_frame(1, a))  # same picture
    brighter = np.clip(a.astype(int) + 10, 0, 255).astype(np.uint8)
    assert not d.is_cut(make_frame(2, brighter))  # a one-frame lighting step
    other = np.zeros_like(a)
    other[:, :, 2] = 200  # a red wall: a different shot
    assert d.is_cut(make_frame(3, other))
    d.reset()
    assert not d.is_cut(make_frame(4, a))  # after reset, nothing to compare with


@pytest.mark.data
@pytest.mark.parametrize(("video", "cuts"), [
    ("demo_videos/videos/short_hamilton_clip.mp4", [20, 82, 211]),  # the clip's three cuts
    ("synth_tracks/synth02/video.mp4", []),  # pan + brightness ramp: no cut
    ("demo_videos/videos/crowd_walking.mp4", []),
])
def test_cuts_on_real_video(data_dir: Path, video: str, cuts: list[int]) -> None:
    d = SceneCutDetector()
    with open_source(data_dir / video) as src:
        found = [f.index for f in src if d.is_cut(f)]
    assert found == cuts
