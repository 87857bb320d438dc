"""A long video tracked in segments on worker processes and joined (``facetrack track
--workers N --segment-minutes M``), on real video: the segments' frames are the whole video's,
the joined files are the same whatever the worker count and keep the whole run's tracks and
blinks, a truncated video ends as a whole run ends, and bad settings are one line."""

from __future__ import annotations

import csv
import json
import subprocess
from pathlib import Path

import pytest

from benchmarks.segments import concatenated
from facetrack.pipeline.jobs import track_file
from facetrack.pipeline.many import track_many
from facetrack.sources.segments import VideoSegmentSource, plan_segments, probe_timeline
from facetrack.sources.video import VideoFileSource
from tests.builders import assert_one_line_error, facetrack
from tests.integration.servers import short_gop_copy

FILES = ("faces.jsonl", "tracks.csv", "tracks.json", "blinks.csv", "mot.txt")
SEGMENT_S, LEAD_IN_S = 4.0, 1.0


@pytest.fixture(scope="module")
def clip(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """synth02 whole (14.4 s, 3 to 7 faces), 640 wide, a keyframe every 10 frames."""
    root = tmp_path_factory.mktemp("segments")
    return short_gop_copy(data_dir / "synth_tracks" / "synth02" / "video.mp4",
                          root / "synth02.mp4", seconds=20.0)


@pytest.fixture(scope="module")
def whole(clip: Path) -> Path:
    out = clip.parent / "whole"
    track_file(clip, out, mot=True)
    return out


def records(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / "faces.jsonl").read_text().splitlines()]


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_a_segment_decodes_the_whole_videos_frames(clip: Path) -> None:
    segments = plan_segments(probe_timeline(clip), SEGMENT_S, LEAD_IN_S)
    assert len(segments) == 4 and all(s.start < s.cut for s in segments[1:])
    with VideoFileSource(clip) as source:
        frames = {f.index: (f.timestamp, f.image.tobytes()) for f in source}
    seen = []
    for seg in segments:
        with VideoSegmentSource(clip, seg) as source:
            got = [(f.index, f.timestamp, f.image.tobytes()) for f in source]
        assert [g[0] for g in got] == list(range(seg.start, seg.end or len(frames)))
        assert all(frames[i] == (t, image) for i, t, image in got)
        seen += [g[0] for g in got if g[0] >= seg.cut]
    assert seen == sorted(frames)


def test_segments_join_into_the_whole_runs_tracks_whatever_the_workers(
        clip: Path, whole: Path, tmp_path: Path) -> None:
    folders: dict[int, Path] = {}
    for workers in (1, 2):
        run = track_many([clip], tmp_path / str(workers), workers=workers, mot=True,
                         segment_s=SEGMENT_S, lead_in_s=LEAD_IN_S)
        [outcome] = run.outcomes
        assert (outcome.status, outcome.segments, outcome.error) == ("done", 4, "")
        folders[workers] = tmp_path / str(workers) / clip.stem
        assert not (folders[workers] / ".segments").exists()
    for name in FILES:  # the same bytes on 1 and 2 workers
        assert (folders[1] / name).read_bytes() == (folders[2] / name).read_bytes(), name
    joined = folders[2]
    got, want = records(joined), records(whole)
    assert [r["frame"] for r in got] == [r["frame"] for r in want]
    assert [r["timestamp"] for r in got] == [r["timestamp"] for r in want]
    same = sum(g["track_id"] == w["track_id"] and g["box"] == w["box"]
               for a, b in zip(got, want, strict=True)
               for g, w in zip(a["faces"], b["faces"], strict=False))
    faces = sum(len(r["faces"]) for r in want)
    assert same >= 0.98 * faces, (same, faces)
    assert outcome.frames == len(want) and outcome.tracks == len(rows(whole / "tracks.csv"))
    # every row adds up its parts: sightings are the faces.jsonl lines, blinks its blinks.csv
    seen: dict[str, int] = {}
    for r in got:
        for f in r["faces"]:
            seen[str(f["track_id"])] = seen.get(str(f["track_id"]), 0) + 1
    tracks = rows(joined / "tracks.csv")
    assert {t["track_id"]: int(t["frames_seen"]) for t in tracks} == seen
    blinks = [b["track_id"] for b in rows(joined / "blinks.csv")]
    assert all(int(t["blinks"]) == blinks.count(t["track_id"]) for t in tracks)


def test_a_truncated_long_video_ends_where_a_whole_run_ends(clip: Path, tmp_path: Path
                                                              ) -> None:
    whole_file, broken = tmp_path / "faststart.mp4", tmp_path / "broken.mp4"
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-i", str(clip), "-c",
                    "copy", "-movflags", "+faststart", str(whole_file)], check=True)
    data = whole_file.read_bytes()  # the index first: the cut file still opens
    broken.write_bytes(data[: int(len(data) * 0.8)])
    single = tmp_path / "single"
    proc = facetrack("track", str(broken), "-o", str(single), "-q")
    assert proc.returncode == 3, proc.stderr
    run = track_many([broken], tmp_path / "out", workers=2, segment_s=SEGMENT_S,
                     lead_in_s=LEAD_IN_S)
    [outcome] = run.outcomes
    assert outcome.status == "partial" and outcome.segments > 1
    assert outcome.error.startswith(f"segment {outcome.segments} of {outcome.segments} ")
    assert "truncated" in outcome.error
    got = records(tmp_path / "out" / "broken")
    assert [r["frame"] for r in got] == [r["frame"] for r in records(single)]
    assert outcome.frames == len(got)


def test_the_cli_splits_long_videos_and_refuses_what_it_cannot_join(clip: Path,
                                                                     tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = facetrack("track", str(clip), "-o", str(out), "--workers", "2",
                     "--segment-minutes", "0.07", "-q")
    assert proc.returncode == 0, proc.stderr
    [row] = rows(out / "index.csv")
    assert (row["status"], row["segments"], row["frames"]) == ("done", "3", "360")
    for bad, needle in ((["--segment-minutes", "-1"], "give 0 (never split) or more"),
                        (["--segment-minutes", "1", "--video"], "tracked whole with --video")):
        target = tmp_path / "bad"
        assert_one_line_error(facetrack("track", str(clip), "-o", str(target), "--workers",
                                        "2", *bad, "-q"), 2, needle)
        assert not target.exists()


@pytest.mark.data
def test_blinks_across_the_seams_are_the_whole_runs(data_dir: Path, tmp_path: Path) -> None:
    """One person's four ZJU clips back to back (about 20 s, 16 labelled blinks): the joined
    blinks.csv holds the whole run's blinks, each once."""
    root = data_dir / "zju_eyeblink_video"
    parts = [root / n / f"{n}.mp4" for n in ("000001M_FNN", "000001M_FBN", "000001M_FTN",
                                             "000001M_UNN")]
    clip = concatenated(parts, tmp_path / "blinks.mp4")
    track_file(clip, tmp_path / "whole")
    run = track_many([clip], tmp_path / "out", workers=2, segment_s=5.0, lead_in_s=2.5)
    assert run.outcomes[0].segments == 4 and run.outcomes[0].status == "done"
    want = [float(b["end_s"]) for b in rows(tmp_path / "whole" / "blinks.csv")]
    got = [float(b["end_s"]) for b in rows(tmp_path / "out" / "blinks" / "blinks.csv")]
    assert len(want) >= 12
    matched = sum(any(abs(g - w) <= 0.1 for g in got) for w in want)
    assert matched >= len(want) - 1 and abs(len(got) - len(want)) <= 1, (got, want)
