"""Faces of a whole file, after the fact: ``find_faces_in_file`` and enrolment from a clip.

``find_faces_in_file(path)`` runs the tracking pipeline with embeddings on the adaptive re-id
schedule (``recognition.reid_expiration_frames``; only faces passing the face filters are
embedded) and returns one ``FoundFace`` per track: its time span, its best crops, its identity
(when a database is given) and a few representative embeddings (k-means centres of its samples).
A post-pass then groups tracks that show the same person: a person who leaves and comes back
gets a new track id, but the same ``group``.

It computes embeddings (biometric data) by design; they live in the returned objects only.
"""

from __future__ import annotations

import heapq
import itertools
import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt
from scipy.cluster.vq import kmeans2

from facetrack.config import TrackerConfig, override
from facetrack.errors import InputError
from facetrack.faces import Faces
from facetrack.frames import Frame
from facetrack.recognition.embedder import Embedder, align_crop, content_hash
from facetrack.recognition.tracking import face_quality_of
from facetrack.results import FrameResult

FloatArray = npt.NDArray[np.float32]

#: when enrolling from a clip, the longest gap (frames) between two candidate embeddings
ENROL_EVERY = 8
#: without --track, tracks count as the clip's one person only when their mean embeddings are
#: at least this alike (stricter than matching: enrolling two people under one name poisons the
#: database; one actor's tracks measured 0.925 or more on synth_tracks)
ENROL_GROUP_THRESHOLD = 0.5
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
        if not self.samples:
            return None
        mean = np.mean([s.vector for s in self.samples], axis=0)
        return np.asarray(mean / max(float(np.linalg.norm(mean)), 1e-12), np.float32)


class _Collector:
    """Per-track bookkeeping while the file plays (consumer thread)."""

    def __init__(self, best_crops: int, identify: bool) -> None:
        self.best_crops = best_crops
        self.identify = identify
        self.tracks: dict[int, FoundFace] = {}
        self._heaps: dict[int, list[tuple[float, int, int, npt.NDArray[np.uint8]]]] = {}
        self._tie = itertools.count()
        self.names: dict[int, str] = {}

    def consume(self, frame: Frame, faces: Faces, names: Mapping[int, str]) -> None:
        self.names.update(names)
        quality = face_quality_of(faces)
        pose = faces.attrs.get("head_pose")
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
            if self.identify and "person_id" in faces.attrs:
                found.person_id = int(faces.attrs["person_id"][i])
                found.similarity = float(faces.attrs["similarity"][i])
                found.confirmed = bool(faces.attrs["identity_confirmed"][i])
            q = float(quality[i])
            self._keep_crop(tid, q, frame, faces.xyxy[i])
            if faces.embedding is not None and not np.isnan(faces.embedding[i, 0]):
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
        crop = _crop(frame.image, box)
        item = (quality, -frame.index, next(self._tie), crop)
        if len(heap) < self.best_crops:
            heapq.heappush(heap, item)
        else:
            heapq.heapreplace(heap, item)

    def finish(self, max_representatives: int) -> list[FoundFace]:
        out = sorted(self.tracks.values(), key=lambda f: (f.first_frame, f.track_id))
        for found in out:
            best = sorted(self._heaps.get(found.track_id, []), reverse=True)
            found.crops = [c for _, _, _, c in best]
            found.crop_frames = [-f for _, f, _, _ in best]
            found.representatives = representatives(
                [s.vector for s in found.samples], max_representatives
            )
            if found.person_id >= 0:
                found.name = self.names.get(found.person_id)
        return out


def _crop(image: npt.NDArray[np.uint8], box: npt.NDArray[np.float32]) -> npt.NDArray[np.uint8]:
    x1, y1, x2, y2 = (float(v) for v in box)
    mx, my = (x2 - x1) * CROP_MARGIN, (y2 - y1) * CROP_MARGIN
    h, w = image.shape[:2]
    a, b = max(0, int(x1 - mx)), max(0, int(y1 - my))
    c, d = min(w, math.ceil(x2 + mx)), min(h, math.ceil(y2 + my))
    return np.array(image[b:max(d, b + 1), a:max(c, a + 1)], np.uint8)


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


