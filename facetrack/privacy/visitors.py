"""Repeat visitors without biometric data at rest (``privacy.mode: pseudonymous``).

``VisitorStage`` runs after the identity stage (which, with no face database, only embeds each
track on the re-id schedule and keeps the mean of its vectors in memory). Once a track has
``MIN_VIEWS`` embeddings, or when it ends with at least one, it is matched against the
``VisitorMemory``: the mean appearance of every visitor met since the memory began, each
multiplied by a random rotation drawn from a secret salt. A match at or above
``recognition.threshold`` (the one definition of "the same person") is that visitor; a visitor
on screen in another track at the same time is never a match (two faces at once are two
people). A visitor last seen less than ``privacy.visitor_gap_s`` before the track began
continues their visit (a track broken by an occlusion); later it is their next visit.

What leaves the stage: each track's ``TrackVisitor`` (a random token and the visit's number);
the identity column and the embeddings are removed from the results, so no sink, rule or
store ever sees a vector or an "unknown person". After ``privacy.visitor_memory_h`` the
memory drops every vector and token and draws a new salt: tokens from two memories cannot be
linked, and a visitor coming back later is new. The rotation keeps similarities (it is
orthogonal) while making the held vectors useless against any template made outside this
memory; the protection that matters is that nothing is written and everything is dropped.

Clock: a file's own time (a new file starts a new memory); a live camera's monotonic clock
(the memory lasts across reconnects, for as long as the monitor runs).
"""

from __future__ import annotations

import dataclasses
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from facetrack.recognition.reid import IdentityState
from facetrack.results import FrameResult
from facetrack.tracking.history import TrackHistory
from facetrack.tracks import TrackSnapshot, TrackVisitor

FloatArray = npt.NDArray[np.float32]

#: embeddings of a track before it is matched (a first, possibly poor, view decides nothing
#: unless the track ends sooner)
MIN_VIEWS = 3


@dataclass
class Visitor:
    """One visitor in the memory: the token written out, the salted unit mean appearance,
    when they were last seen, how many visits so far and the tracks showing them now."""

    token: str
    vector: FloatArray
    last_seen: float
    visits: int = 1
    active: set[int] = field(default_factory=set)


class VisitorMemory:
    """The visitors of one period of ``memory_s`` seconds, salted; see the module."""

    def __init__(self, threshold: float, memory_s: float, gap_s: float) -> None:
        self.threshold, self.memory_s, self.gap_s = threshold, memory_s, gap_s
        self.visitors: list[Visitor] = []
        self.started: float | None = None
        self.last = -float("inf")  # the latest time seen
        self.rotations = 0  # memories begun (each with its own salt)
        self._rotation: FloatArray | None = None
        self._salt = b""

    def _renew(self, now: float) -> None:
        """Forget every visitor and draw a new salt."""
        self.visitors.clear()
        self._salt = secrets.token_bytes(32)
        self._rotation = None
        self.started = now
        self.rotations += 1

    def tick(self, now: float) -> None:
        """Begin a new memory when the current one is ``memory_s`` old (or on the first
        call, or when the clock went back: a new input)."""
        if (self.started is None or now < self.last or now - self.started >= self.memory_s):
            self._renew(now)
        self.last = now

    def salted(self, vector: npt.ArrayLike) -> FloatArray:
        v = np.asarray(vector, np.float32).ravel()
        if self._rotation is None or self._rotation.shape[0] != v.size:
            rng = np.random.default_rng(np.frombuffer(self._salt, np.uint32))
            q, r = np.linalg.qr(rng.standard_normal((v.size, v.size)))
            self._rotation = np.asarray(q * np.sign(np.diag(r)), np.float32)
        out = self._rotation @ v
        norm = float(np.linalg.norm(out))
        return out / norm if norm > 0 else out

    def meet(self, vector: npt.ArrayLike, track_id: int, first_seen: float,
             now: float) -> Visitor:
        """The visitor a track (unit mean appearance ``vector``, seen since ``first_seen``)
        shows: a match (continuing their visit, or their next one) or someone new."""
        salted = self.salted(vector)
        free = [v for v in self.visitors if not v.active - {track_id}]
        best: Visitor | None = None
        if free:
            sims = np.stack([v.vector for v in free]) @ salted
            k = int(np.argmax(sims))
            if float(sims[k]) >= self.threshold:
                best = free[k]
        if best is None:
            best = Visitor(self._token(), salted, now)
            self.visitors.append(best)
        else:
            if best.last_seen < first_seen - self.gap_s:
                best.visits += 1
            merged = best.vector + salted
            best.vector = merged / max(float(np.linalg.norm(merged)), 1e-12)
        best.active.add(track_id)
        best.last_seen = max(best.last_seen, now)
        self.last = max(self.last, now)
        return best

    def _token(self) -> str:
        taken = {v.token for v in self.visitors}
        while (token := secrets.token_hex(4)) in taken:
            pass
        return token


@dataclass
class VisitState:
    """A track's visitor (None until decided) and its visit number."""

    visitor: Visitor | None = None
    visit: int = 0


class VisitorStage:
    """Gives each track its ``TrackVisitor`` and removes identities and embeddings from the
    results (see the module). ``memory`` outlives the stage (one per camera or tracker)."""

    def __init__(self, memory: VisitorMemory, clock: Callable[[FrameResult], float]) -> None:
        self.memory = memory
        self._clock = clock

    def process(self, result: FrameResult) -> FrameResult:
        now = self._clock(result)
        self.memory.tick(now)
        tracks = []
        for snap in result.tracks:
            record = result.records.get(snap.track_id)
            visitor = None if record is None else self._visitor(snap, record, now)
            tracks.append(dataclasses.replace(snap, identity=None, visitor=visitor))
        faces = result.faces.replace(embedding=None, identity=None)
        return result.replace(faces=faces, tracks=tuple(tracks))

    def _visitor(self, snap: TrackSnapshot, record: TrackHistory, now: float
                 ) -> TrackVisitor | None:
        state = record.state_of(VisitState)
        known = state.visitor
        if known is not None and known not in self.memory.visitors:
            state.visitor = known = None  # the memory was renewed: meet them afresh
        if known is None:
            identity = record.state_of(IdentityState)
            vector = identity.mean_embedding
            if vector is None or (identity.embeddings < MIN_VIEWS and snap.state != "ended"):
                return None
            first_seen = now - (snap.last_time - snap.first_time)
            known = state.visitor = self.memory.meet(vector, snap.track_id, first_seen, now)
            state.visit = known.visits
        if snap.state == "ended":
            known.active.discard(snap.track_id)
        elif snap.state == "active":
            known.last_seen = now
        return TrackVisitor(known.token, state.visit)

    def reset(self) -> None:
        """Nothing per input: the memory decides when to forget."""

    def close(self) -> None:
        """The memory belongs to whoever made it."""


def file_clock(result: FrameResult) -> float:
    """A file's own time."""
    return result.frame.timestamp


def live_clock(_: FrameResult) -> float:
    """A live camera: the monotonic clock when the frame is processed."""
    return time.monotonic()
