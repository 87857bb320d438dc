"""Unknown faces that come back, so an operator can name them.

``POST /api/unknowns/scan`` (a job) tracks every stored clip of the period with the face
database (``find_faces_in_file``), keeps the tracks nobody enrolled matched, and groups them
across clips by appearance (``group_tracks``: average linkage at the recognition threshold,
never joining two tracks on screen together). The groups, their best crops and their
embeddings are held in memory only, never written; naming a group enrols its best, most
different samples under that name, in one transaction.
"""

from __future__ import annotations

import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from fastapi import APIRouter, HTTPException, Response
from pydantic import BaseModel, Field

from facetrack.api.auth import Id, Operator, Principal, Svc
from facetrack.api.clips import browser, local_video
from facetrack.api.context import Services
from facetrack.events import utc_now
from facetrack.recognition.grouping import FoundFace, Sample, group_tracks, pick_samples
from facetrack.storage.events import parse_since

router = APIRouter(prefix="/api/unknowns", tags=["people"])
#: clips are tracked one after another; their frame numbers are moved apart by this so
#: tracks of different clips never look as if they were on screen together
_CLIP_FRAMES = 10**9
MAX_CROPS = 3
#: tracks grouped at most (grouping compares every pair: memory grows with the square)
MAX_TRACKS = 3000


@dataclass
class Group:
    number: int
    tracks: list[dict[str, Any]] = field(default_factory=list)
    crops: list[bytes] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)

    def to_json(self, scan: str) -> dict[str, Any]:
        return {"group": self.number, "scan": scan, "tracks": self.tracks,
                "sightings": len(self.tracks),
                "crops": [f"/api/unknowns/{self.number}/crops/{i}.jpg"
                          for i in range(len(self.crops))]}


@dataclass
class Scan:
    when: str
    groups: dict[int, Group]
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])


class ScanRequest(BaseModel):
    since: str = Field("7d", max_length=64, description="Clips since (ISO time or 7d, 24h).")
    max_clips: int = Field(200, ge=1, le=10_000)


def _jpeg(image: np.ndarray) -> bytes:
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 85])
    return data.tobytes() if ok else b""


def _groups(found: list[tuple[str, FoundFace]], threshold: float) -> dict[int, Group]:
    faces = [f for _, f in found]
    group_tracks(faces, threshold)
    groups: dict[int, Group] = {}
    for key, f in found:
        g = groups.setdefault(f.group, Group(f.group))
        g.tracks.append({"clip": key, "track_id": f.track_id, "start_s": round(f.start_s, 2),
                         "end_s": round(f.end_s, 2)})
        g.samples += f.samples
        g.crops += [_jpeg(c) for c in f.crops[:MAX_CROPS - len(g.crops)]]
    return {n: g for n, g in groups.items() if g.samples}


def _scan(svc: Services, since: str, max_clips: int, progress: Any) -> Scan:
    from facetrack.pipeline.jobs import find_faces_in_file

    low = parse_since(since)
    clips = browser(svc)
    keys = sorted((c.key for c in clips.list() if c.time >= low), reverse=True)[:max_clips]
    database = svc.faces.database if svc.faces.exists else None
    found: list[tuple[str, FoundFace]] = []
    for n, key in enumerate(keys):
        progress(n, len(keys))
        with tempfile.TemporaryDirectory(prefix="facetrack-scan-") as tmp:
            video = local_video(clips, key, Path(tmp))
            with svc.faces.models(wait_s=3600):
                embedder = svc.faces.recognizer(identify=False).embedder
                tracks = find_faces_in_file(video, svc.faces.tracker, database=database,
                                            best_crops=MAX_CROPS, embedder=embedder)
        for f in tracks:
            if f.person_id < 0 and f.samples and len(found) < MAX_TRACKS:
                f.first_frame += n * _CLIP_FRAMES
                f.last_frame += n * _CLIP_FRAMES
                found.append((key, f))
    progress(len(keys), len(keys))
    return Scan(utc_now(), _groups(found, svc.faces.tracker.recognition.threshold))


@router.post("/scan", status_code=202)
def scan(body: ScanRequest, svc: Svc, who: Operator) -> dict[str, Any]:
    """Find the unknown people of the stored clips (a job; ``GET /api/unknowns`` then lists
    them)."""
    parse_since(body.since)

    def work(progress: Any) -> dict[str, Any]:
        result = _scan(svc, body.since, body.max_clips, progress)
        svc.extra["unknowns"] = result
        svc.accounts.audit(who.actor, "face_search", "unknowns",
                           detail={"groups": len(result.groups), "since": body.since},
                           address=who.address)
        return {"groups": len(result.groups)}

    return svc.jobs.submit("scan_unknowns", who.actor, work).to_json()


def _scan_of(svc: Services) -> Scan | None:
    found: Scan | None = svc.extra.get("unknowns")
    return found


@router.get("")
def unknowns(svc: Svc, _who: Operator) -> dict[str, Any]:
    """The groups of the last scan, most sightings first."""
    found = _scan_of(svc)
    if found is None:
        return {"items": [], "scanned": None}
    items = sorted(found.groups.values(), key=lambda g: -len(g.tracks))
    return {"items": [g.to_json(found.id) for g in items], "scanned": found.when,
            "scan": found.id}


def _group(svc: Services, number: int) -> Group:
    found = _scan_of(svc)
    group = None if found is None else found.groups.get(number)
    if group is None:
        raise HTTPException(404, f"no unknown group {number} (scan again)")
    return group


@router.get("/{number}/crops/{index}.jpg", response_class=Response)
def crop(number: Id, index: Id, svc: Svc, _who: Operator) -> Response:
    group = _group(svc, number)
    if not 0 <= index < len(group.crops):
        raise HTTPException(404, f"group {number} has no crop {index}")
    return Response(group.crops[index], media_type="image/jpeg")


class Naming(BaseModel):
    name: str = Field(..., min_length=1, max_length=200)
    scan: str = Field(..., min_length=1, max_length=64, description="The scan the group was "
                      "listed in (group numbers restart with every scan).")


@router.post("/{number}/name")
def name_group(number: Id, body: Naming, svc: Svc, who: Operator) -> dict[str, Any]:
    """Enrol the group's best, most different faces under ``name`` (new or enrolled)."""
    found = _scan_of(svc)
    if found is None or found.id != body.scan:
        raise HTTPException(409, "the unknown faces were scanned again since this list: "
                            "reload it and choose again")
    group = _group(svc, number)
    return _enrol(svc, who, number, group, body.name)


def _enrol(svc: Services, who: Principal, number: int, group: Group, name: str
           ) -> dict[str, Any]:
    chosen = pick_samples(group.samples, 5)
    with svc.faces.models():
        embedder = svc.faces.recognizer(identify=False).embedder
        e = svc.faces.db().enroll(
            name, np.stack([s.vector for s in chosen]), embedder.model_id,
            [s.quality for s in chosen],
            [f"unknown-{number}@{s.time_s:.2f}s" for s in chosen],
            [s.content_hash for s in chosen])
    scan_ = _scan_of(svc)
    if scan_ is not None:
        scan_.groups.pop(number, None)
    svc.accounts.audit(who.actor, "person_enrol", e.name,
                       detail={"added": e.added, "source": f"unknown group {number}",
                               "new": e.new_person}, address=who.address)
    return {"name": e.name, "added": e.added, "person_id": e.person_id}
