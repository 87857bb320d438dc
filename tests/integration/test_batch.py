"""``facetrack track`` over many inputs on local worker processes and on a real Ray cluster
(head + 2 one-CPU worker nodes on this machine): the same files as one process, a killed
worker's input run once more, and bad input refused in one line before any work."""

from __future__ import annotations

import csv
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from facetrack.pipeline.jobs import track_file
from tests.builders import assert_one_line_error, facetrack
from tests.integration.servers import RayCluster, free_port, short_gop_copy

FILES = ("faces.jsonl", "tracks.csv", "tracks.json", "blinks.csv")


@pytest.fixture(scope="module")
def clips(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two 4 s clips of different scenes (synth01, synth02), each tracked once in this
    process as the reference."""
    root = tmp_path_factory.mktemp("batch")
    (root / "in").mkdir()
    out = {}
    for name in ("synth01", "synth02"):
        clip = short_gop_copy(data_dir / "synth_tracks" / name / "video.mp4",
                              root / "in" / f"{name}.mp4", seconds=4.0)
        track_file(clip, root / "ref" / name)
        out[name] = clip
    return out


def reference(clips: dict[str, Path], name: str) -> Path:
    return clips[name].parent.parent / "ref" / name


def index(out: Path) -> list[dict[str, str]]:
    with (out / "index.csv").open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def assert_same_as_one_process(clips: dict[str, Path], out: Path) -> None:
    for name in clips:
        for f in FILES:
            got, want = out / name / f, reference(clips, name) / f
            assert got.read_bytes() == want.read_bytes(), f"{name}/{f} differs"


@pytest.mark.parametrize("workers", [1, 2])
def test_workers_write_what_one_process_writes(clips: dict[str, Path], tmp_path: Path,
                                               workers: int) -> None:
    out = tmp_path / "out"
    proc = facetrack("track", str(clips["synth01"].parent), "-o", str(out), "--workers",
                     str(workers), "-q")
    assert proc.returncode == 0, proc.stderr
    assert [(r["folder"], r["status"], r["attempts"]) for r in index(out)] == [
        ("synth01", "done", "1"), ("synth02", "done", "1")]
    assert_same_as_one_process(clips, out)


def worker_pids(parent: int) -> list[int]:
    """The spawned worker processes of ``parent`` (not multiprocessing's resource tracker)."""
    kids = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
    return [int(k) for k in kids
            if "spawn_main" in Path(f"/proc/{k}/cmdline").read_bytes().decode(errors="replace")]


def start_batch(clips: dict[str, Path], copies: int, folder: Path, out: Path
                ) -> subprocess.Popen[str]:
    """``facetrack track FOLDER --workers 2`` in a real process, FOLDER holding ``copies``
    copies of each clip."""
    folder.mkdir()
    for i in range(copies):
        for name, clip in clips.items():
            shutil.copy(clip, folder / f"{name}_{i}.mp4")
    return subprocess.Popen([sys.executable, "-m", "facetrack", "track", str(folder), "-o",
                             str(out), "--workers", "2", "-q"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc")
def test_a_killed_worker_costs_one_retry_not_an_input(clips: dict[str, Path],
                                                      tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = start_batch(clips, 2, tmp_path / "in", out)  # four inputs: each clip twice
    deadline = time.monotonic() + 60
    while len(worker_pids(proc.pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1.0)
    os.kill(worker_pids(proc.pid)[0], signal.SIGKILL)
    _, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr
    rows = index(out)
    assert all(r["status"] == "done" for r in rows), rows
    assert sorted(r["attempts"] for r in rows) == ["1", "1", "1", "2"], rows
    for r in rows:
        name = r["folder"].rsplit("_", 1)[0]
        for f in FILES[1:]:  # faces.jsonl names its source file, a copy's here
            assert (out / r["folder"] / f).read_bytes() == (
                reference(clips, name) / f).read_bytes()


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc")
def test_ctrl_c_keeps_what_was_done_and_ends_the_running_files(clips: dict[str, Path],
                                                               tmp_path: Path) -> None:
    import json

    out = tmp_path / "out"
    proc = start_batch(clips, 3, tmp_path / "in", out)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not any(
            (p / "faces.jsonl").exists() and (p / "faces.jsonl").stat().st_size > 0
            for p in (out.iterdir() if out.is_dir() else [])):
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    rows = index(out)
    assert len(rows) == 6
    partial = [r for r in rows if r["status"] == "partial"]
    assert partial and all(r["error"] == "interrupted" for r in partial), rows
    assert {r["status"] for r in rows} <= {"done", "partial", "not run"}, rows
    for r in partial:  # ended, not cut off: whole lines and the tracks' summaries
        lines = (out / r["folder"] / "faces.jsonl").read_text().splitlines()
        assert len(lines) == int(r["frames"]) > 0
        assert all(json.loads(line)["frame"] == n for n, line in enumerate(lines))
        assert (out / r["folder"] / "tracks.csv").read_text().startswith("track_id")


def test_bad_input_is_one_line_before_any_work(clips: dict[str, Path],
                                               tmp_path: Path) -> None:
    out = tmp_path / "out"
    clip = str(clips["synth01"])
    assert_one_line_error(facetrack("track", clip, "-o", str(out), "--workers", "0"), 2,
                          "--workers 0")
    assert_one_line_error(facetrack("track", clip, "-o", str(out), "--workers", "2", "--ray",
                                    "auto"), 2, "alternatives")
    assert_one_line_error(facetrack("track", clip, str(tmp_path / "gone.mp4"),
                                    str(tmp_path / "none*.mp4"), "-o", str(out)), 2,
                          "gone.mp4", "none*.mp4")
    t0 = time.monotonic()
    assert_one_line_error(facetrack("track", clip, "-o", str(out), "--ray",
                                    f"127.0.0.1:{free_port()}"), 2, "no Ray cluster answers")
    assert time.monotonic() - t0 < 30
    assert not out.exists(), "nothing may be written before the inputs are checked"


def test_s3_inputs_and_an_empty_prefix(clips: dict[str, Path], tmp_path: Path,
                                       s3_env: None, moto: object) -> None:
    import boto3

    url = moto.url  # type: ignore[attr-defined]
    s3 = boto3.client("s3", endpoint_url=url)
    s3.create_bucket(Bucket="archive")
    s3.upload_file(str(clips["synth01"]), "archive", "cams/door/synth01.mp4")
    s3.put_object(Bucket="archive", Key="cams/door/notes.txt", Body=b"not a video")
    env = {"AWS_ENDPOINT_URL": url}
    out = tmp_path / "out"
    proc = facetrack("track", "s3://archive/cams/", "-o", str(out), "--workers", "1", "-q",
                     env=env)
    assert proc.returncode == 0, proc.stderr
    assert [(r["input"], r["status"]) for r in index(out)] == [
        ("s3://archive/cams/door/synth01.mp4", "done")]
    for f in FILES[1:]:  # faces.jsonl names the source file; the rest must match
        assert (out / "synth01" / f).read_bytes() == (
            reference(clips, "synth01") / f).read_bytes()
    assert_one_line_error(facetrack("track", "s3://archive/empty/", "-o",
                                    str(tmp_path / "o2"), env=env), 2, "s3://archive/empty/")


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[RayCluster]:
    cluster = RayCluster(workers=2)
    yield cluster
    cluster.close()


def test_a_ray_cluster_writes_what_one_process_writes(clips: dict[str, Path], tmp_path: Path,
                                                      ray_cluster: RayCluster) -> None:
    out = tmp_path / "out"
    proc = facetrack("track", str(clips["synth01"]), str(clips["synth02"]), "-o", str(out),
                     "--ray", ray_cluster.address, "-q")
    assert proc.returncode == 0, proc.stderr
    assert [(r["folder"], r["status"]) for r in index(out)] == [
        ("synth01", "done"), ("synth02", "done")]
    assert_same_as_one_process(clips, out)


def test_a_task_lost_on_ray_is_run_once_more(clips: dict[str, Path], tmp_path: Path,
                                             ray_cluster: RayCluster) -> None:
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "facetrack", "track", str(clips["synth01"]),
                             str(clips["synth02"]), "-o", str(out), "--ray",
                             ray_cluster.address, "-q"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    killed = False
    while not killed and time.monotonic() < deadline:
        killed = subprocess.run(["pkill", "-KILL", "-f", "^ray::run_job"]).returncode == 0
        time.sleep(0.3)
    assert killed, "no Ray task was seen running"
    _, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr
    rows = index(out)
    assert all(r["status"] == "done" for r in rows), rows
    assert "2" in [r["attempts"] for r in rows], rows
    assert_same_as_one_process(clips, out)


def test_a_long_video_in_segments_on_ray_is_joined_as_on_local_workers(
        clips: dict[str, Path], tmp_path: Path, ray_cluster: RayCluster) -> None:
    """4 s in segments of 1.2 s: three segments (one copy of the video in the object store),
    joined into the files local workers join."""
    clip = str(clips["synth01"])
    local, remote = tmp_path / "local", tmp_path / "ray"
    proc = facetrack("track", clip, "-o", str(local), "--workers", "1", "--segment-minutes",
                     "0.02", "-q")
    assert proc.returncode == 0, proc.stderr
    proc = facetrack("track", clip, "-o", str(remote), "--ray", ray_cluster.address,
                     "--segment-minutes", "0.02", "-q")
    assert proc.returncode == 0, proc.stderr
    assert [(r["status"], r["segments"]) for r in index(remote)] == [("done", "3")]
    for f in FILES:
        got, want = remote / "synth01" / f, local / "synth01" / f
        assert got.read_bytes() == want.read_bytes(), f
