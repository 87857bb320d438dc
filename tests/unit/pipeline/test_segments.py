"""Long videos in segments, the logic: where the cuts and lead-ins go, which tracks continue
across a seam, what a track's part adds up to, and what an input's outcome is when one of
its segments fails."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from facetrack.config import TrackerConfig, override
from facetrack.pipeline.batch import Input, Outcome
from facetrack.pipeline.long_videos import SEGMENTS_FOLDER, finish, splitting_off
from facetrack.pipeline.segments import TrackParts, own_part
from facetrack.pipeline.stitch import match_tracks
from facetrack.sources.segments import Timeline, plan_segments
from facetrack.tracks import Blink, TrackSignals


def timeline(frames: int, keyframe_every: int, fps: int = 25) -> Timeline:
    """Frames at ``fps`` in a 1/12800 time base (as x264 writes mp4), a keyframe every
    ``keyframe_every`` frames."""
    step = 12800 // fps
    return Timeline(np.arange(frames, dtype=np.int64) * step + 1024,
                    tuple(range(0, frames, keyframe_every)), Fraction(1, 12800))


def test_cuts_every_segment_and_lead_ins_start_on_keyframes() -> None:
    segs = plan_segments(timeline(1000, 25), segment_s=10.0, lead_in_s=3.0)  # 40 s
    assert [(s.start, s.cut, s.end) for s in segs] == [
        (0, 0, 250), (175, 250, 500), (425, 500, 750), (675, 750, None)]
    assert [s.number for s in segs] == [0, 1, 2, 3] and {s.count for s in segs} == {4}
    assert segs[1].start_pts == 175 * 512 + 1024
    assert all(s.first_pts == 1024 for s in segs)


def test_a_lead_in_reaches_back_to_the_keyframe_before_it() -> None:
    segs = plan_segments(timeline(1000, 100), segment_s=10.0, lead_in_s=3.0)
    # cut at 250 less 75 frames is frame 175: the keyframe at or before it is 100
    assert segs[1].start == 100 and segs[2].start == 400


def test_a_lead_in_is_at_most_half_a_segment_and_ends_where_the_next_cut_is() -> None:
    segs = plan_segments(timeline(1000, 25), segment_s=4.0, lead_in_s=10.0)
    assert [s.cut - s.start for s in segs[1:]] == [50] * (len(segs) - 1)  # 2 s, not 10
    step = 12800 // 25
    assert all(s.end_pts == s.end * step + 1024 for s in segs[:-1]) and segs[-1].end_pts is None


def test_keyframes_too_far_apart_keep_a_video_whole() -> None:
    # one keyframe a minute: every 10 s segment would decode up to a minute before its cut
    assert len(plan_segments(timeline(4500, 1500), segment_s=10.0, lead_in_s=3.0)) == 1
    assert len(plan_segments(timeline(4500, 125), segment_s=10.0, lead_in_s=3.0)) == 18


def test_no_last_segment_shorter_than_half_and_short_videos_stay_whole() -> None:
    segs = plan_segments(timeline(1120, 25), segment_s=10.0, lead_in_s=3.0)  # 44.8 s
    assert [s.cut for s in segs] == [0, 250, 500, 750]  # 40 s + 4.8 s: no fifth segment
    assert len(plan_segments(timeline(370, 25), segment_s=10.0, lead_in_s=3.0)) == 1


def box(x: float) -> list[float]:
    return [x, 0.0, x + 40.0, 50.0]


def test_tracks_continue_where_their_boxes_overlap_on_the_shared_frames() -> None:
    earlier = {f: [(1, box(0)), (2, box(200))] for f in range(10)}
    lead = {f: [(7, box(201)), (8, box(1)), (9, box(400))] for f in range(10)}
    assert match_tracks(earlier, lead) == {8: 1, 7: 2}  # 9 is a new face


def test_faces_crossing_on_a_few_frames_are_not_taken_for_one() -> None:
    earlier = {f: [(1, box(5.0 * f))] for f in range(20)}
    lead = {f: [(7, box(100.0 - 5.0 * f))] for f in range(20)}  # passes the other once
    assert match_tracks(earlier, lead) == {}


def test_a_face_seen_on_the_last_lead_in_frame_only_still_continues() -> None:
    earlier = {f: [(3, box(0))] for f in range(10)}
    lead = {9: [(4, box(0))]}
    assert match_tracks(earlier, lead) == {4: 3}


def test_a_part_counts_only_what_came_after_the_cut() -> None:
    before = TrackSignals(frames_analysed=10, looking_frames=4, yawns=1, box_sum=(100.0, 120.0),
                          eye_time_s=0.4, closed_time_s=0.1, pose_mean=(1.0, 2.0, 3.0),
                          pose_std=(0.0, 0.0, 0.0), best_quality=0.5)
    last = TrackSignals(frames_analysed=30, looking_frames=20, yawns=1,
                        box_sum=(300.0, 360.0), eye_time_s=1.2, closed_time_s=0.2,
                        pose_mean=(2.0, 2.0, 3.0), pose_std=(1.0, 0.0, 0.0), best_quality=0.7)
    part = own_part(last, before)
    assert part["frames_analysed"] == 20 and part["looking_frames"] == 16
    assert part["yawns"] == 0 and part["box_sum"] == [200.0, 240.0]
    assert part["eye_time_s"] == pytest.approx(0.8) and part["closed_time_s"] == \
        pytest.approx(0.1)
    # 30 poses of mean 2 less 10 of mean 1: 20 of mean 2.5
    assert part["pose_sum"][0] / 20 == pytest.approx(2.5)
    assert own_part(last, None)["frames_analysed"] == 30


def test_what_a_run_keeps_across_the_whole_video_keeps_it_whole() -> None:
    cfg = TrackerConfig()
    assert splitting_off(cfg, video=False, thumbnails=False) is None
    assert splitting_off(cfg, video=True, thumbnails=False) == "--video"
    on = override(cfg, {"analytics.enabled": True})
    assert splitting_off(on, video=False, thumbnails=True) == "--thumbnails, analytics"


def test_an_input_whose_first_segment_failed_is_failed_and_names_it(tmp_path: Path) -> None:
    segs = plan_segments(timeline(1000, 25), segment_s=10.0, lead_in_s=3.0)
    item = Input("long.mp4", "long")
    pieces = {0: Outcome("long.mp4", "long", status="failed", attempts=2,
                         error="its worker process died 2 times (last exit code -9)"),
              1: Outcome("long.mp4", "long", status="done", attempts=1, seconds=3.0)}
    outcome = finish(item, segs, pieces, tmp_path, mot=False)
    assert outcome.status == "failed" and outcome.segments == 4 and outcome.attempts == 2
    assert outcome.error == ("segment 1 of 4 (frames 0 to 249): its worker process died 2 "
                             "times (last exit code -9) (3 of 4 segments not done)")
    assert outcome.frames == 0 and not (tmp_path / "long" / "faces.jsonl").exists()


def segment_folder_with(folder: Path, frames: range, track: int, blinks: list[list[float]]
                        ) -> None:
    """A segment's results as ``track_segment`` leaves them: one face on every frame."""
    folder.mkdir(parents=True)
    lines = [json.dumps({"frame": f, "timestamp": f / 25, "faces": [
        {"track_id": track, "box": box(0)}]}) for f in frames]
    (folder / "faces.jsonl").write_text("\n".join(lines) + "\n")
    part = {**own_part(TrackSignals(frames_analysed=len(frames)), None),
            "first_time": frames[0] / 25, "perclos_max": None, "longest_closed_s": 0.0,
            "last_time": frames[-1] / 25}
    (folder / "parts.json").write_text(json.dumps(
        {"fps": 25.0, "tracks": {str(track): part}, "blinks": blinks}))


