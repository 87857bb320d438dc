"""``facetrack privacy-check`` on what real runs wrote: an anonymous run is clean; an
identified run's thumbnails and unblurred video, a face database and an embedding in a JSON
file are each found; --mode identified lists them without failing."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.builders import assert_one_line_error, facetrack

pytestmark = pytest.mark.data


def test_privacy_check_finds_what_the_mode_does_not_allow(data_dir: Path,
                                                          tmp_path: Path) -> None:
    video = data_dir / "synth_tracks" / "synth03" / "video.mp4"
    anon, ident = tmp_path / "anon", tmp_path / "ident"
    assert facetrack("track", str(video), "--out", str(anon), "--video", "-q").returncode == 0
    cfg = tmp_path / "identified.yaml"
    cfg.write_text("privacy: {mode: identified}\n", encoding="utf-8")
    assert facetrack("track", str(video), "--out", str(ident), "--video", "--thumbnails",
                     "-c", str(cfg), "-q").returncode == 0
    clean = facetrack("privacy-check", str(anon))
    assert clean.returncode == 0 and clean.stdout == "", clean.stderr

    photo = sorted((data_dir / "synth_tracks" / "synth01" / "enrollment").glob("*.jpg"))[0]
    assert facetrack("db", "enroll", "ann", str(photo), "--db",
                     str(ident / "faces.db")).returncode == 0
    v = np.random.default_rng(0).normal(size=128)
    (ident / "export.json").write_text(json.dumps({"vector": list(v / np.linalg.norm(v))}))
    found = facetrack("privacy-check", str(ident))
    assert found.returncode == 1 and "beyond the anonymous mode" in found.stderr
    what = {(Path(f["path"]).name, f["what"].split(" (")[0])
            for f in map(json.loads, found.stdout.splitlines())}
    assert any(n == "annotated.mp4" and "readable face" in w for n, w in what)
    assert {("faces.db", "1 embeddings"), ("export.json", "an embedding-like array")} <= what
    assert any(n.startswith("track_") and "readable face" in w for n, w in what)
    listed = facetrack("privacy-check", str(ident), "--mode", "identified")
    assert listed.returncode == 0 and listed.stdout == found.stdout
    assert_one_line_error(facetrack("privacy-check", str(tmp_path / "nothing")), 2,
                          "no such file")


def test_privacy_check_reads_a_postgresql_store(pg_url: str) -> None:
    """The events table of a PostgreSQL store, row by row; the store is named without a
    password."""
    from facetrack.events import IdentityMatched
    from facetrack.storage.events import EventStore

    with EventStore(pg_url) as store:
        store.add([IdentityMatched("door", 1, 0.1, 7, "2026-11-30T10:00:00+00:00")])
    assert facetrack("privacy-check", pg_url).returncode == 0
    with EventStore(pg_url) as store:
        store.add([IdentityMatched("door", 2, 0.2, 7, "2026-11-30T10:00:01+00:00",
                                   person_id=3, person="ann")])
    secret = pg_url.replace("postgresql://facetrack@", "postgresql://facetrack:hunter2@")
    found = facetrack("privacy-check", secret)
    assert found.returncode == 1, found.stderr
    (finding,) = map(json.loads, found.stdout.splitlines())
    assert finding["what"] == "a person's name in table events"
    assert "hunter2" not in found.stdout + found.stderr
    assert_one_line_error(facetrack("privacy-check", "postgresql://nobody:pw@127.0.0.1:1/x"),
                          2, "cannot open the store")
