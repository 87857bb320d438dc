"""``facetrack report``: a page built from hand-made audience.csv / tracks.csv / crossings.csv
with exact figures: the headline numbers, the zone sums, escaping, the no-one page, and a page
that loads nothing (no URL, no NaN)."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from facetrack import cli
from facetrack.analytics.report import build_report, write_report
from facetrack.analytics.report_page import clock, duration
from facetrack.analytics.windows import COLUMNS
from facetrack.errors import InputError

HOSTILE = "<script>alert('x')</script> & \"co\""
TRACK_COLUMNS = ("track_id", "dwell_s", "attention_s_screen", "glances_screen",
                 "first_glance_s_screen", "watcher_screen", "attention_s_camera",
                 "glances_camera", "first_glance_s_camera", "watcher_camera", "smile_s")
#: five people: dwell 100 s in all; screen 14 s by 3 watchers in 4 glances; camera 2.2 s by
#: 2 watchers in 3 glances; 2 smiled
TRACKS = (
    (1, 12, 4, 2, 0.1, True, 1, 1, 0.5, True, 0.5),
    (2, 8, 2, 1, 0.3, True, 0, 0, "", False, 0),
    (3, 30, 8, 1, 2.0, True, 1, 1, 1.0, True, 1.2),
    (4, 40, 0, 0, "", False, 0, 0, "", False, 0),
    (5, 10, 0, 0, "", False, 0.2, 1, 3.0, False, 0),
)


def row(start: float, end: float, zone: str, target: str, **figures: object) -> dict[str, object]:
    base: dict[str, object] = {c: 0 for c in COLUMNS}
    base.update(window_start=start, window_end=end, source="shop.mp4", zone=zone, target=target,
                model_version="facetrack-test;m:1", config_hash="abc123", **figures)
    return base


#: two windows of 60 s; the whole view and a zone with a hostile name
ROWS = (
    row(0, 60, "all", "screen", ots=4, watchers=2, dwell_mean_s=10, attention_total_s=6,
        glances=3, smiles=1, entries=4, exits=3, dwell_0_5=1, dwell_5_15=2),
    row(0, 60, "all", "camera", ots=4, watchers=1, dwell_mean_s=10, attention_total_s=1.2,
        glances=2, smiles=1, entries=4, exits=3, dwell_0_5=1, dwell_5_15=2),
    row(0, 60, HOSTILE, "screen", ots=2, watchers=1, dwell_mean_s=5, attention_total_s=1,
        entries=2, exits=1),
    row(0, 60, HOSTILE, "camera", ots=2, watchers=0, dwell_mean_s=5, attention_total_s=0,
        entries=2, exits=1),
    row(60, 120, "all", "screen", ots=2, watchers=1, dwell_mean_s=30, attention_total_s=8,
        glances=1, smiles=1, entries=1, exits=2, dwell_15_30=1, dwell_30_60=1),
    row(60, 120, "all", "camera", ots=2, watchers=1, dwell_mean_s=30, attention_total_s=1,
        glances=1, smiles=1, entries=1, exits=2, dwell_15_30=1, dwell_30_60=1),
    row(60, 120, HOSTILE, "screen", ots=1, watchers=1, dwell_mean_s=20, attention_total_s=3,
        entries=1, exits=2),
    row(60, 120, HOSTILE, "camera", ots=1, watchers=0, dwell_mean_s=20, attention_total_s=0,
        entries=1, exits=2),
)


def write_csv(path: Path, header: tuple[str, ...], rows: object) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        for r in rows:  # type: ignore[attr-defined]
            writer.writerow([r[c] for c in header] if isinstance(r, dict) else r)


@pytest.fixture()
def run_dir(tmp_path: Path) -> Path:
    write_csv(tmp_path / "audience.csv", COLUMNS, ROWS)
    write_csv(tmp_path / "tracks.csv", TRACK_COLUMNS, TRACKS)
    write_csv(tmp_path / "crossings.csv", ("time_s", "track_id", "line", "direction"),
              [(1.0, 1, "door", "in"), (2.0, 2, "door", "in"), (3.0, 1, "door", "out"),
               (4.0, 3, "<aisle>", "out")])
    return tmp_path


def cards(html: str) -> list[tuple[str, str]]:
    """(value, label) of every headline card, in order."""
    return re.findall(r'<div class="value">(.*?)</div><div class="label">(.*?)</div>', html)


def table_rows(html: str, title: str) -> list[list[str]]:
    section = html.split(f"<h2>{title}</h2>", 1)[1].split("</table>", 1)[0]
    return [re.findall(r"<td[^>]*>(.*?)</td>", tr) for tr in re.findall(r"<tr>(.*?)</tr>",
                                                                         section)[1:]]


def assert_self_contained(html: str) -> None:
    assert not re.search(r"https?://", html)
    assert "<script" not in html.lower()  # no script at all, hostile or ours
    text = re.sub(r"data:image/[a-z]+;base64,[A-Za-z0-9+/=]+", "", html)
    assert not re.search(r"\b(nan|inf|infinity|undefined)\b", text, re.IGNORECASE)
    assert not re.search(r"\bNone\b", text)


def test_headline_figures_are_the_whole_runs(run_dir: Path) -> None:
    html = build_report(run_dir)
    assert cards(html) == [
        ("5", "People in view"), ("20 s", "Avg. time in view"), ("0.8", "People at a time"),
        ("2", "Smiling (proxy)"),
        # screen: 3 of 5 watched; 14 s of looking: 2.8 s a person, 14 % of 100 s in view
        ("3", "Watchers"), ("60 %", "Conversion"), ("2.8 s", "Avg. attention"),
        ("14 %", "Attraction"), ("4", "Glances"),
        # camera: 2 of 5; 2.2 s: 0.44 s a person, 2.2 % of the time in view
        ("2", "Watchers"), ("40 %", "Conversion"), ("0.4 s", "Avg. attention"),
        ("2 %", "Attraction"), ("3", "Glances")]
    assert "<h1>Audience report: shop.mp4</h1>" in html
    assert "0:00 – 2:00 of the video (2 min, 2 windows of 1 min)" in html
    assert "<h3>Looking at screen</h3>" in html and "<h3>Looking at camera</h3>" in html
    assert_self_contained(html)


def test_zones_are_summed_over_windows_and_names_escaped(run_dir: Path) -> None:
    html = build_report(run_dir)
    escaped = "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &quot;co&quot;"
    # zone, visits, time spent, people at a time, then per target: attention, attraction,
    # watchers in the busiest window
    assert table_rows(html, "Zones") == [
        ["whole view", "5", "1 min 40 s", "0.8", "14 s", "14 %", "2", "2.2 s", "2 %", "1"],
        [escaped, "3", "30 s", "0.2", "4.0 s", "13 %", "1", "0.0 s", "0 %", "0"]]
    assert "Watchers of screen (busiest window)" in html
    assert table_rows(html, "Line crossings") == [["door", "2", "1", "3"],
                                                   ["&lt;aisle&gt;", "0", "1", "1"]]
    assert HOSTILE not in html and "<aisle>" not in html
    assert_self_contained(html)


def test_charts_have_a_bar_per_window_and_the_dwell_buckets(run_dir: Path) -> None:
    html = build_report(run_dir)
    over_time = html.split("<h2>Over time</h2>", 1)[1].split("</section>", 1)[0]
    # people in view + watchers of 2 targets, then attention of 2 targets: 2 windows each
    assert over_time.count("<rect") == 2 * 3 + 2 * 2
    assert ">0:00: people in view 4</title>" in over_time
    assert ">1:00: looking at screen 8 s</title>" in over_time
    dwell = html.split("<h2>How long people stayed</h2>", 1)[1].split("</section>", 1)[0]
    for label, n in (("0–5 s", 1), ("5–15 s", 2), ("15–30 s", 1), ("30–60 s", 1),
                     ("60 s +", 0)):
        assert f">{label}: visits {n}</title>" in dwell


def test_no_one_seen(tmp_path: Path) -> None:
    empty = {"conversion": "", "dwell_mean_s": "", "attention_mean_s": "", "attraction": ""}
    write_csv(tmp_path / "audience.csv", COLUMNS,
              [row(0, 1.2, "all", "camera", **empty), row(0, 1.2, "door", "camera", **empty)])
    write_csv(tmp_path / "tracks.csv", ("track_id", "dwell_s", "attention_s", "glances",
                                        "first_glance_s", "watcher", "smile_s"), [])
    html = build_report(tmp_path)
    assert "No one was seen between 0:00 and 0:01.2." in html
    assert "<svg" not in html and "<table" not in html
    assert_self_contained(html)
    # no row at all (an input without a frame): the page still says so
    write_csv(tmp_path / "audience.csv", COLUMNS, [])
    html = build_report(tmp_path)
    assert "No one was seen in this recording." in html
    assert_self_contained(html)


def test_many_windows_draw_lines_with_few_labels(tmp_path: Path) -> None:
    rows = [row(60 * k, 60 * (k + 1), "all", "camera", ots=k % 7, watchers=k % 3,
                dwell_mean_s=5, attention_total_s=k % 5, entries=1, dwell_0_5=1)
            for k in range(240)]
    write_csv(tmp_path / "audience.csv", COLUMNS, rows)
    html = build_report(tmp_path)  # no tracks.csv, no heatmaps
    assert "<polyline" in html and "<rect" in html  # lines over time, bars for dwell
    over_time = html.split("<h2>Over time</h2>", 1)[1].split("</section>", 1)[0]
    labels = re.findall(r'text-anchor="middle">([^<]*)</text>', over_time)
    assert labels[:3] == ["0:00", "40:00", "1:20:00"] and len(labels) == 2 * 6
    # people from the windows' entries; watchers and smiling cannot be added across windows
    assert ("240", "People in view") in cards(html)
    assert ("—", "Watchers") in cards(html) and ("—", "Smiling (proxy)") in cards(html)
    assert "tracks.csv is missing" in html
    assert "heatmap_occupancy.png is missing or unreadable" in html
    assert "heatmap_camera.png is missing or unreadable" in html
    assert_self_contained(html)


def test_one_window_without_tracks_csv_reads_the_row(tmp_path: Path) -> None:
    write_csv(tmp_path / "audience.csv", COLUMNS,
              [row(0, 4.2, "all", "camera", ots=14, watchers=11, dwell_mean_s=2.414,
                   attention_total_s=22.52, glances=18, smiles=7, entries=14)])
    html = build_report(tmp_path)
    assert cards(html)[:4] == [("14", "People in view"), ("2.4 s", "Avg. time in view"),
                               ("8.0", "People at a time"), ("7", "Smiling (proxy)")]
    assert ("11", "Watchers") in cards(html) and ("79 %", "Conversion") in cards(html)
    assert "The whole video is one window" in html
    assert "0:00 – 0:04.2 of the video (4.2 s, one window)" in html


def test_cells_that_are_not_finite_never_reach_the_page(tmp_path: Path) -> None:
    write_csv(tmp_path / "audience.csv", COLUMNS,
              [row(0, 60, "all", "camera", ots=2, watchers="nan", dwell_mean_s="inf",
                   attention_total_s="-inf", conversion="NaN", entries=2),
               row(60, 120, "all", "camera", ots="1e999", dwell_mean_s=3, entries=1)])
    write_csv(tmp_path / "tracks.csv", ("track_id", "dwell_s", "attention_s", "glances",
                                        "first_glance_s", "watcher", "smile_s"),
              [(1, "nan", "inf", 1, "", "True", "nan"), (2, 4, 1, 1, 0.5, "False", 0)])
    html = build_report(tmp_path)
    assert ("2", "People in view") in cards(html) and ("1", "Watchers") in cards(html)
    assert_self_contained(html)


def test_heatmaps_are_embedded(run_dir: Path) -> None:
    small = np.zeros((30, 40, 3), np.uint8)
    cv2.imwrite(str(run_dir / "heatmap_screen.png"), small)
    big = np.random.default_rng(0).integers(0, 255, (1080, 1920, 3), dtype=np.uint8)
    cv2.imwrite(str(run_dir / "heatmap_occupancy.png"), big)
    (run_dir / "heatmap_camera.png").write_text("<not a png>")
    html = build_report(run_dir)
    uris = re.findall(r'<img src="data:image/(png|jpeg);base64,([A-Za-z0-9+/=]+)"', html)
    assert [kind for kind, _ in uris] == ["jpeg", "png"]  # occupancy shrunk, screen as is
    import base64

    shrunk = cv2.imdecode(np.frombuffer(base64.b64decode(uris[0][1]), np.uint8),
                          cv2.IMREAD_COLOR)
    assert shrunk.shape == (720, 1280, 3)
    assert "heatmap_camera.png is missing or unreadable" in html
    assert_self_contained(html)


def test_footer_names_the_model_and_notes_a_mix(run_dir: Path) -> None:
    html = build_report(run_dir)
    assert "Made by facetrack-test;m:1; settings abc123." in html
    assert "may not be comparable" not in html
    mixed = [dict(r, config_hash="def456") if r["window_start"] == 60 else r for r in ROWS]
    write_csv(run_dir / "audience.csv", COLUMNS, mixed)
    html = build_report(run_dir)
    assert "settings abc123, def456" in html and "may not be comparable" in html


def test_bad_folders_are_input_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such folder"):
        build_report(tmp_path / "nope")
    with pytest.raises(InputError, match=r"has no audience\.csv: run facetrack track"):
        build_report(tmp_path)
    (tmp_path / "audience.csv").write_text("a,b\n1,2\n")
    with pytest.raises(InputError, match="not the file facetrack writes"):
        build_report(tmp_path)
    write_csv(tmp_path / "audience.csv", COLUMNS, [row(0, 1, "all", "camera", ots="many")])
    with pytest.raises(InputError, match="line 2: ots is not a number"):
        build_report(tmp_path)


def test_write_report_default_path(run_dir: Path) -> None:
    path = write_report(run_dir)
    assert path == run_dir / "report.html"
    assert path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert not list(run_dir.glob(".report.html.*"))  # no temporary left behind


def test_cli_report_and_its_errors(run_dir: Path, tmp_path_factory: pytest.TempPathFactory
                                   ) -> None:
    out = tmp_path_factory.mktemp("out") / "page.html"
    ok = CliRunner().invoke(cli.app, ["report", str(run_dir), "--out", str(out)])
    assert ok.exit_code == 0, ok.stderr
    assert ok.stdout.strip() == str(out) and out.is_file()
    empty = tmp_path_factory.mktemp("empty")
    for args, error in (
            ([str(empty)], f"{empty} has no audience.csv: run facetrack track --analytics first"),
            ([str(empty / "nope")], f"{empty / 'nope'}: no such folder")):
        bad = CliRunner().invoke(cli.app, ["report", *args])
        assert bad.exit_code == 2 and bad.stdout == ""
        assert bad.stderr.strip().splitlines() == [f"error: {error}"]


@pytest.mark.parametrize(("seconds", "text"), [(0, "0:00"), (4.2, "0:04.2"), (59.96, "1:00"),
                                               (3725, "1:02:05")])
def test_clock(seconds: float, text: str) -> None:
    assert clock(seconds) == text


@pytest.mark.parametrize(("seconds", "text"), [(None, "—"), (0.44, "0.4 s"), (34, "34 s"),
                                               (100, "1 min 40 s"), (120, "2 min"),
                                               (7500, "2 h 05 min"), (7200, "2 h")])
def test_duration(seconds: float | None, text: str) -> None:
    assert duration(seconds) == text
