from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.optimize import linear_sum_assignment

from facetrack.config import TrackingConfig
from facetrack.faces import Faces
from facetrack.frames import Frame
from facetrack.geometry import cxcywh_to_xyxy, iou_matrix, xyxy_to_cxcywh
from facetrack.tracking.appearance import colour_histogram
from facetrack.tracking.history import TrackHistory
from facetrack.tracking.ids import IdAllocator
from facetrack.tracking.kalman import BoxKalman

Array = npt.NDArray[np.float64]
Appearance = Callable[[Frame, Faces], npt.NDArray[np.float32]]


@dataclass(eq=False)
class Track:
    """The tracker's state of one face. ``track_id`` is -1 until the track is confirmed."""

    kalman: BoxKalman
    first_frame: int
    last_frame: int
    score: float
    hits: int = 1
    track_id: int = -1
    lost_frames: int = 0  # frames unseen before the current update (set by the tracker)
    appearance: npt.NDArray[np.float32] | None = None
    #: the track's record, from its confirmation until the tracker ends it
    history: TrackHistory | None = None

    @property
    def confirmed(self) -> bool:
        return self.track_id >= 0

    @property
    def predicted_xyxy(self) -> Array:
        return np.asarray(cxcywh_to_xyxy(self.kalman.box)[0], np.float64)


def buffered_iou(a: npt.ArrayLike, b: npt.ArrayLike, buffer: npt.ArrayLike) -> Array:
    """IoU after growing every box by ``buffer`` times its size on each side (C-BIoU).

    A buffer makes fast or erratic motion still overlap its prediction without changing which
    of two candidates overlaps more. ``buffer`` is a scalar or one value per row of ``a``.
    """
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    buf = np.broadcast_to(np.asarray(buffer, np.float64), (len(a),))

    def grow(boxes: Array, k: Array) -> Array:
        wh = boxes[:, 2:] - boxes[:, :2]
        pad = wh * k[:, None]
        return np.concatenate([boxes[:, :2] - pad, boxes[:, 2:] + pad], axis=1)

    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    out = np.zeros((len(a), len(b)))
    for value in np.unique(buf):
        rows = buf == value
        out[rows] = iou_matrix(grow(a[rows], buf[rows]), grow(b, np.full(len(b), value)))
    return out


