"""facetrack: find, track and analyse every face in a video.

The public API: ``FaceTracker`` (and the jobs ``track_file``, ``find_faces_in_file``,
``predict_stream``), ``FaceRecognizer`` and ``FaceDatabase`` for recognition, ``Monitor`` for
live cameras, the result types (``Frame``, ``Faces``, ``TrackSnapshot``, ``FrameResult``,
events) and configs, and the errors.
"""

from typing import TYPE_CHECKING, Any

from facetrack.analysis.summary import TrackSummary
from facetrack.config import TrackerConfig
from facetrack.errors import ConfigError, DecodeError, FacetrackError, InputError, ModelError
from facetrack.faces import Faces, Identity
from facetrack.frames import Frame, SourceInfo
from facetrack.pipeline import FaceTracker
from facetrack.pipeline.jobs import find_faces_in_file, predict_stream, track_file
from facetrack.results import FrameResult
from facetrack.tracks import TrackSnapshot

if TYPE_CHECKING:
    from facetrack.config.service import MonitorConfig
    from facetrack.recognition.gallery import FaceDatabase
    from facetrack.recognition.recognizer import FaceRecognizer
    from facetrack.service.monitor import Monitor

#: loaded on first use: a file job needs neither SQL, Prometheus nor Apprise (memory, start-up)
_LAZY = {
    "FaceDatabase": "facetrack.recognition.gallery",
    "FaceRecognizer": "facetrack.recognition.recognizer",
    "Monitor": "facetrack.service.monitor",
    "MonitorConfig": "facetrack.config.service",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'facetrack' has no attribute {name!r}")

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "DecodeError",
    "FaceDatabase",
    "FaceRecognizer",
    "FaceTracker",
    "Faces",
    "FacetrackError",
    "Frame",
    "FrameResult",
    "Identity",
    "InputError",
    "ModelError",
    "Monitor",
    "MonitorConfig",
    "SourceInfo",
    "TrackSnapshot",
    "TrackSummary",
    "TrackerConfig",
    "find_faces_in_file",
    "predict_stream",
    "track_file",
]
