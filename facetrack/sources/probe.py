"""The pixel size an image file declares, read from its header before anything is decoded, so
a few-kilobyte file that decodes to gigabytes (a 20000x20000 PNG of zeros) is refused first."""

from __future__ import annotations

import struct
import zlib

#: still images up to this many pixels are read: 2**26, above every camera's photo but the
#: largest phone sensors' full-resolution modes (61 Mpx full-frame bodies pass). Decoding costs
#: about 13 bytes a pixel at its peak (OpenCV's buffers): 0.9 GB here; 200 Mpx cost 2.6 GB
#: (docs/benchmarks.md, "Hostile input")
MAX_IMAGE_PIXELS = 2**26


def _png(data: bytes) -> tuple[int, int] | None:
    if data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR":
        w, h = struct.unpack(">II", data[16:24])
        return int(w), int(h)
    return None


def _gif(data: bytes) -> tuple[int, int] | None:
    if data[:6] in (b"GIF87a", b"GIF89a"):
        w, h = struct.unpack("<HH", data[6:10])
        return int(w), int(h)
    return None


def _bmp(data: bytes) -> tuple[int, int] | None:
    if data[:2] == b"BM" and len(data) >= 26:
        w, h = struct.unpack("<ii", data[18:26])
        return abs(int(w)), abs(int(h))
    return None


def _webp(data: bytes) -> tuple[int, int] | None:
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        return None
    kind = data[12:16]
    if kind == b"VP8X":
        return 1 + int.from_bytes(data[24:27], "little"), 1 + int.from_bytes(data[27:30],
                                                                            "little")
    if kind == b"VP8 ":
        w, h = struct.unpack("<HH", data[26:30])
        return int(w) & 0x3FFF, int(h) & 0x3FFF
    if kind == b"VP8L":
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    return None


def _jpeg(data: bytes) -> tuple[int, int] | None:
    if data[:2] != b"\xff\xd8":
        return None
    i = 2
    while i + 9 < len(data):
        if data[i] != 0xFF:
            i += 1
            continue
        marker = data[i + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        length = int.from_bytes(data[i + 2:i + 4], "big")
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            h, w = struct.unpack(">HH", data[i + 5:i + 9])
            return int(w), int(h)
        i += 2 + length
    return None


def _tiff(data: bytes) -> tuple[int, int] | None:
    """The size of a TIFF's first image (the one OpenCV decodes), from its first directory."""
    order = {b"II*\0": "<", b"MM\0*": ">"}.get(data[:4])
    if order is None or len(data) < 8:
        return None
    at = struct.unpack(order + "I", data[4:8])[0]
    if at + 2 > len(data):
        return None
    size: dict[int, int] = {}
    for i in range(struct.unpack(order + "H", data[at:at + 2])[0]):
        entry = data[at + 2 + 12 * i:at + 14 + 12 * i]
        if len(entry) < 12:
            break
        tag, kind = struct.unpack(order + "HH", entry[:4])
        if tag in (256, 257) and kind in (3, 4):
            size[tag] = struct.unpack(order + ("H" if kind == 3 else "I"), entry[8:10 if
                                      kind == 3 else 12])[0]
    return (size[256], size[257]) if len(size) == 2 else None


def declared_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from the header of a PNG, JPEG, GIF, BMP, WebP or TIFF; None otherwise
    (such a file is not decoded: its size would only be known by decoding it)."""
    for probe in (_png, _jpeg, _gif, _bmp, _webp, _tiff):
        size = probe(data)
        if size is not None:
            return size
    return None


def damaged_png(data: bytes) -> str | None:
    """Why a PNG's chunk structure is broken, or None: a damaged header (IHDR's checksum) or
    a chunk running past the end of the file. libpng would refuse the first, and may spend
    seconds on the second (a 74 KB file declaring a 4 GB chunk took 5-7 s): neither decodes."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        return None
    at = 8
    while at + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[at:at + 8])
        end = at + 12 + length
        if end > len(data):
            return f"its {kind!r} chunk runs past the end of the file (truncated or damaged)"
        crc = struct.unpack(">I", data[end - 4:end])[0]
        if kind == b"IHDR" and zlib.crc32(data[at + 4:end - 4]) & 0xFFFFFFFF != crc:
            return "its header is damaged (checksum)"
        if kind == b"IEND":
            return None
        at = end
    return "it ends before its last chunk (truncated)"


def too_large(data: bytes) -> str | None:
    """Why an image is refused before decoding, or None."""
    size = declared_size(data)
    if size is None or size[0] * size[1] <= MAX_IMAGE_PIXELS:
        return None
    w, h = size
    return (f"{w}x{h} is {w * h / 1e6:.0f} million pixels; facetrack reads images up to "
            f"{MAX_IMAGE_PIXELS / 1e6:.0f} million pixels")
