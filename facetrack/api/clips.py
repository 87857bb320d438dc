"""Evidence clips: list, details, download (with HTTP range requests, so a ``<video>``
element seeks), delete. Operators and admins only: clips show faces."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, Response
from fastapi.responses import FileResponse, StreamingResponse

from facetrack.api.auth import Operator, Principal, Svc
from facetrack.api.context import Services
from facetrack.storage.clip_browser import LocalClips, S3Clips, open_clips, parse_key
from facetrack.storage.events import parse_since

router = APIRouter(prefix="/api/clips", tags=["clips"])
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def browser(svc: Services) -> LocalClips | S3Clips:
    found = svc.extra.get("clips")
    if found is None:
        found = svc.extra["clips"] = open_clips(svc.config.clips)
    return found


def local_video(clips: LocalClips | S3Clips, key: str, tmp: Path) -> Path:
    """A file of the clip's video: the stored one, or from S3 a copy in ``tmp``."""
    if isinstance(clips, LocalClips):
        return clips.video(key)
    size = clips.head(key)
    path = tmp / (key.rsplit("/", 1)[-1] + ".mp4")
    with path.open("wb") as f:
        for chunk in clips.read(key, 0, size - 1):
            f.write(chunk)
    return path


@router.get("")
def clips(svc: Svc, _who: Operator,
          camera: Annotated[str | None, Query(max_length=200)] = None,
          since: Annotated[str | None, Query(max_length=64)] = None,
          until: Annotated[str | None, Query(max_length=64)] = None,
          before: Annotated[str | None, Query(max_length=64, description="Page cursor: clips "
                                              "older than this time (the previous `next`).")]
          = None,
          limit: Annotated[int, Query(ge=1, le=500)] = 50) -> dict[str, Any]:
    """Clips, newest first."""
    low = parse_since(since) if since else None
    bounds = [parse_since(t) for t in (until, before) if t]
    high = min(bounds) if bounds else None
    items = [c for c in browser(svc).list() if (camera is None or c.camera == camera)
             and (low is None or c.time >= low) and (high is None or c.time < high)]
    items.sort(key=lambda c: c.time, reverse=True)
    page = items[:limit]
    return {"items": [c.to_json() for c in page],
            "next": page[-1].time if len(items) > limit else None}


@router.get("/meta/{key:path}")
def meta(key: str, svc: Svc, _who: Operator) -> dict[str, Any]:
    """A clip's camera, span, alerts and the tracks it shows (``frames=true`` in the sidecar
    gives every frame's faces; here the tracks are summed up)."""
    data = browser(svc).meta(key)
    tracks: dict[int, int] = {}
    for record in data.get("results", []):
        for face in record.get("faces", []):
            tid = int(face.get("track_id", -1))
            if tid >= 0:
                tracks[tid] = tracks.get(tid, 0) + 1
    return {"key": key, "camera": data.get("camera"), "start_s": data.get("start_s"),
            "end_s": data.get("end_s"), "frames": data.get("frames"),
            "alerts": data.get("alerts", []),
            "tracks": [{"track_id": t, "frames": n} for t, n in sorted(tracks.items())]}


def _audit_download(svc: Services, who: Principal, key: str, request: Request) -> None:
    start = _RANGE.match(request.headers.get("range", ""))
    if start is None or start.group(1) in ("", "0"):  # once per viewing, not per seek
        svc.accounts.audit(who.actor, "clip_download", key, address=who.address)


@router.get("/video/{key:path}", response_class=Response)
def video(key: str, request: Request, svc: Svc, who: Operator) -> Response:
    """The MP4 (``Range: bytes=...`` answered with 206)."""
    clips = browser(svc)
    _audit_download(svc, who, key, request)
    if isinstance(clips, LocalClips):
        return FileResponse(clips.video(key), media_type="video/mp4",
                            filename=key.rsplit("/", 1)[-1] + ".mp4",
                            content_disposition_type="inline")
    size = clips.head(key)
    start, end, status = _byte_range(request.headers.get("range"), size)
    headers = {"Accept-Ranges": "bytes", "Content-Length": str(end - start + 1)}
    if status == 206:
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    return StreamingResponse(clips.read(key, start, end), status_code=status,
                             media_type="video/mp4", headers=headers)


def _byte_range(header: str | None, size: int) -> tuple[int, int, int]:
    """(start, end inclusive, status) of a single-range request."""
    if not header:
        return 0, size - 1, 200
    m = _RANGE.match(header.strip())
    if m is None or (not m.group(1) and not m.group(2)):
        raise HTTPException(416, "only one byte range is supported", headers={
            "Content-Range": f"bytes */{size}"})
    if m.group(1):
        start = int(m.group(1))
        end = min(int(m.group(2)), size - 1) if m.group(2) else size - 1
    else:  # the last N bytes
        start, end = max(0, size - int(m.group(2))), size - 1
    if start > end or start >= size:
        raise HTTPException(416, "range not satisfiable", headers={
            "Content-Range": f"bytes */{size}"})
    return start, end, 206


@router.delete("/{key:path}")
def delete(key: str, svc: Svc, who: Operator) -> dict[str, Any]:
    parse_key(key)
    browser(svc).delete(key)
    svc.accounts.audit(who.actor, "clip_delete", key, address=who.address)
    return {"deleted": key}