def group_tracks(found: Sequence[FoundFace], threshold: float) -> None:
    """Set ``group`` on every track: tracks confirmed as one enrolled person share a group;
    other groups join, most similar first, while the cosine similarity of the two groups' mean
    embeddings (all their samples) reaches ``threshold`` (average linkage: a chain of pairwise
    look-alikes does not pull in a third person), never joining two tracks seen at the same
    time nor two different enrolled people. Tracks never embedded stay on their own."""
    n = len(found)
    parent = list(range(n))
    spans: dict[int, list[tuple[int, int]]] = {
        i: [(f.first_frame, f.last_frame)] for i, f in enumerate(found)
    }
    people: dict[int, set[int]] = {
        i: {f.person_id} if f.confirmed and f.person_id >= 0 else set()
        for i, f in enumerate(found)
    }
    sums: dict[int, FloatArray] = {}
    for i, f in enumerate(found):
        if f.samples:
            sums[i] = np.sum([s.vector for s in f.samples], axis=0, dtype=np.float32)

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def can_join(ra: int, rb: int) -> bool:
        if ra == rb or len(people[ra] | people[rb]) > 1:
            return False
        return not any(a0 <= b1 and b0 <= a1 for a0, a1 in spans[ra] for b0, b1 in spans[rb])

    def join(ra: int, rb: int) -> None:
        parent[rb] = ra
        spans[ra] += spans.pop(rb)
        people[ra] |= people.pop(rb)
        if rb in sums:
            sums[ra] = sums.get(ra, 0) + sums.pop(rb)

    first_of: dict[int, int] = {}
    for i, f in enumerate(found):
        if f.confirmed and f.person_id >= 0:
            j = first_of.setdefault(f.person_id, i)
            if j != i and can_join(root(j), root(i)):
                join(root(j), root(i))
    embedded = [i for i in range(n) if i in sums]
    if len(embedded) > 1:
        means = np.stack([sums[i] / max(float(np.linalg.norm(sums[i])), 1e-12)
                          for i in embedded])
        sim = means @ means.T
        a_idx, b_idx = np.nonzero(np.triu(sim >= threshold, k=1))
        order = np.argsort(-sim[a_idx, b_idx], kind="stable")
        for a, b in zip(a_idx[order].tolist(), b_idx[order].tolist(), strict=True):
            ra, rb = root(embedded[a]), root(embedded[b])
            if not can_join(ra, rb):
                continue
            ma, mb = sums.get(ra), sums.get(rb)
            if ma is None or mb is None:
                continue
            cos = float(ma @ mb) / max(float(np.linalg.norm(ma) * np.linalg.norm(mb)), 1e-12)
            if cos >= threshold:
                join(ra, rb)
    numbers: dict[int, int] = {}
    for i, f in enumerate(found):
        f.group = numbers.setdefault(root(i), len(numbers) + 1)


def find_faces_in_file(
    path: str | Path,
    config: TrackerConfig | None = None,
    *,
    database: str | Path | None = None,
    max_representatives: int = 5,
    best_crops: int = 3,
    group_threshold: float | None = None,
    progress: Callable[[int, int | None], None] | None = None,
    on_result: Callable[[FrameResult], None] | None = None,
    embedder: Embedder | None = None,
) -> list[FoundFace]:
    """Every track of a video (or image folder) with its span, best crops, identity and
    representative embeddings, in order of first appearance.

    ``database``: a face database to name enrolled people (else everyone is unknown; the
    config's ``recognition.database`` is used when this is not given and recognition is
    enabled there). ``group_threshold``: cosine similarity of two tracks' mean embeddings at
    which they are taken for one person (default: ``recognition.threshold``).
    ``progress(frames_done, frame_count)`` is called after each frame, ``on_result`` with
    each frame's result (faces with track ids and, where embedded, vectors). ``embedder``:
    one already loaded (else the config's).
    """
    from facetrack.pipeline import FaceTracker

    if max_representatives < 1:
        raise ValueError("max_representatives must be at least 1")
    cfg = config or TrackerConfig()
    rec = cfg.recognition
    if database is not None:
        if not Path(database).is_file():
            raise InputError(f"{database}: face database not found")
        cfg = override(cfg, {"recognition.enabled": True, "recognition.database": str(database)})
        rec = cfg.recognition
    tracker = FaceTracker(cfg, embed=True, embedder=embedder)
    collector = _Collector(best_crops, identify=rec.enabled)
    with tracker.open(path) as (info, results):
        for done, result in enumerate(results, 1):
            collector.consume(result.frame, result.faces, result.names)
            if on_result is not None:
                on_result(result)
            if progress is not None:
                progress(done, info.frame_count)
    found = collector.finish(max_representatives)
    group_tracks(found, rec.threshold if group_threshold is None else group_threshold)
    return found


