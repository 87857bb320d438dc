"""Secrets out of what facetrack prints: URLs lose their credentials before any log line,
error message or ``check-config`` output shows them."""

from __future__ import annotations

import re
from typing import Any

_USERINFO = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://)([^/@?#\s]*@)")


_SECRET_PARAM = re.compile(r"([?&;](?:password|passwd|pwd|pass|token|access_token|api_?key|key|"
                           r"secret|sig|signature)=)[^&;#\s]*", re.IGNORECASE)


def redact_url(url: str) -> str:
    """``rtsp://user:secret@cam/stream`` -> ``rtsp://***@cam/stream``, and secrets passed as
    query parameters (``?password=...``, ``&token=...``) -> ``***``, wherever a URL appears in
    ``url`` (an error message may quote one); other text unchanged."""
    return _SECRET_PARAM.sub(r"\1***", _USERINFO.sub(r"\1***@", str(url)))


def mask_url(url: str) -> str:
    """``scheme://...``: an Apprise URL carries its credentials in every part."""
    return url.split("://", 1)[0] + "://..." if "://" in url else "..."


_URL_KEYS = {"source", "events_db", "database", "faces_db", "endpoint_url", "url"}
_SECRET_KEYS = {"token", "password", "key"}


def masked(value: Any, key: str = "") -> Any:
    """``value`` (a dumped config) with every secret replaced: URL credentials, notification
    URLs, tokens and passwords (``check-config``, the API's settings page)."""
    if isinstance(value, dict):
        return {k: masked(v, k) for k, v in value.items()}
    if isinstance(value, list):
        if key == "urls":
            return [mask_url(str(v)) for v in value]
        return [masked(v) for v in value]
    if key in _SECRET_KEYS and value is not None:
        return "***"
    if key in _URL_KEYS and isinstance(value, str):
        return redact_url(value)
    return value
