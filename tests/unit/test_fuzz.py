"""Hostile input breaks nothing (issue 14): a short, seeded run of the fuzz of
benchmarks/fuzz.py (the long run is `python -m benchmarks.fuzz --inputs 10000`), hypothesis on
YAML configs, and one regression test per defect the fuzz found."""

from __future__ import annotations

import io
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks._fuzz_media import mjpeg_bomb, set_size, tiff_bomb
from benchmarks._fuzz_run import TARGETS, run_target
from facetrack.config import TrackerConfig
from facetrack.config.base import parse_yaml
from facetrack.errors import ConfigError, DecodeError, InputError
from facetrack.sources import open_source
from facetrack.sources.images import decode_image

#: inputs per target in CI (the whole file stays well under a minute on two cores)
SHORT = {"images": 80, "videos": 40, "yaml": 120, "exports": 60, "streams": 8}


@pytest.mark.data
@pytest.mark.parametrize("target", sorted(SHORT))
def test_a_short_fuzz_run_finds_nothing(target: str, data_dir: Path, tmp_path: Path) -> None:
    """Every input is refused in one line or read; none crashes, hangs past its target's
    limit or takes the process past its memory limit (seed 0: the same inputs every run)."""
    tally = run_target(target, SHORT[target], data_dir, tmp_path, seed=0)
    assert tally.inputs == SHORT[target]
    assert not tally.failures, tally.failures
    assert tally.counts["refused"] > 0
    assert tally.peak_rss_mb <= TARGETS[target].memory_mb


_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True),
                     st.text(max_size=20))
_KEYS = st.sampled_from(["detector", "tracking", "analysis", "recognition", "runtime", "kind",
                         "input_long_side", "credence_count", "embedder", "enabled", "x"])
_DOCS = st.recursive(_SCALARS, lambda inner: st.lists(inner, max_size=4)
                     | st.dictionaries(_KEYS, inner, max_size=4), max_leaves=20)


