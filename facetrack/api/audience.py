"""Audience windows (docs/audience.md defines every figure), a summary for charts, and the
heatmaps of cameras running in this process."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Response
from pydantic import BaseModel, Field

from facetrack.analytics.windows import BUCKET_COLUMNS
from facetrack.api.auth import Svc, Viewer

router = APIRouter(prefix="/api/audience", tags=["audience"])


class WindowQuery(BaseModel):
    camera: str | None = Field(None, max_length=200)
    zone: str | None = Field(None, max_length=200, description="`all` or a zone's name.")
    target: str | None = Field(None, max_length=200, description="`camera` or a target's "
                               "name.")
    since: str | None = Field("24h", max_length=64, description="ISO time or a duration "
                              "back from now.")
    until: str | None = Field(None, max_length=64)
    limit: int = Field(1000, ge=1, le=10_000, description="The latest this many windows.")


def _rows(svc: Svc, q: WindowQuery) -> list[dict[str, Any]]:
    return svc.audience.query(camera=q.camera, zone=q.zone, target=q.target, since=q.since,
                              until=q.until, limit=q.limit)


@router.get("/windows")
def windows(svc: Svc, _who: Viewer, q: Annotated[WindowQuery, Query()]) -> dict[str, Any]:
    """Stored windows, oldest first (the columns of audience.csv, plus ``camera``)."""
    return {"items": _rows(svc, q)}


@router.get("/summary")
def summary(svc: Svc, _who: Viewer, q: Annotated[WindowQuery, Query()]) -> dict[str, Any]:
    """What the charts show: per window ots, watchers and attention (zone ``all`` and target
    ``camera`` unless given), and the dwell histogram summed over the windows. Totals of OTS
    add windows up, so a person present in two windows counts twice (as Quividi's hourly
    sums do); watchers likewise."""
    q = q.model_copy(update={"zone": q.zone or "all", "target": q.target or "camera"})
    rows = _rows(svc, q)
    series = [{"camera": r["camera"], "window_start": r["window_start"],
               "window_end": r["window_end"], "ots": r["ots"], "watchers": r["watchers"],
               "attention_total_s": r["attention_total_s"],
               "dwell_mean_s": r["dwell_mean_s"]} for r in rows]
    dwell = {c: sum(int(r[c]) for r in rows) for c in BUCKET_COLUMNS}
    attention = [r["attention_total_s"] for r in rows if r["attention_total_s"] is not None]
    return {"zone": q.zone, "target": q.target, "windows": len(rows), "series": series,
            "dwell_histogram": dwell,
            "totals": {"ots": sum(int(r["ots"]) for r in rows),
                       "watchers": sum(int(r["watchers"]) for r in rows),
                       "attention_s": round(sum(attention), 2)}}


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
