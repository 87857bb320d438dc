"""Many inputs in one ``facetrack track``: what the inputs are, one job per input, the job
itself (run wherever a worker is: a local process or a Ray task) and the combined index.

Whole files are the unit of work, so the outputs are the same whatever the number of workers:
each input's folder holds exactly what ``facetrack track INPUT --out FOLDER`` writes. The
placement of jobs on processes or Ray lives in ``facetrack.runtime``; this module only
describes and runs one job.

Inputs, expanded before any work starts (a problem with any of them stops the whole command):

- a video or image file; a folder holding videos (each video of it, not its subfolders); a
  folder of images and no video (one image sequence, as ``facetrack track FOLDER`` reads it);
- a glob (``'cams/*.mp4'``, quoted so the shell leaves it alone);
- ``s3://BUCKET/PREFIX``: every video under the prefix, fetched by the worker that runs it
  (credentials and ``AWS_ENDPOINT_URL`` from the environment, as boto3 reads them).
"""

from __future__ import annotations

import glob
import json
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from facetrack.errors import DecodeError, FacetrackError, InputError, OutputError
from facetrack.sources import IMAGE_SUFFIXES, VIDEO_SUFFIXES
from facetrack.sources.segments import Segment

#: the combined index of a batch, one row per input
INDEX_CSV, INDEX_JSON = "index.csv", "index.json"
Status = Literal["done", "partial", "failed", "not run"]


@dataclass(frozen=True)
class Input:
    """One input of a batch: ``location`` is a local path or an ``s3://`` URL; ``folder`` the
    name of its output folder inside the batch's ``--out``."""

    location: str
    folder: str = ""


@dataclass(frozen=True)
class Job:
    """Everything a worker needs to track one input (plain data: it travels to other
    processes and machines)."""

    input: Input
    out: str  # the input's output folder (on the worker's machine)
    config: dict[str, Any]  # TrackerConfig.model_dump(mode="json")
    video: bool = False
    mot: bool = False
    thumbnails: bool = False
    #: one segment of a long video (``facetrack.sources.segments``); None: the whole input
    segment: Segment | None = None


@dataclass
class Outcome:
    """What became of one input; a row of index.csv."""

    input: str
    folder: str
    status: Status = "not run"
    frames: int = 0
    tracks: int = 0
    seconds: float = 0.0
    fps: float = 0.0
    attempts: int = 0
    error: str = ""
    segments: int = 1  # the parts a long video was tracked in, in parallel
    #: the result files, when the worker could not write into the batch's folder (Ray)
    files: dict[str, bytes] = field(default_factory=dict, repr=False)

    def row(self) -> dict[str, Any]:
        row = asdict(self)
        del row["files"]
        return row


def expand_inputs(specs: Sequence[str]) -> list[Input]:
    """Every input named by ``specs``, in order, each once, with its output folder's name.
    Raises ``InputError`` naming what cannot be read (missing files, empty globs or
    prefixes) before anything runs."""
    if not specs:
        raise InputError("no input given")
    found: list[str] = []
    missing: list[str] = []
    for spec in specs:
        matches = _expand(spec)
        if matches:
            found += matches
        else:
            missing.append(spec)
    if missing:
        shown = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3
                                          else "")
        raise InputError(f"{shown}: {'no such input' if len(missing) == 1 else 'no such inputs'}"
                         " (no file, or nothing to track in the folder, glob or S3 prefix)")
    unique = list(dict.fromkeys(found))
    return [Input(loc, name) for loc, name in zip(unique, folder_names(unique), strict=True)]


def _expand(spec: str) -> list[str]:
    if spec.startswith("s3://"):
        return s3_videos(spec)
    if glob.has_magic(spec):
        return [m for p in sorted(glob.glob(spec)) for m in _expand_path(Path(p))]
    return _expand_path(Path(spec))


def _expand_path(path: Path) -> list[str]:
    if path.is_file():
        return [str(path)]
    if not path.is_dir():
        return []
    try:
        children = sorted(p for p in path.iterdir() if p.is_file())
    except OSError as exc:
        raise InputError(f"{path}: cannot read the folder ({exc.strerror or exc})") from None
    videos = [str(p) for p in children if p.suffix.lower() in VIDEO_SUFFIXES]
    if videos:
        return videos
    return [str(path)] if any(p.suffix.lower() in IMAGE_SUFFIXES for p in children) else []


