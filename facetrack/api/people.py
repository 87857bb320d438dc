"""Enrolled people: list, look at (examples and sightings), create from a photo, rename,
delete, and add examples from a photo, from a clip's track or from an event's track (the
latter two run as jobs). Every change is audited.

Viewers see names (events show them anyway); operators enrol and rename; only admins delete.
"""

from __future__ import annotations

import tempfile
from dataclasses import asdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, HTTPException, UploadFile
from pydantic import BaseModel, Field

from facetrack.api.auth import Admin, Operator, Principal, Svc, Viewer
from facetrack.api.clips import browser, local_video
from facetrack.api.context import Services
from facetrack.errors import InputError
from facetrack.recognition.records import Enrolment
from facetrack.storage.clip_browser import key_of_link, parse_key

router = APIRouter(prefix="/api/people", tags=["people"])

Photo = Annotated[UploadFile, File(description="A photo showing the person (the largest face "
                                   "is taken when it clearly is the subject).")]


def _db(svc: Services) -> Any:
    if not svc.faces.exists:
        raise LookupError("no face database yet: enrol someone first")
    return svc.faces.db()


@router.get("")
def people(svc: Svc, _who: Viewer) -> dict[str, Any]:
    if not svc.faces.exists:
        return {"items": []}
    return {"items": [_person(p) for p in svc.faces.db().people()]}


def _person(p: Any) -> dict[str, Any]:
    return {"id": p.id, "name": p.name, "attrs": dict(p.attrs), "created": p.created,
            "examples": p.embeddings}


@router.get("/{name:path}")
def person(name: str, svc: Svc, _who: Viewer) -> dict[str, Any]:
    """A person, their examples (where each came from) and their latest sightings."""
    db = _db(svc)
    found = db.person(name)
    examples = [asdict(e) for e in db.embeddings(found.name)]
    sightings = svc.events.page(kinds=["identity_matched"], person_id=found.id, limit=50)
    return {**_person(found), "example_list": examples, "sightings": sightings}


def _enrol_photo(svc: Services, name: str, photo: UploadFile) -> Enrolment:
    from facetrack.api.faces import read_upload
    from facetrack.recognition.enroll import enroll_images

    read_upload(photo, svc)  # size, pixel count and decodability checked before any model
    photo.file.seek(0)
    safe = "".join(c for c in Path(photo.filename or "photo").name if c.isalnum() or c in "._-")
    suffix = Path(safe).suffix.lower() or ".jpg"
    with tempfile.TemporaryDirectory(prefix="facetrack-upload-") as tmp:
        path = Path(tmp) / f"{Path(safe).stem[:80] or 'photo'}{suffix}"
        path.write_bytes(photo.file.read())
        with svc.faces.models():
            rec = svc.faces.recognizer(identify=False)
            return enroll_images(svc.faces.db(), name, [path], rec.detector, rec.embedder,
                                 min_face_size=svc.faces.tracker.recognition.min_face_size,
                                 largest=True)


def _enrolled(svc: Services, who: Principal, e: Enrolment, source: str) -> dict[str, Any]:
    svc.accounts.audit(who.actor, "person_enrol", e.name,
                       detail={"added": e.added, "source": source, "new": e.new_person},
                       address=who.address)
    return asdict(e)


@router.post("", status_code=201)
def create(svc: Svc, who: Operator, name: Annotated[str, Form(min_length=1, max_length=200)],
           photo: Photo) -> dict[str, Any]:
    """Enrol a new person from a photo."""
    if svc.faces.exists:
        try:
            svc.faces.db().person(name)
            raise HTTPException(409, f"{name!r} is already enrolled; add examples instead")
        except LookupError:
            pass
    return _enrolled(svc, who, _enrol_photo(svc, name, photo), "photo")


@router.post("/{name:path}/examples")
def add_photo(name: str, svc: Svc, who: Operator, photo: Photo) -> dict[str, Any]:
    """Add an example photo to an enrolled person."""
    _db(svc).person(name)
    return _enrolled(svc, who, _enrol_photo(svc, name, photo), "photo")


