"""Tracker scenarios over small builders: each row is a story of boxes over frames."""

from __future__ import annotations

import numpy as np
import pytest

from facetrack.config import TrackingConfig
from facetrack.faces import Faces
from facetrack.tracking import FaceTrackerCore, IdAllocator
from tests.builders import faces_at, make_frame


def run(tracker: FaceTrackerCore, boxes_per_frame: list[list[list[float]]],
        scores: list[list[float]] | None = None, start: int = 0) -> list[Faces]:
    out = []
    for i, boxes in enumerate(boxes_per_frame):
        s = scores[i] if scores else None
        faces = faces_at(boxes, s) if boxes else Faces.empty()
        out.append(tracker.update(make_frame(start + i), faces))
    return out


def moving(x0: float, y0: float, dx: float, n: int, size: float = 60) -> list[list[float]]:
    return [[x0 + dx * i, y0, x0 + dx * i + size, y0 + size] for i in range(n)]


def test_single_face_gets_one_id_after_credence() -> None:
    tr = FaceTrackerCore(TrackingConfig(credence_count=3), appearance=None)
    out = run(tr, [[b] for b in moving(100, 100, 5, 20)])
    assert [len(o) for o in out[:2]] == [0, 0]  # not yet confirmed: nothing emitted
    assert all(len(o) == 1 for o in out[2:])
    assert {int(o.track_id[0]) for o in out[2:]} == {1}


def test_one_frame_false_positive_is_never_emitted() -> None:
    tr = FaceTrackerCore(TrackingConfig(credence_count=2), appearance=None)
    frames = [[b] for b in moving(100, 100, 2, 10)]
    frames[5] = [*frames[5], [600, 400, 650, 450]]
    out = run(tr, frames)
    assert all(set(o.track_id.tolist()) <= {1} for o in out)


@pytest.mark.parametrize(("gap", "same_id"), [(5, True), (40, True), (80, False)])
def test_occlusion_shorter_than_buffer_keeps_id(gap: int, same_id: bool) -> None:
    cfg = TrackingConfig(credence_count=2, lost_track_buffer=50)
    tr = FaceTrackerCore(cfg, appearance=None)
    path = moving(100, 100, 0, 10 + gap + 10)
    frames = [[b] for b in path]
    for i in range(10, 10 + gap):
        frames[i] = []
    out = run(tr, frames)
    before, after = int(out[9].track_id[0]), int(out[-1].track_id[0])
    assert (before == after) is same_id
    if not same_id:
        assert after > before  # ids are never reused


def test_face_hidden_behind_another_keeps_its_id() -> None:
    """A small far face passes behind a large near one (not detected while they overlap);
    sizes and motion keep them apart."""
    tr = FaceTrackerCore(TrackingConfig(credence_count=2), appearance=None)
    a = moving(100, 200, 8, 60, size=120)
    b = moving(600, 230, -8, 60, size=50)
    frames = []
    for i in range(60):
        boxes = [a[i]]
        # the far face is hidden while it overlaps the near one
        from facetrack.geometry import iou_matrix
        if iou_matrix([a[i]], [b[i]])[0, 0] == 0:
            boxes.append(b[i])
        frames.append(boxes)
    out = run(tr, frames)
    first = {round(float(o.xyxy[k, 2] - o.xyxy[k, 0])): int(o.track_id[k])
             for o in out[2:3] for k in range(len(o))}
    last = {round(float(o.xyxy[k, 2] - o.xyxy[k, 0])): int(o.track_id[k])
            for o in out[-1:] for k in range(len(o))}
    assert first == last == {120: 1, 50: 2}


def test_skipped_frames_coast_on_motion() -> None:
    """Told that 5 frames were skipped, the tracker predicts further and keeps the id."""
    tr = FaceTrackerCore(TrackingConfig(credence_count=2, match_iou=0.3), appearance=None)
    path = moving(100, 100, 12, 40, size=60)
    out = [tr.update(make_frame(i), faces_at([path[i]])) for i in range(10)]
    out.append(tr.update(make_frame(15), faces_at([path[15]])))
    assert int(out[-1].track_id[0]) == int(out[9].track_id[0])


def test_time_going_backwards_is_rejected() -> None:
    tr = FaceTrackerCore(TrackingConfig(), appearance=None)
    tr.update(make_frame(5), Faces.empty())
    with pytest.raises(ValueError, match="backwards"):
        tr.update(make_frame(5), Faces.empty())


def test_shared_allocator_never_shares_ids_and_separate_ones_are_independent() -> None:
    shared = IdAllocator()
    a = FaceTrackerCore(TrackingConfig(credence_count=1), new_id=shared, appearance=None)
    b = FaceTrackerCore(TrackingConfig(credence_count=1), new_id=shared, appearance=None)
    ida = run(a, [[[0, 0, 50, 50]]])[0].track_id.tolist()
    idb = run(b, [[[0, 0, 50, 50]]])[0].track_id.tolist()
    assert ida != idb
    c = FaceTrackerCore(TrackingConfig(credence_count=1), appearance=None)
    assert run(c, [[[0, 0, 50, 50]]])[0].track_id.tolist() == [1]


