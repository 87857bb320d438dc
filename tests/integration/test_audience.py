"""``facetrack track --analytics`` end to end on real video: every analytics file is written,
its numbers agree with one another and with tracks.csv, nothing in them is a face or an
embedding (the face detector finds no face in any heatmap), and bad layouts are one line."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import numpy as np
import pytest

from tests.builders import facetrack

LAYOUT = """\
targets:
  - {name: screen, kind: rect, rect: {x_m: 0.0, y_m: -0.3, width_m: 1.2, height_m: 0.7}}
  - {name: camera, kind: camera}
zones:
  left: [[0, 0], [960, 0], [960, 1080], [0, 1080]]
lines:
  middle: {a: [960, 0], b: [960, 1080]}
"""


@pytest.fixture(scope="module")
def run(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("audience")
    layout = out.parent / "layout.yaml"
    layout.write_text(LAYOUT)
    clip = data_dir / "demo_videos" / "videos" / "crowd_walking.mp4"
    done = facetrack("track", str(clip), "--out", str(out), "--analytics", "--targets",
                     str(layout), "-q")
    assert done.returncode == 0, done.stderr
    return out


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.mark.data
def test_every_analytics_file_is_written_and_consistent(run: Path) -> None:
    audience = rows(run / "audience.csv")
    tracks = rows(run / "tracks.csv")
    assert {(r["zone"], r["target"]) for r in audience} == {
        ("all", "screen"), ("all", "camera"), ("left", "screen"), ("left", "camera")}
    whole = [r for r in audience if r["zone"] == "all" and r["target"] == "camera"]
    # one window covers the 4.2 s clip: its figures are the tracks' own
    assert len(whole) == 1
    row = whole[0]
    assert int(row["ots"]) == len(tracks)
    assert int(row["watchers"]) == sum(t["watcher_camera"] == "True" for t in tracks)
    assert int(row["glances"]) == sum(int(t["glances_camera"]) for t in tracks)
    assert float(row["attention_total_s"]) == pytest.approx(
        sum(float(t["attention_s_camera"]) for t in tracks), abs=0.01)
    assert float(row["dwell_mean_s"]) == pytest.approx(
        np.mean([float(t["dwell_s"]) for t in tracks]), abs=0.01)
    assert sum(int(row[c]) for c in row if c.startswith("dwell_") and c[6].isdigit()) \
        == len(tracks)  # every visit ended with the clip
    assert re.fullmatch(r"[0-9a-f]{12}", row["config_hash"])
    assert row["model_version"].startswith("facetrack-")
    for r in audience:
        assert "nan" not in ",".join(r.values()).lower()
    crossings = rows(run / "crossings.csv")
    assert all(c["line"] == "middle" and c["direction"] in ("in", "out") for c in crossings)
    faces = [f for line in (run / "faces.jsonl").read_text().splitlines()
             for f in json.loads(line)["faces"]]
    assert all({"smile", "brow_raise", "jaw_open"} <= set(f) for f in faces)
    assert all(f["smile"] is None or 0.0 <= f["smile"] <= 1.0 for f in faces)
    assert {p.name for p in run.glob("heatmap_*.png")} == {
        "heatmap_occupancy.png", "heatmap_screen.png", "heatmap_camera.png"}


@pytest.mark.data
def test_nothing_written_is_a_face_or_an_embedding(run: Path) -> None:
    from facetrack.config import DetectorConfig
    from facetrack.detection.yunet import YuNetDetector
    from facetrack.frames import Frame
    from facetrack.sources.images import read_image

    detector = YuNetDetector(DetectorConfig())
    for png in sorted(run.glob("heatmap_*.png")):
        found = detector.detect(Frame(read_image(png), "h", 0, 0.0))
        # a face the tracker would follow (tracking.high_score); the detector's weakest
        # guesses (0.13 on the smooth colours of a plan) are not faces
        assert not (found.score >= 0.5).any(), f"a face in {png.name}: {found.score}"
    # no long runs of numbers (an embedding is 128 floats) in any analytics table
    for name in ("audience.csv", "crossings.csv", "tracks.csv", "tracks.json"):
        text = (run / name).read_text()
        assert not re.search(r"(-?\d+\.\d+[,\s]+){32}", text), name
    assert "embedding" not in json.dumps(json.loads((run / "tracks.json").read_text()))


@pytest.mark.data
@pytest.mark.parametrize("layout, message", [
    ("zones: {z: [[0, 0], [5000, 0], [0, 50]]}\n", "zone 'z': point [5000, 0] is outside"),
    ("targets: [{name: s, kind: polygon, polygon: [[0, 0], [1, 1], [2, 2]], depth_m: 3}]\n",
     "no area"),
    ("targets: [{name: s, kind: rect}]\n", "needs `rect`"),
])
def test_bad_layouts_are_one_line(data_dir: Path, tmp_path: Path, layout: str,
                                  message: str) -> None:
    path = tmp_path / "layout.yaml"
    path.write_text(layout)
    clip = data_dir / "demo_videos" / "videos" / "crowd_walking.mp4"
    done = facetrack("track", str(clip), "--out", str(tmp_path / "out"), "--analytics",
                     "--targets", str(path), "-q")
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in done.stderr
