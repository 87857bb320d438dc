"""Strict, documented configuration (pydantic), loadable from YAML.

``base``: the strict base, YAML loading and ``override`` (the one way a loaded config is
changed). ``pipeline``: ``TrackerConfig`` (``facetrack track``, each camera's ``tracker:``).
``camera`` and ``service``: ``facetrack monitor``. Backend configs live beside their backends.
"""

from facetrack.config.base import Strict, load_yaml, override, printable
from facetrack.config.pipeline import (
    AnalysisConfig,
    RecognitionConfig,
    RuntimeConfig,
    TrackerConfig,
    TrackingConfig,
)
from facetrack.detection import DetectorConfig
from facetrack.errors import ConfigError
from facetrack.recognition.embedder import EmbedderConfig, OnnxEmbedderConfig, SFaceConfig

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
