"""Hostile images and videos for the fuzz runs (benchmarks/fuzz.py, tests/unit/test_fuzz.py):
real seed files (``../shared/data/demo_videos``), re-encoded in odd formats, then damaged by a
seeded mutator (truncation, bit flips, overwritten patches, rewritten header sizes), plus
decompression bombs that declare far more pixels than they carry.

Every input is made from ``(seed, index)`` alone, so a failure is replayed by its index.
"""

from __future__ import annotations

import io
import random
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np


@dataclass(frozen=True)
class FuzzInput:
    """One input: ``files`` (name -> bytes) written into a fresh folder; ``entry`` is the
    name the target opens ("." for the folder itself)."""

    label: str
    files: dict[str, bytes]
    entry: str
    extra: dict[str, object] = field(default_factory=dict)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")


def png_bomb(width: int, height: int, real: bool) -> bytes:
    """A grey PNG declaring ``width x height``; ``real``: its IDAT really inflates to it (a
    deflate bomb: 1000:1), else one row of data only."""
    rows = height if real else 1
    comp = zlib.compressobj(9)
    row = b"\0" * (width + 1)
    parts = [comp.compress(row) for _ in range(rows)]
    raw = b"".join(parts) + comp.flush()
    ihdr = struct.pack(">II", width, height) + bytes([8, 0, 0, 0, 0])
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", raw)
            + _chunk(b"IEND", b""))


def tiff_bomb(width: int, height: int) -> bytes:
    """A grey, deflate-compressed TIFF of ``width x height`` zeros (a few hundred KB)."""
    comp = zlib.compressobj(9)
    row = b"\0" * width
    body = b"".join(comp.compress(row) for _ in range(height)) + comp.flush()
    tags = [(256, 4, width), (257, 4, height), (258, 3, 8), (259, 3, 8), (262, 3, 1),
            (273, 4, 0), (277, 3, 1), (278, 4, height), (279, 4, len(body))]
    offset = 8 + 2 + 12 * len(tags) + 4
    ifd = struct.pack("<H", len(tags)) + b"".join(
        struct.pack("<HHII", t, kind, 1, offset if t == 273 else v) for t, kind, v in tags)
    return b"II*\0" + struct.pack("<I", 8) + ifd + b"\0\0\0\0" + body


def set_size(data: bytes, width: int, height: int) -> bytes:
    """``data`` with the pixel size in its header rewritten (PNG, JPEG, BMP, GIF, TIFF); the
    pixels are left as they are, so the file now lies about its size."""
    out = bytearray(data)
    if out[:8] == b"\x89PNG\r\n\x1a\n":
        out[16:24] = struct.pack(">II", width, height)
        out[29:33] = zlib.crc32(bytes(out[12:29])).to_bytes(4, "big")
    elif out[:2] == b"\xff\xd8":
        for sof in (b"\xff\xc0", b"\xff\xc2", b"\xff\xc1"):
            at = out.find(sof)
            if at > 0:
                out[at + 5:at + 9] = struct.pack(">HH", height & 0xFFFF, width & 0xFFFF)
                break
    elif out[:2] == b"BM":
        out[18:26] = struct.pack("<ii", min(width, 2**31 - 1), min(height, 2**31 - 1))
    elif out[:3] == b"GIF":
        out[6:10] = struct.pack("<HH", width & 0xFFFF, height & 0xFFFF)
    elif out[:4] == b"II*\0":
        _tiff_set(out, width, height)
    return bytes(out)


def _tiff_set(out: bytearray, width: int, height: int) -> None:
    at = struct.unpack("<I", out[4:8])[0]
    if at + 2 > len(out):
        return
    for i in range(struct.unpack("<H", out[at:at + 2])[0]):
        entry = at + 2 + 12 * i
        if entry + 12 > len(out):
            return
        tag = struct.unpack("<H", out[entry:entry + 2])[0]
        if tag in (256, 257):
            out[entry + 2:entry + 12] = struct.pack("<HII", 4, 1, width if tag == 256 else height)


# -- byte-level mutators (shared by every target that reads bytes) ------------------------------

def truncate(data: bytes, rng: random.Random) -> bytes:
    return data[:rng.randrange(0, max(1, len(data)))]


def flip_bits(data: bytes, rng: random.Random) -> bytes:
    out = bytearray(data)
    for _ in range(rng.choice((1, 2, 8, 64))):
        if out:
            out[rng.randrange(len(out))] ^= 1 << rng.randrange(8)
    return bytes(out)


def overwrite(data: bytes, rng: random.Random) -> bytes:
    out = bytearray(data)
    if out:
        at, size = rng.randrange(len(out)), rng.choice((4, 64, 4096))
        out[at:at + size] = rng.randbytes(min(size, len(out) - at))
    return bytes(out)


