"""``TrackSummary``: one row of tracks.csv, read off a track's last snapshot."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from facetrack.tracks import TrackSnapshot


@dataclass(frozen=True)
class TrackSummary:
    """Read-only export of one confirmed track. Times are seconds from the start of the input;
    ratios are over the frames where the face was analysed (``frames_analysed``); PERCLOS is
    time-weighted (``facetrack.signals.perclos``): ``perclos`` over the whole track,
    ``perclos_max_window`` the highest over any ``analysis.perclos_window_s`` window."""

    track_id: int
    first_frame: int
    last_frame: int
    first_time: float
    last_time: float
    dwell_s: float
    frames_seen: int
    frames_analysed: int
    mean_box_w: float
    mean_box_h: float
    attention_ratio: float | None
    blinks: int
    blinks_per_min: float | None
    perclos: float | None
    perclos_max_window: float | None
    longest_eyes_closed_s: float
    yawns: int
    yaw_mean: float | None
    yaw_std: float | None
    pitch_mean: float | None
    pitch_std: float | None
    roll_mean: float | None
    roll_std: float | None
    best_quality: float
    thumbnail: str | None = None
    person: str | None = None
    person_id: int | None = None
    person_similarity: float | None = None
    identity_confirmed: bool | None = None
    #: ``privacy.mode: pseudonymous``: the visitor's token and which of their visits this is
    visitor: str | None = None
    visit: int | None = None
    #: audience analytics (``--analytics``): ``attention_s``, ``glances``, ``first_glance_s``,
    #: ``watcher`` per target (suffixed ``_<target>`` when there are several) and ``smile_s``
    audience: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "audience"}
        return {**data, **self.audience}

    @classmethod
    def of(cls, track: TrackSnapshot, period_s: float, thumbnail: str | None = None,
           targets: Sequence[str] = (), watcher_min_s: float = 0.0) -> TrackSummary:
        """The summary of ``track`` (its latest snapshot); ``period_s``: one frame's time;
        ``targets``: the analytics targets to give columns for (none: analytics off)."""
        s = track.signals
        n = s.frames_analysed
        dwell = track.last_time - track.first_time + period_s
        mean, std = s.pose_mean, s.pose_std
        return cls(
            track_id=track.track_id, first_frame=track.first_frame,
            last_frame=track.last_frame, first_time=round(track.first_time, 4),
            last_time=round(track.last_time, 4), dwell_s=round(dwell, 4),
            frames_seen=track.frames_seen, frames_analysed=n,
            mean_box_w=round(s.box_sum[0] / track.frames_seen, 2),
            mean_box_h=round(s.box_sum[1] / track.frames_seen, 2),
            attention_ratio=_r(s.looking_frames / n) if n else None,
            blinks=s.blinks,
            blinks_per_min=_r(s.blinks / (dwell / 60.0)) if n and dwell > 0 else None,
            perclos=_r(s.perclos_track), perclos_max_window=_r(s.perclos_max),
            longest_eyes_closed_s=round(s.longest_closed_s, 4), yawns=s.yawns,
            yaw_mean=_r(mean, 0), yaw_std=_r(std, 0),
            pitch_mean=_r(mean, 1), pitch_std=_r(std, 1),
            roll_mean=_r(mean, 2), roll_std=_r(std, 2),
            best_quality=round(max(s.best_quality, 0.0), 4), thumbnail=thumbnail,
            **_identity(track), visitor=track.visitor.token if track.visitor else None,
            visit=track.visitor.visit if track.visitor else None,
            audience=_audience(track, targets, watcher_min_s),
        )


def audience_columns(targets: Sequence[str]) -> list[str]:
    """tracks.csv's analytics columns for these targets (none when analytics are off)."""
    if not targets:
        return []
    cols = []
    for name in targets:
        suffix = f"_{name}" if len(targets) > 1 else ""
        cols += [f"attention_s{suffix}", f"glances{suffix}", f"first_glance_s{suffix}",
                 f"watcher{suffix}"]
    return [*cols, "smile_s"]


def _audience(track: TrackSnapshot, targets: Sequence[str], watcher_min_s: float
              ) -> dict[str, Any]:
    if not targets:
        return {}
    from facetrack.analytics.windows import smile_s, track_figures

    out: dict[str, Any] = {}
    for name in targets:
        f = track_figures(track, name, watcher_min_s)
        suffix = f"_{name}" if len(targets) > 1 else ""
        out[f"attention_s{suffix}"] = round(f.attention_s, 4)
        out[f"glances{suffix}"] = f.glances
        out[f"first_glance_s{suffix}"] = None if f.first_glance_s is None else round(
            f.first_glance_s, 4)
        out[f"watcher{suffix}"] = f.watcher
    out["smile_s"] = round(smile_s(track), 4)
    return out


def _identity(track: TrackSnapshot) -> dict[str, Any]:
    """The track's identity as last voted (recognition on); unknown = person None."""
    who = track.identity
    if who is None:
        return {}
    known = who.person_id >= 0
    return {"person": who.name if known else None,
            "person_id": who.person_id if known else None,
            "person_similarity": round(who.similarity, 4),
            "identity_confirmed": who.confirmed}


def _r(value: float | tuple[float, ...] | None, index: int | None = None) -> float | None:
    if value is None:
        return None
    v = float(value[index]) if isinstance(value, tuple) and index is not None else float(
        value)  # type: ignore[arg-type]
    return None if math.isnan(v) else round(v, 4)
