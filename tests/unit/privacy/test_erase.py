"""Erasure's pieces: names and ids replaced wherever they sit in an event, and events.jsonl
rewritten in place (same file, so a writer appending to it goes on)."""

from __future__ import annotations

import json
from pathlib import Path

from facetrack.events import Alert
from facetrack.privacy.erase import scrub
from facetrack.storage.events import EventsJsonl, rewrite_jsonl


def test_scrub_replaces_the_person_everywhere_and_nothing_else() -> None:
    event = {"kind": "alert", "person": "Ann", "person_id": 3, "person_key": "person:3",
             "detail": {"person": "Ann", "similarity": 0.7},
             "results": [{"faces": [{"identity": {"person": "Ann", "person_id": 3}},
                                    {"identity": {"person": "Bob", "person_id": 4}}]}]}
    new, changed = scrub(event, 3, "Ann")
    assert changed
    assert new["person"] == new["detail"]["person"] == new["person_key"] == "erased"
    assert new["person_id"] is None
    faces = new["results"][0]["faces"]
    assert faces[0]["identity"] == {"person": "erased", "person_id": None}
    assert faces[1]["identity"] == {"person": "Bob", "person_id": 4}
    assert scrub({"person": "Bob", "person_id": 4, "camera": "Ann's door"}, 3, "Ann") == (
        {"person": "Bob", "person_id": 4, "camera": "Ann's door"}, False)


def test_events_jsonl_is_rewritten_in_place_and_the_writer_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    with EventsJsonl(path) as writer:
        writer.add([Alert("door", 1, 0.1, 7, "2026-11-30T10:00:00.000+00:00", person="Ann",
                          person_id=3, person_key="person:3"),
                    Alert("door", 2, 0.2, 8, "2026-11-30T10:00:01.000+00:00", person="Bob",
                          person_id=4, person_key="person:4")])
        inode = path.stat().st_ino
        changed = rewrite_jsonl(path, lambda d: scrub(d, 3, "Ann")[0] if d["person_id"] == 3
                                else None)
        writer.add([Alert("door", 3, 0.3, 9, "2026-11-30T10:00:02.000+00:00")])
    assert changed == 1 and path.stat().st_ino == inode
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r["person"] for r in rows] == ["erased", "Bob", None]
    assert b"Ann" not in path.read_bytes()
