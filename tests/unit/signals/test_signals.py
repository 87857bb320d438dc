"""Signals (spells, PERCLOS, zones) and the track summaries read from them, from scripted
per-frame analysis (no model involved)."""

from __future__ import annotations

import numpy as np
import pytest

from facetrack.analysis.summary import TrackSummary
from facetrack.config import AnalysisConfig
from facetrack.faces import Faces
from facetrack.results import FrameResult
from facetrack.signals import Perclos, SignalSettings
from facetrack.signals.stage import SignalStage
from facetrack.sinks.files import TracksTable
from facetrack.zones import Zone
from tests.builders import faces_at, make_frame, records_for

FPS = 25.0


class TrackSummarizer:
    """Frames through the signal stage into the tracks table, as the pipeline does."""

    def __init__(self, cfg: AnalysisConfig, fps: float = FPS, zones: tuple[Zone, ...] = (),
                 max_gap_s: float | None = None) -> None:
        period = 1.0 / fps
        self.fps = fps
        self.stage = SignalStage(SignalSettings(
            period, 1.5 * period if max_gap_s is None else max_gap_s, cfg.blink_max_s,
            cfg.perclos_window_s, cfg.yawn_threshold, cfg.yawn_min_s), zones)
        self.known: dict = {}
        self.table = TracksTable(None, fps)

    def consume(self, frame, faces: Faces) -> FrameResult:
        records = records_for(faces, frame, self.known)
        result = FrameResult(frame, faces, tuple(r.snapshot() for r in records.values()),
                             records=records)
        out = self.stage.process(result)
        self.table.consume(out)
        return out

    def summaries(self) -> list[TrackSummary]:
        return self.table.summaries()


def script(closed: list[bool], looking: list[bool] | None = None,
           mouth: list[float] | None = None, cfg: AnalysisConfig | None = None):
    cfg = cfg or AnalysisConfig()
    s = TrackSummarizer(cfg, fps=FPS)
    n = len(closed)
    looking = looking if looking is not None else [True] * n
    mouth = mouth if mouth is not None else [0.0] * n
    for i in range(n):
        f = faces_at([[10, 10, 110, 130]]).replace(track_id=np.array([7]))
        f = f.with_attrs(
            analysed=np.array([True]),
            eyes_closed=np.array([closed[i]]), eyes_closing=np.array([closed[i]]),
            eyes_visible=np.array([True]),
            looking=np.array([looking[i]]),
            mouth_open=np.array([mouth[i]], np.float32),
            head_pose=np.array([[10.0, -5.0, 2.0]], np.float32),
            quality=np.array([0.5], np.float32),
        )
        s.consume(make_frame(i, fps=FPS), f)
    (summary,) = s.summaries()
    return summary


def test_blinks_and_long_closures_are_told_apart() -> None:
    closed = [False] * 250
    for start in (20, 80, 140):  # three 4-frame blinks (0.16 s)
        closed[start:start + 4] = [True] * 4
    closed[200:240] = [True] * 40  # a 1.6 s closure: not a blink
    s = script(closed)
    assert s.blinks == 3
    assert s.longest_eyes_closed_s == pytest.approx(40 / FPS)
    assert s.dwell_s == pytest.approx(250 / FPS)
    assert s.blinks_per_min == pytest.approx(3 / (10 / 60), rel=1e-3)
    assert s.perclos == pytest.approx(52 / 250)
    assert s.perclos_max_window is None  # track shorter than the 60 s window


def test_perclos_window_takes_the_worst_window() -> None:
    cfg = AnalysisConfig(perclos_window_s=2.0)
    closed = [False] * 200
    closed[100:140] = [True] * 40  # 40 of the 50 frames in frames 95-144
    s = script(closed, cfg=cfg)
    assert s.perclos_max_window == pytest.approx(40 / 50)
    assert s.perclos == pytest.approx(40 / 200)


def test_attention_yawns_and_pose_statistics() -> None:
    n = 200
    looking = [i < 150 for i in range(n)]
    mouth = [0.0] * n
    mouth[50:100] = [0.9] * 50  # 2 s wide open: a yawn
    mouth[150:160] = [0.9] * 10  # 0.4 s: talking, not a yawn
    s = script([False] * n, looking, mouth)
    assert s.attention_ratio == pytest.approx(0.75)
    assert s.yawns == 1
    assert (s.yaw_mean, s.pitch_mean, s.roll_mean) == (10.0, -5.0, 2.0)
    assert s.yaw_std == 0.0
    assert s.frames_seen == s.frames_analysed == n


def test_unanalysed_faces_count_for_dwell_only() -> None:
    s = TrackSummarizer(AnalysisConfig(), fps=FPS)
    for i in range(10):
        f = faces_at([[0, 0, 10, 12]]).replace(track_id=np.array([3]))
        s.consume(make_frame(i), f.with_attrs(analysed=np.array([False])))
    (summary,) = s.summaries()
    assert summary.frames_seen == 10 and summary.frames_analysed == 0
    assert summary.attention_ratio is None and summary.perclos is None


