"""``facetrack monitor CONFIG.yaml``: cameras, their events and alerts, where events go.

Strict like every facetrack config: unknown keys are errors naming their key path.

```yaml
store:
  events_db: events.db          # SQLite (WAL) or postgresql://...; `facetrack events`
  events_jsonl: events.jsonl    # one JSON object per event (null = none)
metrics:
  port: 9108                    # Prometheus /metrics (null = off)
  log_every_s: 60
cameras:
  - name: door
    source: rtsp://10.0.0.5:554/stream1
    fps_cap: 10
    zones: {entrance: [[0, 0], [640, 0], [640, 720], [0, 720]]}
    events: {distracted_s: 3}
    alerts: {mode: ON_UNKNOWNS, on: [drowsy], holdoff_s: 300}
    tracker:                    # any `facetrack track` setting (docs/config.md)
      recognition: {enabled: true, database: faces.db}
```
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from facetrack.config import AlertsConfig, ClipsConfig, EventsConfig, TrackerConfig, load_yaml
from facetrack.storage.clips import ClipStorageConfig


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NotifyConfig(_Strict):
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


class PushConfig(_Strict):
    url: str | None = Field(None, description="rtsp:// URL of a server accepting published "
                            "streams (e.g. MediaMTX); the annotated stream goes there.")
    fps: float = Field(10.0, gt=0.0, le=60.0, description="Frame rate of the pushed stream.")
    transport: Literal["udp", "tcp"] | None = Field(None, description="RTSP transport.")


class CameraConfig(_Strict):
    name: str = Field(..., min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$",
                      description="Unique camera name (letters, digits, _ . -).")
    source: str = Field(..., min_length=1, description="rtsp://, http(s)://, /dev/videoN or a "
                        "file (played at its native rate).")
    fps_cap: float | None = Field(None, gt=0.0, description="Process at most this many frames "
                                  "a second (null = every frame the camera sends, if it can).")
    loop: bool = Field(False, description="A file source starts again at its end.")
    rtsp_transport: Literal["udp", "tcp"] | None = Field(
        None, description="RTSP transport (null = FFmpeg's default)."
    )
    read_timeout_s: float = Field(10.0, gt=0.0, description="Silence after which the stream "
                                  "is reopened (the decoder watchdog).")
    zones: dict[str, list[tuple[float, float]]] = Field(
        default_factory=dict, description="Named polygons [[x, y], ...] in frame pixels."
    )
    events: EventsConfig = EventsConfig()
    alerts: AlertsConfig = AlertsConfig()
    clips: ClipsConfig = ClipsConfig()
    notify: NotifyConfig = NotifyConfig()
    push: PushConfig = PushConfig()
    tracker: TrackerConfig = TrackerConfig()

    @model_validator(mode="after")
    def _check(self) -> CameraConfig:
        for zone, points in self.zones.items():
            if len(points) < 3:
                raise ValueError(f"zone {zone!r} needs at least 3 points, got {len(points)}")
        if self.alerts.mode != "NONE" and not self.tracker.recognition.enabled:
            raise ValueError(f"alerts.mode {self.alerts.mode} needs tracker.recognition.enabled "
                             "(and a face database)")
        return self


class StoreConfig(_Strict):
    events_db: str = Field("events.db", min_length=1, description="Event store: a SQLite "
                           "file (WAL), or a postgresql://user:password@host/db URL (the "
                           "[postgres] extra) for a store several monitors share.")
    events_jsonl: Path | None = Field(Path("events.jsonl"),
                                      description="Also append every event here (null = no).")


class LiveViewConfig(_Strict):
    port: int | None = Field(None, ge=0, le=65535, description="Serve the annotated cameras "
                             "as MJPEG on this port: http://HOST:PORT/ (null = off).")
    host: str = Field("127.0.0.1", description="Address to listen on (0.0.0.0 = every "
                      "interface; the view shows faces: keep it private).")
    window: bool = Field(False, description="Also show the cameras in a local window when "
                         "there is a display (`facetrack monitor --window`); without one, a "
                         "warning and no window.")


class MetricsConfig(_Strict):
    port: int | None = Field(None, ge=1, le=65535,
                             description="Serve Prometheus metrics on this port (null = off).")
    log_every_s: float = Field(60.0, gt=0.0, description="Log per-camera counters this often.")


class MonitorConfig(_Strict):
    cameras: list[CameraConfig] = Field(..., min_length=1)
    store: StoreConfig = StoreConfig()
    clips: ClipStorageConfig = ClipStorageConfig()
    live_view: LiveViewConfig = LiveViewConfig()
    metrics: MetricsConfig = MetricsConfig()

    @model_validator(mode="after")
    def _unique_names(self) -> MonitorConfig:
        names = [c.name for c in self.cameras]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"camera names must be unique: {', '.join(dupes)} repeated")
        return self

    @classmethod
    def from_yaml(cls, path: str | Path) -> MonitorConfig:
        return load_yaml(cls, path)
