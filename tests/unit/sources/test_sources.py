from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from facetrack.errors import DecodeError, InputError
from facetrack.sources import open_source
from tests.builders import write_video


def frames(n: int, w: int = 64, h: int = 48) -> list[np.ndarray]:
    rng = np.random.default_rng(1)
    return [rng.integers(0, 255, (h, w, 3), dtype=np.uint8) for _ in range(n)]


def test_video_frames_have_indices_and_pts_timestamps(tmp_path: Path) -> None:
    path = write_video(tmp_path / "clip.mp4", frames(10), fps=20)
    with open_source(path) as src:
        assert (src.info.width, src.info.height, src.info.kind) == (64, 48, "video")
        assert src.info.fps == pytest.approx(20)
        got = list(src)
    assert [f.index for f in got] == list(range(10))
    assert [round(f.timestamp, 3) for f in got] == [round(i / 20, 3) for i in range(10)]
    assert got[0].image.shape == (48, 64, 3) and got[0].image.dtype == np.uint8


def test_missing_path(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        open_source(tmp_path / "missing.mp4")


def test_folder_without_images(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hi")
    with pytest.raises(InputError, match="folder has no images"):
        open_source(tmp_path)


def test_not_a_video(tmp_path: Path) -> None:
    p = tmp_path / "fake.mp4"
    p.write_text("this is not a video")
    with pytest.raises(InputError, match=r"fake\.mp4: not a readable video"):
        open_source(p)


def test_truncated_video_reports_frame(tmp_path: Path) -> None:
    path = write_video(tmp_path / "clip.mp4", frames(60, 128, 96), faststart=True)
    data = path.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])
    seen = 0
    with pytest.raises(DecodeError, match=r"cut\.mp4: video ended at frame \d+") as err, \
            open_source(cut) as src:
        for _ in src:
            seen += 1
    assert 0 < seen < 60
    assert err.value.frame == seen


def test_truncated_mp4_without_index_cannot_open(tmp_path: Path) -> None:
    path = write_video(tmp_path / "clip.mp4", frames(30))
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(path.read_bytes()[:2000])
    with pytest.raises(InputError, match=r"cut\.mp4: not a readable video"):
        open_source(cut)


def test_video_with_zero_frames(tmp_path: Path) -> None:
    import av

    path = tmp_path / "zero.mp4"
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=25)
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
        c.start_encoding()
    with pytest.raises(InputError, match=r"zero\.mp4: .*no (video stream|decodable frames)"), \
            open_source(path) as src:
        list(src)


def test_image_folder_natural_order_and_bad_image(tmp_path: Path) -> None:
    import cv2

    for i in (1, 2, 10):
        cv2.imwrite(str(tmp_path / f"img{i}.png"), frames(1)[0])
    with open_source(tmp_path, images_fps=10) as src:
        got = list(src)
    assert [f.path.name for f in got if f.path] == ["img1.png", "img2.png", "img10.png"]
    assert got[2].timestamp == pytest.approx(0.2)
    (tmp_path / "img3.png").write_bytes(b"garbage")
    with pytest.raises(DecodeError, match=r"img3\.png: not a decodable image") as err, \
            open_source(tmp_path) as src:
        list(src)
    assert err.value.frame == 2


def test_single_undecodable_image(tmp_path: Path) -> None:
    p = tmp_path / "x.jpg"
    p.write_bytes(b"\x00\x01")
    with pytest.raises(InputError, match=r"x\.jpg: not a decodable image"):
        open_source(p)
