"""Audience windows (docs/audience.md defines every figure), a summary for charts, and the
heatmaps of cameras running in this process."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Response
from pydantic import BaseModel, Field

from facetrack.api.auth import Svc, Viewer
from facetrack.storage.audience import MAX_POINTS

router = APIRouter(prefix="/api/audience", tags=["audience"])


class SummaryQuery(BaseModel):
    camera: str | None = Field(None, max_length=200, description="One camera; all summed "
                               "when absent.")
    zone: str = Field("all", max_length=200, description="`all` or a zone's name.")
    target: str = Field("camera", max_length=200, description="`camera` or a target's name.")
    since: str | None = Field("24h", max_length=64, description="ISO time or a duration "
                              "back from now.")
    until: str | None = Field(None, max_length=64)
    points: int = Field(MAX_POINTS, ge=10, le=5000, description="Most points in `series`; "
                        "beyond, windows are summed per 10 minutes, hour, day or month.")


class WindowQuery(BaseModel):
    camera: str | None = Field(None, max_length=200)
    zone: str | None = Field(None, max_length=200, description="`all` or a zone's name.")
    target: str | None = Field(None, max_length=200, description="`camera` or a target's "
                               "name.")
    since: str | None = Field("24h", max_length=64, description="ISO time or a duration "
                              "back from now.")
    until: str | None = Field(None, max_length=64)
    limit: int = Field(1000, ge=1, le=10_000, description="The latest this many windows.")


@router.get("/windows")
def windows(svc: Svc, _who: Viewer, q: Annotated[WindowQuery, Query()]) -> dict[str, Any]:
    """Stored windows, oldest first (the columns of audience.csv, plus ``camera``)."""
    return {"items": svc.audience.query(camera=q.camera, zone=q.zone, target=q.target,
                                        since=q.since, until=q.until, limit=q.limit)}


@router.get("/summary")
def summary(svc: Svc, _who: Viewer, q: Annotated[SummaryQuery, Query()]) -> dict[str, Any]:
    """What the charts show, over every window of the period for one zone and target: totals,
    the dwell histogram, and OTS, watchers and attention per window start (cameras summed;
    beyond ``points`` starts, summed per 10 minutes, hour, day or month: ``bucket`` says
    which). Also the zones and targets stored in the period. Totals add windows up, so a
    person present in two windows counts twice (as Quividi's hourly sums do); watchers
    likewise."""
    return {"zone": q.zone, "target": q.target, **svc.audience.summary(
        camera=q.camera, since=q.since, until=q.until, zone=q.zone, target=q.target,
        points=q.points)}


@router.get("/heatmap/{camera}/{name}.png", response_class=Response)
def heatmap(camera: str, name: str, svc: Svc, _who: Viewer) -> Response:
    """The live heatmap ``occupancy`` (or a target's) of a camera analysed in this process,
    since its stream (re)started; faces are blurred out of the scene."""
    if svc.live is None:
        raise HTTPException(404, "heatmaps are drawn by the monitor that runs the camera "
                            "(api: in its config)")
    png = svc.live.heatmap(camera, name)
    if png is None:
        raise HTTPException(404, f"no heatmap {name!r} for camera {camera!r} (analytics off, "
                            "no frame yet, or no such target)")
    return Response(png, media_type="image/png")
