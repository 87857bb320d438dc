"""Frames and what is known about where they come from."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True, slots=True)
class Frame:
    """One decoded image with its place in time.

    ``timestamp`` is in seconds: from pts * time_base for videos, from the image's position and
    the configured rate for image folders. ``path`` is set for frames that come from image files.
    """

    image: npt.NDArray[np.uint8]
    source_id: str
    index: int
    timestamp: float
    path: Path | None = None

    @property
    def height(self) -> int:
        return int(self.image.shape[0])

    @property
    def width(self) -> int:
        return int(self.image.shape[1])


@dataclass(frozen=True, slots=True)
class SourceInfo:
    """What a source says about itself before the first frame.

    ``frame_count`` is the container's declared count (may be ``None`` or wrong for some files);
    ``fps`` is the nominal rate used to turn frame gaps into seconds.
    """

    source_id: str
    kind: str  # "video" | "images" | "image"
    width: int
    height: int
    fps: float
    frame_count: int | None
