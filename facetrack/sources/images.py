from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from facetrack._closing import Closing
from facetrack.errors import DecodeError, InputError
from facetrack.frames import Frame, SourceInfo
from facetrack.sources.probe import damaged_png, declared_size, too_large

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"})


def _natural_key(path: Path) -> list[object]:
    """img2.jpg sorts before img10.jpg."""
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", path.name)]


def read_image(path: Path) -> np.ndarray:
    """Decode an image file to BGR uint8, or raise ``InputError`` naming the file."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read image: {exc.strerror or exc}") from None
    return decode_image(data, path)


def decode_image(data: bytes, path: Path | str) -> np.ndarray:
    """BGR uint8 pixels of an encoded image; an image declaring more pixels than
    ``MAX_IMAGE_PIXELS`` is refused from its header, before it is decoded. So is a file whose
    size no header read here declares (a PNM or Radiance HDR file named .png: OpenCV decodes
    by content, up to a gigapixel, and a 400 KB file could hold 2 GB of pixels)."""
    if declared_size(data) is None:
        raise InputError(f"{path}: not a decodable image (no JPEG, PNG, WebP, BMP, TIFF or GIF "
                         "header giving its size)")
    refused = too_large(data)
    if refused is not None:
        raise InputError(f"{path}: image too large: {refused}")
    damage = damaged_png(data)
    if damage is not None:
        raise InputError(f"{path}: not a decodable PNG: {damage}")
    try:
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR) if data else None
    except cv2.error:
        image = None
    if image is None:
        raise InputError(f"{path}: not a decodable image")
    return np.ascontiguousarray(image)


class ImageFolderSource(Closing):
    """Frames from image files in natural-sort order; timestamps are ``index / fps``.

    Images may differ in size. An image that cannot be decoded stops the run with a
    ``DecodeError`` naming it (results of earlier images are kept by the runner).
    """

    def __init__(
        self, paths: list[Path], source_id: str, fps: float = 25.0, kind: str = "images"
    ) -> None:
        if not paths:
            raise InputError(f"{source_id}: no images found")
        self._paths = paths
        self._fps = fps
        first = read_image(paths[0])
        self._first: np.ndarray | None = first
        self._info = SourceInfo(
            source_id=source_id,
            kind=kind,
            width=int(first.shape[1]),
            height=int(first.shape[0]),
            fps=fps,
            frame_count=len(paths),
        )

    @classmethod
    def from_folder(cls, folder: Path, fps: float = 25.0) -> ImageFolderSource:
        paths = sorted(
            (p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES),
            key=_natural_key,
        )
        if not paths:
            raise InputError(
                f"{folder}: folder has no images ({', '.join(sorted(IMAGE_SUFFIXES))})"
            )
        return cls(paths, source_id=folder.name, fps=fps)

    @property
    def info(self) -> SourceInfo:
        return self._info

    def __iter__(self) -> Iterator[Frame]:
        for index, path in enumerate(self._paths):
            if index == 0 and self._first is not None:
                image, self._first = self._first, None
            else:
                try:
                    image = read_image(path)
                except InputError as exc:
                    raise DecodeError(str(exc), frame=index) from None
            yield Frame(image, self._info.source_id, index, index / self._fps, path=path)

    def close(self) -> None:
        self._first = None

