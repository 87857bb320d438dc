"""Everything the ``facetrack`` command writes is its owner's alone: files 0600, folders 0700
(outputs, annotated video, thumbnails, audience files and report, the face database, its key
and export, an anonymized video, a monitor's event store with its WAL, events.jsonl, clips and
their sidecars, an erasure receipt), whatever umask it was started with; and
``$FACETRACK_UMASK`` opens them to a group when asked."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
import yaml

from tests.builders import assert_one_line_error, facetrack

pytestmark = pytest.mark.data


def _loose(root: Path, group: bool = False) -> list[str]:
    """Paths under ``root`` that others (unless ``group``: the group too) may open."""
    loose = []
    for path in [root, *root.rglob("*")]:
        mode = stat.S_IMODE(path.lstat().st_mode)
        allowed = (0o750 if group else 0o700) if path.is_dir() else (
            0o640 if group else 0o600)
        if mode & ~allowed:
            loose.append(f"{path.relative_to(root.parent)} {oct(mode)}")
    return loose


def _run(*args: str, env: dict[str, str] | None = None) -> None:
    proc = facetrack(*args, env=env, timeout=300)
    assert proc.returncode == 0, (args, proc.stderr)


@pytest.fixture()
def usual_umask() -> object:
    """The usual default, 022: the command must not rely on a stricter one."""
    old = os.umask(0o022)
    yield
    os.umask(old)


@pytest.mark.usefixtures("usual_umask")
def test_every_file_written_is_private(data_dir: Path, tmp_path: Path) -> None:
    seq = data_dir / "synth_tracks" / "synth01"
    inputs, out = tmp_path / "in", tmp_path / "w"
    inputs.mkdir()
    out.mkdir(mode=0o700)
    ident = inputs / "identified.yaml"
    ident.write_text("privacy: {mode: identified}\n", encoding="utf-8")
    _run("track", str(seq / "video.mp4"), "--out", str(out / "track"), "--video", "--mot",
         "--analytics", "--thumbnails", "-c", str(ident), "-q")
    _run("report", str(out / "track"))
    _run("anonymize", str(seq / "video.mp4"), "--out", str(out / "anon.mp4"))
    key, db = out / "db.key", out / "faces.db"
    _run("db", "keygen", str(key))
    photos = sorted((seq / "enrollment").glob("*.jpg"))
    for photo in photos:
        _run("db", "--key-file", str(key), "enroll", photo.stem, str(photo), "--db", str(db))
    _run("db", "--key-file", str(key), "export", str(out / "faces.export"), "--db", str(db))
    (out / "mon").mkdir(mode=0o700)  # the store's folder is the user's to make
    config = inputs / "monitor.yaml"
    config.write_text(yaml.safe_dump({
        "store": {"events_db": str(out / "mon" / "events.db"),
                  "events_jsonl": str(out / "mon" / "events.jsonl")},
        "clips": {"dir": str(out / "mon" / "clips")},
        "cameras": [{"name": "door", "source": str(seq / "video.mp4"),
                     "alerts": {"mode": "ON_KNOWNS", "holdoff_s": 1000},
                     "clips": {"enabled": True, "pre_s": 1, "post_s": 1},
                     "tracker": {"recognition": {"enabled": True, "database": str(db),
                                                 "key_file": str(key)}}}],
    }), encoding="utf-8")
    _run("monitor", str(config), "--duration", "25")
    assert list((out / "mon" / "clips").rglob("*.mp4")), "no clip was recorded"
    assert list((out / "track" / "thumbnails").glob("*.jpg"))
    _run("db", "--key-file", str(key), "forget", photos[0].stem, "--db", str(db), "--config",
         str(config), "--receipt", str(out / "receipt.json"))
    assert _loose(out) == []

    # a group may be let in, explicitly
    shared = tmp_path / "shared"
    _run("track", str(seq / "video.mp4"), "--out", str(shared), "-q",
         env={"FACETRACK_UMASK": "027"})
    assert _loose(shared) != [] and _loose(shared, group=True) == []
    assert_one_line_error(facetrack("track", str(seq / "video.mp4"), "--out",
                                    str(tmp_path / "x"), env={"FACETRACK_UMASK": "rw"}), 2,
                          "FACETRACK_UMASK")