def folder_names(locations: Sequence[str]) -> list[str]:
    """A distinct output folder name for each input: its file name's stem (an s3 key's last
    part), with as many of its parent folders' names in front (joined by ``_``) as it takes
    to tell inputs apart (``cam1_video``, ``cam2_video``); ``-2``, ``-3``... past that."""
    skip = ("", ".", "..")
    parts = [[p for p in loc.removeprefix("s3://").rstrip("/").split("/") if p not in skip]
             or ["input"] for loc in locations]
    parts = [[*p[:-1], Path(p[-1]).stem or p[-1]] for p in parts]
    depth = [1] * len(parts)
    while True:
        names = ["_".join(p[-d:]) for p, d in zip(parts, depth, strict=True)]
        clash = {n for n in names if names.count(n) > 1}
        grow = [i for i, n in enumerate(names) if n in clash and depth[i] < len(parts[i])]
        if not grow:
            break
        for i in grow:
            depth[i] += 1
    taken: set[str] = set()
    unique = []
    for name in names:
        candidate, n = name, 1
        while candidate in taken:
            n += 1
            candidate = f"{name}-{n}"
        taken.add(candidate)
        unique.append(candidate)
    return unique


def s3_videos(url: str) -> list[str]:
    """Every video under ``s3://BUCKET/PREFIX``, as ``s3://`` URLs in key order."""
    client, bucket, prefix = _s3(url)
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        keys = [obj["Key"] for page in client.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix=prefix) for obj in page.get("Contents", [])]
    except (BotoCoreError, ClientError) as exc:
        raise InputError(f"{url}: cannot list the bucket ({str(exc).splitlines()[0]})"
                         ) from None
    return [f"s3://{bucket}/{k}" for k in sorted(keys)
            if Path(k).suffix.lower() in VIDEO_SUFFIXES]


def _s3(url: str) -> tuple[Any, str, str]:
    try:
        import boto3
    except ImportError:
        raise InputError(f"{url}: S3 inputs need boto3: pip install 'facetrack[s3]'") from None
    bucket, _, prefix = url[len("s3://"):].partition("/")
    if not bucket:
        raise InputError(f"{url}: give s3://BUCKET or s3://BUCKET/PREFIX")
    return boto3.client("s3"), bucket, prefix


def run_job(job: Job, attempt: int = 1, collect: bool = False,
            payload: dict[str, bytes] | None = None) -> Outcome:
    """Track one input (fetching it first when it is on S3). Errors of the input itself
    (unreadable, damaged part-way) are the outcome, not exceptions: running it again would
    give the same. ``collect``: also return the result files' bytes, and ``payload``: the
    input's own bytes (``read_payload``), for a worker whose disk is not the batch's."""
    from facetrack.config import TrackerConfig
    from facetrack.pipeline.jobs import track_file
    from facetrack.pipeline.segments import track_segment

    outcome = Outcome(job.input.location, job.input.folder, attempts=attempt)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="facetrack-job-") as tmp:
        out = Path(tmp) / "out" if collect else Path(job.out)
        source = job.input.location
        try:
            source = (_unpack(payload, Path(tmp)) if payload is not None
                      else _local_copy(job.input.location, Path(tmp)))
            config = TrackerConfig.model_validate(job.config)
            run = (track_segment(source, job.segment, out, config, mot=job.mot)
                   if job.segment is not None else
                   track_file(source, out, config, video=job.video, mot=job.mot,
                              thumbnails=job.thumbnails))
            outcome.status, outcome.frames, outcome.tracks = "done", run.frames, run.tracks
        except DecodeError as exc:  # the frames before the damage are tracked and written
            outcome.status, outcome.error = "partial", _named(exc, source, job.input)
            outcome.frames, outcome.tracks = exc.frame, _tracks_written(out)
        except FacetrackError as exc:
            outcome.status, outcome.error = "failed", _named(exc, source, job.input)
        except KeyboardInterrupt:  # the batch was stopped: the files are ended and valid
            outcome.frames, outcome.tracks = _lines(out / "faces.jsonl"), _tracks_written(out)
            # stopped before its first frame was written: nothing of it exists
            outcome.status = "partial" if outcome.frames else "not run"
            outcome.error = "interrupted" + ("" if outcome.frames else " before its first frame")
        outcome.seconds = round(time.perf_counter() - t0, 3)
        outcome.fps = round(outcome.frames / outcome.seconds, 2) if outcome.seconds else 0.0
        if collect and out.is_dir():
            outcome.files = {str(p.relative_to(out)): p.read_bytes()
                             for p in sorted(out.rglob("*")) if p.is_file()}
    return outcome


