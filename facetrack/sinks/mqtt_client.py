"""The monitor's one MQTT connection (paho-mqtt, on paho's own network thread), shared by every
camera: ``MqttPublisher(config).sink(camera)`` gives each camera its ``MqttSink``
(``facetrack.sinks.mqtt``, the messages); docs/mqtt.md."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from facetrack.config.mqtt import MqttConfig
from facetrack.errors import ConfigError
from facetrack.sinks.mqtt import MqttSink, audience_message

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MqttCounters:
    """For the metrics: messages paho accepted (sent, or queued while the broker is away),
    messages dropped (its queue full; QoS 0 while away) and whether the broker is connected."""

    published: int = 0
    dropped: int = 0
    connected: bool = False


class MqttPublisher:
    """The monitor's one MQTT client, shared by every camera (``sink(camera)``); a context
    manager. Opening never waits for the broker: a broker that is down is logged and retried
    (every ``reconnect_s`` seconds, doubling up to the second value) while the cameras run.

    The session is persistent (clean_session false, MQTT 3.1.1): QoS 1/2 messages published
    while the broker is away, or not yet acknowledged when it went, are sent when it is back
    (paho resends unacknowledged ones: duplicates are possible, as QoS 1 allows). Messages wait
    in this process only: they are lost if it dies before the broker is back.
    """

    def __init__(self, config: MqttConfig, *, reconnect_s: tuple[int, int] = (1, 30),
                 close_patience_s: float = 5.0) -> None:
        try:
            from paho.mqtt import client as mqtt
            from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
        except ImportError:
            raise ConfigError("mqtt needs paho-mqtt: pip install 'facetrack[mqtt]'") from None
        self.config = config
        self.prefix = config.topic_prefix
        self.available_topic = f"{self.prefix}/available"
        self.close_patience_s = close_patience_s
        self._accepted = {MQTTErrorCode.MQTT_ERR_SUCCESS}
        if config.qos > 0:  # queued until the broker is back
            self._accepted.add(MQTTErrorCode.MQTT_ERR_NO_CONN)
        self._lock = threading.Lock()
        self._published = self._dropped = self._dropping = 0
        self._connected = self._down_told = self._closing = self._closed = False
        self._where = f"{config.host}:{config.port}"
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=config.client_id,
                             clean_session=False, protocol=mqtt.MQTTv311)
        client.on_log = _paho_log
        client.suppress_exceptions = True  # a bug in a callback must not end paho's thread
        if config.username is not None:
            secret = config.password
            client.username_pw_set(config.username,
                                   secret.get_secret_value() if secret is not None else None)
        if config.tls:
            try:
                client.tls_set(ca_certs=str(config.ca_file) if config.ca_file else None)
            except (OSError, ValueError) as exc:
                raise ConfigError(f"mqtt.ca_file {config.ca_file}: cannot use it ({exc})"
                                  ) from None
        client.will_set(self.available_topic, "offline", qos=config.qos, retain=True)
        client.reconnect_delay_set(*reconnect_s)
        client.max_queued_messages_set(config.max_queued)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_connect_fail = self._on_connect_fail
        client.connect_async(config.host, config.port, keepalive=config.keepalive_s)
        self._client = client
        client.loop_start()

    def __enter__(self) -> MqttPublisher:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    @property
    def counters(self) -> MqttCounters:
        with self._lock:
            return MqttCounters(self._published, self._dropped, self._connected)

    def sink(self, camera: str, clock: Callable[[], float] = time.time) -> MqttSink:
        return MqttSink(camera, self.publish, prefix=self.prefix,
                        update_every_s=self.config.update_every_s, clock=clock)

    def publish_audience(self, camera: str, rows: Sequence[Mapping[str, Any]]) -> None:
        """One closed audience window of ``camera`` (its rows, columns as
        ``facetrack.analytics.windows.COLUMNS``), retained: a dashboard that subscribes later
        still shows the latest window."""
        if rows:
            self.publish(*audience_message(self.prefix, camera, rows), True)

    def publish(self, topic: str, payload: bytes | str, retain: bool = False) -> None:
        """Queue one message at the configured QoS; never blocks, never raises."""
        if self._closed:
            rc: Any = "closed"
        else:
            try:
                rc = self._client.publish(topic, payload, qos=self.config.qos,
                                          retain=retain).rc
            except ValueError as exc:  # an invalid topic or payload: ours, not the broker's
                rc = str(exc)
        ok = rc in self._accepted
        with self._lock:
            if ok:
                self._published += 1
                recovered, self._dropping = self._dropping, 0
            else:
                self._dropped += 1
                self._dropping += 1
                recovered = 0
            first_drop = self._dropping == 1
        if recovered:
            log.info("MQTT: messages are queued again (%d dropped meanwhile)", recovered)
        elif first_drop and not self._closed:
            log.warning("MQTT: dropping messages (%s; at most mqtt.max_queued = %d wait while "
                        "the broker %s is away, and none at QoS 0)", _reason(rc),
                        self.config.max_queued, self._where)

    def close(self) -> None:
        """``offline`` (retained), waited for up to ``close_patience_s`` with what is still
        queued before it, then a clean disconnect (the broker drops the last will)."""
        if self._closed:
            return
        self._closing = True
        try:
            info = self._client.publish(self.available_topic, "offline", qos=self.config.qos,
                                        retain=True)
            if self.counters.connected:
                with contextlib.suppress(ValueError, RuntimeError):
                    info.wait_for_publish(self.close_patience_s)
            if not (info.rc == 0 and info.is_published()):
                log.warning("MQTT: closing without reaching the broker %s: what is still "
                            "queued (offline included) is lost", self._where)
        finally:
            self._closed = True
            self._client.disconnect()
            self._client.loop_stop()

    # -- paho's callbacks (its network thread) ---------------------------------------------

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason: Any,
                    properties: Any) -> None:
        if reason.is_failure:
            self._tell_down(f"the broker refused the connection: {reason}")
            return
        with self._lock:
            self._connected = True
        told, self._down_told = self._down_told, False
        resumed = " (session resumed)" if getattr(flags, "session_present", False) else ""
        (log.warning if told else log.info)("MQTT: connected to %s%s", self._where, resumed)
        self.publish(self.available_topic, "online", retain=True)

    def _on_disconnect(self, client: Any, userdata: Any, flags: Any, reason: Any,
                       properties: Any) -> None:
        with self._lock:
            was, self._connected = self._connected, False
        if was and not self._closing:
            self._tell_down(f"lost the connection ({reason})")

    def _on_connect_fail(self, client: Any, userdata: Any) -> None:
        self._tell_down("cannot reach it")

    def _tell_down(self, why: str) -> None:
        """Once per outage: paho retries quietly until it is back."""
        if self._down_told or self._closing:
            return
        self._down_told = True
        log.warning("MQTT: broker %s: %s; retrying, the cameras go on (QoS %d messages wait, "
                    "up to %d)", self._where, why, self.config.qos, self.config.max_queued)


_paho = logging.getLogger(f"{__name__}.paho")


def _paho_log(client: Any, userdata: Any, level: int, text: str) -> None:
    """paho's own log: an exception in a callback (suppressed, so paho's thread goes on) is an
    error; the rest is debug (a lost connection is paho's ERROR, but ours is told once, above,
    as a warning)."""
    if text.startswith("Caught exception"):
        _paho.error("MQTT: %s", text)
    else:
        _paho.debug("%s", text)


def _reason(rc: Any) -> str:
    try:
        from paho.mqtt.client import error_string

        return error_string(rc) if isinstance(rc, int) else str(rc)
    except ImportError:
        return str(rc)
