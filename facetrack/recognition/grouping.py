"""The faces of a whole file, track by track, and which tracks show the same person.

``FoundFaces`` is the sink ``find_faces_in_file`` (``facetrack.pipeline.jobs``) feeds: per
track its span, best crops, identity and embedding samples. ``group_tracks`` then gives tracks
that show one person the same ``group``: a person who leaves and comes back gets a new track id
but the same group. It keeps embeddings (biometric data) by design; they live in the returned
objects only.
"""

from __future__ import annotations

import heapq
import itertools
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from scipy.cluster.vq import kmeans2

from facetrack.analysis.quality import face_quality_of
from facetrack.faces import Faces
from facetrack.frames import Frame
from facetrack.geometry import crop
from facetrack.recognition.embedder import align_crop, content_hash
from facetrack.recognition.reid import unit_mean
from facetrack.results import FrameResult

FloatArray = npt.NDArray[np.float32]

#: margin around the face box in the returned crops (fraction of the box size, each side)
CROP_MARGIN = 0.25


@dataclass(frozen=True)
class Sample:
    """One embedding of a track: when, how good the face was, and the vector."""

    frame: int
    time_s: float
    quality: float
    yaw: float
    pitch: float
    vector: FloatArray
    #: sha256 of the aligned face crop the vector came from (skips exact duplicates)
    content_hash: str


@dataclass
class FoundFace:
    """One track of a file. ``person_id`` -1 = unknown (or no database given); ``group``
    numbers the people seen: tracks with one ``group`` are the same person by identity or by
    appearance (from 1, in order of first appearance)."""

    track_id: int
    first_frame: int
    last_frame: int
    start_s: float
    end_s: float
    frames: int
    person_id: int = -1
    name: str | None = None
    similarity: float = math.nan
    confirmed: bool = False
    group: int = 0
    #: the best face crops (BGR, box plus a 25% margin), best first
    crops: list[npt.NDArray[np.uint8]] = field(default_factory=list, repr=False)
    crop_frames: list[int] = field(default_factory=list)
    #: (k, dim) unit vectors: k-means centres of the samples (k <= max_representatives)
    representatives: FloatArray = field(
        default_factory=lambda: np.zeros((0, 0), np.float32), repr=False
    )
    samples: list[Sample] = field(default_factory=list, repr=False)

    @property
    def mean_embedding(self) -> FloatArray | None:
        """The normalised mean of the samples' vectors (None without samples)."""
        return unit_mean([s.vector for s in self.samples]) if self.samples else None


