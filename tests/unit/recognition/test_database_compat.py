"""Face databases made by earlier facetrack keep working; names that hide or imitate."""

from __future__ import annotations

import logging
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

from facetrack.errors import PersonError
from facetrack.recognition.gallery import FaceDatabase
from facetrack.recognition.names import normalise_name, skeleton

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "data" / "faces_v1.db"
MODEL = "sface-2021dec:fb143eea0783"


def test_a_database_made_by_the_first_facetrack_opens_and_works(tmp_path: Path) -> None:
    """tests/golden/data/faces_v1.db was written by facetrack's raw-sqlite3 face database
    (schema 1, WAL, random vectors): read as it is, searched, then written to."""
    path = tmp_path / "faces.db"
    shutil.copy(GOLDEN, path)
    with FaceDatabase(path, read_only=True) as db:
        assert [(p.name, p.embeddings) for p in db.people()] == [("Ada Lovelace", 3),
                                                                  ("Grace Hopper", 2)]
        assert db.person("Ada Lovelace").attrs == {"team": "red"}
        _, person_ids, vectors = db.matrix()
        assert vectors.shape == (5, 128) and person_ids.tolist() == [1, 1, 1, 2, 2]
        best = db.search(vectors[3:4], MODEL)[0][0]
        assert best.name == "Grace Hopper" and best.similarity == pytest.approx(1.0)
        assert db.stats().schema_version == 1
    with FaceDatabase(path) as db:
        added = db.enroll("Ada Lovelace", vectors[3:4] * -1, MODEL)
        assert added.embeddings == 4
        db.rename("Grace Hopper", "Grace B. Hopper")
        db.remove("Ada Lovelace")
        assert [p.name for p in db.people()] == ["Grace B. Hopper"]
        # ids are never reused: the removed person (3) of the old file counts too
        assert db.enroll("New", vectors[:1], MODEL).person_id == 4


def test_reading_needs_no_write_access(tmp_path: Path) -> None:
    """A database on read-only storage (a real read-only mount, as a read-only volume or a
    Kubernetes ConfigMap is) is listed and searched; reading creates no file there."""
    from tests.integration.servers import read_only_copy

    with read_only_copy(GOLDEN, tmp_path / "ro") as path:
        with FaceDatabase(path, read_only=True) as db:
            assert len(db.people()) == 2
            assert db.search(np.eye(128, dtype=np.float32)[:1], MODEL)
        assert sorted(p.name for p in path.parent.iterdir()) == [path.name]


def test_reading_leaves_no_side_files(tmp_path: Path) -> None:
    path = tmp_path / "faces.db"
    shutil.copy(GOLDEN, path)
    with FaceDatabase(path, read_only=True) as db:
        assert len(db.people()) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["faces.db"]


@pytest.mark.parametrize("name", [
    "Alice\u202egnp.exe",  # right-to-left override
    "Al\u200bice",  # zero-width space
    "\u200dAlice",  # a joiner outside a word
    "Alice\u2066x\u2069",  # directional isolates
])
def test_names_that_hide_or_reverse_are_refused(name: str) -> None:
    with pytest.raises(PersonError, match="invisible or direction-changing"):
        normalise_name(name)


def test_joiners_inside_words_are_names() -> None:
    assert normalise_name("می\u200cخواهم") == "می\u200cخواهم"  # Persian, ZWNJ
    assert normalise_name("emoji 🙂\u200d↕️ name")


def test_a_lookalike_of_an_enrolled_name_is_warned_about(tmp_path: Path,
                                                          caplog: pytest.LogCaptureFixture
                                                          ) -> None:
    assert skeleton("Аlice") == skeleton("alice") == skeleton("A.lice")  # Cyrillic А
    with FaceDatabase(tmp_path / "f.db") as db, caplog.at_level(logging.WARNING):
        v = np.eye(8, dtype=np.float32)
        db.enroll("Alice", v[:1], "m")
        db.enroll("Аlice", v[1:2], "m")  # Cyrillic first letter: another person, warned
        assert len(db.people()) == 2
    assert "looks like the enrolled 'Alice'" in caplog.text


def test_import_is_fast_and_does_not_starve_other_writers(tmp_path: Path) -> None:
    """8,000 rows import in well under a second or two (it was quadratic: 6.5 s), in one
    transaction; an enrolment that arrives meanwhile waits for it instead of failing."""
    rng = np.random.default_rng(1)
    src = tmp_path / "src.db"
    with FaceDatabase(src) as db:
        for p in range(80):
            v = rng.normal(size=(100, 32)).astype(np.float32)
            db.enroll(f"person {p}", v, "m")  # no content hashes: the vector is the key
        db.export(tmp_path / "all.jsonl")
    with FaceDatabase(tmp_path / "dst.db") as db:
        t0 = time.perf_counter()
        done = db.import_(tmp_path / "all.jsonl")
        took = time.perf_counter() - t0
        assert (done.people, done.embeddings) == (80, 8000) and took < 4.0, took
        again = db.import_(tmp_path / "all.jsonl")
        assert (again.embeddings, again.skipped) == (0, 8000)