def header_noise(data: bytes, rng: random.Random) -> bytes:
    """Damage only the first bytes, where headers and declared sizes are."""
    out = bytearray(data)
    for _ in range(rng.randint(1, 6)):
        if out:
            out[rng.randrange(min(len(out), 64))] = rng.randrange(256)
    return bytes(out)


def splice(data: bytes, rng: random.Random) -> bytes:
    """A stretch of the file repeated or cut out."""
    if len(data) < 2:
        return data + data
    a = rng.randrange(len(data))
    b = min(len(data), a + rng.randrange(1, 8192))
    return data[:b] + data[a:b] * rng.randint(1, 4) + data[b:] if rng.random() < 0.5 else \
        data[:a] + data[b:]


BYTE_MUTATORS: list[Callable[[bytes, random.Random], bytes]] = [
    truncate, flip_bits, overwrite, header_noise, splice]


def mutate_bytes(data: bytes, rng: random.Random, rounds: int | None = None) -> bytes:
    for _ in range(rounds or rng.choice((1, 1, 2, 3))):
        data = rng.choice(BYTE_MUTATORS)(data, rng)
    return data


# -- images ----------------------------------------------------------------------------------------

HUGE_SIZES = [(100_000, 100_000), (65_535, 65_535), (20_000, 20_000), (16_384, 16_384),
              (1, 2**31 - 1), (0, 0), (30_000, 1)]


def image_seeds(data: Path) -> dict[str, bytes]:
    """Real photos as they are, and one re-encoded small in every format and pixel layout
    facetrack reads (8/16-bit, grey, alpha, CMYK, progressive, TIFF, WebP, BMP, GIF)."""
    from PIL import Image

    folder = data / "demo_videos" / "enrollment"
    seeds = {p.name: p.read_bytes() for p in sorted(folder.iterdir())}
    photo = cv2.imread(str(folder / "obama.jpg"), cv2.IMREAD_COLOR)
    small = cv2.resize(photo, (160, int(160 * photo.shape[0] / photo.shape[1])))
    grey = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
    encode: dict[str, tuple[str, np.ndarray, list[int]]] = {
        "small.png": (".png", small, []), "grey.png": (".png", grey, []),
        "deep16.png": (".png", (small.astype(np.uint16) * 257), []),
        "alpha.png": (".png", cv2.cvtColor(small, cv2.COLOR_BGR2BGRA), []),
        "small.jpg": (".jpg", small, []),
        "progressive.jpg": (".jpg", small, [cv2.IMWRITE_JPEG_PROGRESSIVE, 1]),
        "small.bmp": (".bmp", small, []), "small.webp": (".webp", small, []),
        "small.tif": (".tif", small, []), "grey16.tif": (".tif", grey.astype(np.uint16) * 257,
                                                        []),
    }
    for name, (ext, image, params) in encode.items():
        seeds[name] = cv2.imencode(ext, image, params)[1].tobytes()
    rgb = Image.fromarray(cv2.cvtColor(small, cv2.COLOR_BGR2RGB))
    for name, mode, fmt in (("cmyk.jpg", "CMYK", "JPEG"), ("palette.gif", "P", "GIF"),
                            ("palette.png", "P", "PNG"), ("la.png", "LA", "PNG")):
        buf = io.BytesIO()
        rgb.convert(mode).save(buf, fmt)
        seeds[name] = buf.getvalue()
    return seeds


def image_bombs() -> dict[str, bytes]:
    """Files that decode to gigabytes: refused from their header, never decoded."""
    return {
        "bomb_100k.png": png_bomb(100_000, 100_000, real=False),
        "bomb_20k_deflate.png": png_bomb(20_000, 20_000, real=True),
        "bomb_20k_deflate.tif": tiff_bomb(20_000, 20_000),
    }


def image_input(seeds: dict[str, bytes], bombs: dict[str, bytes], index: int,
                rng: random.Random) -> FuzzInput:
    """Input ``index``: a bomb (1 in 20), a folder of images with one damaged (1 in 10), a
    header that lies about the size (1 in 5), else a seed damaged byte by byte."""
    names = sorted(seeds)
    name = rng.choice(names)
    data = seeds[name]
    suffix = rng.choice([Path(name).suffix, Path(name).suffix, ".png", ".jpg", ".tif"])
    roll = rng.random()
    if roll < 0.05:
        bomb = sorted(bombs)[index % len(bombs)]
        return FuzzInput(f"{bomb} as is", {bomb: bombs[bomb]}, bomb)
    if roll < 0.25:
        w, h = rng.choice(HUGE_SIZES) if rng.random() < 0.6 else (
            rng.randint(0, 70_000), rng.randint(0, 70_000))
        label = f"{name} declaring {w}x{h}"
        data = set_size(data, w, h)
    else:
        label = f"{name} damaged"
        data = mutate_bytes(data, rng)
    if roll > 0.9:
        files = {f"img{i}.jpg": seeds["small.jpg"] for i in range(2)}
        files[f"img2{suffix}"] = data
        return FuzzInput(f"folder with {label}", files, ".")
    return FuzzInput(label, {f"input{suffix}": data}, f"input{suffix}")


