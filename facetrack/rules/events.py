"""From per-frame results to events and alerts, for one camera.

``EventRules.consume(result)`` turns a ``FrameResult`` into the events it decides (track
started/ended, identity matched, unknown face, eyes closed, drowsy, distracted, dwell in a
zone); ``AlertPolicy.consider(events)`` turns those into alerts, at most one per person and
reason per hold-off period. Times are the frames' timestamps (seconds on the source's clock),
so a file replays to the same events as the live camera it was recorded from.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np
import numpy.typing as npt

from facetrack.config.camera import AlertsConfig, EventsConfig
from facetrack.events import (
    Alert,
    Distracted,
    Drowsy,
    Dwell,
    Event,
    EyesClosed,
    IdentityMatched,
    TrackEnded,
    TrackStarted,
    UnknownFace,
)
from facetrack.results import FrameResult

#: durations are differences of float timestamps: compare with this slack
_EPS = 1e-6


@dataclass
class _Track:
    first_t: float
    first_frame: int
    last_t: float
    frames: int = 0
    identity_reported: int | None = None  # person id reported (-1 = unknown)
    person_id: int = -1
    closed_since: float | None = None
    closed_reported: bool = False
    away_since: float | None = None
    away_reported: bool = False
    drowsy: bool = False
    eyes: deque[tuple[float, bool]] = field(default_factory=deque)
    zone_since: dict[str, float] = field(default_factory=dict)
    zone_reported: set[str] = field(default_factory=set)
    embedding_sum: npt.NDArray[np.float32] | None = None


class EventRules:
    """Stateful per camera; feed results in order."""

    def __init__(self, camera: str, config: EventsConfig,
                 zones: Mapping[str, Sequence[tuple[float, float]]] | None = None) -> None:
        self.camera = camera
        self.config = config
        self.zones = {
            name: np.asarray(points, np.float32).reshape(-1, 1, 2)
            for name, points in (zones or {}).items()
        }
        self.tracks: dict[int, _Track] = {}
        self.names: dict[int, str] = {}

    def consume(self, result: FrameResult) -> list[Event]:
        frame, faces = result.frame, result.faces
        self.names.update(result.names)
        t, idx = frame.timestamp, frame.index
        cfg = self.config
        out: list[Event] = []
        attrs = faces.attrs
        for i, tid in enumerate(faces.track_id.tolist()):
            if tid < 0:
                continue
            tr = self.tracks.get(tid)
            if tr is None:
                tr = self.tracks[tid] = _Track(t, idx, t)
                out.append(TrackStarted(self.camera, idx, t, tid))
            tr.last_t = t
            tr.frames += 1
            if faces.embedding is not None and not np.isnan(faces.embedding[i, 0]):
                vec = np.asarray(faces.embedding[i], np.float32)
                tr.embedding_sum = vec if tr.embedding_sum is None else tr.embedding_sum + vec
            if "identity_confirmed" in attrs and bool(attrs["identity_confirmed"][i]):
                pid = int(attrs["person_id"][i])
                sim = float(attrs["similarity"][i])
                tr.person_id = pid
                if tr.identity_reported != pid:
                    tr.identity_reported = pid
                    if pid >= 0:
                        out.append(IdentityMatched(self.camera, idx, t, tid, person_id=pid,
                                                   person=self.names.get(pid), similarity=sim))
                    else:
                        out.append(UnknownFace(self.camera, idx, t, tid, similarity=sim))
            analysed = bool(attrs["analysed"][i]) if "analysed" in attrs else False
            if analysed and "eyes_closed" in attrs:
                closed = bool(attrs["eyes_closed"][i])
                out += self._eyes(tr, tid, idx, t, closed)
            if analysed and "looking" in attrs:
                out += self._attention(tr, tid, idx, t, bool(attrs["looking"][i]))
            if self.zones:
                x1, y1, x2, y2 = (float(v) for v in faces.xyxy[i])
                centre = ((x1 + x2) / 2, (y1 + y2) / 2)
                for name, poly in self.zones.items():
                    inside = cv2.pointPolygonTest(poly, centre, False) >= 0
                    if not inside:
                        tr.zone_since.pop(name, None)
                        tr.zone_reported.discard(name)
                        continue
                    since = tr.zone_since.setdefault(name, t)
                    if t - since >= cfg.dwell_s - _EPS and name not in tr.zone_reported:
                        tr.zone_reported.add(name)
                        out.append(Dwell(self.camera, idx, t, tid, zone=name,
                                         duration_s=t - since))
        out += self._ended(idx, t)
        return out

    def _eyes(self, tr: _Track, tid: int, idx: int, t: float, closed: bool) -> list[Event]:
        cfg = self.config
        out: list[Event] = []
        if closed:
            if tr.closed_since is None:
                tr.closed_since = t
            if not tr.closed_reported and t - tr.closed_since >= cfg.eyes_closed_s - _EPS:
                tr.closed_reported = True
                out.append(EyesClosed(self.camera, idx, t, tid, duration_s=t - tr.closed_since))
        else:
            tr.closed_since, tr.closed_reported = None, False
        tr.eyes.append((t, closed))
        while tr.eyes and tr.eyes[0][0] < t - cfg.drowsy_window_s:
            tr.eyes.popleft()
        covered = t - tr.eyes[0][0] if tr.eyes else 0.0
        if covered >= 0.8 * cfg.drowsy_window_s - _EPS:
            perclos = _perclos(tr.eyes)
            if perclos >= cfg.drowsy_perclos and not tr.drowsy:
                tr.drowsy = True
                out.append(Drowsy(self.camera, idx, t, tid, perclos=perclos,
                                  window_s=cfg.drowsy_window_s))
            elif perclos < cfg.drowsy_perclos:
                tr.drowsy = False
        return out

    def _attention(self, tr: _Track, tid: int, idx: int, t: float, looking: bool
                   ) -> list[Event]:
        if looking:
            tr.away_since, tr.away_reported = None, False
            return []
        if tr.away_since is None:
            tr.away_since = t
        if not tr.away_reported and t - tr.away_since >= self.config.distracted_s - _EPS:
            tr.away_reported = True
            return [Distracted(self.camera, idx, t, tid, duration_s=t - tr.away_since)]
        return []

    def _ended(self, idx: int, t: float) -> list[Event]:
        gone = [tid for tid, tr in self.tracks.items()
                if t - tr.last_t >= self.config.end_after_s - _EPS]
        return [self._end(tid, idx, t) for tid in gone]

    def _end(self, tid: int, idx: int, t: float) -> TrackEnded:
        tr = self.tracks.pop(tid)
        pid = tr.person_id
        return TrackEnded(self.camera, idx, t, tid, duration_s=tr.last_t - tr.first_t,
                          frames=tr.frames, person_id=pid,
                          person=self.names.get(pid) if pid >= 0 else None)

    def close(self, idx: int, t: float) -> list[Event]:
        """End every open track (the camera stopped)."""
        return [self._end(tid, idx, t) for tid in list(self.tracks)]

    def mean_embedding(self, tid: int) -> npt.NDArray[np.float32] | None:
        tr = self.tracks.get(tid)
        if tr is None or tr.embedding_sum is None:
            return None
        norm = float(np.linalg.norm(tr.embedding_sum))
        return tr.embedding_sum / norm if norm > 0 else None


def _perclos(samples: deque[tuple[float, bool]]) -> float:
    """Share of the time with eyes closed: each sample holds until the next one."""
    if len(samples) < 2:
        return 0.0
    closed = total = 0.0
    for (t0, c), (t1, _) in zip(list(samples)[:-1], list(samples)[1:], strict=True):
        total += t1 - t0
        closed += (t1 - t0) if c else 0.0
    return closed / total if total > 0 else 0.0


class AlertPolicy:
    """Which events alert, and the hold-off per person and reason.

    A person is an enrolled id (``person:ID``); an unknown face is matched by appearance to the
    unknown faces that alerted before (mean track embedding, cosine >= ``same_threshold``;
    ``unknown:N``); without embeddings it is the track (``track:ID``)."""

    def __init__(self, config: AlertsConfig, rules: EventRules, same_threshold: float = 0.333
                 ) -> None:
        self.config = config
        self.rules = rules
        self.same_threshold = same_threshold
        self._last: dict[tuple[str, str], float] = {}
        # unknown faces that alerted: number -> (mean embedding, last alert time)
        self._unknowns: dict[int, tuple[npt.NDArray[np.float32], float]] = {}
        self._next_unknown = 1

    def _wanted(self, event: Event) -> bool:
        mode = self.config.mode
        if isinstance(event, IdentityMatched):
            return mode in ("ON_KNOWNS", "ON_ALL")
        if isinstance(event, UnknownFace):
            return mode in ("ON_UNKNOWNS", "ON_ALL")
        return event.kind in self.config.on

    def _person(self, event: Event) -> tuple[str, int]:
        tr = self.rules.tracks.get(event.track_id)
        pid = tr.person_id if tr is not None else getattr(event, "person_id", -1)
        if pid >= 0:
            return f"person:{pid}", pid
        emb = self.rules.mean_embedding(event.track_id)
        if emb is None:
            return f"track:{event.track_id}", -1
        for n, (known, _) in self._unknowns.items():
            if float(known @ emb) >= self.same_threshold:
                self._unknowns[n] = (known, event.timestamp)
                return f"unknown:{n}", -1
        n, self._next_unknown = self._next_unknown, self._next_unknown + 1
        self._unknowns[n] = (emb, event.timestamp)
        return f"unknown:{n}", -1

    def _prune(self, now: float) -> None:
        """Forget hold-offs that have expired (a monitor runs for days: these must not
        grow without bound)."""
        horizon = now - self.config.holdoff_s
        self._last = {k: t for k, t in self._last.items() if t >= horizon}
        self._unknowns = {n: v for n, v in self._unknowns.items() if v[1] >= horizon}

    def consider(self, events: Sequence[Event]) -> list[Alert]:
        alerts: list[Alert] = []
        if events and len(self._last) + len(self._unknowns) > 1000:
            self._prune(events[0].timestamp)
        for event in events:
            if not self._wanted(event):
                continue
            key, pid = self._person(event)
            last = self._last.get((key, event.kind))
            if last is not None and event.timestamp - last < self.config.holdoff_s:
                continue
            self._last[(key, event.kind)] = event.timestamp
            detail = {k: v for k, v in event.to_dict().items()
                      if k not in ("kind", "camera", "frame", "timestamp", "track_id",
                                   "wall_time")}
            alerts.append(Alert(
                event.camera, event.frame, event.timestamp, event.track_id, reason=event.kind,
                person_key=key, person_id=pid,
                person=self.rules.names.get(pid) if pid >= 0 else None, detail=detail,
            ))
        return alerts


