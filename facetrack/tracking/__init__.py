"""Multi-face tracking: ``update(frame, faces) -> Faces`` with stable ``track_id``s."""

from facetrack.tracking.ids import IdAllocator
from facetrack.tracking.tracker import FaceTrackerCore, Track

__all__ = ["FaceTrackerCore", "IdAllocator", "Track"]
