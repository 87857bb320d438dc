"""Privacy settings: ``privacy:`` in a tracker config (``facetrack track``, a camera's
``tracker:``). What each mode keeps and where: docs/privacy.md.

- ``anonymous`` (the default): signals, counts and tracks only. Every picture facetrack
  produces (annotated video, evidence clips, live view and snapshots, RTSP push) has its faces
  blurred, and no face picture (thumbnails) or embedding is written.
- ``pseudonymous``: as ``anonymous``, and repeat visitors are told apart by a salted appearance
  vector held in memory only, for ``visitor_memory_h`` hours; then the memory is dropped and
  the salt replaced (``facetrack.privacy.visitors``). What is written: a random token per
  visitor and the visit's number.
- ``identified``: the enrolled face database and recognition; pictures as configured
  (``blur: true`` still blurs them). Turning recognition on chooses this mode, unless
  ``mode`` says otherwise (then the config is refused).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from facetrack.config.base import Strict

Mode = Literal["anonymous", "pseudonymous", "identified"]


class PrivacyConfig(Strict):
    mode: Mode | None = Field(
        None, description="`anonymous`: no face pixels or embeddings leave memory (pictures "
        "blurred, no thumbnails, no recognition). `pseudonymous`: the same, and repeat "
        "visitors counted by a salted vector kept in memory for `visitor_memory_h`. "
        "`identified`: recognition and pictures as configured. Default: `identified` when "
        "`recognition.enabled`, else `anonymous`.")
    blur: bool | None = Field(
        None, description="Blur every face in every picture produced. Default: on unless the "
        "mode is `identified`; `anonymous` and `pseudonymous` refuse `false`.")
    style: Literal["blur", "pixelate", "fill"] = Field(
        "blur", description="`blur`: the head shrunk to a few pixels and smoothed back "
        "(nothing of the face is left to sharpen); `pixelate`: 8 blocks across; `fill`: grey.")
    margin: float = Field(
        0.35, ge=0.0, le=2.0, description="Grow each face box by this fraction of its size on "
        "every side, so hair, ears and the chin are covered too.")
    visitor_memory_h: float = Field(
        24.0, gt=0.0, le=24.0 * 366, description="`pseudonymous`: how long (hours; a file's "
        "own time, a camera's clock) the visitor memory lasts. Then every vector and token is "
        "forgotten and the salt replaced: a visitor coming back later is counted as new.")
    visitor_gap_s: float = Field(
        60.0, ge=0.0, description="`pseudonymous`: a track of a visitor last seen less than "
        "this long before continues that visit (a track broken by an occlusion); later, it "
        "is their next visit.")