def _consume(s: TrackSummarizer, index: int, closed: bool, mouth: float = 0.0) -> None:
    fps = s.fps
    f = faces_at([[10, 10, 110, 130]]).replace(track_id=np.array([1]))
    f = f.with_attrs(
        analysed=np.array([True]), eyes_closed=np.array([closed]),
        eyes_closing=np.array([closed]), eyes_visible=np.array([True]), looking=np.array([True]),
        mouth_open=np.array([mouth], np.float32),
        head_pose=np.zeros((1, 3), np.float32), quality=np.array([0.5], np.float32),
    )
    s.consume(make_frame(index, fps=fps), f)


def test_spells_do_not_stretch_across_gaps() -> None:
    """Closed at frames 0-1, gone for 10 s, closed again: two blinks, not a 10 s closure;
    the same for an open mouth (no yawn out of two short openings)."""
    s = TrackSummarizer(AnalysisConfig(), fps=FPS)
    for i in (0, 1):
        _consume(s, i, closed=True, mouth=0.9)
    for i in (252, 253):
        _consume(s, i, closed=True, mouth=0.9)
    _consume(s, 254, closed=False)
    (summary,) = s.summaries()
    assert summary.blinks == 2
    assert summary.longest_eyes_closed_s == pytest.approx(2 / FPS)
    assert summary.yawns == 0


def test_perclos_window_needs_coverage() -> None:
    """Two analysed frames 4 s apart do not make a 2 s PERCLOS window."""
    s = TrackSummarizer(AnalysisConfig(perclos_window_s=2.0), fps=FPS)
    _consume(s, 0, closed=False)
    _consume(s, 100, closed=True)
    (summary,) = s.summaries()
    assert summary.perclos_max_window is None


def test_perclos_is_time_weighted_on_irregular_samples() -> None:
    """Live frames come irregularly: a sample holds until the next one, so 1 s closed then
    3 s open reads 25% whatever the frame rate of each part."""
    p = Perclos(window_s=4.0, period_s=0.1, max_gap_s=1.0, cover=0.8)
    t = 0.0
    for _ in range(20):  # 1 s closed at 20 fps
        p.add(t, True)
        t += 0.05
    for _ in range(30):  # 3 s open at 10 fps
        p.add(t, False)
        t += 0.1
    assert p.value == pytest.approx(1.0 / 4.0, abs=0.02)
    assert p.track_value == pytest.approx(1.0 / 4.0, abs=0.02)


def test_perclos_does_not_count_a_gap_as_closed() -> None:
    """Eyes closed, then the face is gone for 5 s: the gap is neither open nor closed."""
    p = Perclos(window_s=60.0, period_s=0.1, max_gap_s=1.0)
    p.add(0.0, True)
    p.add(5.0, False)
    assert p.track_value == pytest.approx(0.5)  # one closed and one open sample, 0.1 s each
    assert p.value is None  # 0.2 s observed: far from covering the window


def test_a_gap_in_time_ends_spells_live() -> None:
    """Live (irregular frames, max_gap 1 s): a 0.3 s pause between samples continues a spell,
    a 2 s one ends it."""
    s = TrackSummarizer(AnalysisConfig(blink_max_s=0.5), fps=10.0, max_gap_s=1.0)
    for i in (0, 3, 6):  # closed at 0, 0.3, 0.6 s: one spell
        _consume(s, i, closed=True)
    for i in (26, 27):  # 2 s later: a new spell
        _consume(s, i, closed=True)
    _consume(s, 28, closed=False)
    (summary,) = s.summaries()
    assert summary.blinks == 1  # the 0.2 s spell is a blink, the 0.7 s one is not
    assert summary.longest_eyes_closed_s == pytest.approx(0.7)


def test_zone_visits_start_and_end_with_the_box_centre() -> None:
    door = Zone.of("door", [(0, 0), (100, 0), (100, 100), (0, 100)])
    s = TrackSummarizer(AnalysisConfig(), zones=(door,))
    inside = faces_at([[20, 20, 60, 60]]).replace(track_id=np.array([1]))
    outside = faces_at([[200, 200, 260, 260]]).replace(track_id=np.array([1]))
    r = s.consume(make_frame(0, fps=FPS), inside)
    assert r.tracks[0].signals.zones == {"door": 0.0}
    r = s.consume(make_frame(5, fps=FPS), inside)
    assert r.tracks[0].signals.zones == {"door": 0.0}  # the visit goes on
    r = s.consume(make_frame(6, fps=FPS), outside)
    assert r.tracks[0].signals.zones == {}
