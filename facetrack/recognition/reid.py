"""Adaptive re-identification and identity voting for one track (pure, no I/O).

Embedding every face every frame is the costliest thing recognition does (~30-60 ms a face on a
CPU). A track's identity rarely changes, so each track is embedded at growing intervals
1, 2, 4, 8, ... frames up to ``max_interval``; the interval drops back to 1 when the best match
changes or the face's quality jumps (a better view may change the answer). Both objects live in
the track's ``TrackHistory`` (``IdentityState``) and end with it.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt


@dataclass
class ReidSchedule:
    """When one track is embedded next."""

    next_frame: int | None = None
    interval: int = 1
    last_person: int | None = None
    best_quality: float = 0.0

    def due(self, frame_index: int, quality: float, quality_jump: float = 1.5) -> bool:
        """Embed now: first look, the interval has elapsed, or the face looks much better
        than any view embedded so far."""
        if self.next_frame is None:
            return True
        if self.best_quality > 0 and quality >= self.best_quality * quality_jump:
            self.interval = 1
            return True
        return frame_index >= self.next_frame

    def record(self, frame_index: int, person_id: int, quality: float, max_interval: int
               ) -> None:
        """Note an embedding attempt and its best match (-1 = unknown)."""
        if self.next_frame is None or self.last_person is None:
            self.interval = 1
        elif person_id != self.last_person:
            self.interval = 1  # the answer changed: look again soon
        else:
            self.interval = min(self.interval * 2, max_interval)
        self.last_person = person_id
        self.best_quality = max(self.best_quality, quality)
        self.next_frame = frame_index + self.interval


@dataclass
class IdentityVote:
    """One track's identity: a vote over embedding attempts weighted by face quality.

    The leading person (unknown = -1 counts as a candidate too) is confirmed once
    ``credence_count`` consecutive attempts agree with it; until then it is reported as
    unconfirmed. A confirmed identity changes only when another candidate both leads the vote
    and wins ``credence_count`` consecutive attempts."""

    weight: dict[int, float] = field(default_factory=lambda: defaultdict(float))
    best_similarity: dict[int, float] = field(default_factory=dict)
    streak_person: int | None = None
    streak: int = 0
    confirmed: int | None = None

    def add(self, person_id: int, similarity: float, quality: float, credence_count: int
            ) -> None:
        self.weight[person_id] += max(quality, 1e-3)
        self.best_similarity[person_id] = max(self.best_similarity.get(person_id, -1.0),
                                              similarity)
        if person_id == self.streak_person:
            self.streak += 1
        else:
            self.streak_person, self.streak = person_id, 1
        if self.streak >= max(1, credence_count) and self._leader() == person_id:
            self.confirmed = person_id

    def _leader(self) -> int:
        return max(self.weight, key=lambda p: self.weight[p])

    def identity(self) -> tuple[int, float, bool]:
        """(person id or -1, best similarity seen for it, confirmed?) of the leader."""
        if not self.weight:
            return -1, math.nan, False
        if self.confirmed is not None:
            return self.confirmed, self.best_similarity[self.confirmed], True
        leader = self._leader()
        return leader, self.best_similarity[leader], False


@dataclass
class IdentityState:
    """Everything recognition keeps for one track."""

    schedule: ReidSchedule = field(default_factory=ReidSchedule)
    vote: IdentityVote = field(default_factory=IdentityVote)
    embedding_sum: npt.NDArray[np.float32] | None = None
    embeddings: int = 0

    def add_embedding(self, vector: npt.NDArray[np.float32]) -> None:
        v = np.asarray(vector, np.float32)
        self.embedding_sum = v.copy() if self.embedding_sum is None else self.embedding_sum + v
        self.embeddings += 1

    @property
    def mean_embedding(self) -> npt.NDArray[np.float32] | None:
        return None if self.embedding_sum is None else unit_mean(self.embedding_sum[None, :])


def unit_mean(vectors: npt.ArrayLike) -> npt.NDArray[np.float32] | None:
    """The normalised mean of unit vectors ``(k, dim)`` (None for none, or when they cancel):
    a track's or a group's appearance in one vector."""
    arr = np.asarray(vectors, np.float32)
    if arr.size == 0:
        return None
    total = arr.reshape(-1, arr.shape[-1]).sum(axis=0)
    norm = float(np.linalg.norm(total))
    return None if norm <= 0 else np.asarray(total / norm, np.float32)