@settings(max_examples=150, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(_DOCS)
def test_any_yaml_document_is_a_config_or_one_config_error(doc: object) -> None:
    """Whatever YAML structure a config holds, loading it gives a TrackerConfig or one
    ConfigError line, never another exception."""
    text = yaml.safe_dump(doc, allow_unicode=True)
    try:
        data = parse_yaml(text)
        if isinstance(data, dict):
            from facetrack.config.base import validate

            validate(TrackerConfig, data, "config")
    except ConfigError as exc:
        assert "\n" not in str(exc)


def test_a_python_tag_never_runs(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    with pytest.raises(ConfigError, match="invalid YAML"):
        parse_yaml(f"tracking: !!python/object/apply:os.system ['touch {marker}']\n")
    assert not marker.exists()


# -- defects the fuzz found, one test each (each failed before its fix) ------------------------

def test_a_tiff_decompression_bomb_is_refused_from_its_header() -> None:
    """A 390 KB deflate TIFF of 20000x20000 decoded to 2.4 GB: TIFF's size was not read
    before decoding."""
    with pytest.raises(InputError, match="20000x20000 is 400 million pixels"):
        decode_image(tiff_bomb(20_000, 20_000), "bomb.tif")


def test_a_png_with_a_broken_chunk_structure_is_refused_at_once() -> None:
    """A damaged 160x199 PNG (input 1534 of the long run: IHDR's checksum broken, then a chunk
    declaring 4 GB) kept libpng busy 5-7 s; a truncated one is refused the same way. Whole
    PNGs of every kind still decode."""
    import struct
    import time
    import zlib

    good = cv2.imencode(".png", np.full((199, 160, 4), 90, np.uint8))[1].tobytes()
    assert decode_image(good, "ok.png").shape == (199, 160, 3)
    assert decode_image(cv2.imencode(".png", np.zeros((9, 9), np.uint16))[1].tobytes(),
                        "grey16.png").shape == (9, 9, 3)
    broken = bytearray(good)
    broken[29] ^= 0xFF  # IHDR's checksum
    huge = bytearray(good)
    huge[33:37] = struct.pack(">I", 4_043_317_411)  # the next chunk's length
    t0 = time.perf_counter()
    with pytest.raises(InputError, match="header is damaged"):
        decode_image(bytes(broken), "broken.png")
    with pytest.raises(InputError, match="runs past the end"):
        decode_image(bytes(huge), "huge.png")
    with pytest.raises(InputError, match="runs past the end"):
        decode_image(good[: len(good) // 2], "half.png")
    assert time.perf_counter() - t0 < 0.5
    assert zlib.crc32(good[12:29]) & 0xFFFFFFFF == struct.unpack(">I", good[29:33])[0]


def test_a_tiff_within_the_limit_is_read() -> None:
    image = np.full((30, 40), 7, np.uint8)
    data = cv2.imencode(".tif", image)[1].tobytes()
    assert decode_image(data, "ok.tif").shape == (30, 40, 3)
    big_endian = set_size(data, 40, 30)
    assert decode_image(big_endian, "ok.tif").shape == (30, 40, 3)


@pytest.mark.parametrize("header", [b"P5\n20000 20000\n255\n", b"PF\n15000 15000\n-1.0\n",
                                    b"#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y 20000 +X 20000\n"])
def test_formats_whose_size_no_header_probe_reads_are_refused(header: bytes) -> None:
    """OpenCV decodes by content (PNM, PFM, Radiance HDR, ... up to a gigapixel), whatever the
    file is called: only formats whose size is read first are decoded."""
    with pytest.raises(InputError, match="not a decodable image"):
        decode_image(header + bytes(64), "photo.png")


def _mid_stream_bomb(path: Path, size: int) -> Path:
    """An MJPEG AVI: three 16x16 frames (the size checked at open), then ``size``-square ones."""
    small = cv2.imencode(".jpg", np.zeros((16, 16, 3), np.uint8))[1].tobytes()
    big = cv2.imencode(".jpg", np.zeros((size, size), np.uint8))[1].tobytes()
    buf = io.BytesIO()
    with av.open(buf, "w", format="avi") as c:
        stream = c.add_stream("mjpeg", rate=Fraction(25))
        stream.width = stream.height = 16
        stream.pix_fmt = "yuvj420p"
        for i, data in enumerate([small] * 3 + [big] * 2):
            packet = av.Packet(data)
            packet.stream, packet.pts, packet.dts = stream, i, i
            packet.time_base = Fraction(1, 25)
            c.mux(packet)
    path.write_bytes(buf.getvalue())
    return path


def test_frames_that_grow_past_the_limit_mid_video_are_not_decoded(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A 3 MB video of 16x16 frames, then 16000x16000 ones, decoded 2 GB: only the first
    frame's size was checked. The decoder now refuses the big frames before allocating them
    (the limit lowered here so the test stays small)."""
    monkeypatch.setattr("facetrack.sources.video.MAX_VIDEO_PIXELS", 10_000)
    path = _mid_stream_bomb(tmp_path / "grow.avi", 200)
    sizes = []
    with pytest.raises(DecodeError), open_source(path) as src:
        sizes.extend(f.image.shape[:2] for f in src)
    assert sizes == [(16, 16)] * 3


def test_mjpeg_bomb_builder_changes_size_mid_file(tmp_path: Path) -> None:
    small = cv2.imencode(".jpg", np.zeros((16, 16, 3), np.uint8))[1].tobytes()
    path = tmp_path / "b.avi"
    path.write_bytes(mjpeg_bomb((16, 16), small))
    with open_source(path) as src:
        assert src.info.width == 16 and sum(1 for _ in src) == 3


@pytest.mark.data
def test_a_video_whose_codec_has_no_decoder_is_refused(data_dir: Path, tmp_path: Path) -> None:
    """Fuzz input 359 (seed 0): a damaged WebM whose codec id FFmpeg has no decoder for ended in
    AttributeError ('NoneType' object has no attribute ...), exit 1."""
    import random

    from benchmarks._fuzz_media import video_input, video_seeds

    inp = video_input(video_seeds(data_dir), 359, random.Random("0:videos:359"))
    for name, content in inp.files.items():
        (tmp_path / name).write_bytes(content)
    with pytest.raises(InputError, match="no decoder for its video codec"):
        open_source(tmp_path / inp.entry)
