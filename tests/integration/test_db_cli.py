"""`facetrack db ...` as a user runs it: real database files, JSON when piped, one-line errors."""

from __future__ import annotations

import functools
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner, Result

from facetrack import cli
from facetrack.cli import common as cli_common
from facetrack.cli import db as cli_db
from facetrack.recognition.embedder import SFaceEmbedder
from facetrack.recognition.gallery import FaceDatabase

MODEL = "test-model:0123456789ab"
ONE_FACE = ("2973812613.jpg", "2982058191.jpg")  # helen_300w
TWO_FACES = "134212.jpg"  # afw_300w


def unit(n: int, seed: int, dim: int = 128) -> np.ndarray[Any, Any]:
    v = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def run(*args: str | Path, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli.app, [str(a) for a in args], env=env)


def ok(result: Result) -> Any:
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, result.stdout  # piped: one JSON line
    return json.loads(lines[0])


def assert_one_line_error(result: Result, code: int, *needles: str) -> None:
    assert result.exit_code == code, (result.stdout, result.stderr)
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.stderr and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


@pytest.fixture
def gallery(tmp_path: Path) -> Path:
    path = tmp_path / "faces.db"
    with FaceDatabase(path) as db:
        db.enroll("Alice", unit(2, 1), MODEL, sources=["a1.jpg", "a2.jpg"],
                  content_hashes=["h1", "h2"], attrs={"team": "red"})
        db.enroll("'; DROP TABLE people; --", unit(1, 2), MODEL)
    return path


def test_list_show_stats(gallery: Path) -> None:
    people = ok(run("db", "list", "--db", gallery))
    assert [(p["name"], p["embeddings"]) for p in people] == [
        ("'; DROP TABLE people; --", 1), ("Alice", 2)]
    assert people[1]["attrs"] == {"team": "red"}
    shown = ok(run("db", "show", "Alice", "--db", gallery))
    assert shown["person"]["name"] == "Alice"
    assert [e["source"] for e in shown["embeddings"]] == ["a1.jpg", "a2.jpg"]
    assert "vector" not in shown["embeddings"][0]  # never printed
    stats = ok(run("db", "stats", "--db", gallery))
    assert (stats["people"], stats["embeddings"], stats["model_id"], stats["dim"]) == (
        2, 3, MODEL, 128)


def test_database_from_the_environment(gallery: Path) -> None:
    people = ok(run("db", "list", env={"FACETRACK_DB": str(gallery)}))
    assert len(people) == 2


def test_rename_and_remove(gallery: Path) -> None:
    renamed = ok(run("db", "rename", "'; DROP TABLE people; --", "Zoë Ångström", "--db", gallery))
    assert renamed["name"] == "Zoë Ångström"
    with FaceDatabase(gallery) as db:
        alice_bytes = [v.astype("<f4").tobytes() for v in db.matrix()[2][:2]]
    removed = ok(run("db", "remove", "Alice", "--db", gallery))
    assert (removed["name"], removed["embeddings"], removed["purged"]) == ("Alice", 2, True)
    assert [p["name"] for p in ok(run("db", "list", "--db", gallery))] == ["Zoë Ångström"]
    on_disk = gallery.read_bytes()
    assert not any(b in on_disk for b in [*alice_bytes, b"Alice", b"a1.jpg", b"team"])


def test_remove_asks_at_a_terminal(gallery: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli_db, "_can_ask", lambda: True)
    declined = CliRunner().invoke(cli.app, ["db", "remove", "Alice", "--db", str(gallery)],
                                  input="n\n")
    assert declined.exit_code == 1 and "error: nothing removed" in declined.stderr
    assert len(ok(run("db", "list", "--db", gallery))) == 2
    accepted = CliRunner().invoke(cli.app, ["db", "remove", "Alice", "--db", str(gallery)],
                                  input="y\n")
    assert accepted.exit_code == 0, accepted.stderr
    assert ok(run("db", "remove", "'; DROP TABLE people; --", "--yes", "--db", gallery))[
        "embeddings"] == 1
    assert ok(run("db", "list", "--db", gallery)) == []


def test_export_import(gallery: Path, tmp_path: Path) -> None:
    backup = tmp_path / "backup.jsonl"
    assert ok(run("db", "export", backup, "--db", gallery))["embeddings"] == 3
    assert_one_line_error(run("db", "export", backup, "--db", gallery), 2, "already exists")
    assert ok(run("db", "export", backup, "--db", gallery, "--force"))["people"] == 2
    fresh = tmp_path / "fresh.db"
    done = ok(run("db", "import", backup, "--db", fresh))
    assert (done["people"], done["new_people"], done["embeddings"]) == (2, 2, 3)
    assert ok(run("db", "import", backup, "--db", fresh))["skipped"] == 3


def test_terminal_output_is_text(gallery: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli_common, "is_terminal", lambda: True)
    listing = run("db", "list", "--db", gallery)
    assert listing.exit_code == 0
    assert "Alice  (2 embeddings" in listing.stdout and "team=red" in listing.stdout
    shown = run("db", "show", "Alice", "--db", gallery).stdout
    assert "a1.jpg" in shown and "quality 1.00" in shown
    assert "2 people, 3 embeddings" in run("db", "stats", "--db", gallery).stdout


