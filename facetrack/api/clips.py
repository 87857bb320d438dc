"""Evidence clips: list, details, download (with HTTP range requests, so a ``<video>``
element seeks), delete. Operators and admins only: clips show faces."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, Response
from fastapi.responses import FileResponse, StreamingResponse

from facetrack.api.auth import Operator, Principal, Svc
from facetrack.api.context import Services
from facetrack.storage.clip_browser import ClipInfo, LocalClips, S3Clips, open_clips, parse_key
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
          before: Annotated[str | None, Query(max_length=400, description="Page cursor: the "
                                              "previous page's `next` (a clip key).")] = None,
          limit: Annotated[int, Query(ge=1, le=500)] = 50) -> dict[str, Any]:
    """Clips, newest first (by time, then key: clips of one moment are never skipped)."""
    low = parse_since(since) if since else None
    high = parse_since(until) if until else None
    after = None if not before else _order(parse_key(before))
    items = [c for c in browser(svc).list() if (camera is None or c.camera == camera)
             and (low is None or c.time >= low) and (high is None or c.time < high)
             and (after is None or _order(c) < after)]
    items.sort(key=_order, reverse=True)
    page = items[:limit]
    return {"items": [c.to_json() for c in page],
            "next": page[-1].key if len(items) > limit else None}


def _order(clip: ClipInfo) -> tuple[str, str]:
    return clip.time, clip.key


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


#: a viewing seeks and re-reads: one audit entry per person and clip in this many seconds
AUDIT_EVERY_S = 600.0


def _audit_download(svc: Services, who: Principal, key: str) -> None:
    """Audit the reading of a clip, whatever byte range: once per viewing, not per seek."""
    seen: dict[tuple[str, str], float] = svc.extra.setdefault("clip_reads", {})
    now = time.monotonic()
    if now - seen.get((who.actor, key), -AUDIT_EVERY_S) < AUDIT_EVERY_S:
        return
    if len(seen) > 10_000:
        seen.clear()
    seen[(who.actor, key)] = now
    svc.accounts.audit(who.actor, "clip_download", key, address=who.address)


@router.get("/video/{key:path}", response_class=Response)
def video(key: str, request: Request, svc: Svc, who: Operator) -> Response:
    """The MP4 (``Range: bytes=...`` answered with 206)."""
    clips = browser(svc)
    if isinstance(clips, LocalClips):
        path = clips.video(key)
        _audit_download(svc, who, key)
        return FileResponse(path, media_type="video/mp4",
                            filename=key.rsplit("/", 1)[-1] + ".mp4",
                            content_disposition_type="inline")
    size = clips.head(key)
    _audit_download(svc, who, key)
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
