"""MQTT against a real broker (Debian's mosquitto, started per test with persistence on):
availability and the last will, a camera's messages, no loss across a broker restart, and a
broker that is not there at all."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from facetrack.config.mqtt import MqttConfig
from facetrack.events import TrackStarted
from facetrack.results import FrameResult
from facetrack.sinks.mqtt_client import MqttPublisher
from tests.builders import make_frame, snapshot, wait_until
from tests.integration.mqtt_server import MosquittoServer, Subscriber, require_paho
from tests.integration.servers import free_port

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture()
def broker(tmp_path: Path) -> Iterator[MosquittoServer]:
    server = MosquittoServer(tmp_path)
    yield server
    server.close()


def _publisher(port: int, **settings: object) -> MqttPublisher:
    cfg = MqttConfig.model_validate({"host": "127.0.0.1", "port": port, "topic_prefix": "ft",
                                     "client_id": "ft-test", **settings})
    return MqttPublisher(cfg, reconnect_s=(1, 1), close_patience_s=5.0)


def test_available_is_online_while_open_and_offline_after_close(
        broker: MosquittoServer) -> None:
    pub = _publisher(broker.port)
    try:
        assert wait_until(lambda: pub.counters.connected, 10)
        watcher = Subscriber(broker.port, "ft/#")
        assert watcher.wait_for(1, "ft/available") == ["online"]
        assert watcher.messages[0] == ("ft/available", "online", True)  # retained
        sink = pub.sink("door")
        sink.consume(FrameResult(make_frame(0), tracks=(snapshot(3, frames_seen=1),), events=(
            TrackStarted("door", 0, 0.0, 3, "2027-01-01T00:00:00.000+00:00"),)))
        pub.publish_audience("door", [{"window_start": "a", "window_end": "b", "zone": "all"}])
        new = json.loads(watcher.wait_for(1, "ft/events")[0])
        assert (new["type"], new["after"]["id"]) == ("new", "door-3-1798761600.000")
        assert json.loads(watcher.wait_for(1, "ft/door/audience")[0])["rows"][0]["zone"] == "all"
    finally:
        pub.close()
    assert watcher.wait_for(2, "ft/available") == ["online", "offline"]
    late = Subscriber(broker.port, "ft/available", "ft/door/audience")
    assert sorted(late.wait_for(2)) == sorted(["offline", late.received("ft/door/audience")[0]])
    assert all(retain for _, _, retain in late.messages)  # both kept for later subscribers
    counters = pub.counters
    assert (counters.dropped, counters.connected) == (0, False)
    assert counters.published >= 3
    watcher.close()
    late.close()


_KILLED = """
import sys, time
from facetrack.config.mqtt import MqttConfig
from facetrack.sinks.mqtt_client import MqttPublisher
pub = MqttPublisher(MqttConfig(host="127.0.0.1", port=int(sys.argv[1]), topic_prefix="ft",
                               client_id="ft-killed"))
while not pub.counters.connected:
    time.sleep(0.02)
