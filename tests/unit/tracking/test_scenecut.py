from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from facetrack.sources import open_source
from facetrack.tracking.scenecut import SceneCutDetector
from tests.builders import make_frame


def test_cut_needs_colour_and_picture_to_change() -> None:
    rng = np.random.default_rng(0)
    a = rng.integers(0, 255, (72, 128, 3), dtype=np.uint8)
    d = SceneCutDetector()
    assert not d.is_cut(make_frame(0, a))
    assert not d.is_cut(make_frame(1, a))  # same picture
    flash = np.clip(a.astype(int) * 1.6 + 40, 0, 255).astype(np.uint8)
    assert not d.is_cut(make_frame(2, flash))  # a camera flash: brightness only
    assert not d.is_cut(make_frame(3, a))
    other = np.zeros_like(a)
    other[:, :, 2] = 200  # a red wall: a different shot
    assert d.is_cut(make_frame(4, other))
    d.reset()
    assert not d.is_cut(make_frame(5, a))  # after reset, nothing to compare with


@pytest.mark.data
@pytest.mark.parametrize(("video", "cuts"), [
    ("demo_videos/videos/short_hamilton_clip.mp4", [20, 82, 211]),  # the clip's three cuts
    ("synth_tracks/synth02/video.mp4", []),  # pan + brightness ramp: no cut
    ("demo_videos/videos/crowd_walking.mp4", []),
    ("youtube_faces_tracks/Alek_Wek/1", []),  # catwalk camera flashes: not cuts
    ("youtube_faces_tracks/Aaron_Guiel/5", []),  # a fast camera pan
])
def test_cuts_on_real_video(data_dir: Path, video: str, cuts: list[int]) -> None:
    d = SceneCutDetector()
    with open_source(data_dir / video) as src:
        found = [f.index for f in src if d.is_cut(f)]
    assert found == cuts
