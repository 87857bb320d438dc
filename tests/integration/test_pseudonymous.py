"""``privacy.mode: pseudonymous`` on real video: repeat visitors counted (synth_tracks'
synth01: four actors, one leaves at 4.7 s and comes back at 6.9 s), nothing biometric or
named written (privacy-check passes), a file and a live camera with its audience store."""

from __future__ import annotations

import csv
import json
import threading
from pathlib import Path

import pytest

from facetrack.service import Monitor, MonitorConfig
from facetrack.storage.audience import AudienceStore
from tests.builders import assert_one_line_error, facetrack, wait_until

pytestmark = pytest.mark.data


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / f"c{len(list(tmp_path.glob('c*.yaml')))}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_file_counts_the_visitor_who_came_back(data_dir: Path, tmp_path: Path) -> None:
    video = data_dir / "synth_tracks" / "synth01" / "video.mp4"
    actors = len(_rows(video.parent / "identities.csv"))
    out = tmp_path / "out"
    cfg = _config(tmp_path, "privacy: {mode: pseudonymous, visitor_gap_s: 1}\n")
    proc = facetrack("track", str(video), "--out", str(out), "--analytics", "-c", str(cfg),
                     "-q")
    assert proc.returncode == 0, proc.stderr
    tracks = _rows(out / "tracks.csv")
    assert len(tracks) > actors  # someone has two tracks
    assert all(t["visitor"] for t in tracks)
    assert len({t["visitor"] for t in tracks}) == actors
    back = [t for t in tracks if t["visit"] == "2"]
    assert len(back) == 1
    assert sum(t["visitor"] == back[0]["visitor"] for t in tracks) == 2
    assert all(t["person"] == "" for t in tracks)
    frames = [json.loads(line) for line in
              (out / "faces.jsonl").read_text(encoding="utf-8").splitlines()]
    assert not any("identity" in f or "embedding" in f for fr in frames
                   for f in fr.get("faces", []))
    windows = _rows(out / "audience.csv")
    assert all(w["visitors"] != "" for w in windows)
    assert max(int(w["repeat_visitors"]) for w in windows) == 1
    assert max(int(w["visitors"]) for w in windows) <= actors
    check = facetrack("privacy-check", str(out), "--mode", "pseudonymous")
    assert check.returncode == 0 and check.stdout == "", (check.stdout, check.stderr)

    # within the default 60 s the same person's second track continues their visit
    again = tmp_path / "again"
    cfg = _config(tmp_path, "privacy: {mode: pseudonymous}\n")
    assert facetrack("track", str(video), "--out", str(again), "-c", str(cfg),
                     "-q").returncode == 0
    tracks = _rows(again / "tracks.csv")
    assert {t["visit"] for t in tracks} == {"1"}
    assert len({t["visitor"] for t in tracks}) == actors
    # tokens are random: two runs share none
    assert not {t["visitor"] for t in tracks} & {t["visitor"] for t in _rows(
        out / "tracks.csv")}


def test_what_pseudonymous_refuses(data_dir: Path, tmp_path: Path) -> None:
    video = data_dir / "synth_tracks" / "synth01" / "video.mp4"
    cfg = _config(tmp_path, "privacy: {mode: pseudonymous}\n")
    assert_one_line_error(facetrack("track", str(video), "--out", str(tmp_path / "t"),
                                    "--thumbnails", "-c", str(cfg), "-q"), 2,
                          "privacy.mode pseudonymous")
    cfg = _config(tmp_path, "privacy: {mode: pseudonymous, blur: false}\n")
    assert_one_line_error(facetrack("check-config", str(cfg)), 2, "blurs every picture")
    db = tmp_path / "faces.db"
    cfg = _config(tmp_path, f"privacy: {{mode: pseudonymous}}\nrecognition: {{enabled: true, "
                            f"database: {db}}}\n")
    assert_one_line_error(facetrack("check-config", str(cfg)), 2,
                          "recognition needs privacy.mode: identified")


def test_a_live_camera_stores_visitor_counts(data_dir: Path, tmp_path: Path) -> None:
    clip = data_dir / "synth_tracks" / "synth01" / "video.mp4"  # played once at its own rate
    cfg = MonitorConfig.model_validate({
        "store": {"events_db": str(tmp_path / "ev.db"), "events_jsonl": None},
        "cameras": [{"name": "shop", "source": str(clip), "tracker": {
            "analytics": {"enabled": True, "window_s": 2.0},
            "privacy": {"mode": "pseudonymous", "visitor_gap_s": 1}}}],
    })
    monitor = Monitor(cfg)
    runner = threading.Thread(target=monitor.run, kwargs={"duration_s": 120})
    runner.start()
    try:
        assert wait_until(lambda: monitor.counters()["shop"].live.state == "stopped"
                          and monitor.counters()["shop"].processed > 0, timeout=90)
    finally:
        monitor.stop()
        runner.join(60)
    assert not runner.is_alive()
    with AudienceStore(tmp_path / "ev.db", read_only=True) as store:
        rows = store.query(camera="shop")
    assert rows and all(r["visitors"] is not None for r in rows)
    assert max(r["visitors"] for r in rows) >= 3
    assert max(r["repeat_visitors"] for r in rows) == 1
    check = facetrack("privacy-check", str(tmp_path), "--mode", "pseudonymous")
    assert check.returncode == 0, (check.stdout, check.stderr)
