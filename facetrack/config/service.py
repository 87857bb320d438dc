"""``facetrack monitor CONFIG.yaml``: the cameras and the services they share (event store,
clip storage, live view, metrics). Strict like every facetrack config.

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

import ipaddress
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from typing_extensions import Self

from facetrack.config.api import ApiConfig
from facetrack.config.base import Strict, load_yaml
from facetrack.config.camera import CameraConfig
from facetrack.config.mqtt import MqttConfig


class StoreConfig(Strict):
    events_db: str = Field("events.db", min_length=1, description="Event store: a SQLite "
                           "file (WAL), or a postgresql://user:password@host/db URL (the "
                           "[postgres] extra) for a store several monitors share.")
    events_jsonl: Path | None = Field(Path("events.jsonl"),
                                      description="Also append every event here (null = no).")


class S3Config(Strict):
    bucket: str = Field(..., min_length=3, description="Bucket (must exist).")
    prefix: str = Field("", description="Key prefix, e.g. `facetrack/`.")
    endpoint_url: str | None = Field(None, description="S3-compatible endpoint (MinIO, ...); "
                                     "null = AWS. Credentials: the usual AWS variables/files.")
    region: str | None = Field(None, description="Region name.")


class ClipStorageConfig(Strict):
    kind: Literal["local", "s3"] = Field("local", description="`local` or `s3`.")
    dir: Path = Field(Path("clips"), description="Local clips folder (and the spool for S3). "
                      "Retention only ever removes clips facetrack wrote there.")
    max_age_days: float | None = Field(30.0, gt=0.0, description="Delete older clips.")
    max_total_mb: float | None = Field(10240.0, gt=0.0,
                                       description="Delete the oldest clips beyond this total.")
    retry_every_s: float = Field(10.0, gt=0.0, description="Retry clips the disk refused "
                                 "(full) and, for S3, failed uploads this often.")
    s3: S3Config | None = None

    @model_validator(mode="after")
    def _s3_needs_bucket(self) -> ClipStorageConfig:
        if self.kind == "s3" and self.s3 is None:
            raise ValueError("clips.kind s3 needs clips.s3 (bucket, endpoint_url, ...)")
        return self


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class RetentionConfig(Strict):
    """How long the stores keep what the monitor writes (clips: ``clips.max_age_days``).
    Enforced by the monitor when it starts and then every ``every_s``."""

    events_days: float | None = Field(30.0, gt=0.0, description="Delete events (and so the "
                                      "tracks they describe) older than this; null = keep.")
    audience_days: float | None = Field(365.0, gt=0.0, description="Delete audience windows "
                                        "(counts, no person) older than this; null = keep.")
    every_s: float = Field(3600.0, ge=10.0, description="How often the monitor enforces it.")


class LiveViewConfig(Strict):
    port: int | None = Field(None, ge=0, le=65535, description="Serve the annotated cameras "
                             "as MJPEG on this port: http://HOST:PORT/ (null = off).")
    host: str = Field("127.0.0.1", description="Address to listen on. The view shows faces: "
                      "any address but loopback needs `token`.")
    token: str | None = Field(None, min_length=16, description="Secret a viewer must give "
                              "(`?token=...` once, then a cookie, or `Authorization: Bearer`); "
                              "required unless `host` is loopback.")
    max_viewers: int = Field(8, ge=1, le=256, description="Streams served at once; more get "
                             "503 (each holds a thread and a socket).")
    window: bool = Field(False, description="Also show the cameras in a local window when "
                         "there is a display (`facetrack monitor --window`); without one, a "
                         "warning and no window.")

    @model_validator(mode="after")
    def _token_off_loopback(self) -> LiveViewConfig:
        if self.port is not None and not is_loopback(self.host) and self.token is None:
            raise ValueError(f"live_view.host {self.host} is reachable from other machines and "
                             "the view shows faces: set live_view.token (16+ characters)")
        return self


class MetricsConfig(Strict):
    port: int | None = Field(None, ge=1, le=65535,
                             description="Serve Prometheus metrics on this port (null = off).")
    log_every_s: float = Field(60.0, gt=0.0, description="Log per-camera counters this often.")


class ClusterConfig(Strict):
    """Several monitors, on one or several machines, share the cameras of one PostgreSQL
    store: each lists every camera and runs those it holds a lease on (docs/monitor.md,
    "Several monitors")."""

    lease_s: float = Field(15.0, ge=3.0, le=600.0, description="A camera's lease lasts this "
                           "long and is renewed every third of it; a monitor that dies leaves "
                           "its cameras to the others within 4/3 of it (20 s by default), one "
                           "that cannot reach the store stops them after 2/3 of it.")


class ServerConfig(Strict):
    """What ``facetrack serve`` reads: the stores, and the cameras it shows (a monitor's
    config file works as it is; serve runs no camera)."""

    cameras: list[CameraConfig] = Field(default_factory=list)
    store: StoreConfig = Field(default_factory=StoreConfig)
    clips: ClipStorageConfig = Field(default_factory=ClipStorageConfig)
    live_view: LiveViewConfig = Field(default_factory=LiveViewConfig)
    metrics: MetricsConfig = Field(default_factory=MetricsConfig)
    retention: RetentionConfig = Field(default_factory=RetentionConfig)
    api: ApiConfig | None = Field(None, description="The REST API and dashboard "
                                  "(docs/server.md); in a monitor's config, serve them from "
                                  "the monitor's process.")
    mqtt: MqttConfig | None = Field(None, description="Publish events, identities, alerts and "
                                    "audience windows to an MQTT broker for Home Assistant "
                                    "(docs/mqtt.md; the monitor publishes, serve ignores it); "
                                    "null = off.")

    cluster: ClusterConfig | None = Field(None, description="Share the cameras with the "
                                          "other monitors on this PostgreSQL store by leases "
                                          "(each camera runs on exactly one of them); null = "
                                          "this monitor runs every camera.")

    @model_validator(mode="after")
    def _cluster_needs_postgres(self) -> ServerConfig:
        if self.cluster is not None and "://" not in self.store.events_db:
            raise ValueError("cluster needs a PostgreSQL store that every monitor reaches "
                             "(store.events_db: postgresql://...); a SQLite store serves one "
                             "monitor: remove cluster")
        return self

    @model_validator(mode="after")
    def _unique_names(self) -> ServerConfig:
        names = [c.name for c in self.cameras]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"camera names must be unique: {', '.join(dupes)} repeated")
        return self

    @classmethod
    def from_yaml(cls, path: str | Path) -> Self:
        return load_yaml(cls, path)


class MonitorConfig(ServerConfig):
    cameras: list[CameraConfig] = Field(..., min_length=1)
