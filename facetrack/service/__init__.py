"""The monitor: cameras, each a pipeline over a live source with its results to its sinks."""

from facetrack.config.camera import CameraConfig
from facetrack.config.service import MonitorConfig
from facetrack.service.camera import Camera
from facetrack.service.monitor import Monitor

__all__ = ["Camera", "CameraConfig", "Monitor", "MonitorConfig"]
