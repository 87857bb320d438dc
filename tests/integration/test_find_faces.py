"""find_faces_in_file, grouping re-entering people, and enrolment from a clip (--track)."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from facetrack.cli import app
from facetrack.config import TrackerConfig
from facetrack.errors import InputError
from facetrack.pipeline.jobs import find_faces_in_file
from facetrack.recognition.clip_enrol import choose_tracks
from facetrack.recognition.gallery import FaceDatabase
from facetrack.recognition.grouping import (
    FoundFace,
    Sample,
    group_tracks,
    pick_samples,
    representatives,
)


def _unit(v: list[float]) -> np.ndarray:
    a = np.asarray(v, np.float32)
    return a / np.linalg.norm(a)


def _sample(frame: int, quality: float, vec: list[float], digest: str | None = None) -> Sample:
    return Sample(frame, frame / 25, quality, 0.0, 0.0, _unit(vec), digest or f"h{frame}")


def _found(tid: int, first: int, last: int, vec: list[float] | None, *, person: int = -1,
           confirmed: bool = False) -> FoundFace:
    f = FoundFace(tid, first, last, first / 25, last / 25, last - first + 1,
                  person_id=person, confirmed=confirmed)
    if vec is not None:
        f.samples = [_sample(first, 0.9, vec)]
    return f


# -- units -----------------------------------------------------------------------------------


def test_representatives_are_at_most_k_unit_vectors() -> None:
    rng = np.random.default_rng(0)
    a, b = _unit([1, 0, 0, 0]), _unit([0, 1, 0, 0])
    vectors = [(a if i % 2 else b) + rng.normal(0, 0.05, 4).astype(np.float32)
               for i in range(40)]
    reps = representatives(vectors, 2)
    assert reps.shape == (2, 4)
    np.testing.assert_allclose(np.linalg.norm(reps, axis=1), 1.0, atol=1e-5)
    # the two clusters are found: each true direction has a close centre
    assert max(reps @ a) > 0.98 and max(reps @ b) > 0.98
    few = representatives(vectors[:3], 5)
    assert few.shape == (3, 4)
    assert representatives([], 5).shape == (0, 0)


def test_pick_samples_keeps_the_best_of_each_look_and_skips_duplicates() -> None:
    samples = [
        _sample(1, 0.5, [1, 0, 0]), _sample(2, 0.9, [1, 0.05, 0]),
        _sample(3, 0.8, [0, 1, 0]), _sample(4, 0.7, [0, 1, 0.05]),
        _sample(5, 0.95, [1, 0.02, 0], digest="h2"),  # same crop as frame 2: a duplicate
        _sample(6, 0.1, [0, 0, 1]), _sample(7, 0.2, [0, 0.1, 1]),
    ]
    chosen = pick_samples(samples, 2)
    assert [s.frame for s in chosen] == [2, 3]  # best of each direction, low-quality ones out
    assert len({s.content_hash for s in pick_samples(samples, 10)}) == 6


def test_grouping_joins_a_returning_face_but_never_two_at_once() -> None:
    found = [
        _found(1, 0, 100, [1, 0, 0]),
        _found(2, 50, 150, [1, 0.01, 0]),   # same look but on screen with track 1
        _found(3, 200, 300, [1, 0.02, 0]),  # comes back after both left
        _found(4, 0, 300, [0, 1, 0]),       # someone else
        _found(5, 400, 420, None),          # never embedded: its own person
    ]
    group_tracks(found, 0.5)
    g = {f.track_id: f.group for f in found}
    assert g[1] != g[2]
    assert g[3] in (g[1], g[2])
    assert len({g[4], g[1], g[5]}) == 3
    assert found[0].group == 1  # numbered in order of first appearance


def test_grouping_follows_identity_and_keeps_two_enrolled_people_apart() -> None:
    found = [
        _found(1, 0, 10, [1, 0, 0], person=7, confirmed=True),
        _found(2, 20, 30, [1, 0, 0], person=8, confirmed=True),  # same look, other person
        _found(3, 40, 50, [0, 1, 0], person=7, confirmed=True),  # other look, same person
    ]
    group_tracks(found, 0.5)
    assert found[0].group == found[2].group != found[1].group


def test_grouping_does_not_chain_look_alikes() -> None:
    """A looks a bit like B and B a bit like C, but A and C are far apart: average linkage
    joins at most one pair, never all three."""
    a, c = [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]
    b = [0.7, 0.7, 0.0]  # cosine 0.71 to both, A.C = 0
    found = [_found(1, 0, 10, a), _found(2, 20, 30, b), _found(3, 40, 50, c)]
    group_tracks(found, 0.6)
    assert len({f.group for f in found}) >= 2
    assert found[0].group != found[2].group


def test_grouping_never_joins_two_people_through_a_confirmed_unknown() -> None:
    """Track 2 is confirmed *unknown*; it must not let enrolled 7 and 8 end up together."""
    v = [1.0, 0.0, 0.0]
    found = [
        _found(1, 0, 10, v, person=7, confirmed=True),
        _found(2, 20, 30, v, person=-1, confirmed=True),
        _found(3, 40, 50, v, person=8, confirmed=True),
    ]
    group_tracks(found, 0.5)
    assert found[0].group != found[2].group


def test_kmeans_on_identical_vectors_is_quiet_and_small() -> None:
    """A freeze-frame gives identical vectors: no warning (warnings are errors in the tests),
    one representative, one sample."""
    same = [_unit([1, 2, 3])] * 12
    assert representatives(same, 5).shape == (1, 3)
    samples = [Sample(i, i / 25, 0.5, 0, 0, _unit([1, 2, 3]), f"h{i}") for i in range(12)]
    assert len(pick_samples(samples, 5)) == 1


def test_choose_tracks_ignores_tracks_never_embedded() -> None:
    one = [_found(1, 0, 100, [1, 0]), _found(2, 120, 125, None)]
    one[0].group, one[1].group = 1, 2
    assert [f.track_id for f in choose_tracks(one, "c.mp4", None, False, 1.5)] == [1]


def test_choose_tracks_errors_name_the_tracks() -> None:
    two = [_found(1, 0, 10, [1, 0]), _found(2, 0, 10, [0, 1])]
    two[0].group, two[1].group = 1, 2
    with pytest.raises(InputError, match=r"2 people in this clip: track 1 .*--track"):
        choose_tracks(two, "c.mp4", None, False, 1.5)
    with pytest.raises(InputError, match=r"no track 9; its tracks are 1, 2"):
        choose_tracks(two, "c.mp4", 9, False, 1.5)
    with pytest.raises(InputError, match="no face was tracked"):
        choose_tracks([], "c.mp4", None, False, 1.5)
    assert [f.track_id for f in choose_tracks(two, "c.mp4", 2, False, 1.5)] == [2]
    # --largest: only a clearly dominant person
    with pytest.raises(InputError, match="none clearly the main one"):
        choose_tracks(two, "c.mp4", None, True, 1.5)
    two[0].samples = two[0].samples * 3
    assert [f.track_id for f in choose_tracks(two, "c.mp4", None, True, 1.5)] == [1]


# -- end to end on synth_tracks -------------------------------------------------------------


@pytest.fixture(scope="module")
def synth01(data_dir: Path) -> Path:
    return data_dir / "synth_tracks" / "synth01"


@pytest.fixture(scope="module")
def found01(synth01: Path) -> list[FoundFace]:
    return find_faces_in_file(synth01 / "video.mp4")


def _reentry(seq: Path) -> dict[str, int]:
    info = json.loads((seq / "seqinfo.json").read_text())
    return info["events"]["exits_reentries"][0]  # type: ignore[no-any-return]


@pytest.mark.data
def test_find_faces_reports_spans_crops_and_representatives(found01: list[FoundFace],
                                                            synth01: Path) -> None:
    assert found01, "no track found"
    for f in found01:
        assert 0 <= f.first_frame <= f.last_frame < 300
        assert f.end_s >= f.start_s and 0 < f.frames <= f.last_frame - f.first_frame + 1
        assert 1 <= len(f.crops) <= 3 and all(c.ndim == 3 and c.size for c in f.crops)
        assert all(f.first_frame <= i <= f.last_frame for i in f.crop_frames)
        assert f.samples, f"track {f.track_id} never embedded"
        k = f.representatives.shape[0]
        assert 1 <= k <= min(5, len(f.samples)) and f.representatives.shape[1] == 128
        np.testing.assert_allclose(np.linalg.norm(f.representatives, axis=1), 1, atol=1e-4)
        assert f.person_id == -1 and math.isnan(f.similarity)  # no database: all unknown
    # 4 actors on screen; the one who leaves and comes back is one person, two tracks
    event = _reentry(synth01)
    assert len({f.group for f in found01}) == 4
    before = [f for f in found01 if f.last_frame < event["reappears"] - 1]
    after = [f for f in found01 if f.first_frame >= event["last_visible"]]
    assert before and after
    assert {f.group for f in before} & {f.group for f in after}


@pytest.mark.data
def test_track_ids_match_facetrack_track(found01: list[FoundFace], synth01: Path,
                                         tmp_path: Path) -> None:
    """`--track ID` refers to the ids `facetrack track` prints for the same clip."""
    res = CliRunner().invoke(app, ["track", str(synth01 / "video.mp4"), "--out",
                                   str(tmp_path), "-q"])
    assert res.exit_code == 0, res.output
    with (tmp_path / "tracks.csv").open() as fh:
        rows = {int(r["track_id"]): r for r in csv.DictReader(fh)}
    assert sorted(rows) == [f.track_id for f in found01]
    for f in found01:
        assert int(rows[f.track_id]["first_frame"]) == f.first_frame
        assert int(rows[f.track_id]["last_frame"]) == f.last_frame


@pytest.mark.data
def test_find_faces_names_enrolled_people(synth01: Path, tmp_path: Path) -> None:
    db_path = tmp_path / "faces.db"
    runner = CliRunner()
    for photo in sorted((synth01 / "enrollment").glob("*.jpg")):
        res = runner.invoke(app, ["db", "enroll", photo.stem, str(photo), "--db", str(db_path),
                                  "--largest"])
        assert res.exit_code == 0, res.output
    found = find_faces_in_file(synth01 / "video.mp4", database=db_path)
    named = {f.name for f in found if f.confirmed and f.person_id >= 0}
    with (synth01 / "identities.csv").open() as fh:
        known = {r["person"] for r in csv.DictReader(fh) if r["known"] == "1"}
    assert named == known
    with pytest.raises(InputError, match="face database not found"):
        find_faces_in_file(synth01 / "video.mp4", database=tmp_path / "nope.db")


@pytest.mark.data
def test_enrol_a_chosen_track_of_a_clip(found01: list[FoundFace], synth01: Path,
                                        tmp_path: Path) -> None:
    """Enrol the re-entering actor from their first track; they are then recognised on their
    second track by `facetrack track --recognize`. Enrolling the same clip again adds
    nothing (same crops, same hashes)."""
    video = synth01 / "video.mp4"
    event = _reentry(synth01)
    first = next(f for f in found01 if f.last_frame < event["reappears"] - 1)
    second = next(f for f in found01 if f.group == first.group and f is not first)
    db_path = tmp_path / "faces.db"
    runner = CliRunner()
    res = runner.invoke(app, ["db", "enroll", "walker", str(video), "--track",
                              str(first.track_id), "--db", str(db_path), "-q"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["added"] == 5 and out["new_person"]
    with FaceDatabase(db_path, create=False) as db:
        sources = [e.source for e in db.embeddings("walker")]
    assert all(s is not None and s.startswith("video.mp4@") for s in sources)
    times = sorted(float(s.split("@")[1].rstrip("s")) for s in sources if s)
    assert times[0] >= first.start_s - 1e-6 and times[-1] <= first.end_s + 1e-6
    again = runner.invoke(app, ["db", "enroll", "walker", str(video), "--track",
                                str(first.track_id), "--db", str(db_path), "-q"])
    assert again.exit_code == 0 and json.loads(again.output)["added"] == 0

    res = runner.invoke(app, ["track", str(video), "--out", str(tmp_path / "o"), "-q",
                              "--recognize", "--db", str(db_path)])
    assert res.exit_code == 0, res.output
    with (tmp_path / "o" / "tracks.csv").open() as fh:
        rows = {int(r["track_id"]): r for r in csv.DictReader(fh)}
    assert rows[second.track_id]["person"] == "walker"
    others = [r for t, r in rows.items() if t not in (first.track_id, second.track_id)]
    assert all(r["person"] != "walker" for r in others)


@pytest.mark.data
def test_clip_enrolment_errors(synth01: Path, tmp_path: Path, data_dir: Path) -> None:
    video = synth01 / "video.mp4"
    db_path = tmp_path / "faces.db"
    runner = CliRunner()
    res = runner.invoke(app, ["db", "enroll", "x", str(video), "--db", str(db_path), "-q"])
    assert res.exit_code == 2 and isinstance(res.exception, SystemExit)
    assert res.output.startswith("error: video.mp4: 4 people in this clip")
    assert "--track" in res.output and len(res.output.strip().splitlines()) == 1
    res = runner.invoke(app, ["db", "enroll", "x", str(video), "--track", "99", "--db",
                              str(db_path), "-q"])
    assert res.exit_code == 2 and "no track 99" in res.output
    # a clip plus a bad photo: all or nothing, the clip's embeddings are not written
    blank = tmp_path / "blank.png"
    import cv2

    cv2.imwrite(str(blank), np.full((120, 120, 3), 90, np.uint8))
    res = runner.invoke(app, ["db", "enroll", "x", str(blank), str(video), "--db",
                              str(db_path), "-q", "--largest"])
    assert res.exit_code == 2 and "blank.png: 0 faces found" in res.output
    res = runner.invoke(app, ["db", "enroll", "x", str(video), str(video), "--track", "1",
                              "--db", str(db_path), "-q"])
    assert res.exit_code == 2 and "one clip" in res.output
    # a good photo, then a clip that fails (several people, no --track): the photo is not
    # written either
    photo = sorted((synth01 / "enrollment").glob("*.jpg"))[0]
    res = runner.invoke(app, ["db", "enroll", "x", str(photo), str(video), "--db",
                              str(db_path), "-q"])
    assert res.exit_code == 2 and "people in this clip" in res.output, res.output
    with FaceDatabase(db_path) as db:
        assert db.people() == []


def test_find_faces_bad_input(tmp_path: Path) -> None:
    from facetrack.errors import FacetrackError

    with pytest.raises(FacetrackError):
        find_faces_in_file(tmp_path / "missing.mp4", TrackerConfig())
    with pytest.raises(ValueError, match="max_representatives"):
        find_faces_in_file(tmp_path / "missing.mp4", max_representatives=0)
