"""Secrets out of what facetrack prints: URLs lose their credentials before any log line,
error message or ``check-config`` output shows them."""

from __future__ import annotations

import re

_USERINFO = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://)([^/@?#\s]*@)")


def redact_url(url: str) -> str:
    """``rtsp://user:secret@cam/stream`` -> ``rtsp://***@cam/stream``, wherever a URL with
    credentials appears in ``url`` (an error message may quote one); other text unchanged."""
    return _USERINFO.sub(r"\1***@", str(url))
