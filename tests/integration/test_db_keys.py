"""Encrypted templates from the command line, as a user runs it (real processes): keygen,
encrypting an existing database, enrolling and recognising with the key, the errors without
it or with the wrong one, rotation, and the key never printed."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from tests.builders import assert_one_line_error, facetrack

pytestmark = pytest.mark.data


def _json(proc: object) -> dict[str, object]:
    assert proc.returncode == 0, proc.stderr  # type: ignore[attr-defined]
    return json.loads(proc.stdout.strip().splitlines()[-1])  # type: ignore[attr-defined]


def test_keys_from_the_command_line(data_dir: Path, tmp_path: Path) -> None:
    photos = sorted((data_dir / "synth_tracks" / "synth01" / "enrollment").glob("*.jpg"))
    db, key, other = tmp_path / "faces.db", tmp_path / "face.key", tmp_path / "new.key"
    _json(facetrack("db", "enroll", "ann", str(photos[0]), "--db", str(db)))
    _json(facetrack("db", "keygen", str(key)))
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert_one_line_error(facetrack("db", "keygen", str(key)), 2, "already exists")
    # a plain database is encrypted by rekey; then it needs the key
    done = _json(facetrack("db", "rekey", "--db", str(db), "--new-key-file", str(key)))
    assert done["embeddings"] == 1
    assert_one_line_error(facetrack("db", "list", "--db", str(db)), 2,
                          "encrypted: give its key")
    _json(facetrack("db", "--key-file", str(key), "enroll", "bob", str(photos[1]), "--db",
                    str(db)))
    people = facetrack("db", "--key-file", str(key), "list", "--db", str(db))
    assert people.returncode == 0 and "ann" in people.stdout and "bob" in people.stdout
    # recognition reads the key from the environment
    out = tmp_path / "out"
    env_run = facetrack("track", str(data_dir / "synth_tracks" / "synth01" / "video.mp4"),
                        "--out", str(out), "--recognize", "--db", str(db), "-q",
                        env={"FACETRACK_DB_KEY_FILE": str(key)})
    assert env_run.returncode == 0, env_run.stderr
    names = {f["identity"]["person"] for line in (out / "faces.jsonl").read_text().splitlines()
             for f in json.loads(line)["faces"] if f.get("identity")}
    assert {"ann", "bob"} <= names
    # rotation: the old key no longer opens it; the key itself is never printed
    _json(facetrack("db", "keygen", str(other)))
    _json(facetrack("db", "--key-file", str(key), "rekey", "--db", str(db), "--new-key-file",
                    str(other)))
    assert_one_line_error(facetrack("db", "--key-file", str(key), "list", "--db", str(db)), 2,
                          "not the face database's key")
    secret = key.read_text().strip()
    shown = facetrack("db", "--key-file", str(other), "stats", "--db", str(db))
    assert shown.returncode == 0 and secret not in shown.stdout + shown.stderr
    assert os.environ.get("FACETRACK_DB_KEY_FILE") is None
