"""The face database on real SQLite files: lifecycle, privacy of removal, refusals, backups,
search, and enrolment from photos (fakes for the rules, real models and data for the rest)."""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import shutil
import sqlite3
import tempfile
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from facetrack.config import DetectorConfig
from facetrack.detection import Detector, make_detector
from facetrack.errors import (
    DatabaseError,
    DatabaseLockedError,
    InputError,
    ModelMismatchError,
    OutputError,
    PersonError,
    UnknownPersonError,
)
from facetrack.faces import Faces
from facetrack.frames import Frame
from facetrack.recognition.embedder import SFaceEmbedder
from facetrack.recognition.enroll import collect_images, enroll_images
from facetrack.recognition.gallery import FaceDatabase
from tests.builders import faces_at

MODEL = "test-model:0123456789ab"
DIM = 8


def unit(n: int, seed: int, dim: int = DIM) -> npt.NDArray[np.float32]:
    v = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def file_bytes(path: Path) -> bytes:
    """Everything SQLite keeps on disk for the database: the file and its WAL."""
    parts = [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-journal")]
    return b"".join(p.read_bytes() for p in parts if p.exists())


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "faces.db"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every test of the face database runs on a SQLite file and on a real PostgreSQL server,
    but those that read the SQLite file itself (they ask for ``db_path``)."""
    if "db" in metafunc.fixturenames:
        file_test = "db_path" in inspect.signature(metafunc.function).parameters
        metafunc.parametrize("backend", ["sqlite"] if file_test else ["sqlite", "postgres"])


@pytest.fixture
def db(backend: str, request: pytest.FixtureRequest, db_path: Path
       ) -> Iterator[FaceDatabase]:
    target: str | Path = request.getfixturevalue("pg_url") if backend == "postgres" else db_path
    with FaceDatabase(target, timeout=0.2) as database:
        yield database


# -- lifecycle ------------------------------------------------------------------------------


def test_enroll_list_show_rename_remove(db: FaceDatabase) -> None:
    first = db.enroll("Alice", unit(3, 1), MODEL, qualities=[0.9, 0.5, 1.0],
                      sources=["/home/someone/photos/a.jpg", r"C:\pics\b.png", None],
                      content_hashes=["h1", "h2", "h3"], attrs={"team": "red"})
    assert (first.new_person, first.added, first.skipped, first.embeddings) == (True, 3, 0, 3)
    more = db.enroll("Alice", unit(1, 2), MODEL, attrs={"badge": 7})
    assert (more.person_id, more.new_person, more.embeddings) == (first.person_id, False, 4)
    db.enroll("Bob", unit(2, 3), MODEL)

    assert [(p.name, p.embeddings) for p in db.people()] == [("Alice", 4), ("Bob", 2)]
    alice = db.person("Alice")
    assert alice.attrs == {"team": "red", "badge": 7}  # merged, never replaced
    infos = db.embeddings("Alice")
    assert [e.source for e in infos] == ["a.jpg", "b.png", None, None]  # file names only
    assert [e.quality for e in infos] == pytest.approx([0.9, 0.5, 1.0, 1.0])

    renamed = db.rename("Alice", "Alice Smith")
    assert (renamed.id, renamed.embeddings) == (alice.id, 4)
    with pytest.raises(UnknownPersonError):
        db.person("Alice")

    removal = db.remove("Alice Smith")
    assert (removal.person_id, removal.embeddings, removal.purged) == (alice.id, 4, True)
    assert [p.name for p in db.people()] == ["Bob"]
    _, person_ids, vectors = db.matrix()
    assert set(person_ids.tolist()) == {db.person("Bob").id} and vectors.shape == (2, DIM)
    stats = db.stats()
    assert (stats.people, stats.embeddings, stats.model_id, stats.dim) == (1, 2, MODEL, DIM)
    assert stats.schema_version == 1 and (stats.file_bytes > 0) == (db.path is not None)


def test_removed_person_leaves_no_bytes_in_the_files(db: FaceDatabase, db_path: Path) -> None:
    secret = unit(3, 10)
    kept = unit(2, 11)
    db.enroll("Zaphod Beeblebrox", secret, MODEL, sources=["zaphod-holiday.jpg"] * 3,
              content_hashes=["a" * 64, "b" * 64, "c" * 64], attrs={"note": "two-headed"})
    db.enroll("Ford", kept, MODEL)
    traces = [v.astype("<f4").tobytes() for v in secret] + [
        b"Zaphod Beeblebrox", b"zaphod-holiday.jpg", b"a" * 64, b"two-headed"]
    on_disk = file_bytes(db_path)
    assert all(t in on_disk for t in traces)  # the check below can see them

    db.remove("Zaphod Beeblebrox")
    for when in ("open", "closed"):
        on_disk = file_bytes(db_path)
        assert not [t for t in traces if t in on_disk], when
        assert all(v.astype("<f4").tobytes() in on_disk for v in kept), when
        db.close()
    with FaceDatabase(db_path) as again:
        assert [p.name for p in again.people()] == ["Ford"]
        assert again.stats().embeddings == 2


def test_removal_cascades_at_sql_level(db: FaceDatabase, db_path: Path) -> None:
    db.enroll("Alice", unit(2, 1), MODEL)
    raw = sqlite3.connect(db_path)
    raw.execute("PRAGMA foreign_keys = ON")
    raw.execute("DELETE FROM people WHERE name = 'Alice'")
    raw.commit()
    assert raw.execute("SELECT count(*) FROM embeddings").fetchone()[0] == 0
    raw.close()


def test_unknown_person_lists_close_names(db: FaceDatabase) -> None:
    db.enroll("Alice", unit(1, 1), MODEL)
    db.enroll("Alicia", unit(1, 2), MODEL)
    for call in (db.person, db.remove, db.embeddings, lambda n: db.rename(n, "X")):
        with pytest.raises(UnknownPersonError, match=r"'alice'.*'Alice'.*'Alicia'"):
            call("alice")
    with pytest.raises(UnknownPersonError, match="2 people enrolled"):
        db.person("Zed")


def test_rename_to_a_taken_name_is_refused(db: FaceDatabase) -> None:
    db.enroll("Alice", unit(1, 1), MODEL)
    db.enroll("Bob", unit(1, 2), MODEL)
    with pytest.raises(PersonError, match="'Bob' is already enrolled"):
        db.rename("Alice", "Bob")
    assert [p.name for p in db.people()] == ["Alice", "Bob"]


# -- names ----------------------------------------------------------------------------------

TRICKY_NAMES = [
    "'; DROP TABLE people; --",
    "Robert'); DELETE FROM embeddings; --",
    'O\'Brien "The Rock"',
    "Zoë Ångström-Øster",
    "李小龙",
    "محمد",
    "100% _legit_ * ? \\ [x]",
    "emoji 🙂‍↕️ name",
]


@pytest.mark.parametrize("name", TRICKY_NAMES)
def test_tricky_names_round_trip(db_path: Path, name: str) -> None:
    with FaceDatabase(db_path) as db:
        db.enroll(name, unit(2, 1), MODEL, attrs={name: name})
        db.enroll("Plain", unit(1, 2), MODEL)
    with FaceDatabase(db_path) as db:
        assert sorted(p.name for p in db.people()) == sorted([name, "Plain"])
        person = db.person(name)
        assert person.name == name and person.attrs == {name: name} and person.embeddings == 2
        assert db.search(unit(2, 1), MODEL)[0][0].name == name
        db.rename(name, name + " 2")
        assert db.remove(name + " 2").embeddings == 2
        assert [p.name for p in db.people()] == ["Plain"]


def test_names_are_stored_in_nfc(db: FaceDatabase) -> None:
    decomposed = unicodedata.normalize("NFD", "Zoë")
    db.enroll(decomposed, unit(1, 1), MODEL)
    assert db.people()[0].name == "Zoë"
    assert db.person(decomposed).name == db.person("Zoë").name


@pytest.mark.parametrize("name", ["", "   ", " Alice", "Alice ", "a\nb", "tab\there", "x" * 201])
def test_bad_names_are_refused(db: FaceDatabase, name: str) -> None:
    with pytest.raises(PersonError):
        db.enroll(name, unit(1, 1), MODEL)
    assert db.people() == []


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"vectors": np.zeros((0, DIM))}, "shape"),
    ({"vectors": np.ones(DIM)}, "shape"),
    ({"vectors": np.full((1, DIM), np.nan)}, "NaN"),
    ({"vectors": np.zeros((1, DIM))}, "all-zero"),
    ({"qualities": [0.5, 0.5]}, "2 entries for 1"),
    ({"qualities": [1.5]}, r"\[0, 1\]"),
    ({"attrs": {"when": object()}}, "JSON"),
    ({"model_id": ""}, "model_id"),
])
def test_bad_enrolments_write_nothing(db: FaceDatabase, kwargs: dict[str, object],
                                      match: str) -> None:
    args: dict[str, object] = {"name": "Alice", "vectors": unit(1, 1), "model_id": MODEL}
    with pytest.raises(PersonError, match=match):
        db.enroll(**{**args, **kwargs})
    assert db.people() == [] and db.stats().embeddings == 0


def test_vectors_are_stored_as_unit_length(db: FaceDatabase) -> None:
    db.enroll("Alice", 3 * unit(2, 1), MODEL)
    _, _, vectors = db.matrix()
    assert np.linalg.norm(vectors, axis=1) == pytest.approx([1.0, 1.0], abs=1e-6)


# -- duplicates and models ------------------------------------------------------------------


def test_duplicates_are_skipped(db: FaceDatabase) -> None:
    v = unit(3, 1)
    first = db.enroll("Alice", v, MODEL, content_hashes=["h1", "h2", "h1"])
    assert (first.added, first.skipped) == (2, 1)  # the same image twice in one call
    again = db.enroll("Alice", unit(2, 5), MODEL, content_hashes=["h2", "h3"])
    assert (again.added, again.skipped, again.embeddings) == (1, 1, 3)
    # without a hash, an identical vector of the same person is the duplicate
    assert (db.enroll("Alice", v[1:2], MODEL).skipped, db.enroll("Alice", v[2:], MODEL).added) == (
        1, 1)
    assert db.enroll("Alice", v[2:], MODEL).skipped == 1


def test_one_image_cannot_be_two_people(db: FaceDatabase) -> None:
    db.enroll("Alice", unit(1, 1), MODEL, sources=["shared.jpg"], content_hashes=["h1"])
    with pytest.raises(PersonError, match=r"shared\.jpg is already enrolled as 'Alice'"):
        db.enroll("Bob", unit(2, 2), MODEL, sources=["new.jpg", "shared.jpg"],
                  content_hashes=["h9", "h1"])
    assert [p.name for p in db.people()] == ["Alice"]  # Bob's whole enrolment rolled back
    assert db.stats().embeddings == 1


def test_vectors_of_another_model_are_refused(db: FaceDatabase) -> None:
    db.enroll("Alice", unit(1, 1), MODEL)
    with pytest.raises(ModelMismatchError, match=f"'{MODEL}'.*'other-model:ffff'"):
        db.enroll("Bob", unit(1, 2), "other-model:ffff")
    with pytest.raises(ModelMismatchError, match="other-model:ffff"):
        db.search(unit(1, 2), "other-model:ffff")
    with pytest.raises(ModelMismatchError, match="8-d"):
        db.enroll("Bob", unit(1, 2, dim=16), MODEL)
    assert [p.name for p in db.people()] == ["Alice"]


def test_an_emptied_database_adopts_the_next_model(db: FaceDatabase) -> None:
    db.enroll("Alice", unit(1, 1), MODEL)
    db.remove("Alice")
    db.enroll("Bob", unit(1, 2, dim=16), "other-model:ffff")
    assert (db.model_id, db.dim) == ("other-model:ffff", 16)


# -- the file itself ------------------------------------------------------------------------


def test_new_file_is_private_wal_and_marked(db: FaceDatabase, db_path: Path) -> None:
    db.enroll("Alice", unit(1, 1), MODEL)
    raw = sqlite3.connect(db_path)
    assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert raw.execute("PRAGMA user_version").fetchone()[0] == 1
    assert raw.execute("PRAGMA application_id").fetchone()[0] == 0x46544442
    raw.close()
    if os.name == "posix":
        assert db_path.stat().st_mode & 0o777 == 0o600


def test_missing_file_is_not_created_when_asked(tmp_path: Path) -> None:
    path = tmp_path / "none.db"
    with pytest.raises(DatabaseError, match="no face database"):
        FaceDatabase(path, create=False).open()
    assert not path.exists()
    with pytest.raises(DatabaseError, match="folder"):
        FaceDatabase(tmp_path).open()


def test_newer_schema_is_refused(db_path: Path) -> None:
    with FaceDatabase(db_path) as db:
        db.enroll("Alice", unit(1, 1), MODEL)
    raw = sqlite3.connect(db_path)
    raw.execute("PRAGMA user_version = 7")
    raw.commit()
    raw.close()
    with pytest.raises(DatabaseError, match=r"schema version 7 is newer .*\(1\); upgrade"):
        FaceDatabase(db_path).open()


@pytest.mark.parametrize(("content", "match"), [
    (b"this is a text file, not a database\n" * 200, "not a readable face database"),
    (b"SQLite format 3\x00" + bytes(range(256)) * 16, "not a readable face database"),
    (os.urandom(8192), "not a readable face database"),
])
def test_corrupt_or_foreign_files_are_refused(db_path: Path, content: bytes, match: str) -> None:
    db_path.write_bytes(content)
    with pytest.raises(DatabaseError, match=match):
        FaceDatabase(db_path).open()
    assert db_path.read_bytes() == content  # never "repaired" by overwriting


def test_truncated_database_is_reported(db_path: Path) -> None:
    with FaceDatabase(db_path) as db:
        for i in range(60):
            db.enroll(f"person {i}", unit(20, i, dim=128), MODEL)
    data = db_path.read_bytes()
    db_path.write_bytes(data[: len(data) // 3])
    with pytest.raises(DatabaseError, match="not a readable face database"), \
            FaceDatabase(db_path) as db:
        db.matrix()


def test_another_applications_sqlite_file_is_refused(db_path: Path) -> None:
    raw = sqlite3.connect(db_path)
    raw.execute("CREATE TABLE orders (id INTEGER)")
    raw.commit()
    raw.close()
    with pytest.raises(DatabaseError, match="not a facetrack face database"):
        FaceDatabase(db_path).open()


def test_locked_database_gives_a_clear_error(db: FaceDatabase, db_path: Path) -> None:
    db.enroll("Alice", unit(1, 1), MODEL)
    other = sqlite3.connect(db_path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(DatabaseLockedError, match="locked by another process"):
            db.enroll("Bob", unit(1, 2), MODEL)
        with pytest.raises(DatabaseLockedError):
            db.remove("Alice")
        assert [p.name for p in db.people()] == ["Alice"]  # WAL: reading goes on
        with FaceDatabase(db_path, timeout=0.1) as second:
            assert second.stats().people == 1
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert db.enroll("Bob", unit(1, 2), MODEL).added == 1


def test_a_closed_database_says_so(db_path: Path) -> None:
    db = FaceDatabase(db_path)
    with pytest.raises(DatabaseError, match="not open"):
        db.people()


# -- search ---------------------------------------------------------------------------------


def test_search_takes_each_persons_best_embedding(db: FaceDatabase) -> None:
    e = np.eye(DIM, dtype=np.float32)
    a = db.enroll("A", e[[0, 1]], MODEL).person_id
    b = db.enroll("B", e[[2]], MODEL).person_id
    query = np.array([[0.0, 0.8, 0.6, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0, 1]], np.float32)
    top1, far = db.search(query, MODEL, k=1)
    assert [(m.person_id, m.name) for m in top1] == [(a, "A")]
    assert top1[0].similarity == pytest.approx(0.8)
    assert far[0].similarity == pytest.approx(0.0)
    both = db.search(query[:1], MODEL, k=5)[0]
    assert [(m.person_id, round(m.similarity, 4)) for m in both] == [(a, 0.8), (b, 0.6)]


def test_search_of_an_empty_database_finds_nobody(db: FaceDatabase) -> None:
    assert db.search(unit(2, 1), MODEL) == [[], []]
    with pytest.raises(ValueError, match="k must be"):
        db.search(unit(1, 1), MODEL, k=0)


def test_search_sees_writes_of_other_connections(db: FaceDatabase, db_path: Path) -> None:
    db.enroll("A", unit(1, 1), MODEL)
    assert db.matrix()[2].shape == (1, DIM)
    with FaceDatabase(db_path) as other:
        other.enroll("B", unit(1, 2), MODEL)
    assert db.matrix()[2].shape == (2, DIM)
    assert db.search(unit(1, 2), MODEL)[0][0].name == "B"


@settings(max_examples=25, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 4), min_size=1, max_size=5),
    queries=st.integers(1, 4),
    k=st.integers(1, 6),
    seed=st.integers(0, 10_000),
)
def test_search_equals_brute_force(sizes: list[int], queries: int, k: int, seed: int) -> None:
    with tempfile.TemporaryDirectory() as tmp, FaceDatabase(Path(tmp) / "g.db") as db:
        gallery = {}
        for i, n in enumerate(sizes):
            vectors = unit(n, seed + 1000 * i)
            gallery[db.enroll(f"p{i}", vectors, MODEL).person_id] = vectors
        q = unit(queries, seed + 7)
        for qi, matches in enumerate(db.search(q, MODEL, k=k)):
            best = sorted(((float(np.max(v @ q[qi])), pid) for pid, v in gallery.items()),
                          key=lambda t: -t[0])
            assert len(matches) == min(k, len(sizes))
            assert [m.similarity for m in matches] == pytest.approx(
                [s for s, _ in best[: len(matches)]], abs=1e-5)
            assert matches[0].person_id in {pid for s, pid in best if s >= best[0][0] - 1e-5}


# -- backups --------------------------------------------------------------------------------


def test_export_import_round_trip(db: FaceDatabase, tmp_path: Path) -> None:
    db.enroll("'; DROP TABLE people; --", unit(2, 1), MODEL, qualities=[0.25, 0.75],
              sources=["x.jpg", "y.jpg"], content_hashes=["h1", "h2"], attrs={"k": "v"})
    db.enroll("Zoë", unit(1, 2), MODEL)
    backup = tmp_path / "backup.jsonl"
    written = db.export(backup)
    assert (written.people, written.embeddings) == (2, 3)
    header = json.loads(backup.read_text(encoding="utf-8").splitlines()[0])
    assert (header["model_id"], header["dim"], header["format"]) == (
        MODEL, DIM, "facetrack-face-database")
    if os.name == "posix":
        assert backup.stat().st_mode & 0o777 == 0o600

    with FaceDatabase(tmp_path / "restored.db") as restored:
        done = restored.import_(backup)
        assert (done.people, done.new_people, done.embeddings, done.skipped) == (2, 2, 3, 0)
        assert [(p.name, p.attrs, p.embeddings, p.created) for p in restored.people()] == [
            (p.name, p.attrs, p.embeddings, p.created) for p in db.people()]
        assert restored.embeddings("'; DROP TABLE people; --") == db.embeddings(
            "'; DROP TABLE people; --")
        assert restored.matrix()[2].tobytes() == db.matrix()[2].tobytes()  # bit-exact
        again = restored.import_(backup)
        assert (again.new_people, again.embeddings, again.skipped) == (0, 0, 3)
        assert restored.model_id == MODEL


def test_export_never_overwrites_unless_asked(db: FaceDatabase, tmp_path: Path) -> None:
    db.enroll("Alice", unit(1, 1), MODEL)
    out = tmp_path / "b.jsonl"
    out.write_text("keep me")
    with pytest.raises(OutputError, match="already exists"):
        db.export(out)
    assert out.read_text() == "keep me"
    db.export(out, overwrite=True)
    assert out.read_text().startswith("{")
    with pytest.raises(OutputError, match="cannot write"):
        db.export(tmp_path / "missing-folder" / "b.jsonl")


def test_import_of_another_model_is_refused(db: FaceDatabase, tmp_path: Path) -> None:
    db.enroll("Alice", unit(1, 1), MODEL)
    backup = tmp_path / "b.jsonl"
    with FaceDatabase(tmp_path / "other.db") as other:
        other.enroll("Bob", unit(1, 2), "other-model:ffff")
        other.export(backup)
    with pytest.raises(ModelMismatchError, match=f"'{MODEL}'.*'other-model:ffff'"):
        db.import_(backup)
    assert [p.name for p in db.people()] == ["Alice"]


def _damage_line(path: Path, index: int, change: dict[str, object]) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[index] = json.dumps({**json.loads(lines[index]), **change})
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.mark.parametrize(("damage", "match"), [
    (lambda p: p.write_text("name,vector\n"), "not a facetrack face-database export"),
    (lambda p: p.write_bytes(b"\xff\xfe\x00"), "not a facetrack face-database export"),
    (lambda p: p.write_text(p.read_text().splitlines()[0] + "\n"), "truncated or edited"),
    (lambda p: _damage_line(p, 0, {"version": 99}), "newer than this facetrack"),
    (lambda p: _damage_line(p, 1, {"name": "a\nb"}), "line 2: name"),
    (lambda p: _damage_line(p, 1, {"embeddings": [{"vector": "AAAA", "created": "x"}]}),
     "line 2: an embedding vector has 3 bytes"),
    (lambda p: p.write_text(p.read_text() + "{not json\n"), "line 4: not valid JSON"),
])
def test_damaged_backups_are_refused_whole(db: FaceDatabase, tmp_path: Path, damage: object,
                                           match: str) -> None:
    db.enroll("Alice", unit(1, 1), MODEL)
    db.enroll("Bob", unit(1, 2), MODEL)
    backup = tmp_path / "b.jsonl"
    db.export(backup)
    damage(backup)  # type: ignore[operator]
    with FaceDatabase(tmp_path / "new.db") as fresh:
        with pytest.raises(InputError, match=match):
            fresh.import_(backup)
        assert fresh.people() == []
    with pytest.raises(InputError, match="file not found"):
        db.import_(tmp_path / "nope.jsonl")


# -- enrolment from photos: the rules, with fakes -------------------------------------------


class CountingDetector:
    """Finds as many faces as the image's first pixel value (a builder for enrolment rules);
    a value of 200 gives one face too small to count and one faint face."""

    def detect(self, frame: Frame) -> Faces:
        n = int(frame.image[0, 0, 0])
        if n == 200:
            return faces_at([[0, 0, 100, 100], [0, 0, 20, 20], [10, 10, 90, 90]],
                            [0.9, 0.9, 0.2])
        return faces_at([[10 * i, 0, 10 * i + 60, 60] for i in range(n)])


class FakeEmbedder:
    model_id = MODEL
    dim = DIM

    def embed(self, image: npt.NDArray[np.uint8], keypoints: npt.ArrayLike
              ) -> npt.NDArray[np.float32]:
        n = len(np.asarray(keypoints).reshape(-1, 5, 2))
        return np.tile(unit(1, int(image[1, 1, 1])), (n, 1))


def write_image(path: Path, faces: int, tag: int) -> Path:
    img = np.zeros((64, 64, 3), np.uint8)
    img[0, 0, 0] = faces
    img[1, 1, 1] = tag
    assert cv2.imwrite(str(path), img)
    return path


def test_enrolment_needs_exactly_one_face_per_image(db: FaceDatabase, tmp_path: Path) -> None:
    good = write_image(tmp_path / "good.png", 1, 1)
    none = write_image(tmp_path / "none.png", 0, 2)
    two = write_image(tmp_path / "two.png", 2, 3)
    with pytest.raises(InputError) as err:
        enroll_images(db, "Alice", [good, none, two], CountingDetector(), FakeEmbedder())
    message = str(err.value)
    assert "nothing enrolled" in message
    assert f"{none}: 0 faces found" in message and f"{two}: 2 faces found" in message
    assert str(good) not in message and "\n" not in message
    assert db.people() == [] and db.stats().embeddings == 0


def test_enrolment_ignores_faint_and_tiny_faces(db: FaceDatabase, tmp_path: Path) -> None:
    crowd = write_image(tmp_path / "crowd.png", 200, 1)
    result = enroll_images(db, "Alice", [crowd], CountingDetector(), FakeEmbedder())
    assert (result.added, db.embeddings("Alice")[0].source) == (1, "crowd.png")
    assert db.embeddings("Alice")[0].quality == pytest.approx(0.9 * 100 / 112, abs=1e-3)


def test_enrolment_from_a_folder_skips_known_images(db: FaceDatabase, tmp_path: Path) -> None:
    folder = tmp_path / "alice"
    folder.mkdir()
    for i in (1, 2, 10):
        write_image(folder / f"img{i}.png", 1, i)
    (folder / "notes.txt").write_text("not an image, not enrolled")
    assert [p.name for p in collect_images([folder])] == ["img1.png", "img2.png", "img10.png"]
    first = enroll_images(db, "Alice", [folder], CountingDetector(), FakeEmbedder(),
                          attrs={"team": "red"})
    assert (first.added, first.skipped) == (3, 0)
    write_image(folder / "img3.png", 1, 3)
    second = enroll_images(db, "Alice", [folder, folder / "img1.png"], CountingDetector(),
                           FakeEmbedder())
    assert (second.added, second.skipped, second.embeddings) == (1, 3, 4)
    assert db.person("Alice").attrs == {"team": "red"}


@pytest.mark.parametrize(("name", "kind", "match"), [
    ("missing.jpg", None, "file not found"),
    ("clip.mp4", "file", "not an image"),
    ("notes.txt", "file", "not an image"),
    ("empty", "folder", "folder has no images"),
])
def test_enrolment_inputs_are_checked_first(db: FaceDatabase, tmp_path: Path, name: str,
                                            kind: str | None, match: str) -> None:
    path = tmp_path / name
    if kind == "file":
        path.write_bytes(b"x")
    elif kind == "folder":
        path.mkdir()
    with pytest.raises(InputError, match=match):
        enroll_images(db, "Alice", [path], CountingDetector(), FakeEmbedder())
    assert db.people() == []


def test_undecodable_image_is_named(db: FaceDatabase, tmp_path: Path) -> None:
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8 not really a jpeg")
    with pytest.raises(InputError, match=f"{bad}: not a decodable image"):
        enroll_images(db, "Alice", [bad], CountingDetector(), FakeEmbedder())


def test_enrolment_with_another_model_is_refused_before_detection(
    db: FaceDatabase, tmp_path: Path
) -> None:
    db.enroll("Bob", unit(1, 1), "other-model:ffff")
    with pytest.raises(ModelMismatchError):
        enroll_images(db, "Alice", [write_image(tmp_path / "a.png", 1, 1)], CountingDetector(),
                      FakeEmbedder())


# -- enrolment from photos: real models on real photos --------------------------------------

ONE_FACE = ("2973812613.jpg", "2982058191.jpg", "2993129254.jpg")  # helen_300w
TWO_FACES = "134212.jpg"  # afw_300w: two people


@pytest.fixture(scope="module")
def models() -> tuple[Detector, SFaceEmbedder]:
    return make_detector(DetectorConfig()), SFaceEmbedder()


def data_file(data_dir: Path, *parts: str) -> Path:
    path = data_dir.joinpath(*parts)
    if not path.is_file():
        pytest.skip(f"{path} not in this copy of the data")
    return path


@pytest.mark.data
def test_real_photos_enrol_and_are_found_again(
    data_dir: Path, db: FaceDatabase, models: tuple[Detector, SFaceEmbedder]
) -> None:
    detector, embedder = models
    photos = [data_file(data_dir, "helen_300w", "images", n) for n in ONE_FACE]
    alice = enroll_images(db, "Alice", photos[:2], detector, embedder)
    bob = enroll_images(db, "Bob", photos[2:], detector, embedder)
    assert (alice.added, bob.added) == (2, 1)
    stats = db.stats()
    assert stats.model_id == embedder.model_id and stats.dim == 128
    infos = db.embeddings("Alice")
    assert [e.source for e in infos] == list(ONE_FACE[:2])
    assert all(0.5 < e.quality <= 1.0 for e in infos)
    assert infos[0].content_hash == hashlib.sha256(photos[0].read_bytes()).hexdigest()
    # the enrolled photo itself is its person's best match
    _, _, vectors = db.matrix()
    best = db.search(vectors, embedder.model_id)
    assert [m[0].name for m in best] == ["Alice", "Alice", "Bob"]
    assert all(m[0].similarity == pytest.approx(1.0, abs=1e-5) for m in best)
    again = enroll_images(db, "Alice", photos[:2], detector, embedder)
    assert (again.added, again.skipped) == (0, 2)


@pytest.mark.data
def test_real_photos_with_no_face_or_two_faces_enrol_nothing(
    data_dir: Path, db: FaceDatabase, models: tuple[Detector, SFaceEmbedder], tmp_path: Path
) -> None:
    detector, embedder = models
    good = data_file(data_dir, "helen_300w", "images", ONE_FACE[0])
    group = data_file(data_dir, "afw_300w", "images", TWO_FACES)
    blank = tmp_path / "blank.png"
    assert cv2.imwrite(str(blank), np.full((480, 640, 3), 255, np.uint8))
    for paths, needle in (([good, blank], f"{blank}: 0 faces found"),
                          ([group, good], f"{group}: 2 faces found")):
        with pytest.raises(InputError, match=needle.replace("\\", "\\\\")):
            enroll_images(db, "Alice", paths, detector, embedder)
        assert db.people() == [] and db.stats().embeddings == 0


@pytest.mark.data
def test_enrolment_folder_of_real_photos(
    data_dir: Path, db: FaceDatabase, models: tuple[Detector, SFaceEmbedder], tmp_path: Path
) -> None:
    detector, embedder = models
    folder = tmp_path / "alice"
    folder.mkdir()
    for name in ONE_FACE[:2]:
        shutil.copy(data_file(data_dir, "helen_300w", "images", name), folder / name)
    result = enroll_images(db, "Alice", [folder], detector, embedder)
    assert result.embeddings == 2
