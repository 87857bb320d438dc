"""The approximate search index (recognition.ann) against exact search, on small galleries of
person-clustered embeddings, and kept in step with a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from facetrack.errors import ConfigError
from facetrack.recognition.ann import PersonIndex
from facetrack.recognition.gallery import FaceDatabase
from facetrack.recognition.index import Match, VectorIndex

DIM = 128
MODEL = "test-model:0123456789ab"
Floats = npt.NDArray[np.float32]
Ints = npt.NDArray[np.int64]


def unit(x: Floats) -> Floats:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def views(rng: np.random.Generator, centres: Floats) -> Floats:
    """New photos of people: cosine 0.6-0.9 to their centre, 0.35-0.85 to each other
    (SFace's same-person range)."""
    spread = rng.uniform(0.4, 1.3, (len(centres), 1)).astype(np.float32)
    noise = rng.standard_normal(centres.shape, dtype=np.float32) / np.sqrt(DIM)
    return unit(centres + spread * noise)


def gallery(people: int, seed: int = 0) -> tuple[Ints, Ints, Floats, Floats]:
    """``ids``, ``person_ids`` (1..people, 1-6 photos each), ``vectors``, people's centres."""
    rng = np.random.default_rng(seed)
    centres = unit(rng.standard_normal((people, DIM), dtype=np.float32))
    person_ids = np.repeat(np.arange(1, people + 1), rng.integers(1, 7, people))
    vectors = views(rng, centres[person_ids - 1])
    return np.arange(10, 10 + len(person_ids)), person_ids, vectors, centres


def exact(ids: Ints, person_ids: Ints, vectors: Floats) -> VectorIndex:
    order = np.argsort(person_ids, kind="stable")
    ids, person_ids, vectors = ids[order], person_ids[order], vectors[order]
    starts = np.flatnonzero(np.r_[True, person_ids[1:] != person_ids[:-1]])
    names = {int(p): f"p{p}" for p in person_ids}
    return VectorIndex(ids, person_ids, vectors, starts, person_ids[starts], names)


def approximate(ids: Ints, person_ids: Ints, vectors: Floats, shortlist: int = 16
                ) -> PersonIndex:
    index = PersonIndex(DIM, {int(p): f"p{p}" for p in person_ids}, shortlist=shortlist)
    index.add(ids, person_ids, vectors)
    return index


def top(matches: list[list[Match]]) -> list[int]:
    return [m[0].person_id for m in matches]


def test_recall_against_exact_and_similarities_are_exact() -> None:
    ids, person_ids, vectors, centres = gallery(400)
    queries = views(np.random.default_rng(1), centres[np.arange(0, 400, 2)])
    truth = exact(ids, person_ids, vectors).search(queries, 3)
    got = approximate(ids, person_ids, vectors).search(queries, 3)
    agree = np.mean(np.array(top(got)) == np.array(top(truth)))
    assert agree >= 0.97, agree
    exact_sim = {(i, m.person_id): m.similarity for i, row in enumerate(truth) for m in row}
    for i, row in enumerate(got):
        for m in row:  # a returned similarity is the person's exact best cosine
            best = float((vectors[person_ids == m.person_id] @ queries[i]).max())
            assert m.similarity == pytest.approx(best, abs=1e-5)
            if (i, m.person_id) in exact_sim:
                assert m.similarity == pytest.approx(exact_sim[i, m.person_id], abs=1e-5)


def test_with_every_person_a_candidate_it_answers_as_exact_search() -> None:
    ids, person_ids, vectors, centres = gallery(60, seed=2)
    queries = np.concatenate([views(np.random.default_rng(3), centres), vectors[:20]])
    truth = exact(ids, person_ids, vectors).search(queries, 5)
    got = approximate(ids, person_ids, vectors, shortlist=10**4).search(queries, 5)
    assert [[m.person_id for m in r] for r in got] == [[m.person_id for m in r] for r in truth]
    assert np.allclose([[m.similarity for m in r] for r in got],
                       [[m.similarity for m in r] for r in truth], atol=1e-5)


def test_added_in_steps_equals_built_at_once_and_removed_never_returned() -> None:
    ids, person_ids, vectors, _ = gallery(200, seed=4)
    whole = approximate(ids, person_ids, vectors)
    steps = approximate(ids[:100], person_ids[:100], vectors[:100])
    steps.names = whole.names
    for chunk in np.array_split(np.arange(100, len(ids)), 7):
        steps.add(ids[chunk], person_ids[chunk], vectors[chunk])
    assert np.array_equal(steps.ids, whole.ids)
    assert top(steps.search(vectors, 1)) == top(whole.search(vectors, 1))
    with pytest.raises(ValueError, match="already"):
        steps.add(ids[:1], person_ids[:1], vectors[:1])
    # remove one embedding of a person, then the rest of them: each query of their own
    # embeddings (similarity 1 to them) must stop returning what was removed
    victim = int(person_ids[ids == ids[len(ids) // 2]][0])
    theirs = ids[person_ids == victim]
    steps.remove(theirs[:1])
    assert len(steps) == len(ids) - 1
    left = steps.search(vectors[person_ids == victim], 1)
    assert all(m[0].similarity < 0.9999 or m[0].person_id == victim for m in left)
    steps.remove(theirs)
    assert victim not in {m.person_id for r in steps.search(vectors, 5) for m in r}
    assert steps.people == whole.people - 1
    got_ids, got_people, got_vectors = steps.arrays()
    assert victim not in got_people and len(got_ids) == len(ids) - len(theirs)
    assert np.array_equal(got_vectors[got_ids == ids[0]][0], vectors[0])


def test_empty_index_and_bad_mode() -> None:
    index = PersonIndex(DIM, {})
    assert index.search(np.zeros((2, DIM), np.float32), 1) == [[], []]
    index.remove(np.array([1, 2], np.int64))  # unknown ids: nothing to do
    with pytest.raises(ConfigError, match="expected auto, exact or approximate"):
        FaceDatabase("unused.db", index="nearest")  # type: ignore[arg-type]


# -- through FaceDatabase: kept in step with what any connection writes --------------------


@pytest.fixture(params=["sqlite", "postgres"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield (request.getfixturevalue("pg_url") if request.param == "postgres"
           else str(tmp_path / "faces.db"))


def test_database_index_follows_enrolments_renames_and_removals(target: str) -> None:
    _, person_ids, vectors, centres = gallery(40, seed=5)
    with FaceDatabase(target, key=None) as writer, \
            FaceDatabase(target, key=None, index="approximate", read_only=True) as reader:
        for p in range(1, 31):
            writer.enroll(f"p{p}", vectors[person_ids == p], MODEL)
        queries = views(np.random.default_rng(6), centres)
        first = reader.search(queries[:30], MODEL)
        assert isinstance(reader._search._index, PersonIndex)
        loaded = reader._search._index
        # another connection enrols, renames and removes: the same index object is synced
        for p in range(31, 41):
            writer.enroll(f"p{p}", vectors[person_ids == p], MODEL)
        writer.rename("p3", "Carol")
        removed = writer.remove("p7")
        got = reader.search(queries, MODEL)
        assert reader._search._index is loaded
        assert removed.person_id not in {m[0].person_id for m in got}
        assert "p3" not in {m[0].name for m in got}
        assert "Carol" in {m[0].name for m in got}
        with FaceDatabase(target, key=None, index="exact", read_only=True) as plain:
            truth = plain.search(queries, MODEL)
            assert [m[0].name for m in got] == [m[0].name for m in truth]
            ids, people, vecs = reader.matrix()
            want = plain.matrix()
            assert np.array_equal(ids, want[0]) and np.array_equal(people, want[1])
            assert np.array_equal(vecs, want[2])
        assert [m[0].name for m in first][:2] == [m[0].name for m in got][:2]


def test_auto_is_exact_below_the_size_and_approximate_from_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from facetrack.recognition import search

    monkeypatch.setattr(search, "AUTO_MIN", 20)
    vectors = gallery(10, seed=7)[2]
    with FaceDatabase(tmp_path / "faces.db", key=None) as db:
        db.enroll("p1", vectors[:19], MODEL)
        db.search(vectors[:1], MODEL)
        assert isinstance(db._search._index, VectorIndex)
        db.enroll("p2", vectors[19:20], MODEL)
        assert db.search(vectors[19:20], MODEL)[0][0].name == "p2"
        assert isinstance(db._search._index, PersonIndex)


def test_approximate_without_faiss_is_refused_in_one_line(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "faiss", None)  # import faiss -> ImportError
    with pytest.raises(ConfigError, match=r"pip install 'facetrack\[large-gallery\]'"):
        FaceDatabase("unused.db", index="approximate")
