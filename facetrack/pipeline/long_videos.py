"""Long videos of a batch in segments: which inputs are split (``split``), and the input's
outcome once its segments are back (``finish``). What a segment is:
``facetrack.sources.segments``; how they are joined: ``facetrack.pipeline.stitch``."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

from facetrack.config import TrackerConfig
from facetrack.errors import OutputError
from facetrack.pipeline.batch import Input, Outcome
from facetrack.sources import VIDEO_SUFFIXES
from facetrack.sources.segments import (
    Segment,
    plan_segments,
    probe_timeline,
    video_seconds,
)

#: ``--segment-minutes`` by default: a video over 15 minutes is tracked in 10-minute segments
SEGMENT_S = 600.0
#: each segment but the first decodes from a keyframe at least this long before its cut
LEAD_IN_S = 10.0
#: the segments' folders, inside the input's, while the batch runs
SEGMENTS_FOLDER = ".segments"


def splitting_off(cfg: TrackerConfig, video: bool, thumbnails: bool) -> str | None:
    """Why this run keeps long videos whole (None: it may split them). Segments join
    faces.jsonl, blinks.csv, mot.txt and tracks.csv; what else a run keeps for a track across
    the whole video (an annotated video, thumbnails, identities, visitors, audience
    figures) is not joined."""
    reasons = {"--video": video, "--thumbnails": thumbnails,
               "recognition": cfg.recognition.enabled, "analytics": cfg.analytics.enabled,
               "privacy.mode pseudonymous": cfg.privacy_mode == "pseudonymous"}
    on = [name for name, used in reasons.items() if used]
    return ", ".join(on) if on else None


def split(item: Input, segment_s: float, lead_in_s: float = LEAD_IN_S) -> list[Segment]:
    """``item``'s segments; empty when it is tracked whole (not a local video file, no
    longer than 1.5 segments, or its packets do not allow it: ``probe_timeline``)."""
    path = Path(item.location)
    if segment_s <= 0 or item.location.startswith("s3://") or \
            path.suffix.lower() not in VIDEO_SUFFIXES or not path.is_file():
        return []
    seconds = video_seconds(path)
    if seconds is None or seconds <= 1.5 * segment_s:
        return []
    timeline = probe_timeline(path)
    if timeline is None:
        return []
    segments = plan_segments(timeline, segment_s, lead_in_s)
    return segments if len(segments) > 1 else []


def segment_folder(input_folder: Path, segment: Segment) -> Path:
    return input_folder / SEGMENTS_FOLDER / f"{segment.number:04d}"


def finish(item: Input, segments: Sequence[Segment], pieces: Mapping[int, Outcome],
           root: Path, mot: bool) -> Outcome:
    """The input's outcome from its segments' (``pieces``, by segment number; missing: not
    run): every segment that wrote results (done, or stopped part-way) joined into the
    input's folder, a gap where one wrote none. ``done`` when all are done; else ``partial``
    (or the first bad segment's status when nothing was joined), its error naming the first
    segment not done. A segment's folder is removed once joined; one that could not be
    joined (its worker died mid-write) is kept in ``.segments``, as is everything when the
    joining itself fails."""
    folder = root / item.folder
    got = [pieces.get(s.number, Outcome(item.location, item.folder, error="interrupted"))
           for s in segments]
    outcome = Outcome(item.location, item.folder, segments=len(segments),
                      attempts=max(o.attempts for o in got),
                      seconds=round(sum(o.seconds for o in got), 3))
    joinable = [s for s in segments if _has_results(segment_folder(folder, s))]
    try:
        _join(folder, joinable, outcome, mot)
    except (OutputError, OSError, ValueError, KeyError) as exc:
        outcome.status = "failed"
        outcome.error = (f"joining its segments failed ({exc}); they are kept in "
                         f"{SEGMENTS_FOLDER}")
        return outcome
    outcome.fps = round(outcome.frames / outcome.seconds, 2) if outcome.seconds else 0.0
    bad = [n for n, o in enumerate(got) if o.status != "done"]
    if not bad:
        outcome.status = "done"
        return outcome
    first = got[bad[0]]
    outcome.status = "partial" if outcome.frames else first.status
    more = f" ({len(bad)} of {len(segments)} segments not done)" if len(bad) > 1 else ""
    outcome.error = f"{segments[bad[0]].describe()}: {first.error or first.status}{more}"
    return outcome


def _has_results(folder: Path) -> bool:
    """Whether a segment's run ended its files (parts.json is written last)."""
    from facetrack.pipeline.segments import PARTS

    return (folder / PARTS).is_file() and (folder / "faces.jsonl").is_file()


def _join(folder: Path, segments: Sequence[Segment], outcome: Outcome, mot: bool) -> None:
    from facetrack.pipeline.jobs import prepare_output
    from facetrack.pipeline.stitch import stitch

    if segments:
        prepare_output(folder)
        outcome.frames, outcome.tracks = stitch(
            [segment_folder(folder, s) for s in segments], segments, folder, mot=mot)
    for s in segments:
        shutil.rmtree(segment_folder(folder, s), ignore_errors=True)
    with contextlib.suppress(OSError):  # left when a segment could not be joined
        (folder / SEGMENTS_FOLDER).rmdir()
