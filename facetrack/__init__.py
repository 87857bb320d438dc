"""facetrack: find, track and analyse every face in a video."""

from facetrack.analysis.summary import TrackSummary
from facetrack.config import TrackerConfig
from facetrack.errors import ConfigError, DecodeError, FacetrackError, InputError, ModelError
from facetrack.faces import Faces
from facetrack.frames import Frame, SourceInfo
from facetrack.pipeline import FaceTracker
from facetrack.results import FrameResult

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "DecodeError",
    "FaceTracker",
    "Faces",
    "FacetrackError",
    "Frame",
    "FrameResult",
    "InputError",
    "ModelError",
    "SourceInfo",
    "TrackSummary",
    "TrackerConfig",
]
