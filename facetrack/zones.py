"""Zones: named polygons in frame pixels, and the one test of whether a face is inside one.

Every place that takes a region of the picture (the dwell rule's zones, the recognition zone,
audience analytics later) uses ``Polygon`` in its config and ``Zone`` in code, so a zone is
written and tested one way everywhere. A face is inside when its box centre is inside or on the
polygon's edge.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

import cv2
import numpy as np
import numpy.typing as npt
from pydantic import AfterValidator, Field


def _at_least_three(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    if len(points) < 3:
        raise ValueError(f"a zone needs at least 3 points [x, y], got {len(points)}")
    return points


#: a polygon as configs write it: ``[[x, y], [x, y], [x, y], ...]`` in frame pixels
Polygon = Annotated[
    list[tuple[float, float]],
    AfterValidator(_at_least_three),
    Field(description="Polygon [[x, y], ...] in frame pixels (at least 3 points)."),
]


@dataclass(frozen=True)
class Zone:
    """A named polygon; ``contains`` tests points, ``contains_boxes`` tests box centres."""

    name: str
    points: tuple[tuple[float, float], ...]
    _contour: npt.NDArray[np.float32] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(self.points) < 3:
            raise ValueError(f"zone {self.name!r} needs at least 3 points")
        contour = np.asarray(self.points, np.float32).reshape(-1, 1, 2)
        object.__setattr__(self, "_contour", contour)

    @classmethod
    def of(cls, name: str, points: list[tuple[float, float]]) -> Zone:
        return cls(name, tuple((float(x), float(y)) for x, y in points))

    def contains(self, points: npt.ArrayLike) -> npt.NDArray[np.bool_]:
        """For each (x, y) row of ``points``: inside or on the edge."""
        pts = np.asarray(points, np.float64).reshape(-1, 2)
        return np.array([cv2.pointPolygonTest(self._contour, (float(x), float(y)), False) >= 0
                         for x, y in pts], bool)

    def contains_boxes(self, xyxy: npt.ArrayLike) -> npt.NDArray[np.bool_]:
        """For each xyxy box: is its centre inside."""
        boxes = np.asarray(xyxy, np.float64).reshape(-1, 4)
        return self.contains((boxes[:, :2] + boxes[:, 2:]) / 2)


def zones_of(config: dict[str, list[tuple[float, float]]]) -> tuple[Zone, ...]:
    """The zones of a ``{name: polygon}`` config mapping, in its order."""
    return tuple(Zone.of(name, points) for name, points in config.items())
