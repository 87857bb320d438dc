"""Live monitoring: cameras -> tracking/analysis/recognition -> events, alerts, store."""

from facetrack.monitor.config import CameraConfig, MonitorConfig
from facetrack.monitor.monitor import Monitor

__all__ = ["CameraConfig", "Monitor", "MonitorConfig"]