def _normalise(v: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    return np.asarray(v / max(float(np.linalg.norm(v)), 1e-6), np.float32)


def _assign(cost: Array, max_cost: float) -> list[tuple[int, int]]:
    if cost.size == 0:
        return []
    rows, cols = linear_sum_assignment(cost)
    return [(int(r), int(c)) for r, c in zip(rows, cols, strict=True) if cost[r, c] <= max_cost]


class FaceTrackerCore:
    """Multi-face tracker: Kalman motion, Hungarian assignment on buffered IoU, ByteTrack's
    low-score second pass, a lost buffer and confirmation after ``credence_count`` matches.

    ``update(frame, faces)`` returns the faces of confirmed tracks seen in this frame, with their
    ids; unconfirmed faces are dropped, so a one-frame false positive never reaches the output.
    The gap between frame indices is the number of frames elapsed (skipped frames coast).
    A confirmed track gets a ``TrackHistory`` (``records()``), which the tracker ends when the
    track is unseen for more than ``lost_track_buffer`` frames or at ``reset()``: the one rule
    for when a track is over, for every stage. Trading off: a wider buffer keeps fast faces
    but makes swaps at crossings likelier; the size term in the cost keeps a small far face
    from taking over a large near one.
    """

    def __init__(
        self,
        config: TrackingConfig,
        new_id: Callable[[], int] | None = None,
        appearance: Appearance | None = colour_histogram,
        credence_count: int | None = None,
    ) -> None:
        self._config = config
        #: matches before a track is confirmed (default: ``config.credence_count``; 1 for
        #: unrelated photos, where every face is reported at once)
        self._credence = config.credence_count if credence_count is None else credence_count
        self._new_id = new_id if new_id is not None else IdAllocator()
        self._appearance = appearance
        self._desc: npt.NDArray[np.float32] | None = None
        self._tracks: list[Track] = []
        self._ended: list[TrackHistory] = []
        self._last_index: int | None = None

    @property
    def tracks(self) -> list[Track]:
        return list(self._tracks)

    def reset(self) -> list[TrackHistory]:
        """End every track (ids keep increasing: the allocator is not reset); returns the
        records of the confirmed tracks that ended."""
        ended = [self._end(t) for t in self._tracks if t.history is not None]
        self._tracks = []
        self._last_index = None
        self._ended = []
        return ended

    def records(self) -> list[TrackHistory]:
        """After ``update``: the records of the confirmed tracks alive (seen or coasting), then
        of those that ended on this frame."""
        alive = [t.history for t in self._tracks if t.history is not None]
        return [*alive, *self._ended]

    @staticmethod
    def _end(track: Track) -> TrackHistory:
        assert track.history is not None
        track.history.state = "ended"
        return track.history

    def _confirm(self, track: Track, frame: Frame) -> None:
        track.track_id = self._new_id()
        track.history = TrackHistory(track.track_id, frame.index, frame.timestamp)

    @property
    def last_index(self) -> int | None:
        """Index of the last frame given to ``update`` (None before the first)."""
        return self._last_index

    def update(self, frame: Frame, faces: Faces, *, followed: bool = False) -> Faces:
        """Assign ``faces`` (this frame's detections) to tracks. With ``followed``, each
        face's ``track_id`` already names its track (faces followed from their landmarks,
        ``facetrack.tracking.follow``): no matching, and no new track starts."""
        self._predict(frame)
        self._desc = (
            self._appearance(frame, faces) if self._appearance is not None and len(faces)
            else None
        )
        if followed:
            by_id = {t.track_id: t for t in self._tracks}
            det_track = {i: by_id[int(tid)] for i, tid in enumerate(faces.track_id)}
            matched, high = set(det_track.values()), np.zeros(0, np.int64)
        else:
            det_track, matched, high = self._associate(frame, faces)
        self._observe(frame, faces, det_track, moved=not followed)
        self._tracks = self._survivors(frame, matched) + self._new_tracks(
            frame, faces, high, det_track)
        ids = np.full(len(faces), -1, np.int64)
        for det, track in det_track.items():
            ids[det] = track.track_id
        out = faces.replace(track_id=ids)
        return out[ids >= 0]

    def _associate(self, frame: Frame, faces: Faces
                   ) -> tuple[dict[int, Track], set[Track], npt.NDArray[np.int64]]:
        """Which track each detection continues (detection -> track), the tracks matched, and
        the confident detections (those left over start tracks)."""
        cfg = self._config
        det_track: dict[int, Track] = {}
        high = np.flatnonzero(faces.score >= cfg.high_score)
        low = np.flatnonzero(faces.score < cfg.high_score)

        confirmed = [t for t in self._tracks if t.confirmed]
        tentative = [t for t in self._tracks if not t.confirmed]

        # 1) confirmed tracks (active and lost) against confident detections
        matched = self._match(confirmed, faces, high, cfg.match_iou, det_track, lost_growth=True)
        # 2) confirmed tracks seen last frame against the weak detections
        recent = [t for t in confirmed if t not in matched and t.lost_frames == 0]
        matched |= self._match(recent, faces, low, cfg.low_match_iou, det_track)
        # 3) lost tracks against confident detections nearby that look the same (after an
        #    occlusion the face reappears near where it vanished, rarely where motion said)
        lost = [t for t in confirmed if t not in matched and t.lost_frames > 0]
        matched |= self._recover(lost, faces, high, det_track)
        # 4) tentative tracks against the confident detections left
        matched |= self._match(tentative, faces, high, max(cfg.match_iou, 0.3), det_track)
        return det_track, matched, high

    def _predict(self, frame: Frame) -> None:
        """Move every track to this frame on its motion model."""
        if self._last_index is not None and frame.index <= self._last_index:
            raise ValueError(
                f"frame index went backwards or repeated ({frame.index} after {self._last_index})"
            )
        dt = 1 if self._last_index is None else frame.index - self._last_index
        damp = self._config.coast_damping
        for track in self._tracks:
            # velocity weight decays by coast_damping per frame since the face was last seen,
            # so a long gap extrapolates a bounded distance instead of flying off
            last = self._last_index if self._last_index is not None else track.last_frame
            seen_ago = last - track.last_frame
            motion = damp ** seen_ago * (1 - damp ** dt) / (1 - damp) if damp < 1.0 else float(dt)
            track.kalman.predict(dt, motion)
            # frames this track has gone unseen before this one; skipped frames count, so a
            # gap in the input widens the search just like frames without a detection
            track.lost_frames = frame.index - track.last_frame - 1
        self._last_index = frame.index

    def _observe(self, frame: Frame, faces: Faces, det_track: dict[int, Track], *,
                 moved: bool = True) -> None:
        """Update each matched track with its detection; confirm those with enough hits.
        ``moved`` False (followed faces): the motion model learns from the detector only."""
        isolated = self._isolated(faces)
        for det, track in det_track.items():
            if moved:
                track.kalman.update(xyxy_to_cxcywh(faces.xyxy[det])[0])
            track.last_frame = frame.index
            track.score = float(faces.score[det])
            track.hits += 1
            if self._desc is not None and isolated[det]:
                d = self._desc[det]
                track.appearance = (
                    d.copy() if track.appearance is None
                    else _normalise(0.9 * track.appearance + 0.1 * d)
                )
            if track.history is not None:
                track.history.seen(frame.index, frame.timestamp)
            elif track.hits >= self._credence:
                self._confirm(track, frame)

    def _survivors(self, frame: Frame, matched: set[Track]) -> list[Track]:
        """The tracks that go on; confirmed ones unseen past the lost buffer end here."""
        survivors: list[Track] = []
        self._ended = []
        for track in self._tracks:
            unseen = frame.index - track.last_frame
            if track in matched or (track.confirmed and unseen <= self._config.lost_track_buffer):
                survivors.append(track)
                if track.history is not None and track not in matched:
                    track.history.state = "lost"
            elif track.history is not None:  # the one end rule: unseen past the lost buffer
                self._ended.append(self._end(track))
            # an unconfirmed track that misses a frame is dropped (likely a false positive)
        return survivors

    def _new_tracks(self, frame: Frame, faces: Faces, high: npt.NDArray[np.int64],
                    det_track: dict[int, Track]) -> list[Track]:
        """Tentative tracks for the confident detections no track took."""
        new_tracks = []
        for new in high.tolist():
            if new in det_track or faces.score[new] < self._config.new_track_score:
                continue
            track = Track(
                BoxKalman(xyxy_to_cxcywh(faces.xyxy[new])[0]),
                first_frame=frame.index,
                last_frame=frame.index,
                score=float(faces.score[new]),
                appearance=None if self._desc is None else self._desc[new].copy(),
            )
            if self._credence <= 1:
                self._confirm(track, frame)
            new_tracks.append(track)
            det_track[new] = track
        return new_tracks

    def _isolated(self, faces: Faces) -> npt.NDArray[np.bool_]:
        """Detections that overlap no other detection nor another track's prediction: only
        these update a track's appearance, so an occluder's colours do not leak into it."""
        n = len(faces)
        if n == 0:
            return np.zeros(0, bool)
        boxes = [faces.xyxy]
        if self._tracks:
            boxes.append(np.stack([t.predicted_xyxy for t in self._tracks]).astype(np.float32))
        iou = iou_matrix(faces.xyxy, np.concatenate(boxes))
        iou[np.arange(n), np.arange(n)] = 0.0
        # a detection overlaps its own track's prediction: allow one strong overlap
        strong = np.sort(iou, axis=1)[:, ::-1]
        second = strong[:, 1] if strong.shape[1] > 1 else np.zeros(n)
        return np.asarray((strong[:, 0] < 0.3) | ((strong[:, 0] >= 0.3) & (second < 0.02)))

    def _appearance_similarity(
        self, tracks: list[Track], dets: npt.NDArray[np.int64]
    ) -> Array | None:
        if self._desc is None:
            return None
        sim = np.ones((len(tracks), len(dets)))
        for r, track in enumerate(tracks):
            if track.appearance is not None:
                sim[r] = self._desc[dets] @ track.appearance
        return sim

    def _recover(
        self,
        tracks: list[Track],
        faces: Faces,
        dets: npt.NDArray[np.int64],
        det_track: dict[int, Track],
    ) -> set[Track]:
        cfg = self._config
        dets = np.array([d for d in dets if int(d) not in det_track], np.int64)
        sim = self._appearance_similarity(tracks, dets)
        if not tracks or len(dets) == 0 or sim is None:
            return set()
        pred = np.stack([t.predicted_xyxy for t in tracks])
        p = xyxy_to_cxcywh(pred)
        d = xyxy_to_cxcywh(faces.xyxy[dets])
        size = np.maximum(p[:, 3], 1.0)[:, None]
        dist = np.hypot(p[:, None, 0] - d[None, :, 0], p[:, None, 1] - d[None, :, 1]) / size
        ratio = np.abs(np.log(np.maximum(d[None, :, 3], 1.0) / size))
        cost = dist + (1.0 - sim) * 4.0 + ratio
        ok = (dist <= cfg.recover_distance) & (ratio <= np.log(1.6))
        ok &= sim >= cfg.recover_similarity
        has_appearance = np.array([t.appearance is not None for t in tracks])
        ok &= has_appearance[:, None]
        cost[~ok] = 1e6
        matched: set[Track] = set()
        for r, c in _assign(cost, 1e5):
            det_track[int(dets[c])] = tracks[r]
            matched.add(tracks[r])
        return matched

    def _match(
        self,
        tracks: list[Track],
        faces: Faces,
        dets: npt.NDArray[np.int64],
        min_iou: float,
        det_track: dict[int, Track],
        lost_growth: bool = False,
    ) -> set[Track]:
        dets = np.array([d for d in dets if int(d) not in det_track], np.int64)
        if not tracks or len(dets) == 0:
            return set()
        pred = np.stack([t.predicted_xyxy for t in tracks])
        buffer = np.full(len(tracks), 0.1)
        if lost_growth:
            lost = np.array([t.lost_frames for t in tracks], np.float64)
            buffer = np.minimum(0.1 + 0.05 * lost, (self._config.max_coast_scale - 1.0) / 2 + 0.1)
        iou = buffered_iou(pred, faces.xyxy[dets], buffer)
        pred_h = np.maximum(pred[:, 3] - pred[:, 1], 1.0)
        det_h = np.maximum(faces.xyxy[dets, 3] - faces.xyxy[dets, 1], 1.0)
        size_gap = np.abs(np.log(det_h[None, :] / pred_h[:, None]))
        cost = 1.0 - iou + 0.5 * size_gap
        sim = self._appearance_similarity(tracks, dets)
        if sim is not None:
            cost += self._config.appearance_weight * (1.0 - sim)
        cost[iou < min_iou] = 1e6
        pairs = _assign(cost, 1e5)
        matched: set[Track] = set()
        for r, c in pairs:
            det_track[int(dets[c])] = tracks[r]
            matched.add(tracks[r])
        return matched
