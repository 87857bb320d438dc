"""Jobs: long work with progress (enrolling from a clip, analysing an uploaded video). They run
one at a time on the job thread, never on the event loop; a client polls ``GET /api/jobs/ID``.

``POST /api/jobs/analyze`` takes a video and runs ``facetrack track`` on it (with
``analytics=true``, the audience files and report too); its files are listed in the job's
result and downloaded from ``/api/jobs/ID/files/NAME``. Operators see their own jobs, admins
everyone's.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, HTTPException, Query, UploadFile
from fastapi.responses import FileResponse

from facetrack.api.auth import Operator, Principal, Svc
from facetrack.api.context import Services
from facetrack.config import override
from facetrack.errors import InputError, OutputError
from facetrack.runtime.jobs import Job

router = APIRouter(prefix="/api/jobs", tags=["jobs"])
VIDEO_SUFFIXES = {".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v", ".ts"}


def _visible(job: Job, who: Principal) -> bool:
    return who.role == "admin" or job.owner == who.actor


def _job(svc: Services, job_id: str, who: Principal) -> Job:
    job = svc.jobs.get(job_id)
    if not _visible(job, who):
        raise LookupError(f"no job {job_id!r}")
    return job


@router.get("")
def jobs(svc: Svc, who: Operator) -> dict[str, Any]:
    return {"items": [j.to_json() for j in svc.jobs.jobs() if _visible(j, who)]}


@router.get("/{job_id}")
def job(job_id: str, svc: Svc, who: Operator) -> dict[str, Any]:
    """State (queued, running, done, failed, cancelled), progress 0..1, result or error."""
    return _job(svc, job_id, who).to_json()


@router.delete("/{job_id}")
def cancel(job_id: str, svc: Svc, who: Operator) -> dict[str, Any]:
    """Cancel a queued or running job (a running one stops at its next frame)."""
    _job(svc, job_id, who)
    return svc.jobs.cancel(job_id).to_json()


@router.post("/analyze", status_code=202)
def analyze(svc: Svc, who: Operator,
            video: Annotated[UploadFile, File(description="A video file.")],
            analytics: Annotated[bool, Query(description="Also audience windows, heatmaps "
                                             "and report.html.")] = False) -> dict[str, Any]:
    """Analyse an uploaded video like ``facetrack track`` (a job)."""
    suffix = Path(video.filename or "").suffix.lower()
    if suffix not in VIDEO_SUFFIXES:
        raise InputError(f"upload a video ({', '.join(sorted(VIDEO_SUFFIXES))}), got "
                         f"{(video.filename or 'no name')[:100]!r}")
    root = svc.api.jobs_dir
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    folder = Path(_private_dir(root))
    source = folder / f"input{suffix}"
    config = svc.faces.tracker
    if analytics:
        config = override(config, {"analytics.enabled": True})
    try:
        try:
            with source.open("wb") as f:
                shutil.copyfileobj(video.file, f, 1 << 20)
        except OSError as exc:
            raise OutputError(f"cannot keep the upload for analysis ({exc.strerror or exc})"
                              ) from None
        job = svc.jobs.submit("analyze", who.actor, lambda progress: _analyze(
            source, folder / "out", config, analytics, progress),
            on_forget=lambda: shutil.rmtree(folder, ignore_errors=True))
    except BaseException:  # refused (too many jobs) or the disk is full: nothing is kept
        shutil.rmtree(folder, ignore_errors=True)
        raise
    svc.extra.setdefault("job_dirs", {})[job.id] = folder / "out"
    recognition = config.recognition.enabled
    svc.accounts.audit(who.actor, "face_search" if recognition else "video_analyze",
                       video.filename or "", detail={"job": job.id, "recognition": recognition},
                       address=who.address)
    return job.to_json()


def _analyze(source: Path, out: Path, config: Any, analytics: bool, progress: Any
             ) -> dict[str, Any]:
    from facetrack.pipeline.jobs import track_file

    try:
        run = track_file(source, out, config, progress=progress)
        if analytics:
            from facetrack.analytics.report import write_report

            write_report(out)
    finally:
        source.unlink(missing_ok=True)  # the upload is never kept, whatever the outcome
    files = sorted(p.name for p in out.iterdir() if p.is_file())
    return {"frames": run.frames, "tracks": run.tracks, "seconds": run.seconds,
            "files": files}


def _private_dir(root: Path) -> str:
    import tempfile

    return tempfile.mkdtemp(prefix="job-", dir=root)


@router.get("/{job_id}/files/{name}", response_class=FileResponse)
def job_file(job_id: str, name: str, svc: Svc, who: Operator) -> FileResponse:
    """A file an analysis job wrote (names as in its result)."""
    job = _job(svc, job_id, who)
    out = svc.extra.get("job_dirs", {}).get(job.id)
    if out is None or job.state != "done" or name not in (job.result or {}).get("files", []):
        raise HTTPException(404, f"job {job_id} has no file {name[:100]!r}")
    return FileResponse(Path(out) / name, filename=name)