class Rename(BaseModel):
    name: str = Field(..., min_length=1, max_length=200)


@router.patch("/{name:path}")
def rename(name: str, body: Rename, svc: Svc, who: Operator) -> dict[str, Any]:
    renamed = _db(svc).rename(name, body.name)
    svc.accounts.audit(who.actor, "person_rename", renamed.name, detail={"from": name},
                       address=who.address)
    return _person(renamed)


@router.delete("/{name:path}")
def remove(name: str, svc: Svc, who: Admin,
           subject_clips: Literal["delete", "blur"] = "delete") -> dict[str, Any]:
    """Erase a person everywhere (``facetrack db forget``): their examples, their name and id
    in every event (made "erased"), the clips of their alerts (``subject_clips``: deleted, or
    kept with every face blurred); the answer is the receipt. The audit log records the
    erasure by id, without the name."""
    from facetrack.api.clips import browser
    from facetrack.privacy.erase import forget

    return forget(name, _db(svc), svc.events, browser(svc), svc.config.store.events_jsonl,
                  svc.accounts, who.actor, who.address, clip_action=subject_clips).to_json()


class FromClip(BaseModel):
    clip: str = Field(..., min_length=1, max_length=400, description="Clip key.")
    track_id: int = Field(..., ge=0, le=2**62, description="The monitor's track id (as in "
                          "the clip's details and its events).")


class FromEvent(BaseModel):
    event_id: int = Field(..., ge=1, le=2**62)


def _clip_of_event(svc: Services, event: dict[str, Any]) -> str:
    """The key of a clip showing the event's track: the event's own (an alert's), else an
    alert of the same camera and track that has one."""
    if event.get("clip"):
        return key_of_link(str(event["clip"]))
    # track ids restart with the monitor: only alerts of the same hour are the same track
    when = datetime.fromisoformat(str(event["wall_time"]))
    for alert in svc.events.page(kinds=["alert"], camera=event.get("camera"),
                                 track_id=event.get("track_id"), limit=20,
                                 since=(when - timedelta(hours=1)).isoformat(),
                                 until=(when + timedelta(hours=1)).isoformat()):
        if alert.get("clip"):
            return key_of_link(str(alert["clip"]))
    raise HTTPException(409, "no clip was recorded for this event's track (clips are "
                        "recorded around alerts when `clips.enabled`)")


def _start_clip_job(svc: Services, who: Principal, name: str, key: str, track_id: int
                    ) -> dict[str, Any]:
    from facetrack.recognition.track_enrol import enrol_monitor_track

    parse_key(key)
    clips = browser(svc)
    records = clips.meta(key).get("results", [])

    def work(progress: Any) -> dict[str, Any]:
        with tempfile.TemporaryDirectory(prefix="facetrack-clip-") as tmp:
            video = local_video(clips, key, Path(tmp))
            with svc.faces.models(wait_s=3600):
                rec = svc.faces.recognizer(identify=False)
                e = enrol_monitor_track(svc.faces.db(), name, video, records, track_id,
                                        svc.faces.tracker, embedder=rec.embedder,
                                        progress=progress)
        return _enrolled(svc, who, e, f"clip {key} track {track_id}")

    job = svc.jobs.submit("enrol_from_clip", who.actor, work)
    return job.to_json()


@router.post("/{name:path}/examples/from-clip", status_code=202)
def from_clip(name: str, body: FromClip, svc: Svc, who: Operator) -> dict[str, Any]:
    """Add examples from a track of a clip (a job: follow it at /api/jobs/ID). ``name`` may
    be new."""
    return _start_clip_job(svc, who, name, body.clip, body.track_id)


@router.post("/{name:path}/examples/from-event", status_code=202)
def from_event(name: str, body: FromEvent, svc: Svc, who: Operator) -> dict[str, Any]:
    """Add examples from the track of an event, through the clip recorded for it (a job)."""
    event = svc.events.get(body.event_id)
    if int(event.get("track_id", -1)) < 0:
        raise InputError(f"event {body.event_id} has no track")
    return _start_clip_job(svc, who, name, _clip_of_event(svc, event), int(event["track_id"]))
