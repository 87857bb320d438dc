"""Audience analytics: attention to targets, zones, line crossings, expression proxies
(``stage``), windows in Quividi's vocabulary (``windows``), heatmaps (``heatmaps``). Pure
reducers over ``FrameResult``s; the vocabulary is defined in docs/audience.md."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def model_version() -> str:
    """facetrack's version and the first 8 hex digits of each default model's sha256, so a
    number can be traced to the code and the weights that made it."""
    from facetrack import __version__
    from facetrack.models import MODELS

    models = "+".join(f"{name}:{spec.sha256[:8]}" for name, spec in sorted(MODELS.items())
                      if name in ("yunet", "face_mesh", "iris"))
    return f"facetrack-{__version__};{models}"


def config_hash(config: Any) -> str:
    """12 hex digits of the sha256 of a config's JSON (keys sorted): rows made with the same
    settings share it."""
    data = config.model_dump(mode="json") if hasattr(config, "model_dump") else config
    text = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:12]