def _newer(path: Path) -> None:
    raw = sqlite3.connect(path)
    raw.execute("PRAGMA user_version = 9")
    raw.commit()
    raw.close()


@pytest.mark.parametrize(("args", "prepare", "needles"), [
    (["show", "alice"], None, ["no person named 'alice'", "did you mean 'Alice'?"]),
    (["remove", "Bob"], None, ["no person named 'Bob'"]),
    (["rename", "Alice", "'; DROP TABLE people; --"], None, ["already enrolled"]),
    (["rename", "Alice", " "], None, ["must not be empty"]),
    (["list"], lambda p: p.unlink(), ["no face database here"]),
    (["list"], lambda p: p.write_bytes(b"garbage" * 1000), ["not a readable face database"]),
    (["stats"], _newer, ["schema version 9 is newer"]),
    (["import", "missing.jsonl"], None, ["missing.jsonl: file not found"]),
    (["enroll", "Carol", "x.jpg", "--attr", "novalue"], None, ["expected key=value"]),
    (["enroll", "", "x.jpg"], None, ["must not be empty"]),
    (["enroll", "Carol", "notes.txt"], None, ["not an image"]),
    (["enroll", "Carol", "nothing.jpg"], None, ["nothing.jpg: file not found"]),
])
def test_errors_are_one_line(gallery: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                             args: list[str], prepare: Any, needles: list[str]) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.txt").write_text("hello")
    if prepare is not None:
        prepare(gallery)
    before = gallery.read_bytes() if gallery.exists() else None
    assert_one_line_error(run("db", *args, "--db", gallery), 2, *needles)
    assert (gallery.read_bytes() if gallery.exists() else None) == before  # untouched


def test_locked_database(gallery: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(cli_db, "FaceDatabase", functools.partial(FaceDatabase, timeout=0.1))
    backup = tmp_path / "b.jsonl"
    ok(run("db", "export", backup, "--db", gallery))
    other = sqlite3.connect(gallery, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        for args in (["remove", "Alice"], ["rename", "Alice", "Al"], ["import", str(backup)]):
            assert_one_line_error(run("db", *args, "--db", gallery), 2, "locked by another")
        assert len(ok(run("db", "list", "--db", gallery))) == 2  # readers carry on
    finally:
        other.execute("ROLLBACK")
        other.close()


def test_import_from_another_model_is_refused(gallery: Path, tmp_path: Path) -> None:
    backup = tmp_path / "other.jsonl"
    with FaceDatabase(tmp_path / "other.db") as other:
        other.enroll("Dan", unit(1, 3, dim=64), "other-model:ffff")
        other.export(backup)
    assert_one_line_error(run("db", "import", backup, "--db", gallery), 2, MODEL,
                          "other-model:ffff")
    assert len(ok(run("db", "list", "--db", gallery))) == 2


def test_enrolment_into_another_models_database_is_refused(gallery: Path,
                                                           tmp_path: Path) -> None:
    image = tmp_path / "blank.png"
    assert cv2.imwrite(str(image), np.full((240, 320, 3), 255, np.uint8))
    assert_one_line_error(run("db", "enroll", "Carol", image, "--db", gallery), 2, MODEL,
                          SFaceEmbedder().model_id)


def test_enrolment_of_an_image_without_a_face(tmp_path: Path) -> None:
    image = tmp_path / "blank.png"
    assert cv2.imwrite(str(image), np.full((480, 640, 3), 255, np.uint8))
    db = tmp_path / "new.db"
    assert_one_line_error(run("db", "enroll", "Carol", image, "--db", db), 2,
                          f"{image}: 0 faces found", "nothing enrolled")
    assert ok(run("db", "list", "--db", db)) == []


def test_real_process_prints_one_line_and_no_traceback(gallery: Path) -> None:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    proc = subprocess.run([sys.executable, "-m", "facetrack", "db", "show", "Alicia", "--db",
                           str(gallery)], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.splitlines() == [
        f"error: {gallery}: no person named 'Alicia'; did you mean 'Alice'?"]


@pytest.mark.data
def test_enrol_real_photos(data_dir: Path, tmp_path: Path) -> None:
    photos = [data_dir / "helen_300w" / "images" / n for n in ONE_FACE]
    group = data_dir / "afw_300w" / "images" / TWO_FACES
    if not all(p.is_file() for p in [*photos, group]):
        pytest.skip("enrolment photos not in this copy of the data")
    db = tmp_path / "faces.db"
    done = ok(run("db", "enroll", "Alice O'Brien", *photos, "--db", db, "--attr", "team=red",
                  "--attr", "badge=7"))
    assert (done["added"], done["skipped"], done["new_person"]) == (2, 0, True)
    again = ok(run("db", "enroll", "Alice O'Brien", photos[0], "--db", db))
    assert (again["added"], again["skipped"]) == (0, 1)
    shown = ok(run("db", "show", "Alice O'Brien", "--db", db))
    assert shown["person"]["attrs"] == {"team": "red", "badge": "7"}
    assert [e["source"] for e in shown["embeddings"]] == list(ONE_FACE)
    assert_one_line_error(run("db", "enroll", "Bob", group, photos[1], "--db", db), 2,
                          f"{group}: 2 faces found")
    assert [p["name"] for p in ok(run("db", "list", "--db", db))] == ["Alice O'Brien"]
