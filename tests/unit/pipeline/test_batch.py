"""Many inputs in one run: what they expand to, their folders, the index, a worker's bytes."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from facetrack.errors import InputError
from facetrack.pipeline.batch import (
    Input,
    Outcome,
    _unpack,
    expand_inputs,
    folder_names,
    read_payload,
    worker_count,
    write_index,
)


def touch(path: Path, data: bytes = b"x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_files_folders_and_globs_expand_in_order_each_once(tmp_path: Path) -> None:
    a = touch(tmp_path / "cam1" / "clip.mp4")
    b = touch(tmp_path / "cam2" / "clip.mp4")
    touch(tmp_path / "cam2" / "notes.txt")
    touch(tmp_path / "cam2" / "sub" / "deep.mp4")  # a folder's subfolders are not read
    stills = tmp_path / "stills"
    touch(stills / "001.jpg")
    touch(stills / "002.jpg")
    got = expand_inputs([str(tmp_path / "cam*" / "*.mp4"), str(tmp_path / "cam2"),
                         str(stills), str(a)])
    assert [i.location for i in got] == [str(a), str(b), str(stills)]
    assert [i.folder for i in got] == ["cam1_clip", "cam2_clip", "stills"]


def test_missing_inputs_are_named_before_any_work(tmp_path: Path) -> None:
    touch(tmp_path / "ok.mp4")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError) as err:
        expand_inputs([str(tmp_path / "ok.mp4"), str(tmp_path / "gone.mp4"),
                       str(tmp_path / "none*.mp4"), str(tmp_path / "empty")])
    message = str(err.value)
    assert "gone.mp4" in message and "none*.mp4" in message and "empty" in message
    assert "ok.mp4" not in message and "\n" not in message
    with pytest.raises(InputError, match="no input"):
        expand_inputs([])


def test_folder_names_are_distinct_and_never_leave_the_output() -> None:
    names = folder_names(["a/cam1/video.mp4", "a/cam2/video.mp4", "b/x.mp4",
                          "s3://bucket/p/x.mp4", "c.mp4", "c.mkv", "..", "../.."])
    assert names == ["cam1_video", "cam2_video", "b_x", "p_x", "c", "c-2", "input",
                     "input-2"]
    assert len(set(names)) == len(names)
    assert all("/" not in n and n not in (".", "..") for n in names)


def test_a_payload_rebuilds_the_file_or_folder_under_its_own_name(tmp_path: Path) -> None:
    clip = touch(tmp_path / "src" / "door.mp4", b"video bytes")
    got = Path(_unpack(read_payload(str(clip)) or {}, touch_dir(tmp_path / "w1")))
    assert got.name == "door.mp4" and got.read_bytes() == b"video bytes"
    stills = tmp_path / "src" / "stills"
    touch(stills / "1.png", b"one")
    touch(stills / "2.png", b"two")
    touch(stills / "readme.txt", b"not an image")
    folder = Path(_unpack(read_payload(str(stills)) or {}, touch_dir(tmp_path / "w2")))
    assert sorted(p.name for p in folder.iterdir()) == ["1.png", "2.png"]
    assert read_payload("s3://bucket/key.mp4") is None
    with pytest.raises(InputError):
        _unpack({"../escape.mp4": b""}, touch_dir(tmp_path / "w3"))


def touch_dir(path: Path) -> Path:
    path.mkdir(parents=True)
    return path


def test_the_index_has_a_row_per_input_in_input_order(tmp_path: Path) -> None:
    outcomes = [Outcome("b.mp4", "b", "done", 10, 2, 1.0, 10.0, 1),
                Outcome("a.mp4", "a", "failed", attempts=2, error="its worker died"),
                Outcome("c.mp4", "c")]
    write_index(tmp_path, outcomes)
    with (tmp_path / "index.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["input"], r["status"], r["attempts"]) for r in rows] == [
        ("b.mp4", "done", "1"), ("a.mp4", "failed", "2"), ("c.mp4", "not run", "0")]
    assert json.loads((tmp_path / "index.json").read_text())["inputs"][1]["error"] == (
        "its worker died")


def test_worker_count() -> None:
    assert worker_count(3) == 3
    assert worker_count(None) >= 1
    with pytest.raises(InputError, match="--workers 0"):
        worker_count(0)


def test_input_is_plain_data() -> None:
    assert Input("a.mp4", "a") == Input("a.mp4", "a")


def test_files_a_worker_returns_stay_inside_their_folder(tmp_path: Path) -> None:
    from facetrack.errors import OutputError
    from facetrack.pipeline.batch import save_files

    saved = save_files(Outcome("a.mp4", "a", "done", files={"tracks.csv": b"x",
                                                           "thumbnails/track_1.jpg": b"y"}),
                       tmp_path / "a")
    assert saved.files == {} and (tmp_path / "a" / "thumbnails" / "track_1.jpg").exists()
    for name in ("../escape.csv", str(tmp_path / "elsewhere.csv")):
        with pytest.raises(OutputError):
            save_files(Outcome("b.mp4", "b", files={name: b"z"}), tmp_path / "b")
    assert not (tmp_path / "escape.csv").exists() and not (tmp_path / "elsewhere.csv").exists()


def test_an_input_stopped_before_its_first_frame_is_not_run(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch
                                                             ) -> None:
    """A Ctrl-C that lands while a worker opens an input (before any file is written) leaves
    nothing of it: the index must not call it partial."""
    import facetrack.pipeline.jobs as jobs
    from facetrack.pipeline.batch import Job, run_job

    def stopped(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(jobs, "track_file", stopped)
    clip = touch(tmp_path / "clip.mp4")
    job = Job(Input(str(clip), "clip"), str(tmp_path / "out" / "clip"), {})
    outcome = run_job(job)
    assert (outcome.status, outcome.frames) == ("not run", 0)
    assert outcome.error == "interrupted before its first frame"
