"""The monitor's config lives in ``facetrack.config.camera`` and ``facetrack.config.service``."""

from facetrack.config.camera import (
    AlertsConfig,
    CameraConfig,
    ClipsConfig,
    EventsConfig,
    NotifyConfig,
    PushConfig,
)
from facetrack.config.service import LiveViewConfig, MetricsConfig, MonitorConfig, StoreConfig

__all__ = ["AlertsConfig", "CameraConfig", "ClipsConfig", "EventsConfig", "LiveViewConfig",
           "MetricsConfig", "MonitorConfig", "NotifyConfig", "PushConfig", "StoreConfig"]
