"""The command as a user runs it: real files in, files and exit codes out."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest

from tests.builders import assert_one_line_error, facetrack, write_video

FACE_KEYS = {"track_id", "box", "score", "keypoints", "head_pose", "pose_source",
             "pose_confidence", "eye_openness",
             "eye_confidence", "eyes_closing", "eyes_closed", "mouth_open", "looking"}


@pytest.mark.data
def test_track_synth_clip_writes_every_output(data_dir: Path, tmp_path: Path) -> None:
    video = data_dir / "synth_tracks" / "synth03" / "video.mp4"
    out = tmp_path / "out"
    cfg = tmp_path / "identified.yaml"  # thumbnails are face pictures: not kept anonymously
    cfg.write_text("privacy: {mode: identified}\n", encoding="utf-8")
    proc = facetrack("track", str(video), "--out", str(out), "--mot", "--video", "--thumbnails",
                     "-c", str(cfg))
    assert proc.returncode == 0, proc.stderr
    stats = json.loads(proc.stdout.strip().splitlines()[-1])  # piped: one JSON line
    assert stats["frames"] == 250

    lines = (out / "faces.jsonl").read_text().splitlines()
    assert len(lines) == 250
    records = [json.loads(ln) for ln in lines]
    assert [r["frame"] for r in records] == list(range(250))
    assert records[10]["timestamp"] == pytest.approx(0.4)
    faces = [f for r in records for f in r["faces"]]
    assert faces and all(set(f) == FACE_KEYS for f in faces)
    assert all(f["head_pose"] is not None and f["pose_source"] in ("mesh", "keypoints")
               for f in faces)
    analysed = [f for f in faces if f["pose_source"] == "mesh"]
    assert len(analysed) > 0.9 * len(faces)
    for f in analysed:
        assert len(f["keypoints"]) == 5 and len(f["head_pose"]) == 3
        # an eye read without confidence (small, turned away) is null, never a guess
        for v, c in zip(f["eye_openness"], f["eye_confidence"], strict=True):
            assert (v is None or c >= 0.5 - 0.005) and (v is not None or c <= 0.5 + 0.005)
            assert v is None or 0.0 <= v <= 1.0
        assert (f["eyes_closed"] is None) == all(v is None for v in f["eye_openness"])
        assert 0.0 <= f["mouth_open"] <= 1.0
    readable = [f for f in analysed if f["eyes_closed"] is not None]
    assert len(readable) > 0.5 * len(analysed)

    with (out / "tracks.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    ids = {int(r["track_id"]) for r in rows}
    assert ids == {f["track_id"] for f in faces}
    assert json.loads((out / "tracks.json").read_text())[0]["track_id"] == min(ids)
    blinks = (out / "blinks.csv").read_text().splitlines()
    assert blinks[0] == "track_id,start_s,end_s,closed_s"
    assert {int(line.split(",")[0]) for line in blinks[1:]} <= set(ids)
    for r in rows:
        assert float(r["dwell_s"]) > 0 and int(r["frames_seen"]) > 0
        assert (out / r["thumbnail"]).is_file()

    mot = np.loadtxt(out / "mot.txt", delimiter=",", ndmin=2)
    assert mot.shape == (len(faces), 10) and mot[:, 0].min() >= 1

    with av.open(str(out / "annotated.mp4")) as c:
        assert sum(1 for _ in c.decode(video=0)) == 250


@pytest.mark.data
def test_runs_are_identical(data_dir: Path, tmp_path: Path) -> None:
    video = data_dir / "synth_tracks" / "synth03" / "video.mp4"
    outs = []
    for name in ("a", "b"):
        assert facetrack("track", str(video), "--out", str(tmp_path / name)).returncode == 0
        outs.append((tmp_path / name / "faces.jsonl").read_bytes())
    assert outs[0] == outs[1]


@pytest.mark.data
def test_truncated_video_keeps_results_and_says_where(tmp_path: Path, data_dir: Path) -> None:
    """Cut a real face clip in half: exit 3, the error names the frame, files are valid."""
    src = data_dir / "synth_tracks" / "synth03" / "video.mp4"
    frames = []
    with av.open(str(src)) as c:
        for i, f in enumerate(c.decode(video=0)):
            frames.append(f.to_ndarray(format="bgr24"))
            if i == 59:
                break
    full = write_video(tmp_path / "full.mp4", frames, faststart=True)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size * 2 // 3])
    out = tmp_path / "out"
    proc = facetrack("track", str(cut), "--out", str(out))
    assert_one_line_error(proc, 3, "cut.mp4", "ended at frame")
    stopped = int(proc.stderr.split("ended at frame ")[1].split()[0])
    records = [json.loads(ln) for ln in (out / "faces.jsonl").read_text().splitlines()]
    assert len(records) == stopped > 0
    assert (out / "tracks.csv").read_text().startswith("track_id,")


@pytest.mark.parametrize(
    ("make", "code", "needle"),
    [
        (lambda d: d / "missing.mp4", 2, "no such file"),
        (lambda d: (d / "empty").mkdir() or d / "empty", 2, "folder has no images"),
        (lambda d: (d / "x.mp4").write_text("nope") and d / "x.mp4", 2, "not a readable video"),
        (lambda d: (d / "x.png").write_bytes(b"nope") and d / "x.png", 2, "not a decodable image"),
    ],
)
def test_bad_input_is_one_line_and_non_zero(tmp_path: Path, make, code: int, needle: str) -> None:
    target = make(tmp_path)
    proc = facetrack("track", str(target), "--out", str(tmp_path / "out"))
    assert_one_line_error(proc, code, needle, Path(target).name)


def test_unwritable_output_folder(tmp_path: Path) -> None:
    import cv2

    cv2.imwrite(str(tmp_path / "a.png"), np.zeros((32, 32, 3), np.uint8))
    blocker = tmp_path / "file"
    blocker.write_text("x")
    proc = facetrack("track", str(tmp_path / "a.png"), "--out", str(blocker / "sub"))
    assert_one_line_error(proc, 2, "cannot create output folder")


def test_bad_config_is_one_line(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("tracking:\n  credence: 2\n")
    frame = np.zeros((32, 32, 3), np.uint8)
    import cv2

    cv2.imwrite(str(tmp_path / "a.png"), frame)
    proc = facetrack("track", str(tmp_path / "a.png"), "--out", str(tmp_path / "o"),
                     "--config", str(cfg))
    assert_one_line_error(proc, 2, "c.yaml", "unknown key 'tracking.credence'")
    proc = facetrack("check-config", str(cfg))
    assert_one_line_error(proc, 2, "unknown key")


@pytest.mark.data
def test_single_image_reports_its_faces(data_dir: Path, tmp_path: Path) -> None:
    image = sorted((data_dir / "helen_300w" / "images").iterdir())[0]
    out = tmp_path / "o"
    proc = facetrack("track", str(image), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    (record,) = [json.loads(ln) for ln in (out / "faces.jsonl").read_text().splitlines()]
    assert record["source"].endswith(image.name)
    assert len(record["faces"]) >= 1 and record["faces"][0]["head_pose"] is not None


@pytest.mark.data
def test_folder_of_unrelated_photos(data_dir: Path, tmp_path: Path) -> None:
    """--independent: every face of every photo, each with its own id (AFW photos hold several
    annotated faces each)."""
    import shutil

    annotations = json.loads((data_dir / "afw_300w" / "annotations.json").read_text())[:4]
    folder = tmp_path / "photos"
    folder.mkdir()
    for item in annotations:
        shutil.copy(data_dir / "afw_300w" / item["image"], folder)
    out = tmp_path / "o"
    proc = facetrack("track", str(folder), "--out", str(out), "--independent")
    assert proc.returncode == 0, proc.stderr
    records = [json.loads(ln) for ln in (out / "faces.jsonl").read_text().splitlines()]
    assert len(records) == 4
    ids = [f["track_id"] for r in records for f in r["faces"]]
    assert len(ids) >= sum(len(item["faces"]) for item in annotations)
    assert len(set(ids)) == len(ids)


@pytest.mark.data
def test_image_folder_as_a_sequence(data_dir: Path, tmp_path: Path) -> None:
    """A folder of video frames (YouTube Faces) is tracked: one id for the subject."""
    import shutil

    frames = sorted((data_dir / "youtube_faces_tracks" / "Alek_Wek" / "1").iterdir())[:30]
    folder = tmp_path / "frames"
    folder.mkdir()
    for f in frames:
        shutil.copy(f, folder)
    out = tmp_path / "o"
    assert facetrack("track", str(folder), "--out", str(out)).returncode == 0
    records = [json.loads(ln) for ln in (out / "faces.jsonl").read_text().splitlines()]
    assert len(records) == 30
    ids = {f["track_id"] for r in records for f in r["faces"]}
    assert len(ids) == 1
    assert sum(1 for r in records if r["faces"]) >= 27


@pytest.mark.data
def test_interrupt_keeps_results(data_dir: Path, tmp_path: Path) -> None:
    """Ctrl-C part-way: exit 130, one error line, faces.jsonl valid up to where it stopped."""
    import signal
    import time

    video = data_dir / "demo_videos" / "videos" / "crowd_walking.mp4"
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "facetrack", "track", str(video), "--out",
                             str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    jsonl = out / "faces.jsonl"
    while time.time() < deadline and not (jsonl.exists() and jsonl.stat().st_size > 0):
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    if proc.returncode == 0:
        pytest.skip("the run finished before the interrupt arrived")
    result = subprocess.CompletedProcess(proc.args, proc.returncode, "", stderr)
    assert_one_line_error(result, 130, "interrupted")
    records = [json.loads(ln) for ln in jsonl.read_text().splitlines()]
    assert 0 < len(records) < 105
    assert [r["frame"] for r in records] == list(range(len(records)))
    assert (out / "tracks.csv").read_text().startswith("track_id,")
