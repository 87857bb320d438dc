"""A real MQTT broker for the live tests (Debian's mosquitto) and a real subscriber (paho).

Like tests/integration/servers.py: a missing mosquitto or paho-mqtt skips the test locally with
the reason and fails it under ``CI=true``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Any

from tests.builders import wait_until
from tests.integration.servers import free_port, require, wait_port


def _mosquitto() -> str | None:
    """Debian installs it in /usr/sbin, which is not on every user's PATH."""
    found = shutil.which("mosquitto")
    if found is None and os.access("/usr/sbin/mosquitto", os.X_OK):
        found = "/usr/sbin/mosquitto"
    return found


def require_paho() -> None:
    try:
        import paho.mqtt.client  # noqa: F401
    except ImportError:
        require(False, "paho-mqtt (the [mqtt] extra)")


class MosquittoServer:
    """mosquitto on a free port of 127.0.0.1, anonymous, persistence on in ``folder``.

    ``stop()`` is a SIGTERM, as a service restart: the broker saves its persistent sessions,
    their subscriptions and the messages they have not received, and retained messages;
    ``start()`` brings it back on the same port with all of it. As root it stays root (it would
    otherwise switch to the ``mosquitto`` user, who cannot write ``folder``)."""

    def __init__(self, folder: Path) -> None:
        binary = _mosquitto()
        require(binary is not None, "mosquitto (Debian mosquitto)")
        require_paho()
        assert binary is not None
        self.binary = binary
        self.folder = folder
        self.port = free_port()
        self.log = folder / "mosquitto.log"
        self.config = folder / "mosquitto.conf"
        lines = [f"listener {self.port} 127.0.0.1", "allow_anonymous true",
                 "persistence true", f"persistence_location {folder}/",
                 "persistence_file mosquitto.db", f"log_dest file {self.log}",
                 "log_type error", "log_type warning", "log_type notice", "log_type information"]
        if os.geteuid() == 0:
            lines.append("user root")
        self.config.write_text("\n".join(lines) + "\n")
        self.proc: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        self.proc = subprocess.Popen([self.binary, "-c", str(self.config)],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        try:
            wait_port(self.port)
        except TimeoutError:
            self.stop()
            text = self.log.read_text(errors="replace") if self.log.exists() else ""
            raise RuntimeError(f"mosquitto did not start: {text[-2000:]}") from None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def close(self) -> None:
        self.stop()


class Subscriber:
    """A paho client subscribed to ``topics`` at QoS 1; ``messages`` are (topic, text, retain)
    in arrival order. ``persistent``: a persistent session under ``client_id`` (what the broker
    keeps for it while it or the broker is away), reconnecting every second."""

    def __init__(self, port: int, *topics: str, client_id: str = "",
                 persistent: bool = False) -> None:
        from paho.mqtt import client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        self.messages: list[tuple[str, str, bool]] = []
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self.topics = topics
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                                  clean_session=not persistent, protocol=mqtt.MQTTv311)
        self.client.reconnect_delay_set(1, 1)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *_: self._subscribed.set()
        self.client.connect("127.0.0.1", port, keepalive=10)
        self.client.loop_start()
        if not self._subscribed.wait(10):
            raise TimeoutError("the subscription was not acknowledged")

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason: Any,
                    properties: Any) -> None:
        if not reason.is_failure:
            client.subscribe([(topic, 1) for topic in self.topics])

    def _on_message(self, client: Any, userdata: Any, message: Any) -> None:
        with self._lock:
            self.messages.append((message.topic, message.payload.decode("utf-8"),
                                  bool(message.retain)))

    def received(self, topic: str | None = None) -> list[str]:
        with self._lock:
            return [text for t, text, _ in self.messages if topic is None or t == topic]

    def wait_for(self, count: int, topic: str | None = None, timeout: float = 10.0) -> list[str]:
        """The texts received on ``topic`` once there are at least ``count`` (or the timeout)."""
        wait_until(lambda: len(self.received(topic)) >= count, timeout)
        return self.received(topic)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