class FoundFaces:
    """Per-track bookkeeping while the file plays (a sink, on the consumer thread)."""

    def __init__(self, best_crops: int, identify: bool) -> None:
        self.best_crops = best_crops
        self.identify = identify
        self.tracks: dict[int, FoundFace] = {}
        self._heaps: dict[int, list[tuple[float, int, int, npt.NDArray[np.uint8]]]] = {}
        self._tie = itertools.count()

    def consume(self, result: FrameResult) -> None:
        frame, faces = result.frame, result.faces
        quality = face_quality_of(faces)
        for i, tid in enumerate(faces.track_id.tolist()):
            if tid < 0:
                continue
            found = self.tracks.get(tid)
            if found is None:
                found = self.tracks[tid] = FoundFace(
                    tid, frame.index, frame.index, frame.timestamp, frame.timestamp, 0
                )
            found.last_frame, found.end_s = frame.index, frame.timestamp
            found.frames += 1
            who = faces.identity
            if self.identify and who is not None:
                found.person_id = int(who.person_id[i])
                found.name = who.name[i] if found.person_id >= 0 else None
                found.similarity = float(who.similarity[i])
                found.confirmed = bool(who.confirmed[i])
            q = float(quality[i])
            self._keep_crop(tid, q, frame, faces.xyxy[i])
            self._keep_sample(found, frame, faces, i, q)

    @staticmethod
    def _keep_sample(found: FoundFace, frame: Frame, faces: Faces, i: int, q: float) -> None:
        if faces.embedding is None or np.isnan(faces.embedding[i, 0]):
            return
        pose = faces.attrs.get("head_pose")
        yaw, pitch = (float(pose[i, 0]), float(pose[i, 1])) if pose is not None else (
            math.nan, math.nan)
        aligned = align_crop(frame.image, faces.keypoints[i])
        found.samples.append(Sample(
            frame.index, frame.timestamp, q, yaw, pitch,
            np.array(faces.embedding[i], np.float32), content_hash(aligned.tobytes()),
        ))

    def _keep_crop(self, tid: int, quality: float, frame: Frame,
                   box: npt.NDArray[np.float32]) -> None:
        if self.best_crops <= 0:
            return
        heap = self._heaps.setdefault(tid, [])
        key = (quality, -frame.index)
        if len(heap) >= self.best_crops and key <= (heap[0][0], heap[0][1]):
            return
        item = (quality, -frame.index, next(self._tie),
                np.array(crop(frame.image, box, CROP_MARGIN), np.uint8))
        if len(heap) < self.best_crops:
            heapq.heappush(heap, item)
        else:
            heapq.heapreplace(heap, item)

    def close(self) -> None:
        """Nothing held: ``finish`` gives the result."""

    def finish(self, max_representatives: int) -> list[FoundFace]:
        out = sorted(self.tracks.values(), key=lambda f: (f.first_frame, f.track_id))
        for found in out:
            best = sorted(self._heaps.get(found.track_id, []), reverse=True)
            found.crops = [c for _, _, _, c in best]
            found.crop_frames = [-f for _, f, _, _ in best]
            found.representatives = representatives(
                [s.vector for s in found.samples], max_representatives
            )
        return out


def _kmeans(data: npt.NDArray[np.float64], k: int, seed: int
            ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.intp]]:
    """k-means (k-means++ seeding) on distinct rows; ``k`` at most the number of distinct rows.
    Returns the centres of non-empty clusters and each row's cluster."""
    distinct, inverse = np.unique(data, axis=0, return_inverse=True)
    k = min(k, len(distinct))
    if k == len(distinct):
        return distinct, np.asarray(inverse, np.intp).reshape(-1)
    with warnings.catch_warnings():
        # scipy warns when a cluster ends empty; those are dropped below
        warnings.simplefilter("ignore")
        centres, labels = kmeans2(data, k, minit="++", seed=seed)
    used, labels = np.unique(labels, return_inverse=True)
    return centres[used], np.asarray(labels, np.intp).reshape(-1)


def representatives(vectors: Sequence[FloatArray], k: int, seed: int = 0) -> FloatArray:
    """Up to ``k`` unit vectors standing for ``vectors``: k-means centres (cosine space,
    normalised), the distinct vectors themselves when there are no more than ``k``. Shape
    ``(k', dim)``; ``(0, 0)`` without vectors."""
    if not vectors:
        return np.zeros((0, 0), np.float32)
    centres, _ = _kmeans(np.asarray(np.stack(vectors), np.float64), max(k, 1), seed)
    norms = np.maximum(np.linalg.norm(centres, axis=1, keepdims=True), 1e-12)
    return np.asarray(centres / norms, np.float32)


