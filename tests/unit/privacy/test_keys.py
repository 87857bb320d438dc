"""Templates encrypted at rest: a database made with a key stores no plain vector, searches
as before, refuses a missing or wrong key in one line, exports encrypted, and is re-keyed (or
decrypted) in one transaction leaving no old ciphertext; on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from facetrack.errors import DatabaseError, InputError
from facetrack.privacy.keys import TemplateKey, load_key, new_key, parse_key
from facetrack.recognition.gallery import FaceDatabase

MODEL = "test-model"


def _key() -> TemplateKey:
    return parse_key(new_key(), "test")


def _vectors(seed: int, k: int = 3) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=(k, 16)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


@pytest.fixture(params=["sqlite", "postgres"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield (str(request.getfixturevalue("pg_url")) if request.param == "postgres"
           else str(tmp_path / "faces.db"))


def _raw_vectors(target: str) -> list[bytes]:
    import sqlalchemy as sa

    url = target.replace("postgresql://", "postgresql+psycopg://") if "://" in target \
        else f"sqlite:///{target}"
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = [bytes(r[0]) for r in conn.exec_driver_sql("SELECT vector FROM embeddings")]
    engine.dispose()
    return rows


def test_encrypted_templates_search_alike_and_need_their_key(target: str) -> None:
    key, ann = _key(), _vectors(1)
    with FaceDatabase(target, key=key) as db:
        db.enroll("ann", ann, MODEL)
        db.enroll("bob", _vectors(2), MODEL)
        best = db.search(ann[:1], MODEL)[0][0]
        assert best.name == "ann" and best.similarity == pytest.approx(1.0, abs=1e-5)
    raw = _raw_vectors(target)
    assert len(raw) == 6 and all(r.startswith(b"FTE1") for r in raw)
    assert not any(v.astype("<f4").tobytes() in r for v in ann for r in raw)
    with pytest.raises(DatabaseError, match="encrypted: give its key"):
        FaceDatabase(target, key=None).open()
    with pytest.raises(DatabaseError, match="not the face database's key"):
        FaceDatabase(target, key=_key()).open()


def test_rekey_and_decrypt_in_one_go(target: str) -> None:
    first, second = _key(), _key()
    with FaceDatabase(target, key=None) as db:
        db.enroll("ann", _vectors(1), MODEL)
    with pytest.raises(DatabaseError, match="unencrypted embeddings"):
        FaceDatabase(target, key=first).open()
    with FaceDatabase(target, key=None) as db:
        assert db.rekey(first) == 3
    old = _raw_vectors(target)
    with FaceDatabase(target, key=first) as db:
        assert db.rekey(second) == 3
        assert db.search(_vectors(1)[:1], MODEL)[0][0].name == "ann"
    assert not set(old) & set(_raw_vectors(target))
    with FaceDatabase(target, key=second) as db:
        db.rekey(None)
    with FaceDatabase(target, key=None) as db:
        assert db.search(_vectors(1)[:1], MODEL)[0][0].name == "ann"
    assert not any(r.startswith(b"FTE1") for r in _raw_vectors(target))


def test_exports_of_an_encrypted_database_are_encrypted(tmp_path: Path) -> None:
    key = _key()
    with FaceDatabase(tmp_path / "a.db", key=key) as db:
        db.enroll("ann", _vectors(1), MODEL)
        db.export(tmp_path / "ann.jsonl")
    data = (tmp_path / "ann.jsonl").read_bytes()
    assert data.startswith(b"facetrack-encrypted-export") and b'"ann"' not in data
    with FaceDatabase(tmp_path / "b.db", key=key) as db:
        assert db.import_(tmp_path / "ann.jsonl").embeddings == 3
    with FaceDatabase(tmp_path / "c.db", key=None) as db, pytest.raises(
            InputError, match="export is encrypted"):
        db.import_(tmp_path / "ann.jsonl")
    with FaceDatabase(tmp_path / "d.db", key=_key()) as db, pytest.raises(
            InputError, match="wrong key"):
        db.import_(tmp_path / "ann.jsonl")


def test_keys_come_from_a_file_or_the_environment(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FACETRACK_DB_KEY_FILE", raising=False)
    monkeypatch.delenv("FACETRACK_DB_KEY", raising=False)
    assert load_key() is None
    text = new_key()
    (tmp_path / "k").write_text(text)
    assert load_key(tmp_path / "k") == parse_key(text, "x")
    monkeypatch.setenv("FACETRACK_DB_KEY", text)
    assert load_key() == parse_key(text, "x")
    assert "TemplateKey(id=" in repr(load_key()) and text not in repr(load_key())
    for bad in ("not base64!", base64.b64encode(b"short").decode()):
        with pytest.raises(InputError):
            parse_key(bad, "k")
    with pytest.raises(InputError, match="cannot read the key file"):
        load_key(tmp_path / "missing")
