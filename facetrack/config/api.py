"""``api:``: the REST API and dashboard of ``facetrack serve`` (and of ``facetrack monitor``
when its config has this section).

```yaml
api:
  host: 127.0.0.1        # any other address needs an account (facetrack users add)
  port: 8090
  tls: {cert: server.crt, key: server.key}   # optional: HTTPS, Secure cookies
  session_hours: 12
  max_upload_mb: 25
```
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from facetrack.config.base import Strict


class TlsConfig(Strict):
    cert: Path = Field(..., description="Certificate file (PEM), with its chain.")
    key: Path = Field(..., description="Private key file (PEM).")


class ApiConfig(Strict):
    host: str = Field("127.0.0.1", description="Address to listen on. A server with no "
                      "account refuses any address but loopback.")
    port: int = Field(8090, ge=0, le=65535, description="Port (0: any free one, logged).")
    tls: TlsConfig | None = Field(None, description="Serve HTTPS with these files; session "
                                  "cookies are then marked Secure.")
    trusted_proxies: list[str] = Field(default_factory=list, description="Addresses of "
                                       "reverse proxies whose X-Forwarded-For/-Proto are "
                                       "believed (the login limits and the audit log then see "
                                       "the real client); empty: none.")
    secure_cookies: bool | None = Field(None, description="Mark the session cookie Secure "
                                        "(HTTPS only). Default: when `tls` is set; set true "
                                        "behind a proxy that terminates TLS.")
    session_hours: float = Field(12.0, gt=0.0, le=24.0 * 90,
                                 description="A login lasts this long.")
    max_upload_mb: float = Field(25.0, gt=0.0, le=4096.0, description="Larger uploads (photos, "
                                 "videos to analyse) are refused with 413.")
    max_image_pixels: int = Field(40_000_000, ge=1, description="Uploaded images with more "
                                  "pixels are refused before they are decoded.")
    max_streams: int = Field(8, ge=1, le=256, description="MJPEG streams served at once; more "
                             "get 503.")
    login_attempts: int = Field(5, ge=1, le=1000, description="Failed logins allowed per "
                                "address and per user name within `login_window_s`; more get "
                                "429.")
    login_window_s: float = Field(300.0, gt=0.0, description="See `login_attempts`.")
    faces_db: str | None = Field(None, description="Face database of the people pages and "
                                 "routes (SQLite file or postgresql:// URL). Default: the first "
                                 "camera's `tracker.recognition.database`, else faces.db.")
    jobs_dir: Path = Field(Path("jobs"), description="Where uploaded videos are analysed "
                           "(one folder per job, removed with the job).")
    max_jobs_kept: int = Field(50, ge=1, le=10_000, description="Finished jobs remembered "
                               "(the oldest are forgotten and their folders removed).")
    niceness: int = Field(10, ge=0, le=19, description="`facetrack serve` runs this much "
                          "below other programs (Linux niceness added to its own): beside a "
                          "monitor on the same machine, the cameras keep their frames when "
                          "the cores are busy and the API answers later. 0: the same "
                          "priority. (A monitor's own `api:` shares the cameras' process and "
                          "priority.)")
