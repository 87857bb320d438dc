"""Frame sources: a video file (PyAV), a folder of images, or a single image.

Every source is a context manager with ``info`` (``SourceInfo``) and iteration over ``Frame``s.
Problems become ``InputError`` (cannot open) or ``DecodeError`` (broke part-way, with the frame
index), each naming the file.
"""

from __future__ import annotations

from pathlib import Path

from facetrack.errors import InputError
from facetrack.sources.base import Source
from facetrack.sources.images import IMAGE_SUFFIXES, ImageFolderSource
from facetrack.sources.video import VIDEO_SUFFIXES, VideoFileSource

__all__ = ["IMAGE_SUFFIXES", "VIDEO_SUFFIXES", "ImageFolderSource", "Source", "VideoFileSource",
           "open_source"]


def open_source(path: str | Path, images_fps: float = 25.0) -> Source:
    """Open ``path`` as the right kind of source (decided by what it is, then by suffix)."""
    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: no such file or directory")
    if p.is_dir():
        return ImageFolderSource.from_folder(p, fps=images_fps)
    if p.suffix.lower() in IMAGE_SUFFIXES:
        return ImageFolderSource([p], source_id=p.name, fps=images_fps, kind="image")
    return VideoFileSource(p)
