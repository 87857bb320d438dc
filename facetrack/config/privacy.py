"""Privacy settings: ``privacy:`` in a tracker config (``facetrack track``, a camera's
``tracker:``). What each mode keeps and where: docs/privacy.md.

- ``anonymous`` (the default): signals, counts and tracks only. Every picture facetrack
  produces (annotated video, evidence clips, live view and snapshots, RTSP push) has its faces
  blurred, and no face picture (thumbnails) or embedding is written.
- ``identified``: the enrolled face database and recognition; pictures as configured
  (``blur: true`` still blurs them). Turning recognition on chooses this mode, unless
  ``mode`` says otherwise (then the config is refused).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from facetrack.config.base import Strict

Mode = Literal["anonymous", "identified"]


class PrivacyConfig(Strict):
    mode: Mode | None = Field(
        None, description="`anonymous`: no face pixels or embeddings leave memory (pictures "
        "blurred, no thumbnails, no recognition). `identified`: recognition and pictures as "
        "configured. Default: `identified` when `recognition.enabled`, else `anonymous`.")
    blur: bool | None = Field(
        None, description="Blur every face in every picture produced. Default: on unless the "
        "mode is `identified`; `anonymous` refuses `false`.")
    style: Literal["blur", "pixelate", "fill"] = Field(
        "blur", description="`blur`: the head shrunk to a few pixels and smoothed back "
        "(nothing of the face is left to sharpen); `pixelate`: 8 blocks across; `fill`: grey.")
    margin: float = Field(
        0.35, ge=0.0, le=2.0, description="Grow each face box by this fraction of its size on "
        "every side, so hair, ears and the chin are covered too.")
