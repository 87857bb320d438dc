"""``facetrack check-config``: validate a config file and print the effective settings, with
every secret masked (URL credentials, notification URLs, the live-view token)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from facetrack.cli.common import exit_codes
from facetrack.config import TrackerConfig
from facetrack.config.base import read_yaml
from facetrack.config.service import MonitorConfig
from facetrack.errors import ConfigError
from facetrack.redact import masked


def check_config(config: Annotated[Path, typer.Argument(help="YAML config file.")]) -> None:
    """Validate a config file and print the effective settings (secrets masked)."""
    with exit_codes():
        data = read_yaml(config)
        if isinstance(data, dict) and "cameras" in data:
            cfg: TrackerConfig | MonitorConfig = MonitorConfig.from_yaml(config)
        elif data is None or isinstance(data, dict):
            cfg = TrackerConfig.from_yaml(config)
        else:
            raise ConfigError(f"{config}: config must be a mapping of sections, got "
                              f"{type(data).__name__}")
    typer.echo(json.dumps(masked(cfg.model_dump(mode="json")), indent=2, ensure_ascii=False))
