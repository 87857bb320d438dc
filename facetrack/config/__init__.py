"""Strict, documented configuration (pydantic), loadable from YAML.

``base``: the strict base, YAML loading and ``override`` (the one way a loaded config is
changed). ``pipeline``: ``TrackerConfig`` (``facetrack track``, each camera's ``tracker:``).
``camera`` and ``service``: ``facetrack monitor``. Backend configs live beside their backends.
"""

from typing import TYPE_CHECKING, Any

from facetrack.config.base import Strict, load_yaml, override, printable
from facetrack.errors import ConfigError

if TYPE_CHECKING:
    from facetrack.config.pipeline import (
        AnalysisConfig,
        RecognitionConfig,
        RuntimeConfig,
        TrackerConfig,
        TrackingConfig,
    )
    from facetrack.detection import DetectorConfig
    from facetrack.recognition.embedder import EmbedderConfig, OnnxEmbedderConfig, SFaceConfig

#: loaded on first use: the backends' modules (detection, recognition) import ``base`` from
#: here for their own configs, and ``pipeline`` imports theirs, so importing ``base`` must not
#: import ``pipeline`` (whichever module a program imports first)
_LAZY = {
    **dict.fromkeys(("AnalysisConfig", "RecognitionConfig", "RuntimeConfig", "TrackerConfig",
                     "TrackingConfig"), "facetrack.config.pipeline"),
    "DetectorConfig": "facetrack.detection",
    **dict.fromkeys(("EmbedderConfig", "OnnxEmbedderConfig", "SFaceConfig"),
                    "facetrack.recognition.embedder"),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'facetrack.config' has no attribute {name!r}")


__all__ = [
    "AnalysisConfig",
    "ConfigError",
    "DetectorConfig",
    "EmbedderConfig",
    "OnnxEmbedderConfig",
    "RecognitionConfig",
    "RuntimeConfig",
    "SFaceConfig",
    "Strict",
    "TrackerConfig",
    "TrackingConfig",
    "load_yaml",
    "override",
    "printable",
]
