"""Adaptive re-identification and per-track identity voting (pure, no I/O).

Embedding every face every frame is the costliest thing recognition does (~30-60 ms a face on a
CPU). A track's identity rarely changes, so each track is embedded at growing intervals
1, 2, 4, 8, ... frames up to ``max_interval``; the interval drops back to 1 when the best match
changes or the face's quality jumps (a better view may change the answer).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field


@dataclass
class _Schedule:
    next_frame: int
    interval: int = 1
    last_person: int | None = None
    best_quality: float = 0.0


class ReidScheduler:
    """Decides which tracks to embed in a frame. One per stream; not thread-safe."""

    def __init__(self, max_interval: int, quality_jump: float = 1.5) -> None:
        if max_interval < 1:
            raise ValueError("max_interval must be >= 1")
        self._max = max_interval
        self._jump = quality_jump
        self._tracks: dict[int, _Schedule] = {}

    def due(self, track_id: int, frame_index: int, quality: float) -> bool:
        """True when ``track_id`` should be embedded in this frame: new track, its interval
        has elapsed, or its face looks much better than any view embedded so far."""
        s = self._tracks.get(track_id)
        if s is None:
            return True
        if s.best_quality > 0 and quality >= s.best_quality * self._jump:
            s.interval = 1
            return True
        return frame_index >= s.next_frame

    def record(self, track_id: int, frame_index: int, person_id: int, quality: float) -> None:
        """Note an embedding attempt and its best match (-1 = unknown)."""
        s = self._tracks.get(track_id)
        if s is None:
            s = self._tracks[track_id] = _Schedule(next_frame=frame_index)
        elif s.last_person is not None and person_id != s.last_person:
            s.interval = 1  # the answer changed: look again soon
        else:
            s.interval = min(s.interval * 2, self._max) if s.last_person is not None else 1
        s.last_person = person_id
        s.best_quality = max(s.best_quality, quality)
        s.next_frame = frame_index + s.interval

    def forget(self, track_id: int) -> None:
        self._tracks.pop(track_id, None)


@dataclass
class _Votes:
    weight: dict[int, float] = field(default_factory=lambda: defaultdict(float))
    best_similarity: dict[int, float] = field(default_factory=dict)
    streak_person: int | None = None
    streak: int = 0
    confirmed: int | None = None


class IdentityVote:
    """Per-track identity: a vote over embedding attempts weighted by face quality.

    The leading person (unknown = -1 counts as a candidate too) is confirmed once
    ``credence_count`` consecutive attempts agree with it; until then the track's identity is
    reported as unconfirmed. A confirmed identity changes only when another candidate both leads
    the vote and wins ``credence_count`` consecutive attempts.
    """

    def __init__(self, credence_count: int) -> None:
        self._credence = max(1, credence_count)
        self._tracks: dict[int, _Votes] = {}

    def add(self, track_id: int, person_id: int, similarity: float, quality: float) -> None:
        v = self._tracks.setdefault(track_id, _Votes())
        v.weight[person_id] += max(quality, 1e-3)
        v.best_similarity[person_id] = max(v.best_similarity.get(person_id, -1.0), similarity)
        if person_id == v.streak_person:
            v.streak += 1
        else:
            v.streak_person, v.streak = person_id, 1
        leader = max(v.weight, key=lambda p: v.weight[p])
        if v.streak >= self._credence and leader == person_id:
            v.confirmed = person_id

    def identity(self, track_id: int) -> tuple[int, float, bool]:
        """(person id or -1, best similarity seen for it, confirmed?) of the track's leader."""
        v = self._tracks.get(track_id)
        if v is None or not v.weight:
            return -1, float("nan"), False
        if v.confirmed is not None:
            return v.confirmed, v.best_similarity[v.confirmed], True
        leader = max(v.weight, key=lambda p: v.weight[p])
        return leader, v.best_similarity[leader], False

    def forget(self, track_id: int) -> None:
        self._tracks.pop(track_id, None)
