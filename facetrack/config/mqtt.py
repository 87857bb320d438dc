"""``mqtt:`` of ``facetrack monitor``: publishing to an MQTT broker for Home Assistant, in the
message shapes Frigate's automations read (docs/mqtt.md).

```yaml
mqtt:
  host: 192.168.1.10
  username: facetrack
  password: "..."            # never logged, never shown in a repr
  qos: 1                     # QoS 1/2 messages wait (up to max_queued) while the broker is away
```
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator

from facetrack.config.base import Strict

#: a topic prefix is one or more topic levels: no wildcard, no NUL, no empty level
_PREFIX = re.compile(r"^[^/+#\x00]+(/[^/+#\x00]+)*$")


class MqttConfig(Strict):
    host: str = Field(..., min_length=1, description="The broker's host name or address "
                      "(Home Assistant's Mosquitto add-on: the Home Assistant host).")
    port: int = Field(1883, ge=1, le=65535, description="The broker's port (8883 is the "
                      "usual one with TLS).")
    topic_prefix: str = Field("facetrack", min_length=1, max_length=200,
                              description="First level(s) of every topic (`PREFIX/events`, "
                              "`PREFIX/available`, ...): set it to `frigate` only if no Frigate "
                              "publishes on this broker.")
    client_id: str = Field("facetrack", min_length=1, max_length=128, description="The "
                           "client's id. The session is persistent and kept by this id: two "
                           "monitors on one broker need different ids (the broker disconnects "
                           "the older one), and a new id loses what the broker kept.")
    username: str | None = Field(None, min_length=1, description="User name (null = "
                                 "anonymous).")
    password: SecretStr | None = Field(None, description="Password of `username`; never "
                                       "written to logs or shown in a repr.")
    qos: Literal[0, 1, 2] = Field(1, description="QoS of every message. 1 (at least once) "
                                  "and 2 (exactly once) keep messages while the broker is "
                                  "away and send them when it is back; 0 drops them.")
    tls: bool = Field(False, description="Connect with TLS (the broker's certificate is "
                      "checked against `ca_file`, or the system's CAs).")
    ca_file: Path | None = Field(None, description="CA certificate (PEM) that signed the "
                                 "broker's certificate (null = the system's CAs); needs `tls`.")
    keepalive_s: int = Field(60, ge=5, le=65535, description="Seconds between pings when "
                             "nothing else is sent; a broker that sees nothing for 1.5 times "
                             "this publishes `PREFIX/available` = offline (the last will).")
    max_queued: int = Field(10_000, ge=1, le=60_000, description="Messages held while the "
                            "broker is away (QoS 1/2); beyond this new messages are dropped "
                            "and counted. At most 60000 (MQTT message ids are 16-bit).")
    update_every_s: float = Field(1.0, ge=0.0, le=3600.0, description="At most one `update` "
                                  "message per track this often (changes in between go out "
                                  "together; a change of person is never lost).")

    @model_validator(mode="after")
    def _consistent(self) -> MqttConfig:
        if not _PREFIX.match(self.topic_prefix):
            raise ValueError(f"mqtt.topic_prefix {self.topic_prefix!r}: topic levels separated "
                             "by single `/`, without `+`, `#` or a leading/trailing `/`")
        if self.password is not None and self.username is None:
            raise ValueError("mqtt.password needs mqtt.username")
        if self.ca_file is not None and not self.tls:
            raise ValueError("mqtt.ca_file is only used with mqtt.tls: true")
        return self