def _tracks_written(out: Path) -> int:
    """Rows of the tracks.csv a stopped run wrote."""
    return max(0, _lines(out / "tracks.csv") - 1)


def _lines(path: Path) -> int:
    try:
        with path.open("rb") as fh:
            return sum(1 for _ in fh)
    except OSError:
        return 0


def _named(exc: Exception, source: str, item: Input) -> str:
    """The error's message naming the input as the user gave it, not the worker's copy."""
    return str(exc).replace(source, item.location)


def _local_copy(location: str, tmp: Path) -> str:
    if not location.startswith("s3://"):
        return location
    from botocore.exceptions import BotoCoreError, ClientError

    client, bucket, key = _s3(location)
    local = tmp / f"input{Path(key).suffix}"
    try:
        client.download_file(bucket, key, str(local))
    except (BotoCoreError, ClientError) as exc:
        raise InputError(f"{location}: cannot fetch ({str(exc).splitlines()[0]})") from None
    return str(local)


def read_payload(location: str) -> dict[str, bytes] | None:
    """A local input's bytes for a worker on another machine: the file, or the images of a
    folder (by name); None for S3 inputs, which the worker fetches itself."""
    if location.startswith("s3://"):
        return None
    path = Path(location)
    try:
        if path.is_dir():
            return {f"{path.name}/{p.name}": p.read_bytes() for p in sorted(path.iterdir())
                    if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES}
        return {path.name: path.read_bytes()}
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None


def _unpack(payload: dict[str, bytes], tmp: Path) -> str:
    """``read_payload``'s bytes as files again under their own names (the source's name is
    written into the results): the file, or the folder of images."""
    root = tmp / "in"
    root.mkdir()
    for name, data in payload.items():
        parts = Path(name).parts[-2:]
        if any(p in ("", ".", "..") for p in parts):
            raise InputError(f"{name}: not a file name")
        target = root.joinpath(*parts)
        target.parent.mkdir(exist_ok=True)
        target.write_bytes(data)
    entries = list(root.iterdir())
    return str(entries[0]) if len(entries) == 1 else str(root)


def save_files(outcome: Outcome, folder: Path) -> Outcome:
    """Write the files a remote worker returned into ``folder``; the outcome without them."""
    from facetrack.pipeline.jobs import prepare_output

    if outcome.files:
        prepare_output(folder)
        for name, data in outcome.files.items():
            target = folder / name
            if ".." in Path(name).parts or Path(name).is_absolute():
                raise OutputError(f"{name}: a worker returned a file outside its folder")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
    return replace(outcome, files={})


def write_index(out: Path, outcomes: Iterable[Outcome]) -> None:
    """index.csv and index.json: one row per input, in input order (written atomically)."""
    import csv
    import io

    from facetrack.storage.atomic import write_atomically

    rows = [o.row() for o in outcomes]
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=list(Outcome("", "").row()), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    write_atomically(out / INDEX_CSV, [text.getvalue()])
    write_atomically(out / INDEX_JSON, [json.dumps({"inputs": rows}, indent=1,
                                                   ensure_ascii=False), "\n"])


def worker_count(requested: int | None) -> int:
    """``--workers``: at least 1; by default one per core."""
    if requested is None:
        from facetrack.runtime.threads import usable_cores

        return usable_cores()
    if requested < 1:
        raise InputError(f"--workers {requested}: give 1 or more worker processes")
    return requested
