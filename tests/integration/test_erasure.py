"""``facetrack db forget``: after a real monitor session with recognition, alerts, clips and
events.jsonl, erasing one enrolled person leaves no byte of their name or of any of their
embeddings in any file the run wrote (SQLite pages and WAL included), keeps the other person,
and gives a receipt of what was removed."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
import yaml

from facetrack.service import Monitor, MonitorConfig
from facetrack.storage.events import EventStore
from tests.builders import assert_one_line_error, facetrack

pytestmark = pytest.mark.data


def _hits(root: Path, needles: list[bytes], skip: set[Path]) -> list[str]:
    found = []
    for path in sorted(p for p in root.rglob("*") if p.is_file() and p not in skip):
        data = path.read_bytes()
        found += [f"{path.relative_to(root)}: {n[:16]!r}" for n in needles if n in data]
    return found


def _vectors(db: Path, name: str) -> list[bytes]:
    with sqlite3.connect(db) as conn:
        return [bytes(r[0]) for r in conn.execute(
            "SELECT e.vector FROM embeddings e JOIN people p ON p.id = e.person_id "
            "WHERE p.name = ?", (name,))]


@pytest.mark.parametrize("subject_clips", ["delete", "blur"])
def test_forget_erases_a_person_from_every_file(data_dir: Path, tmp_path: Path,
                                                subject_clips: str) -> None:
    seq = data_dir / "synth_tracks" / "synth01"
    photos = sorted((seq / "enrollment").glob("*.jpg"))
    assert len(photos) == 2
    db = tmp_path / "faces.db"
    for photo in photos:
        proc = facetrack("db", "enroll", photo.stem, str(photo), "--db", str(db))
        assert proc.returncode == 0, proc.stderr
    gone, kept = photos[0].stem, photos[1].stem
    config = tmp_path / "monitor.yaml"
    config.write_text(yaml.safe_dump({
        "store": {"events_db": str(tmp_path / "events.db"),
                  "events_jsonl": str(tmp_path / "events.jsonl")},
        "clips": {"dir": str(tmp_path / "clips")},
        "cameras": [{"name": "door", "source": str(seq / "video.mp4"),
                     "alerts": {"mode": "ON_KNOWNS", "holdoff_s": 1000},
                     "clips": {"enabled": True, "pre_s": 1, "post_s": 1},
                     "tracker": {"recognition": {"enabled": True, "database": str(db)}}}],
    }), encoding="utf-8")
    Monitor(MonitorConfig.from_yaml(config)).run(duration_s=40)
    needles = [gone.encode(), *_vectors(db, gone)]
    assert len(needles) >= 2
    skip = {config}
    before = _hits(tmp_path, needles, skip)
    assert any(h.startswith("events.db") for h in before), before  # there to be erased
    assert any(h.startswith("events.jsonl") for h in before)
    assert any(h.startswith("clips") for h in before)

    receipt = tmp_path / "receipt.json"
    proc = facetrack("db", "forget", gone, "--db", str(db), "--config", str(config), "--yes",
                     "--receipt", str(receipt), "--subject-clips", subject_clips)
    assert proc.returncode == 0, proc.stderr
    done = json.loads(receipt.read_text())
    assert done["person"] == gone and done["embeddings"] >= 1
    assert done["events_rewritten"] > 0 and done["events_file_rewritten"] > 0
    counted = {"delete": "clips_deleted", "blur": "clips_blurred"}[subject_clips]
    assert len(done[counted]) == 1 and len(done["clips_deleted"] + done["clips_blurred"]) == 1
    assert done["files_rewritten"] is True
    assert _hits(tmp_path, needles, skip | {receipt}) == []

    # the other person is untouched; the erased one reads "erased"
    with EventStore(tmp_path / "events.db") as store:
        alerts = store.query(kind="alert")
    assert sorted(a["person"] for a in alerts) == sorted([kept, "erased"])
    erased_clips = {a["clip"] for a in alerts if a["person"] == "erased"}
    if subject_clips == "delete":
        assert erased_clips and not any(Path(c).exists() for c in erased_clips)
    else:  # kept as evidence, every face blurred
        assert erased_clips and all(Path(c).is_file() for c in erased_clips)
        check = facetrack("privacy-check", *erased_clips)
        assert check.returncode == 0 and check.stdout == "", check.stdout
    # a clip of the other person's alert stays, unless it was the same clip (one clip holds
    # every alert that falls in it)
    assert all(Path(a["clip"]).is_file() for a in alerts if a["clip"] not in erased_clips)
    assert kept.encode() in (tmp_path / "events.jsonl").read_bytes()
    assert _vectors(db, kept)
    assert_one_line_error(facetrack("db", "forget", gone, "--db", str(db), "--yes"), 2, gone)
