"""One camera of ``facetrack monitor``: its source, zones, events, alerts, clips, notifications,
push and pipeline settings (docs/monitor.md)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from facetrack.config.base import Strict
from facetrack.config.pipeline import TrackerConfig
from facetrack.config.profiles import DriverConfig, MonitoringConfig
from facetrack.zones import Polygon

#: keys that were replaced, with what replaced them (named in the error)
_REPLACED = {
    "end_after_s": "a track now ends when the tracker drops it: set "
                   "tracker.tracking.lost_track_buffer (frames of the camera's stream; 50 = 2 s "
                   "at 25 fps)",
    "drowsy_window_s": "PERCLOS has one definition and one window: set "
                       "tracker.analysis.perclos_window_s (default 60 s)",
}


class EventsConfig(Strict):
    profile: Literal["default", "driver", "monitoring"] = Field(
        "default",
        description="Which events the camera raises: `default` (eyes_closed, drowsy, "
        "distracted, dwell), `driver` (Euro NCAP's distraction and drowsiness states, "
        "openpilot's budget; docs/driver.md) or `monitoring` (patients, operators: prolonged "
        "closure, nobody in view, fatigue trend). Every profile keeps track and identity events "
        "and `drowsy`.",
    )
    driver: DriverConfig = Field(default_factory=DriverConfig)
    monitoring: MonitoringConfig = Field(default_factory=MonitoringConfig)
    eyes_closed_s: float = Field(
        1.0, gt=0.0, description="Eyes closed this long gives `eyes_closed` (once a spell)."
    )
    drowsy_perclos: float = Field(
        0.3, gt=0.0, le=1.0,
        description="PERCLOS over the last `tracker.analysis.perclos_window_s` (time-weighted, "
        "80% covered) that gives `drowsy`.",
    )
    distracted_s: float = Field(
        5.0, gt=0.0, description="Not looking at the camera this long gives `distracted`."
    )
    dwell_s: float = Field(
        10.0, gt=0.0, description="Inside a zone this long gives `dwell` (once a visit)."
    )

    @model_validator(mode="before")
    @classmethod
    def _replaced_keys(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key, instead in _REPLACED.items():
                if key in data:
                    raise ValueError(f"events.{key} was replaced: {instead}")
        return data


AlertMode = Literal["NONE", "ON_UNKNOWNS", "ON_KNOWNS", "ON_ALL"]
RuleEvent = Literal["eyes_closed", "drowsy", "distracted", "dwell", "track_started",
                    "long_distraction", "visual_attention_time_sharing", "microsleep", "sleep",
                    "unresponsive", "distraction_budget", "uncertain", "prolonged_eye_closure",
                    "fatigue_trend", "attention"]


class AlertsConfig(Strict):
    mode: AlertMode = Field(
        "NONE",
        description="Identity alerts: ON_UNKNOWNS (a confirmed unknown face), ON_KNOWNS (an "
        "enrolled person), ON_ALL (both), NONE. Needs recognition on, except NONE.",
    )
    on: list[RuleEvent] = Field(
        default_factory=list, description="Analysis events that also raise an alert."
    )
    holdoff_s: float = Field(
        60.0, ge=0.0,
        description="At most one alert per person and reason in this many seconds (a person "
        "is an enrolled id, an unknown face matched by appearance, or else a track).",
    )


class ClipsConfig(Strict):
    """Evidence clips of one camera: saved around each alert."""

    enabled: bool = Field(False, description="Record a clip around every alert.")
    pre_s: float = Field(5.0, ge=0.0, le=120.0, description="Seconds kept before the alert.")
    post_s: float = Field(5.0, ge=0.0, le=600.0, description="Seconds recorded after it; "
                          "an alert inside an open clip extends it.")
    max_s: float = Field(120.0, gt=0.0, description="Longest clip; a longer run of alerts "
                         "starts a new clip.")
    annotated: bool = Field(True, description="Draw boxes, ids and signals (else raw frames).")
    jpeg_quality: int = Field(85, ge=30, le=100, description="Quality of the frames held in "
                              "the ring buffer (JPEG keeps memory bounded).")


class NotifyConfig(Strict):
    """Notifications of one camera's alerts through Apprise (email, Slack, Telegram, webhooks,
    ... https://github.com/caronc/apprise/wiki)."""

    urls: list[str] = Field(default_factory=list, description="Apprise URLs (none = off).")
    title: str = Field("facetrack: {reason} on {camera}", description="Title template.")
    body: str = Field(
        "{reason} on camera {camera} at {time}: {person}. Clip: {clip}",
        description="Body template: {camera} {reason} {person} {time} {clip} {track_id}.",
    )
    timeout_s: float = Field(10.0, gt=0.0, description="Give up one attempt after this.")
    retries: int = Field(3, ge=0, le=20, description="Attempts after the first.")


class PushConfig(Strict):
    url: str | None = Field(None, description="rtsp:// URL of a server accepting published "
                            "streams (e.g. MediaMTX); the annotated stream goes there.")
    fps: float = Field(10.0, gt=0.0, le=60.0, description="Frame rate of the pushed stream.")
    transport: Literal["udp", "tcp"] | None = Field(None, description="RTSP transport.")


class CameraConfig(Strict):
    name: str = Field(..., min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$",
                      description="Unique camera name (letters, digits, _ . -; not starting "
                      "with a dot or a dash).")
    source: str = Field(..., min_length=1, description="rtsp://, http(s)://, /dev/videoN or a "
                        "file (played at its native rate).")
    fps_cap: float | None = Field(None, gt=0.0, description="Process at most this many frames "
                                  "a second (null = every frame the camera sends, if it can).")
    loop: bool = Field(False, description="A file source starts again at its end.")
    rtsp_transport: Literal["udp", "tcp"] | None = Field(
        None, description="RTSP transport (null = FFmpeg's default)."
    )
    read_timeout_s: float = Field(10.0, gt=0.0, description="Silence after which the stream "
                                  "is reopened (the decoder watchdog); also the longest wait "
                                  "for a camera to answer when connecting.")
    zones: dict[str, Polygon] = Field(
        default_factory=dict, description="Named polygons [[x, y], ...] in frame pixels."
    )
    events: EventsConfig = Field(default_factory=EventsConfig)
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
    clips: ClipsConfig = Field(default_factory=ClipsConfig)
    notify: NotifyConfig = Field(default_factory=NotifyConfig)
    push: PushConfig = Field(default_factory=PushConfig)
    tracker: TrackerConfig = Field(default_factory=TrackerConfig)

    @model_validator(mode="after")
    def _alerts_need_recognition(self) -> CameraConfig:
        if self.alerts.mode != "NONE" and not self.tracker.recognition.enabled:
            raise ValueError(f"alerts.mode {self.alerts.mode} needs tracker.recognition.enabled "
                             "(and a face database)")
        return self
