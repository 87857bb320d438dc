"""Enrolment from a clip: track it, choose the person, pick their best, most different faces.

Track ids are those ``facetrack track`` gives the same clip with the same config, so
``--track ID`` names what the user saw.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from facetrack.config import TrackerConfig, override
from facetrack.errors import InputError
from facetrack.recognition.embedder import Embedder
from facetrack.recognition.grouping import FoundFace, Sample, pick_samples

#: when enrolling from a clip, the longest gap (frames) between two candidate embeddings
ENROL_EVERY = 8
#: without --track, tracks count as the clip's one person only when their mean embeddings are
#: at least this alike (stricter than matching: enrolling two people under one name poisons the
#: database; one actor's tracks measured 0.925 or more on synth_tracks)
ENROL_GROUP_THRESHOLD = 0.5


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
    from facetrack.pipeline.jobs import find_faces_in_file

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
