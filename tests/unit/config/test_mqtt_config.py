"""``mqtt:``: defaults, what is refused, and a password that never shows."""

from __future__ import annotations

import pytest

from facetrack.config.base import parse_yaml, validate
from facetrack.config.mqtt import MqttConfig
from facetrack.errors import ConfigError


def test_defaults() -> None:
    cfg = MqttConfig(host="broker")
    assert (cfg.port, cfg.topic_prefix, cfg.client_id, cfg.qos) == (1883, "facetrack",
                                                                     "facetrack", 1)
    assert (cfg.tls, cfg.keepalive_s, cfg.max_queued, cfg.update_every_s) == (False, 60, 10_000,
                                                                               1.0)
    assert cfg.username is None and cfg.password is None


def test_the_password_never_shows() -> None:
    cfg = validate(MqttConfig, parse_yaml("host: b\nusername: ha\npassword: hunter2secret\n"),
                   "mon.yaml")
    assert cfg.password is not None and cfg.password.get_secret_value() == "hunter2secret"
    for shown in (repr(cfg), str(cfg), cfg.model_dump_json(), str(cfg.model_dump())):
        assert "hunter2secret" not in shown


@pytest.mark.parametrize(("data", "message"), [
    ({}, "host: Field required"),
    ({"host": "b", "qos": 3}, "qos"),
    ({"host": "b", "port": 0}, "port"),
    ({"host": "b", "topic_prefix": "home/#"}, "topic_prefix"),
    ({"host": "b", "topic_prefix": "home/+/x"}, "topic_prefix"),
    ({"host": "b", "topic_prefix": "/home"}, "topic_prefix"),
    ({"host": "b", "topic_prefix": "home/"}, "topic_prefix"),
    ({"host": "b", "topic_prefix": "a//b"}, "topic_prefix"),
    ({"host": "b", "password": "x"}, "mqtt.password needs mqtt.username"),
    ({"host": "b", "ca_file": "ca.pem"}, "mqtt.ca_file is only used with mqtt.tls"),
    ({"host": "b", "max_queued": 70_000}, "max_queued"),
    ({"host": "b", "update_every_s": -1}, "update_every_s"),
    ({"host": "b", "retain": True}, "unknown key 'retain'"),
])
def test_what_is_refused(data: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("+", r"\+")):
        validate(MqttConfig, data, "mon.yaml")


def test_a_nested_prefix_is_fine() -> None:
    assert MqttConfig(host="b", topic_prefix="home/facetrack").topic_prefix == "home/facetrack"