# -- videos ----------------------------------------------------------------------------------------

#: (codec, pixel format, container): the odd layouts a user's file can have
VIDEO_FORMATS = [("libx264", "yuv420p", "mp4"), ("libx264", "yuv444p", "mkv"),
                 ("libx264", "yuv422p10le", "mkv"), ("mjpeg", "yuvj422p", "avi"),
                 ("libvpx", "yuv420p", "webm"), ("ffv1", "gray16le", "mkv"),
                 ("png", "rgba64be", "mov"), ("rawvideo", "rgb565le", "avi"),
                 ("mpeg4", "yuv420p", "m4v")]


def video_seeds(data: Path, frames: int = 12, width: int = 160) -> dict[str, bytes]:
    """The first frames of a real clip, small, re-encoded in every layout of
    ``VIDEO_FORMATS`` (single-threaded encoders: the same bytes every run)."""
    clip = data / "demo_videos" / "videos" / "short_hamilton_clip.mp4"
    images = []
    with av.open(str(clip)) as c:
        for vf in c.decode(video=0):
            image = vf.to_ndarray(format="bgr24")
            height = round(width * image.shape[0] / image.shape[1] / 2) * 2
            images.append(cv2.resize(image, (width, height)))
            if len(images) == frames:
                break
    seeds = {}
    for codec, pix_fmt, container in VIDEO_FORMATS:
        buf = io.BytesIO()
        with av.open(buf, "w", format="matroska" if container == "mkv" else
                     "mp4" if container == "m4v" else container) as c:
            stream = c.add_stream(codec, rate=Fraction(25))
            stream.width, stream.height = images[0].shape[1], images[0].shape[0]
            stream.pix_fmt = pix_fmt
            stream.thread_count = 1
            for image in images:
                frame = av.VideoFrame.from_ndarray(image, format="bgr24").reformat(
                    format=pix_fmt)
                for packet in stream.encode(frame):
                    c.mux(packet)
            for packet in stream.encode():
                c.mux(packet)
        seeds[f"{codec}_{pix_fmt}.{container}"] = buf.getvalue()
    return seeds


def mjpeg_bomb(declared: tuple[int, int], frame: bytes, count: int = 3) -> bytes:
    """An AVI of JPEG frames whose stream declares ``declared`` pixels while each frame's own
    header declares those of ``frame`` (a JPEG): the size changes mid-file."""
    buf = io.BytesIO()
    with av.open(buf, "w", format="avi") as c:
        stream = c.add_stream("mjpeg", rate=Fraction(25))
        stream.width, stream.height = declared
        stream.pix_fmt = "yuvj420p"
        for i in range(count):
            packet = av.Packet(frame)
            packet.stream, packet.pts, packet.dts = stream, i, i
            packet.time_base = Fraction(1, 25)
            c.mux(packet)
    return buf.getvalue()


def video_input(seeds: dict[str, bytes], index: int, rng: random.Random) -> FuzzInput:
    """Input ``index``: a size-changing MJPEG bomb (1 in 25), a header with a rewritten frame
    size (1 in 5), else a seed damaged byte by byte."""
    name = rng.choice(sorted(seeds))
    data, ext = seeds[name], Path(name).suffix
    roll = rng.random()
    if roll < 0.04:
        small = cv2.imencode(".jpg", np.zeros((16, 16, 3), np.uint8))[1].tobytes()
        w, h = rng.choice([(16_000, 16_000), (8_000, 6_000), (65_000, 4)])
        return FuzzInput(f"mjpeg frames of {w}x{h} in a 16x16 stream",
                         {"bomb.avi": mjpeg_bomb((16, 16), set_size(small, w, h))}, "bomb.avi")
    if roll < 0.24:
        label, data = f"{name} frame size rewritten", _rewrite_dims(data, rng)
    else:
        label, data = f"{name} damaged", mutate_bytes(data, rng)
    return FuzzInput(label, {f"input{ext}": data}, f"input{ext}")


def _rewrite_dims(data: bytes, rng: random.Random) -> bytes:
    """Every 16- and 32-bit big/little-endian copy of the seed's width (160) set to a huge
    value: the container's and the codec's headers then disagree or lie."""
    huge = rng.choice([65_535, 30_000, 8_192, 0])
    out = data
    for fmt in (">H", "<H", ">I", "<I"):
        old = struct.pack(fmt, 160)
        if rng.random() < 0.5 and old in out:
            out = out.replace(old, struct.pack(fmt, huge), rng.randint(1, 4))
    return out if out != data else overwrite(data, rng)