def test_segments_after_a_failed_one_are_joined_across_the_gap(tmp_path: Path) -> None:
    segs = plan_segments(timeline(1000, 25), segment_s=10.0, lead_in_s=3.0)
    item = Input("long.mp4", "long")
    parts = tmp_path / "long" / SEGMENTS_FOLDER
    segment_folder_with(parts / "0000", range(0, 250), 1, [])
    segment_folder_with(parts / "0002", range(425, 750), 5, [[5, 25.0, 25.2, 0.1]])
    segment_folder_with(parts / "0003", range(675, 1000), 2, [[2, 35.0, 35.2, 0.1]])
    done = Outcome("long.mp4", "long", status="done", seconds=1.0)
    pieces = {0: done, 1: Outcome("long.mp4", "long", status="failed", error="disk full"),
              2: done, 3: done}
    outcome = finish(item, segs, pieces, tmp_path, mot=False)
    assert (outcome.status, outcome.frames, outcome.tracks) == ("partial", 750, 2)
    assert outcome.error == "segment 2 of 4 (frames 250 to 499): disk full"
    got = [json.loads(line) for line in
           (tmp_path / "long" / "faces.jsonl").read_text().splitlines()]
    assert [r["frame"] for r in got] == [*range(250), *range(500, 1000)]
    # segment 3's track continues segment 2's (the lead-in), which is new after the gap
    assert {r["faces"][0]["track_id"] for r in got if r["frame"] >= 500} == {2}
    blinks = (tmp_path / "long" / "blinks.csv").read_text().splitlines()
    assert blinks[1:] == ["2,25.0000,25.2000,0.1000", "2,35.0000,35.2000,0.1000"]
    assert not parts.exists()


def test_a_join_that_fails_keeps_the_segments_and_says_so(tmp_path: Path) -> None:
    segs = plan_segments(timeline(1000, 25), segment_s=10.0, lead_in_s=3.0)
    parts = tmp_path / "long" / SEGMENTS_FOLDER
    for n, seg in enumerate(segs):
        segment_folder_with(parts / f"{n:04d}", range(seg.start, seg.end or 1000), 1, [])
    (parts / "0002" / "parts.json").write_text("{not json")
    done = Outcome("long.mp4", "long", status="done", seconds=1.0)
    outcome = finish(Input("long.mp4", "long"), segs, dict.fromkeys(range(4), done), tmp_path,
                     mot=False)
    assert outcome.status == "failed" and outcome.error.startswith("joining its segments failed")
    assert (parts / "0002" / "faces.jsonl").exists()


def test_a_blink_belongs_to_the_segment_owning_the_frame_that_ends_it() -> None:
    def result(index: int, blink: Blink | None) -> SimpleNamespace:
        track = SimpleNamespace(track_id=1, state="confirmed", last_time=index / 25,
                                signals=TrackSignals(last_blink=blink))
        return SimpleNamespace(frame=SimpleNamespace(index=index, timestamp=index / 25),
                               faces=SimpleNamespace(track_id=np.array([1])), tracks=[track])

    parts = TrackParts(cut=10)
    ended_in_lead_in = Blink(0.1, 0.2, 0.05)
    before_the_cut = Blink(0.3, 0.38, 0.04)  # ended before the cut, seen open on frame 10
    for index, blink in [(4, None), (5, ended_in_lead_in), (9, ended_in_lead_in),
                         (10, before_the_cut), (11, before_the_cut)]:
        parts.consume(result(index, blink))  # type: ignore[arg-type]
    assert parts.blinks == [[1, 0.3, 0.38, 0.04]]