def test_low_score_detection_extends_but_never_starts_a_track() -> None:
    cfg = TrackingConfig(credence_count=1, high_score=0.5, new_track_score=0.6)
    tr = FaceTrackerCore(cfg, appearance=None)
    path = moving(100, 100, 3, 6)
    scores = [[0.9], [0.9], [0.2], [0.2], [0.9], [0.9]]
    out = run(tr, [[b] for b in path], scores)
    assert all(o.track_id.tolist() == [1] for o in out)
    tr2 = FaceTrackerCore(cfg, appearance=None)
    assert all(len(o) == 0 for o in run(tr2, [[b] for b in path], [[0.3]] * 6))


def test_appearance_resumes_track_after_occlusion_away_from_prediction() -> None:
    """The face vanishes while moving right and reappears where it vanished: motion alone would
    look for it further right; its colours bring the id back."""
    rng = np.random.default_rng(0)
    desc = rng.random(96).astype(np.float32)
    desc /= np.linalg.norm(desc)
    tr = FaceTrackerCore(TrackingConfig(credence_count=2),
                         appearance=lambda frame, faces: np.tile(desc, (len(faces), 1)))
    path = moving(100, 100, 6, 10)
    out = run(tr, [[b] for b in path])
    for i in range(10, 30):
        tr.update(make_frame(i), Faces.empty())
    back = tr.update(make_frame(30), faces_at([path[9]]))
    back = tr.update(make_frame(31), faces_at([path[9]]))
    assert back.track_id.tolist() == out[9].track_id.tolist()


def test_overlapping_crossing_with_appearance_from_pixels() -> None:
    """Two same-size faces of different colours cross with both detected while they overlap:
    each id stays on its own face."""
    from facetrack.frames import Frame
    from facetrack.tracking.appearance import colour_histogram

    tr = FaceTrackerCore(TrackingConfig(credence_count=2), appearance=colour_histogram)
    ids_by_colour: dict[str, set[int]] = {"red": set(), "blue": set()}
    for i in range(50):
        img = np.zeros((300, 700, 3), np.uint8)
        red = [100 + 10 * i, 100, 180 + 10 * i, 180]
        blue = [600 - 10 * i, 110, 680 - 10 * i, 190]
        img[100:180, red[0]:red[2]] = (30, 30, 220)
        img[110:190, max(0, blue[0]):blue[2]] = (220, 60, 30)  # blue is in front
        out = tr.update(Frame(img, "t", i, i / 25), faces_at([red, blue]))
        for k in range(len(out)):
            y = float(out.xyxy[k, 1])  # the boxes differ in y: red at 100, blue at 110
            ids_by_colour["red" if y < 105 else "blue"].add(int(out.track_id[k]))
    assert ids_by_colour == {"red": {1}, "blue": {2}}


@pytest.mark.parametrize(("appearance", "swapped"), [(True, False), (False, True)])
def test_appearance_prevents_a_swap_motion_would_make(appearance: bool, swapped: bool) -> None:
    """Two overlapping faces trade places across 5 skipped frames: by overlap alone each track
    takes the face now at its old place (a swap); their colours keep the ids right."""
    from facetrack.frames import Frame
    from facetrack.tracking.appearance import colour_histogram

    def frame(index: int, red_x: int, blue_x: int) -> tuple[Frame, Faces]:
        img = np.zeros((300, 400, 3), np.uint8)
        img[100:180, red_x:red_x + 80] = (30, 30, 220)
        img[100:180, blue_x:blue_x + 80] = (220, 60, 30)
        faces = faces_at([[red_x, 100, red_x + 80, 180], [blue_x, 100, blue_x + 80, 180]])
        return Frame(img, "t", index, index / 25), faces

    tr = FaceTrackerCore(TrackingConfig(credence_count=1),
                         appearance=colour_histogram if appearance else None)
    first = tr.update(*frame(0, 100, 160))
    after = tr.update(*frame(5, 160, 100))
    red_before = int(first.track_id[0])
    red_after = int(after.track_id[0])
    assert (red_after != red_before) is swapped


def test_one_record_per_track_with_one_end_rule() -> None:
    """The tracker owns each confirmed track's record: made at confirmation, 'lost' while
    coasting, ended once unseen past the lost buffer (reported on that frame only)."""
    tracker = FaceTrackerCore(TrackingConfig(credence_count=2, lost_track_buffer=3))
    box = [[100, 100, 200, 220]]
    states = []
    for i in range(8):
        tracker.update(make_frame(i), faces_at(box) if i < 3 else faces_at([]))
        states.append([(r.track_id, r.state) for r in tracker.records()])
    assert states[0] == []  # not confirmed yet: no record
    assert states[1] == [(1, "active")] and states[2] == [(1, "active")]
    assert states[3:6] == [[(1, "lost")]] * 3
    assert states[6] == [(1, "ended")] and states[7] == []
    tracker.update(make_frame(8), faces_at(box))
    tracker.update(make_frame(9), faces_at(box))
    assert [r.track_id for r in tracker.records()] == [2]  # a new track, a new record


def test_reset_ends_every_record() -> None:
    tracker = FaceTrackerCore(TrackingConfig(credence_count=1))
    tracker.update(make_frame(0), faces_at([[0, 0, 50, 60], [200, 0, 250, 60]]))
    first = tracker.records()
    assert [r.frames_seen for r in first] == [1, 1]
    tracker.update(make_frame(1), faces_at([[0, 0, 50, 60], [200, 0, 250, 60]]))
    assert [r.frames_seen for r in first] == [2, 2]
    ended = tracker.reset()
    assert ended == first and all(r.state == "ended" for r in ended)
    assert tracker.records() == []
