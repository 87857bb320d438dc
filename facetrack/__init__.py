"""facetrack: find, track and analyse every face in a video.

The public API: ``FaceTracker`` (and the jobs ``track_file``, ``track_many``,
``find_faces_in_file``, ``predict_stream``), ``Audience`` (audience windows from its
results), ``FaceRecognizer`` and ``FaceDatabase`` for recognition, ``Monitor`` for live
cameras, the result types (``Frame``, ``Faces``, ``TrackSnapshot``, ``FrameResult``, events)
and configs, and the errors.
"""

from typing import TYPE_CHECKING, Any

from facetrack.errors import ConfigError, DecodeError, FacetrackError, InputError, ModelError

if TYPE_CHECKING:
    from facetrack.analysis.summary import TrackSummary
    from facetrack.analytics.windows import Audience
    from facetrack.config import TrackerConfig
    from facetrack.config.service import MonitorConfig
    from facetrack.faces import Faces, Identity
    from facetrack.frames import Frame, SourceInfo
    from facetrack.pipeline import FaceTracker
    from facetrack.pipeline.jobs import find_faces_in_file, predict_stream, track_file
    from facetrack.pipeline.many import track_many
    from facetrack.recognition.gallery import FaceDatabase
    from facetrack.recognition.recognizer import FaceRecognizer
    from facetrack.results import FrameResult
    from facetrack.service.monitor import Monitor
    from facetrack.tracks import TrackSnapshot

#: loaded on first use, so ``import facetrack`` (and the CLI's start, which a Ctrl-C may
#: interrupt) is quick: a file job needs neither SQL, Prometheus nor Apprise
_LAZY = {
    "Audience": "facetrack.analytics.windows",
    "TrackSummary": "facetrack.analysis.summary",
    "TrackerConfig": "facetrack.config",
    "Faces": "facetrack.faces",
    "Identity": "facetrack.faces",
    "Frame": "facetrack.frames",
    "SourceInfo": "facetrack.frames",
    "FaceTracker": "facetrack.pipeline",
    "find_faces_in_file": "facetrack.pipeline.jobs",
    "predict_stream": "facetrack.pipeline.jobs",
    "track_file": "facetrack.pipeline.jobs",
    "track_many": "facetrack.pipeline.many",
    "FrameResult": "facetrack.results",
    "TrackSnapshot": "facetrack.tracks",
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
    "Audience",
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
    "track_many",
]
