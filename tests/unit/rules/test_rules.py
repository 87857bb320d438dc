"""Rules and the alert policy on scripted results: faces with track ids go through the real
signal, rules and alert stages; the tracker's lifecycle (a track ends ``lost`` frames after its
last sighting) and identities are scripted."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from facetrack.config import AnalysisConfig
from facetrack.config.camera import AlertsConfig, ClipsConfig, EventsConfig
from facetrack.events import Alert, IdentityMatched, UnknownFace
from facetrack.faces import Faces
from facetrack.frames import Frame
from facetrack.recognition.reid import IdentityState
from facetrack.results import FrameResult
from facetrack.rules.alerts import AlertStage, ClipPlan
from facetrack.rules.stage import RulesStage, default_rules
from facetrack.signals import SignalSettings
from facetrack.signals.stage import SignalStage
from facetrack.tracking.history import TrackHistory
from facetrack.tracks import TrackIdentity
from facetrack.zones import zones_of

FPS = 10.0
CLOCK = "2026-11-30T12:00:00.000+00:00"


class Scripted:
    """Rows per frame in (``track``, ``box``, ``closed``, ``looking``, ``person``,
    ``confirmed``, ``embedding``), results out, through the signal, rules and alert stages."""

    def __init__(self, events: EventsConfig | None = None, alerts: AlertsConfig | None = None,
                 zones: dict | None = None, lost: int = 5, window_s: float = 60.0,
                 clips: ClipPlan | None = None) -> None:
        analysis = AnalysisConfig(perclos_window_s=window_s)
        period = 1.0 / FPS
        self.signals = SignalStage(SignalSettings(period, 1.5 * period, analysis.blink_max_s,
                                                  window_s, 0.6, 1.5), zones_of(zones or {}))
        self.rules = RulesStage("cam", default_rules(events or EventsConfig(), analysis),
                                clock=lambda: CLOCK)
        self.alerts = AlertStage(alerts or AlertsConfig(), clips=clips)
        self.lost = lost
        self.alive: dict[int, TrackHistory] = {}
        self.index = 0

    def step(self, rows: list[dict]) -> FrameResult:
        frame = Frame(np.zeros((4, 4, 3), np.uint8), "cam", self.index, self.index / FPS)
        self.index += 1
        seen = self._track(frame, rows)
        ended = [r for t, r in self.alive.items() if t not in seen
                 and frame.index - r.last_frame > self.lost]
        for r in ended:
            r.state = "ended"
            del self.alive[r.track_id]
        records = {**self.alive, **{r.track_id: r for r in ended}}
        result = FrameResult(frame, _faces(rows), tuple(r.snapshot() for r in records.values()),
                             records=records)
        result = self.signals.process(result)
        result = result.replace(tracks=tuple(_identity(t, records, rows)
                                             for t in result.tracks))
        return self.alerts.process(self.rules.process(result))

    def _track(self, frame: Frame, rows: list[dict]) -> set[int]:
        seen = set()
        for row in rows:
            tid = row["track"]
            seen.add(tid)
            record = self.alive.get(tid)
            if record is None:
                self.alive[tid] = TrackHistory(tid, frame.index, frame.timestamp)
            else:
                record.seen(frame.index, frame.timestamp)
        for tid, record in self.alive.items():
            if tid not in seen:
                record.state = "lost"
        return seen

    def run(self, frames: list[list[dict]]) -> list:
        return [e for rows in frames for e in self.step(rows).events]


def _faces(rows: list[dict]) -> Faces:
    n = len(rows)
    faces = Faces.from_arrays([r.get("box", (100, 100, 200, 200)) for r in rows], [0.9] * n,
                              track_id=[r["track"] for r in rows])
    return faces.with_attrs(
        analysed=np.ones(n, bool),
        eyes_closed=np.array([r.get("closed", False) for r in rows], bool),
        eyes_closing=np.array([r.get("closed", False) for r in rows], bool),
        eyes_visible=np.ones(n, bool),
        looking=np.array([r.get("looking", True) for r in rows], bool),
        mouth_open=np.zeros(n, np.float32), head_pose=np.zeros((n, 3), np.float32),
        quality=np.full(n, 0.5, np.float32))


def _identity(track, records, rows):
    """The identity a recognition stage would have voted, from the scripted rows."""
    row = next((r for r in rows if r["track"] == track.track_id and "person" in r), None)
    state = records[track.track_id].state_of(IdentityState)
    if row is not None and "embedding" in row:
        v = np.asarray(row["embedding"], np.float32)
        state.add_embedding(v / np.linalg.norm(v))
    if row is not None:
        pid = row["person"]
        records[track.track_id].state_of(dict)["who"] = TrackIdentity(
            pid, {7: "ada"}.get(pid), row.get("sim", 0.5), row.get("confirmed", True),
            embedding=state.mean_embedding)
    who = records[track.track_id].state_of(dict).get("who")
    return dataclasses.replace(track, identity=who) if who is not None else track


def kinds(events) -> list[str]:
    return [e.kind for e in events]


def test_track_started_and_ended_once() -> None:
    s = Scripted(lost=9)
    events = s.run([[{"track": 1}]] * 10 + [[]] * 15)
    assert kinds(events) == ["track_started", "track_ended"]
    ended = events[1]
    assert ended.track_id == 1 and ended.frames == 10
    assert ended.duration_s == pytest.approx(0.9)
    assert ended.timestamp == pytest.approx(1.9)  # 10 frames after the last sighting
    assert ended.wall_time == CLOCK  # from the injected clock


def test_eyes_closed_drowsy_and_distracted() -> None:
    s = Scripted(EventsConfig(eyes_closed_s=1.0, drowsy_perclos=0.3, distracted_s=2.0),
                 window_s=4.0)
    # 2 s open, 1.5 s closed, 1 s open, 1.5 s closed, then 3 s looking away
    pattern = [False] * 20 + [True] * 15 + [False] * 10 + [True] * 15
    frames = [[{"track": 1, "closed": c}] for c in pattern]
    frames += [[{"track": 1, "looking": False}]] * 30
    events = s.run(frames)
    names = kinds(events)
    assert names.count("eyes_closed") == 2  # once per spell >= 1 s
    assert names.count("drowsy") == 1  # PERCLOS over 4 s reached 0.3, not re-armed meanwhile
    drowsy = next(e for e in events if e.kind == "drowsy")
    # not before the samples stand for 80% of the window (32 samples of 0.1 s)
    assert drowsy.perclos >= 0.3 and drowsy.timestamp >= 3.1 and drowsy.window_s == 4.0
    assert names.count("distracted") == 1
    dis = next(e for e in events if e.kind == "distracted")
    assert dis.duration_s == pytest.approx(2.0, abs=0.11)


def test_eyes_closed_fires_once_per_spell_at_its_threshold() -> None:
    s = Scripted(EventsConfig(eyes_closed_s=1.0))
    events = s.run([[{"track": 1, "closed": True}]] * 30)
    closed = [e for e in events if e.kind == "eyes_closed"]
    assert len(closed) == 1
    assert closed[0].duration_s == pytest.approx(1.0)  # 10 frames of 0.1 s: frames 0-9


def test_dwell_in_a_named_zone_once_per_visit() -> None:
    s = Scripted(EventsConfig(dwell_s=1.0), zones={"door": [(0, 0), (300, 0), (300, 300),
                                                            (0, 300)]})
    inside = {"track": 1, "box": (10, 10, 50, 50)}
    outside = {"track": 1, "box": (400, 400, 450, 450)}
    events = s.run([[inside]] * 15 + [[outside]] * 3 + [[inside]] * 15)
    dwell = [e for e in events if e.kind == "dwell"]
    assert [d.zone for d in dwell] == ["door", "door"]
    assert dwell[0].duration_s == pytest.approx(1.0)


def test_identity_events_once_per_track_and_alert_holdoff_per_person() -> None:
    s = Scripted(alerts=AlertsConfig(mode="ON_ALL", holdoff_s=60), lost=4)
    frames = (
        [[{"track": 1, "person": 7}]] * 5       # ada
        + [[]] * 8                               # leaves
        + [[{"track": 2, "person": 7}]] * 5     # ada again, new track: no second alert
        + [[{"track": 3, "person": -1, "embedding": [1, 0, 0]}]] * 5   # an unknown
        + [[]] * 8
        + [[{"track": 4, "person": -1, "embedding": [0.95, 0.1, 0]}]] * 5  # same unknown
        + [[{"track": 5, "person": -1, "embedding": [0, 1, 0]}]] * 5       # someone else
    )
    events = s.run(frames)
    alerts = [e for e in events if isinstance(e, Alert)]
    assert sum(isinstance(e, IdentityMatched) for e in events) == 2  # one per track
    assert sum(isinstance(e, UnknownFace) for e in events) == 3
    assert [(a.reason, a.person_key) for a in alerts] == [
        ("identity_matched", "person:7"), ("unknown_face", "unknown:1"),
        ("unknown_face", "unknown:2"),
    ]
    assert alerts[0].person == "ada" and alerts[0].detail["similarity"] == 0.5


def test_alert_modes_and_rules() -> None:
    def alerts_for(config: AlertsConfig) -> list[str]:
        s = Scripted(EventsConfig(eyes_closed_s=0.5), config)
        frames = ([[{"track": 1, "person": 7}]] * 3
                  + [[{"track": 1, "person": 7, "closed": True}]] * 10)
        return [e.reason for e in s.run(frames) if isinstance(e, Alert)]

    assert alerts_for(AlertsConfig(mode="NONE")) == []
    assert alerts_for(AlertsConfig(mode="ON_UNKNOWNS")) == []
    assert alerts_for(AlertsConfig(mode="ON_KNOWNS")) == ["identity_matched"]
    assert alerts_for(AlertsConfig(mode="NONE", on=["eyes_closed"])) == ["eyes_closed"]


def test_holdoff_expires() -> None:
    s = Scripted(alerts=AlertsConfig(mode="ON_KNOWNS", holdoff_s=1.0), lost=1)
    frames = ([[{"track": 1, "person": 7}]] * 2 + [[]] * 3 + [[{"track": 2, "person": 7}]] * 2
              + [[]] * 8 + [[{"track": 3, "person": 7}]] * 2)
    alerts = [e for e in s.run(frames) if isinstance(e, Alert)]
    assert [a.track_id for a in alerts] == [1, 3]  # track 2 within 1 s of the first alert


def test_clip_links_come_from_the_alerts_alone() -> None:
    """Alerts within a clip's span share its link; a later one opens a new clip; the link is
    decided before the clip exists (nothing is written back by the recorder)."""
    plan = ClipPlan("cam", ClipsConfig(pre_s=1.0, post_s=1.0, max_s=5.0),
                    lambda key: f"clips/{key}.mp4")
    s = Scripted(EventsConfig(eyes_closed_s=0.2),
                 AlertsConfig(on=["eyes_closed", "track_started"], holdoff_s=0), clips=plan)
    frames = ([[{"track": 1}]] * 2 + [[{"track": 1, "closed": True}]] * 3
              + [[{"track": 1}]] * 30 + [[{"track": 1, "closed": True}]] * 3)
    alerts = [e for e in s.run(frames) if isinstance(e, Alert)]
    assert [a.reason for a in alerts] == ["track_started", "eyes_closed", "eyes_closed"]
    assert alerts[0].clip == alerts[1].clip != alerts[2].clip
    assert alerts[0].clip == "clips/cam/20261130/cam-20261130T120000000000-track_started.mp4"


def test_alert_memory_is_bounded_by_the_holdoff() -> None:
    """Thousands of different tracks over hours: expired hold-offs are forgotten."""
    s = Scripted(alerts=AlertsConfig(on=["track_started"], holdoff_s=1.0), lost=0)
    alerts = 0
    for i in range(3000):
        alerts += len(s.step([{"track": i + 1}]).alerts)
    assert alerts == 3000
    assert len(s.alerts._last) <= 1001
