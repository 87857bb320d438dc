"""``TrackSummary``: one row of tracks.csv, read off a track's last snapshot."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
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

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def of(cls, track: TrackSnapshot, period_s: float, thumbnail: str | None = None
           ) -> TrackSummary:
        """The summary of ``track`` (its latest snapshot); ``period_s``: one frame's time."""
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
            **_identity(track),
        )


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