# -- enrolment from a clip -------------------------------------------------------------------


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


def describe_tracks(found: Sequence[FoundFace], limit: int = 12) -> str:
    first: dict[int, int] = {}
    parts = []
    for f in found:
        same = first.setdefault(f.group, f.track_id)
        also = f"same person as track {same}, " if same != f.track_id else ""
        parts.append(f"track {f.track_id} ({also}{f.start_s:.1f}-{f.end_s:.1f} s, "
                     f"{f.frames} frames)")
    parts = parts[:limit]
    more = len(found) - limit
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


def choose_tracks(found: Sequence[FoundFace], source: str, track: int | None,
                  largest: bool, dominant_ratio: float) -> list[FoundFace]:
    """The tracks to enrol from a clip: ``track`` when given; else the one person the clip
    shows (all tracks of a single group); with ``largest``, the clearly dominant person."""
    if not found:
        raise InputError(f"{source}: no face was tracked in this clip")
    if track is not None:
        chosen = [f for f in found if f.track_id == track]
        if not chosen:
            ids = ", ".join(str(f.track_id) for f in found[:20])
            if len(found) > 20:
                ids += f" and {len(found) - 20} more"
            raise InputError(f"{source}: no track {track}; its tracks are {ids} "
                             "(`facetrack track CLIP --thumbnails` shows them)")
        return chosen
    groups: dict[int, list[FoundFace]] = {}
    for f in found:
        if f.samples:  # a track never embedded (tiny, profile, blurred) cannot be enrolled
            groups.setdefault(f.group, []).append(f)
    if len(groups) == 1:
        return next(iter(groups.values()))
    if not groups:
        return list(found)  # clip_samples reports that no face was good enough
    if largest:
        weight = sorted(
            ((sum(s.quality for f in fs for s in f.samples), g) for g, fs in groups.items()),
            reverse=True,
        )
        if weight[0][0] > 0 and weight[0][0] >= dominant_ratio * weight[1][0]:
            return groups[weight[0][1]]
        raise InputError(f"{source}: {len(groups)} people and none clearly the main one: "
                         f"{describe_tracks(found)}; choose one with --track ID")
    raise InputError(f"{source}: {len(groups)} people in this clip: {describe_tracks(found)}; "
                     "choose one with --track ID (or --largest)")


@dataclass(frozen=True)
class ClipFaces:
    """What enrolment takes from a clip: chosen samples and the tracks they came from."""

    samples: list[Sample]
    track_ids: list[int]
    source: str


def clip_samples(
    path: str | Path,
    config: TrackerConfig,
    *,
    track: int | None = None,
    largest: bool = False,
    max_embeddings: int = 5,
    dominant_ratio: float = 1.5,
    progress: Callable[[int, int | None], None] | None = None,
    embedder: Embedder | None = None,
) -> ClipFaces:
    """Track ``path`` and pick the embeddings to enrol: the chosen track's (or the clip's one
    person's) best and most different faces (``pick_samples``). Track ids are those
    ``facetrack track`` gives the same clip with the same config."""
    source = Path(path)
    # embed at least every ENROL_EVERY frames: candidates spread over the whole track, not
    # bunched at its start as on the adaptive re-id schedule (tracking is unchanged, so track
    # ids stay those of `facetrack track`)
    cfg = override(config, {
        "recognition.enabled": False, "recognition.database": None,
        "recognition.reid_expiration_frames": min(ENROL_EVERY,
                                                  config.recognition.reid_expiration_frames),
    })
    rec = cfg.recognition
    found = find_faces_in_file(source, cfg, max_representatives=1, best_crops=0,
                               progress=progress, embedder=embedder,
                               group_threshold=max(ENROL_GROUP_THRESHOLD, rec.threshold))
    chosen = choose_tracks(found, source.name, track, largest, dominant_ratio)
    samples = [s for f in chosen for s in f.samples]
    if not samples:
        rec = config.recognition
        ids = ", ".join(str(f.track_id) for f in chosen)
        raise InputError(
            f"{source.name}: no face of track {ids} was good enough to enrol (at least "
            f"{rec.min_face_size:g} px tall, within {rec.frontal_max_deg:g} deg of frontal, "
            f"sharpness >= {rec.min_sharpness:g})"
        )
    return ClipFaces(pick_samples(samples, max_embeddings), [f.track_id for f in chosen],
                     source.name)


def sample_source(clip: str, sample: Sample) -> str:
    return f"{clip}@{sample.time_s:.2f}s"
