"""Runs (looks, visits) and the audience windows, on hand-built track snapshots whose every
figure is worked out by hand."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from facetrack.analytics.runs import Runs, clip, intersect, total
from facetrack.analytics.stage import crossing
from facetrack.analytics.windows import Audience, track_figures, window_rows
from facetrack.config.analytics import AnalyticsConfig, LineConfig, TargetConfig
from facetrack.errors import ConfigError
from facetrack.faces import Faces
from facetrack.frames import Frame
from facetrack.results import FrameResult
from facetrack.tracks import TargetLooks, TrackAudience, TrackSnapshot


def test_a_look_shorter_than_the_minimum_is_dropped() -> None:
    runs = Runs(period=0.1, max_gap_s=0.25, min_s=0.3)
    for k, on in enumerate([1, 1, 0, 1, 1, 1, 1, 0]):  # 0.2 s, then 0.4 s
        runs.step(bool(on), k * 0.1)
    assert runs.intervals() == (pytest.approx((0.3, 0.7)),)


def test_unjudged_frames_neither_extend_nor_end_a_look_until_the_gap() -> None:
    runs = Runs(period=0.1, max_gap_s=0.25, min_s=0.0)
    runs.step(True, 0.0)
    runs.step(None, 0.1)  # no pose
    runs.step(True, 0.2)
    assert runs.intervals() == (pytest.approx((0.0, 0.3)),)
    runs.step(True, 0.6)  # 0.4 s unseen: a new look
    assert len(runs.intervals()) == 2


def test_an_open_look_counts_once_it_reached_the_minimum() -> None:
    runs = Runs(period=0.1, max_gap_s=0.25, min_s=0.3)
    runs.step(True, 0.0)
    runs.step(True, 0.1)
    assert runs.intervals() == ()
    runs.step(True, 0.2)
    assert runs.intervals() == (pytest.approx((0.0, 0.3)),)


def test_interval_arithmetic() -> None:
    assert clip([(0, 2), (3, 5)], 1, 4) == [(1, 2), (3, 4)]
    assert intersect([(0, 2), (3, 5)], [(1, 4)]) == [(1, 2), (3, 4)]
    assert total([(0, 1.5), (2, 3)]) == pytest.approx(2.5)


def test_line_crossing_directions() -> None:
    line = LineConfig(a=(100, 0), b=(100, 200))  # downwards: its right is the image's left
    assert crossing(line, np.array([150.0, 50]), np.array([50.0, 50])) == "in"
    assert crossing(line, np.array([50.0, 50]), np.array([150.0, 50])) == "out"
    assert crossing(line, np.array([50.0, 50]), np.array([60.0, 50])) is None
    assert crossing(line, np.array([50.0, 300]), np.array([150.0, 300])) is None  # past its end


def snap(tid: int, present: tuple, looks: tuple, *, zones: dict | None = None,
         ended: bool = True, smiling: tuple = ()) -> TrackSnapshot:
    first, last = present[0][0], present[-1][1]
    return TrackSnapshot(
        tid, "ended" if ended else "active", 0, first, 0, last, 10,
        audience=TrackAudience(present=present, targets={"camera": TargetLooks(looks)},
                               zones=zones or {}, smiling=smiling))


CONFIG = AnalyticsConfig(enabled=True, window_s=10.0, zones={"door": [(0, 0), (9, 0), (9, 9)]})
STAMP = {"source": "clip.mp4", "model_version": "m", "config_hash": "h"}


def test_a_window_row_worked_by_hand() -> None:
    tracks = [
        snap(1, ((0.0, 8.0),), ((1.0, 3.0), (5.0, 5.5)), smiling=((2.0, 2.5),)),
        snap(2, ((4.0, 16.0),), ((9.0, 12.0),), zones={"door": ((4.0, 6.0),)}),
        snap(3, ((2.0, 4.0),), ()),
    ]
    rows = window_rows(tracks, 0.0, 10.0, CONFIG, STAMP)
    assert [(r["zone"], r["target"]) for r in rows] == [("all", "camera"), ("door", "camera")]
    everyone, door = rows
    assert everyone["ots"] == 3
    assert everyone["dwell_mean_s"] == pytest.approx((8 + 6 + 2) / 3, abs=1e-3)
    assert everyone["attention_total_s"] == pytest.approx(2 + 0.5 + 1)  # track 2: 9..10
    assert everyone["watchers"] == 2 and everyone["conversion"] == pytest.approx(0.667)
    assert everyone["glances"] == 3 and everyone["smiles"] == 1
    assert everyone["attraction"] == pytest.approx(3.5 / 16, abs=1e-3)
    assert everyone["occupancy_mean"] == pytest.approx(1.6)
    assert everyone["entries"] == 3 and everyone["exits"] == 2  # track 2 leaves at 16
    assert everyone["dwell_0_5"] == 1 and everyone["dwell_5_15"] == 1
    # the door: only track 2, from 4 to 6, and it did not look while there
    assert door["ots"] == 1 and door["attention_total_s"] == 0 and door["watchers"] == 0
    assert door["entries"] == 1 and door["exits"] == 1 and door["dwell_0_5"] == 1
    assert door["model_version"] == "m" and door["config_hash"] == "h"


def test_an_empty_window_has_no_nan_only_empty_ratios() -> None:
    (row, _) = window_rows([], 0.0, 10.0, CONFIG, STAMP)
    assert row["ots"] == 0 and row["conversion"] == "" and row["attraction"] == ""
    assert all(not (isinstance(v, float) and math.isnan(v)) for v in row.values())


def test_track_figures() -> None:
    f = track_figures(snap(1, ((2.0, 9.0),), ((3.0, 3.2), (4.0, 5.0))), "camera", 0.3)
    assert f.attention_s == pytest.approx(1.2) and f.glances == 2
    assert f.first_glance_s == pytest.approx(1.0) and f.watcher
    never = track_figures(snap(2, ((0.0, 1.0),), ()), "camera", 0.3)
    assert never.attention_s == 0 and never.first_glance_s is None and not never.watcher


def result(t: float, tracks: list[TrackSnapshot]) -> FrameResult:
    frame = Frame(np.zeros((8, 8, 3), np.uint8), "s", int(t * 10), t)
    return FrameResult(frame, Faces.empty(), tracks=tuple(tracks))


def test_windows_close_after_their_delay_and_at_the_end() -> None:
    closed: list[list[dict]] = []
    audience = Audience(AnalyticsConfig(enabled=True, window_s=10.0), "s", period_s=0.1,
                        delay_s=2.0, on_rows=closed.append)
    track = snap(1, ((0.0, 0.1),), (), ended=False)
    for k in range(0, 121):
        audience.consume(result(k / 10, [track]))
    assert len(closed) == 1 and closed[0][0]["window_end"] == 10.0  # closed at 12 s
    audience.close()
    assert [rows[0]["window_end"] for rows in closed] == [10.0, 12.1]


def test_a_window_shorter_than_a_frame_is_refused() -> None:
    with pytest.raises(ConfigError, match="shorter than one frame"):
        Audience(AnalyticsConfig(window_s=0.01), "s", period_s=0.04, delay_s=1.0)


def test_repeated_target_names_are_refused() -> None:
    with pytest.raises(ValueError, match="repeated: a"):
        AnalyticsConfig(targets=[TargetConfig(name="a", kind="camera"),
                                 TargetConfig(name="a", kind="camera")])


def test_the_zone_name_all_is_reserved() -> None:
    with pytest.raises(ValueError, match="`all` names the whole view"):
        AnalyticsConfig(zones={"all": [(0, 0), (9, 0), (9, 9)]})


def test_names_with_commas_and_quotes_survive_the_csv_files(tmp_path: Path) -> None:
    import csv

    from facetrack.sinks.audience import AudienceFile, CrossingsFile

    hostile = 'a,"b"'
    cfg = AnalyticsConfig(enabled=True, window_s=10.0, zones={hostile: [(0, 0), (9, 0), (9, 9)]})
    audience = Audience(cfg, hostile, period_s=0.1, delay_s=1.0)
    track = TrackSnapshot(1, "ended", 0, 0.0, 0, 1.0, 10, audience=TrackAudience(
        present=((0.0, 1.0),), targets={"camera": TargetLooks(((0.0, 0.5),))},
        zones={hostile: ((0.0, 1.0),)}, crossings=((0.5, hostile, "in"),)))
    with AudienceFile(tmp_path / "audience.csv", audience) as table, \
            CrossingsFile(tmp_path / "crossings.csv") as crossings:
        for sink in (table, crossings):
            sink.consume(result(0.0, [track]))
    rows = list(csv.DictReader((tmp_path / "audience.csv").read_text().splitlines()))
    assert [r["zone"] for r in rows] == ["all", hostile] and rows[1]["source"] == hostile
    assert rows[1]["ots"] == "1"
    (crossing_row,) = csv.DictReader((tmp_path / "crossings.csv").read_text().splitlines())
    assert crossing_row["line"] == hostile and crossing_row["direction"] == "in"


def test_heatmaps_draw_only_looks_that_count() -> None:
    from facetrack.analytics.heatmaps import Heatmaps

    maps = Heatmaps(AnalyticsConfig(enabled=True), 64, 48, 0.1, None)
    short = (False,) * 2 + (True,) * 2 + (False,) * 2  # 0.2 s: not attention
    for k, on in enumerate(short):
        looks = TargetLooks((), on, (0.1, 0.2) if on else None)
        maps._land(1, "camera", looks, k / 10, True)
    assert maps.hits["camera"] == []
    for k in range(5):  # 0.5 s: counted from its third frame, and drawn whole
        counted = ((1.0, 1.0 + (k + 1) / 10),) if k >= 2 else ()
        maps._land(2, "camera", TargetLooks(counted, True, (0.3, 0.4)), 1.0 + k / 10, True)
    assert len(maps.hits["camera"]) == 5


def test_a_visit_ending_on_a_boundary_exits_once() -> None:
    """Found in review: a zone visit whose last frame ends exactly on a window boundary was
    counted in both windows."""
    cfg = AnalyticsConfig(enabled=True, window_s=10.0, zones={"door": [(0, 0), (9, 0), (9, 9)]})
    track = snap(1, ((0.0, 16.0),), (), zones={"door": ((5.0, 10.0), (12.0, 15.0))},
                 ended=False)
    first = window_rows([track], 0.0, 10.0, cfg, STAMP)[1]
    second = window_rows([track], 10.0, 20.0, cfg, STAMP)[1]
    assert (first["exits"], first["dwell_5_15"]) == (1, 1)
    assert (second["exits"], second["dwell_0_5"], second["dwell_5_15"]) == (1, 1, 0)


def test_watchers_count_attention_up_to_the_window_only() -> None:
    """Found in review: a look after the window made a track a watcher of it."""
    cfg = AnalyticsConfig(enabled=True, window_s=10.0, watcher_min_s=2.0)
    track = snap(1, ((0.0, 30.0),), ((1.0, 1.5), (25.0, 30.0)))
    assert window_rows([track], 0.0, 10.0, cfg, STAMP)[0]["watchers"] == 0
    assert window_rows([track], 20.0, 30.0, cfg, STAMP)[0]["watchers"] == 1


def test_a_zone_counts_whole_looks_that_began_in_it() -> None:
    """Found in review: a look cut by zone visits counted as several glances."""
    track = snap(1, ((0.0, 10.0),), ((1.0, 9.0),), zones={"door": ((0.5, 6.0), (7.0, 7.1))})
    everyone, door = window_rows([track], 0.0, 10.0, CONFIG, STAMP)
    assert everyone["glances"] == 1 and door["glances"] == 1
    assert door["attention_total_s"] == pytest.approx(5.1)  # the look's time in the zone


def test_windows_without_a_frame_get_no_row_and_a_late_start_is_partial() -> None:
    """A live outage is no data, not an empty audience; a camera started mid-window reports
    the part it saw."""
    audience = Audience(AnalyticsConfig(enabled=True, window_s=10.0), "s", period_s=0.1,
                        delay_s=1.0)
    track = snap(1, ((4.0, 4.1),), (), ended=False)
    for t in (4.0, 5.0, 35.0):  # frames in [0,10), none in [10,30), one at 35
        audience.consume(result(t, [track]))
    audience.close()
    starts = [(r["window_start"], r["window_end"]) for r in audience.rows]
    assert starts == [(4.0, 10.0), (30.0, 35.1)]
    assert audience.rows[0]["occupancy_mean"] == pytest.approx(0.1 / 6.0, abs=1e-3)


def test_visitors_are_counted_once_and_repeats_by_their_visit() -> None:
    from dataclasses import replace

    from facetrack.tracks import TrackVisitor

    tracks = [
        replace(snap(1, ((0.0, 3.0),), ()), visitor=TrackVisitor("aa", 1)),
        replace(snap(2, ((5.0, 8.0),), ()), visitor=TrackVisitor("aa", 2)),  # came back
        replace(snap(3, ((1.0, 9.0),), (), zones={"door": ((1.0, 2.0),)}),
                visitor=TrackVisitor("bb", 1)),
        snap(4, ((2.0, 4.0),), ()),  # never told apart: counted in ots only
    ]
    everyone, door = window_rows(tracks, 0.0, 10.0, CONFIG, STAMP, visitors=True)
    assert everyone["ots"] == 4
    assert (everyone["visitors"], everyone["repeat_visitors"]) == (2, 1)
    assert (door["visitors"], door["repeat_visitors"]) == (1, 0)
    off = window_rows(tracks, 0.0, 10.0, CONFIG, STAMP)[0]
    assert off["visitors"] == "" and off["repeat_visitors"] == ""
