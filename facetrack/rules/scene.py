"""Rules over a whole frame rather than one track: nobody watched in view.

A scene rule is ``evaluate(tracks, now) -> list[Event]`` and keeps its own small memory (one
camera's), cleared by ``reset``. Its events carry ``track_id`` -1."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from facetrack.events import Event, Uncertain
from facetrack.rules.base import EPS, Now, analysed_now
from facetrack.tracks import TrackSnapshot


class SceneRule(Protocol):
    def evaluate(self, tracks: Sequence[TrackSnapshot], now: Now) -> list[Event]: ...

    def reset(self) -> None: ...


class NoFaceRule:
    """``uncertain`` (reason ``no_face``) once nobody watched has been analysed for
    ``seconds``: the face left, turned away, is covered or too small. Once per absence."""

    def __init__(self, seconds: float, zone: str | None = None) -> None:
        self.seconds, self.zone = seconds, zone
        self.reset()

    def reset(self) -> None:
        self._since: float | None = None
        self._fired = False

    def evaluate(self, tracks: Sequence[TrackSnapshot], now: Now) -> list[Event]:
        if any(analysed_now(t, now) and (self.zone is None or self.zone in t.signals.zones)
               for t in tracks):
            self._since, self._fired = None, False
            return []
        if self._since is None:
            self._since = now.t
        lasted = now.t - self._since
        if self._fired or lasted < self.seconds - EPS:
            return []
        self._fired = True
        return [Uncertain(**now.head(-1), reason="no_face", duration_s=lasted)]