class _Groups:
    """Union-find over tracks, with what decides whether two groups may join: their time
    spans (never two tracks on screen together), their enrolled people (never two) and the
    sum of their embeddings (average linkage)."""

    def __init__(self, found: Sequence[FoundFace]) -> None:
        self.parent = list(range(len(found)))
        self.spans = {i: [(f.first_frame, f.last_frame)] for i, f in enumerate(found)}
        self.people = {i: {f.person_id} if f.confirmed and f.person_id >= 0 else set()
                       for i, f in enumerate(found)}
        self.sums: dict[int, FloatArray] = {
            i: np.asarray(np.sum([s.vector for s in f.samples], axis=0), np.float32)
            for i, f in enumerate(found) if f.samples}

    def root(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def can_join(self, ra: int, rb: int) -> bool:
        if ra == rb or len(self.people[ra] | self.people[rb]) > 1:
            return False
        return not any(a0 <= b1 and b0 <= a1
                       for a0, a1 in self.spans[ra] for b0, b1 in self.spans[rb])

    def similarity(self, ra: int, rb: int) -> float | None:
        ma, mb = self.sums.get(ra), self.sums.get(rb)
        if ma is None or mb is None:
            return None
        return float(ma @ mb) / max(float(np.linalg.norm(ma) * np.linalg.norm(mb)), 1e-12)

    def join(self, ra: int, rb: int) -> None:
        self.parent[rb] = ra
        self.spans[ra] += self.spans.pop(rb)
        self.people[ra] |= self.people.pop(rb)
        if rb in self.sums:
            moved = self.sums.pop(rb)
            self.sums[ra] = moved if ra not in self.sums else self.sums[ra] + moved


def group_tracks(found: Sequence[FoundFace], threshold: float) -> None:
    """Set ``group`` on every track: tracks confirmed as one enrolled person share a group;
    other groups join, most similar first, while the cosine similarity of the two groups' mean
    embeddings (all their samples) reaches ``threshold`` (average linkage: a chain of pairwise
    look-alikes does not pull in a third person), never joining two tracks seen at the same
    time nor two different enrolled people. Tracks never embedded stay on their own."""
    groups = _Groups(found)
    first_of: dict[int, int] = {}
    for i, f in enumerate(found):
        if f.confirmed and f.person_id >= 0:
            j = first_of.setdefault(f.person_id, i)
            if j != i and groups.can_join(groups.root(j), groups.root(i)):
                groups.join(groups.root(j), groups.root(i))
    embedded = [i for i in range(len(found)) if i in groups.sums]
    for a, b in _similar_pairs(embedded, groups.sums, threshold):
        ra, rb = groups.root(a), groups.root(b)
        if groups.can_join(ra, rb) and (groups.similarity(ra, rb) or -1.0) >= threshold:
            groups.join(ra, rb)
    numbers: dict[int, int] = {}
    for i, f in enumerate(found):
        f.group = numbers.setdefault(groups.root(i), len(numbers) + 1)


def _similar_pairs(embedded: list[int], sums: dict[int, FloatArray], threshold: float
                   ) -> list[tuple[int, int]]:
    """Pairs of tracks whose mean embeddings reach ``threshold``, most similar first."""
    if len(embedded) < 2:
        return []
    means = np.stack([sums[i] / max(float(np.linalg.norm(sums[i])), 1e-12) for i in embedded])
    sim = means @ means.T
    a_idx, b_idx = np.nonzero(np.triu(sim >= threshold, k=1))
    order = np.argsort(-sim[a_idx, b_idx], kind="stable")
    return [(embedded[a], embedded[b])
            for a, b in zip(a_idx[order].tolist(), b_idx[order].tolist(), strict=True)]


def pick_samples(samples: Sequence[Sample], k: int, seed: int = 0) -> list[Sample]:
    """Up to ``k`` of a person's best, mutually different samples: the better half by quality
    (at least ``k``) is clustered into ``k`` groups by k-means and each group gives its best
    sample; exact duplicates (same crop hash) count once."""
    unique: dict[str, Sample] = {}
    for s in samples:
        unique.setdefault(s.content_hash, s)
    ranked = sorted(unique.values(), key=lambda s: (-s.quality, s.frame))
    pool = ranked[:max(k, (len(ranked) + 1) // 2)]
    if len(pool) <= k:
        return sorted(pool, key=lambda s: s.frame)
    data = np.stack([s.vector for s in pool]).astype(np.float64)
    _, labels = _kmeans(data, k, seed)
    chosen = []
    for label in np.unique(labels):
        members = [s for s, lab in zip(pool, labels, strict=True) if lab == label]
        chosen.append(max(members, key=lambda s: (s.quality, -s.frame)))
    return sorted(chosen, key=lambda s: s.frame)