print("connected", flush=True)
time.sleep(60)
"""


def test_the_last_will_says_offline_when_the_process_is_killed(
        broker: MosquittoServer) -> None:
    watcher = Subscriber(broker.port, "ft/available")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-c", _KILLED, str(broker.port)],
                            stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "connected"
        assert watcher.wait_for(1) == ["online"]
        proc.kill()  # SIGKILL: no clean close, no "offline" from the process itself
        proc.wait(10)
        assert watcher.wait_for(2, timeout=10) == ["online", "offline"]
        assert watcher.messages[-1] == ("ft/available", "offline", False)  # live, not retained
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
        watcher.close()
    late = Subscriber(broker.port, "ft/available")
    assert late.wait_for(1) == ["offline"]  # the will is retained
    late.close()


def test_no_message_is_lost_across_a_broker_restart(broker: MosquittoServer) -> None:
    n = 40
    reader = Subscriber(broker.port, "ft/n", client_id="ft-reader", persistent=True)
    pub = _publisher(broker.port)
    try:
        assert wait_until(lambda: pub.counters.connected, 10)
        for i in range(n):  # some are still on their way when the broker goes
            pub.publish("ft/n", f"before-{i}")
        broker.stop()
        assert wait_until(lambda: not pub.counters.connected, 10)
        for i in range(n):  # the broker is away: queued in the publisher
            pub.publish("ft/n", f"during-{i}")
        assert pub.counters.dropped == 0
        broker.start()
        for i in range(n):  # likely before the publisher is back
            pub.publish("ft/n", f"after-{i}")
        expected = {f"{phase}-{i}" for phase in ("before", "during", "after") for i in range(n)}
        wait_until(lambda: set(reader.received("ft/n")) >= expected, 15)
        got = reader.received("ft/n")
        assert set(got) == expected, sorted(expected - set(got))  # QoS 1: duplicates allowed
        assert wait_until(lambda: pub.counters.connected, 5)
        assert pub.counters.dropped == 0
    finally:
        pub.close()
        reader.close()


def test_a_broker_that_is_not_there_neither_blocks_nor_raises(
        caplog: pytest.LogCaptureFixture) -> None:
    require_paho()
    caplog.set_level(logging.INFO, logger="facetrack.sinks")
    port = free_port()  # nothing listens
    start = time.monotonic()
    pub = _publisher(port, max_queued=5, username="ha", password="sw0rdfish-secret")
    pub.close_patience_s = 0.5
    sink = pub.sink("door")
    try:
        for i in range(8):
            sink.consume(FrameResult(make_frame(i), tracks=(snapshot(i, frames_seen=1),)))
        assert time.monotonic() - start < 1.0  # never waited for the broker
        assert wait_until(lambda: "cannot reach it" in caplog.text, 5)
        assert pub.counters == type(pub.counters)(published=5, dropped=3, connected=False)
        for i in range(3):  # more drops, no more warnings
            pub.publish("ft/x", str(i))
    finally:
        pub.close()
    drops = [r for r in caplog.records if "dropping messages" in r.getMessage()]
    assert len(drops) == 1 and drops[0].levelno == logging.WARNING
    assert sum("cannot reach it" in r.getMessage() for r in caplog.records) == 1
    assert "sw0rdfish-secret" not in caplog.text
    assert pub.counters.dropped == 6


def test_qos0_messages_are_dropped_while_the_broker_is_away() -> None:
    require_paho()
    pub = _publisher(free_port(), qos=0)
    pub.close_patience_s = 0.5
    try:
        pub.publish("ft/x", "lost")
        assert (pub.counters.published, pub.counters.dropped) == (0, 1)
    finally:
        pub.close()


@pytest.mark.data
def test_a_monitor_publishes_its_cameras_tracks(broker: MosquittoServer, live_clip: Path,
                                                tmp_path: Path) -> None:
    """A real monitor on a real clip: `new` for every track, `end` for each when it stops,
    `available` online while it runs and offline after; /metrics counts what went out."""
    from facetrack.service import Monitor, MonitorConfig

    watcher = Subscriber(broker.port, "ft/#")
    cfg = MonitorConfig.model_validate({
        "store": {"events_db": str(tmp_path / "ev.db"), "events_jsonl": None},
        "cameras": [{"name": "door", "source": str(live_clip), "fps_cap": 10}],
        "mqtt": {"host": "127.0.0.1", "port": broker.port, "topic_prefix": "ft",
                 "client_id": "ft-monitor"}})
    mon = Monitor(cfg)
    counters = mon.run(duration_s=12)
    assert counters["door"].processed > 20
    events = [json.loads(m) for m in watcher.received("ft/events")]
    new = {e["after"]["id"] for e in events if e["type"] == "new"}
    ended = {e["after"]["id"] for e in events if e["type"] == "end"}
    assert new and new == ended, events
    assert all(e["after"]["camera"] == "door" and e["after"]["label"] == "face" for e in events)
    assert watcher.wait_for(2, "ft/available") == ["online", "offline"]
    m = mon.mqtt.counters
    assert m.dropped == 0 and m.published >= len(events) + 1
    watcher.close()
