"""Identity-aware tracking: `facetrack track --recognize --db` on a synth sequence with its
enrolment photos, the face filters, and the opt-in guarantee."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from facetrack import FaceTracker, TrackerConfig
from facetrack.config import RecognitionConfig
from facetrack.errors import ConfigError
from facetrack.recognition.identity import IdentityStage
from facetrack.recognition.recognizer import FaceRecognizer
from tests.builders import assert_one_line_error, faces_at, facetrack


@pytest.mark.data
@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_track_with_recognition_names_known_actors_only(data_dir: Path, tmp_path: Path,
                                                        backend: str,
                                                        request: pytest.FixtureRequest) -> None:
    """The CLI end to end, with the face database in a SQLite file and in a real PostgreSQL
    server (enrolled by `facetrack db enroll --db postgresql://...`, read by the pipeline)."""
    seq = data_dir / "synth_tracks" / "synth03"
    db: Path | str = tmp_path / "faces.db"
    if backend == "postgres":
        db = str(request.getfixturevalue("pg_url"))
    for photo in sorted((seq / "enrollment").glob("*.jpg")):
        proc = facetrack("db", "enroll", photo.stem, str(photo), "--db", str(db))
        assert proc.returncode == 0, proc.stderr
    out = tmp_path / "out"
    proc = facetrack("track", str(seq / "video.mp4"), "--out", str(out), "--recognize",
                     "--db", str(db))
    assert proc.returncode == 0, proc.stderr
    with (out / "tracks.csv").open() as fh:
        tracks = list(csv.DictReader(fh))
    named = sorted(t["person"] for t in tracks if t["person"])
    assert named == ["deepface_c05_img22", "lfw_Scott_Rudin"]
    assert all(t["identity_confirmed"] == "True" for t in tracks)
    records = [json.loads(ln) for ln in (out / "faces.jsonl").read_text().splitlines()]
    faces = [f for r in records for f in r["faces"]]
    assert all("identity" in f for f in faces)
    labelled = [f["identity"] for f in faces if f["identity"] and f["identity"]["person"]]
    assert labelled and all(i["similarity"] >= 0.333 for i in labelled)


def test_recognize_needs_a_database(tmp_path: Path) -> None:
    import cv2

    cv2.imwrite(str(tmp_path / "a.png"), np.zeros((32, 32, 3), np.uint8))
    proc = facetrack("track", str(tmp_path / "a.png"), "--out", str(tmp_path / "o"),
                     "--recognize")
    assert_one_line_error(proc, 2, "--recognize needs a face database")
    proc = facetrack("track", str(tmp_path / "a.png"), "--out", str(tmp_path / "o"),
                     "--recognize", "--db", str(tmp_path / "missing.db"))
    assert_one_line_error(proc, 2, "missing.db", "no face database here")


@pytest.mark.data
def test_recognition_is_off_by_default_and_computes_nothing(data_dir: Path) -> None:
    tracker = FaceTracker()
    assert tracker._embedder is None  # no embedding model is even loaded
    image = sorted((data_dir / "helen_300w" / "images").iterdir())[0]
    (result,) = list(tracker.track(image))
    assert len(result.faces) == 1
    assert result.faces.embedding is None and result.faces.identity is None
    assert tracker.embeddings_computed == 0


def test_enabled_without_database_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"needs recognition\.database"):
        RecognitionConfig(enabled=True)
    cfg = tmp_path / "c.yaml"
    cfg.write_text("recognition:\n  enabled: true\n")
    with pytest.raises(ConfigError, match=r"needs recognition\.database"):
        TrackerConfig.from_yaml(cfg)


@pytest.fixture(scope="module")
def track_recognizer() -> IdentityStage:
    cfg = RecognitionConfig(zone=[(0, 0), (300, 0), (300, 300), (0, 300)])
    return IdentityStage(FaceRecognizer(cfg), cfg, credence_count=2)


def test_filters_decide_who_is_embedded(track_recognizer: IdentityStage) -> None:
    boxes = [[10, 10, 110, 130],   # ok
             [10, 10, 30, 30],     # too small
             [400, 10, 500, 130],  # outside the zone
             [150, 10, 250, 130],  # turned away
             [10, 150, 110, 270]]  # blurred
    f = faces_at(boxes).replace(track_id=np.arange(1, 6))
    f = f.with_attrs(
        analysed=np.ones(5, bool),
        head_pose=np.array([[5, 0, 0], [0, 0, 0], [0, 0, 0], [80, 0, 0], [0, 0, 0]],
                           np.float32),
        sharpness=np.array([0.8, 0.8, 0.8, 0.8, 0.01], np.float32),
    )
    assert track_recognizer.eligible(f).tolist() == [True, False, False, False, False]
    untracked = f.replace(track_id=np.full(5, -1))
    assert not track_recognizer.eligible(untracked).any()


@pytest.mark.data
def test_enrol_largest_face_only_when_clearly_the_subject(data_dir: Path, tmp_path: Path
                                                          ) -> None:
    """A photo with a second, much smaller face: refused by default, enrolled with --largest;
    a group photo of similar faces stays refused even with --largest."""
    photo = data_dir / "synth_tracks" / "synth04" / "enrollment" / "deepface_c06_img29.jpg"
    db = tmp_path / "faces.db"
    proc = facetrack("db", "enroll", "someone", str(photo), "--db", str(db))
    assert_one_line_error(proc, 2, "2 faces found")
    proc = facetrack("db", "enroll", "someone", str(photo), "--db", str(db), "--largest")
    assert proc.returncode == 0, proc.stderr
    group = json.loads((data_dir / "afw_300w" / "annotations.json").read_text())
    many = next(g for g in group if len(g["faces"]) >= 3)
    proc = facetrack("db", "enroll", "group", str(data_dir / "afw_300w" / many["image"]),
                     "--db", str(db), "--largest")
    assert proc.returncode == 2
