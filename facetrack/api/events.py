"""Events, alerts and tracks (``TrackEnded`` summaries) from the event store, newest first,
a page at a time: ``next`` is the cursor for ``before`` to get the page after."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from facetrack.api.auth import Id, Svc, Viewer

router = APIRouter(prefix="/api", tags=["events"])

MAX_PAGE = 500


class EventFilter(BaseModel):
    camera: str | None = Field(None, max_length=200, description="Only this camera.")
    since: str | None = Field(None, max_length=64, description="ISO time or a duration "
                              "back from now (30s, 15m, 2h, 7d).")
    until: str | None = Field(None, max_length=64, description="Before this (ISO time or "
                              "duration back from now).")
    person: str | None = Field(None, max_length=200, description="Only events of this "
                               "enrolled person (by name).")
    track_id: int | None = Field(None, ge=0, le=2**62, description="Only this track.")
    before: int | None = Field(None, ge=1, le=2**62, description="Page cursor: events older "
                               "than this id (the previous page's `next`).")
    limit: int = Field(50, ge=1, le=MAX_PAGE, description="Events per page.")


class EventQuery(EventFilter):
    kind: list[str] = Field(default_factory=list, max_length=40, description="Only these "
                            "kinds (repeat the parameter).")


def page(svc: Svc, f: EventFilter, kinds: list[str]) -> dict[str, Any]:
    person_id = None
    if f.person is not None:
        if not svc.faces.exists:
            return {"items": [], "next": None}
        try:
            person_id = svc.faces.db().person(f.person).id
        except LookupError:
            return {"items": [], "next": None}
    items = svc.events.page(camera=f.camera, kinds=kinds, person_id=person_id,
                            track_id=f.track_id, since=f.since, until=f.until,
                            before_id=f.before, limit=f.limit)
    return {"items": items, "next": items[-1]["id"] if len(items) == f.limit else None}


@router.get("/events")
def events(svc: Svc, _who: Viewer, f: Annotated[EventQuery, Query()]) -> dict[str, Any]:
    """Events, newest first."""
    return page(svc, f, f.kind)


@router.get("/events/{event_id}")
def event(event_id: Id, svc: Svc, _who: Viewer) -> dict[str, Any]:
    return svc.events.get(event_id)


@router.get("/alerts")
def alerts(svc: Svc, _who: Viewer, f: Annotated[EventFilter, Query()]) -> dict[str, Any]:
    """Alerts (each names its reason, person and evidence clip), newest first."""
    return page(svc, f, ["alert"])


@router.get("/tracks")
def tracks(svc: Svc, _who: Viewer, f: Annotated[EventFilter, Query()]) -> dict[str, Any]:
    """Ended tracks with their summaries (span, frames, person), newest first."""
    return page(svc, f, ["track_ended"])
