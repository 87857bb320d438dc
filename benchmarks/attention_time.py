"""Attention time against exact ground truth: real faces turned through scripted head poses.

    python -m benchmarks.attention_time [--random N] [--seconds S] [--seed K] [--short]
        [--window-s W] [--gaze] [--face-rate HZ] [--keep DIR] [--json PATH]

Clips (1280x720, 25 fps, made at run time in a temporary folder; ``benchmarks._render``): three
places side by side, each showing a near-frontal AFLW2000-3D photo turned through a yaw/pitch
schedule (its true pose is the schedule: the photo is first turned back to frontal by its
annotated pose). ``script`` (24 s) holds the cases by hand: a long look, a glance under
``analytics.min_glance_s`` (must not count) and one just over it, slow turns in and out of the
cone, looking down, a diagonal glance, a hold inside the hysteresis band, a face that never
looks (with a quick sweep across the camera), faces entering and leaving. ``random-K`` clips
(``--random``, seeded) draw looks, turns away and glances (held 0-0.5 s) at random, turning at
60-250 deg/s. ``--short`` runs only ``short`` (8 s, the golden test's clip).

Ground truth comes from the schedule alone, with facetrack's definitions (docs/audience.md): a
face hits the camera when ``arccos(cos(yaw) cos(pitch))`` is within
``analysis.looking_cone_deg``, a look under way continues within the cone grown by
``analytics.hysteresis``, a look lasts last - first + one frame, looks under
``analytics.min_glance_s`` are dropped; ``watcher`` is attention >= ``analytics.watcher_min_s``.
Truth and measurement share the definition, so they differ only by pose error (and tracking).

facetrack runs each clip as ``facetrack track --analytics`` would (``track_file``, default
target: the camera; ``analytics.window_s`` = ``--window-s``). Each track is matched to the
scripted face whose rendered mesh box holds its box centre in most of its frames. Reported per
face: attention_s, glances, first_glance_s and watcher (tracks.csv) against the truth; per
window: ots, watchers, glances (audience.csv, zone ``all``, target ``camera``) against the
truth's; and the head-pose error on the rendered frames (faces.jsonl's smoothed ``head_pose``
against the schedule) with the share of frames its head pose alone puts on the wrong side of
the 25-degree cone. ``first s`` is the time from a face's entry to its first look (a track's
first_time + first_glance_s), so a track confirmed late counts in its error.

What the truth cannot see: the photos' annotated pitch is itself a 3DMM fit (facetrack's mesh
reads the six photos 0-8 degrees lower), and the rendered eyes are painted on the face's surface
and fixed in the head, so gaze equals head pose. ``--gaze`` turns ``analytics.gaze`` on (off by
default): the ray is then also turned by the irises' reading, which this truth cannot score.

``--face-rate HZ`` sets ``analysis.face_rate_hz`` (each face read at most HZ times a second);
the pose error is then over the frames where a face was read.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import _render
from benchmarks._common import data_root, print_table
from benchmarks._render import (
    Actor,
    load_head,
    new_models,
    random_script,
    script,
    short_script,
    write_clip,
)
from facetrack.config import TrackerConfig, override
from facetrack.pipeline.jobs import track_file

FPS = 25
DATASET = "aflw2000_headpose"
Interval = tuple[float, float]


def truth_looks(angle: np.ndarray, times: np.ndarray, period: float, cone: float, grow: float,
                min_s: float) -> list[Interval]:
    """Looks at the camera of one face seen on every frame of ``times``, by the definitions
    (written out here, independently of facetrack.analytics)."""
    looks: list[Interval] = []
    start = last = None
    for a, t in zip(angle.tolist(), times.tolist(), strict=True):
        if a <= cone * (1 + grow if start is not None else 1):
            start = t if start is None else start
            last = t
        elif start is not None and last is not None:
            looks.append((start, last + period))
            start = last = None
    if start is not None and last is not None:
        looks.append((start, last + period))
    return [(a, b) for a, b in looks if b - a >= min_s - 1e-9]


def truth(actors: list[Actor], seconds: float, config: TrackerConfig) -> list[dict[str, Any]]:
    """Each actor's presence, looks and figures from its schedule."""
    times = np.arange(round(seconds * FPS)) / FPS
    a = config.analytics
    out = []
    for actor in actors:
        t = times[actor.visible(times)]
        yaw, pitch = actor.pose(t)
        angle = np.degrees(np.arccos(np.cos(np.radians(yaw)) * np.cos(np.radians(pitch))))
        looks = truth_looks(angle, t, 1 / FPS, config.analysis.looking_cone_deg, a.hysteresis,
                            a.min_glance_s)
        attention = sum(e - s for s, e in looks)
        out.append({"present": (float(t[0]), float(t[-1]) + 1 / FPS), "looks": looks,
                    "attention_s": attention, "glances": len(looks),
                    "first_glance_s": looks[0][0] - float(t[0]) if looks else None,
                    "watcher": attention >= a.watcher_min_s})
    return out


def read_outputs(out: Path) -> tuple[list[dict[str, Any]], list[dict[str, str]],
                                     list[dict[str, str]]]:
    """faces.jsonl records, tracks.csv rows, audience.csv rows (zone all, target camera)."""
    frames = [json.loads(line) for line in (out / "faces.jsonl").read_text().splitlines()]
    with (out / "tracks.csv").open(newline="") as fh:
        tracks = list(csv.DictReader(fh))
    with (out / "audience.csv").open(newline="") as fh:
        windows = [r for r in csv.DictReader(fh) if r["zone"] == "all" and r["target"] == "camera"]
    return frames, tracks, windows


def match_tracks(frames: list[dict[str, Any]], boxes: np.ndarray) -> dict[int, int]:
    """Track id -> actor: the actor whose mesh box holds the track's box centre most often."""
    votes: dict[int, np.ndarray] = {}
    for record in frames:
        i = record["frame"]
        for face in record["faces"]:
            x1, y1, x2, y2 = face["box"]
            cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
            b = boxes[:, i]
            hit = (b[:, 0] <= cx) & (cx <= b[:, 2]) & (b[:, 1] <= cy) & (cy <= b[:, 3])
            votes.setdefault(face["track_id"], np.zeros(len(boxes), int))[:] += hit
    return {tid: int(np.argmax(v)) for tid, v in votes.items() if v.max() > 0}


def pose_errors(frames: list[dict[str, Any]], actors: list[Actor], matches: dict[int, int],
                cone: float) -> dict[str, Any]:
    """Head pose error of every matched face row against its actor's schedule."""
    err, wrong, sources = [], 0, {"mesh": 0, "keypoints": 0}
    for record in frames:
        for face in record["faces"]:
            k = matches.get(face["track_id"])
            if k is None or face["head_pose"] is None:
                continue
            yaw, pitch = actors[k].pose(np.array([record["timestamp"]]))
            true = np.array([yaw[0], pitch[0]])
            seen = np.array(face["head_pose"][:2], np.float64)
            err.append(np.abs(seen - true))
            angles = np.degrees(np.arccos(np.cos(np.radians([true, seen])).prod(axis=1)))
            wrong += bool((angles[0] <= cone) != (angles[1] <= cone))
            sources[face["pose_source"]] = sources.get(face["pose_source"], 0) + 1
    e = np.array(err).reshape(-1, 2)
    return {"rows": len(e), "mae_yaw": float(e[:, 0].mean()), "mae_pitch": float(e[:, 1].mean()),
            "cone_wrong": wrong / max(len(e), 1),
            "keypoint_share": sources["keypoints"] / max(len(e), 1)}


def face_rows(actors: list[Actor], truths: list[dict[str, Any]], tracks: list[dict[str, str]],
              matches: dict[int, int], clip: str) -> list[dict[str, Any]]:
    """Per actor: truth against the sum of its tracks' figures (tracks.csv)."""
    rows = []
    for k, (actor, tr) in enumerate(zip(actors, truths, strict=True)):
        mine = [t for t in tracks if matches.get(int(t["track_id"])) == k]
        firsts = [float(t["first_time"]) + float(t["first_glance_s"]) for t in mine
                  if t["first_glance_s"] != ""]
        attention = sum(float(t["attention_s"]) for t in mine)
        first = min(firsts) - tr["present"][0] if firsts else None
        rows.append({
            "clip": clip, "face": f"{actor.source}@{actor.slot}", "tracks": len(mine),
            "truth_s": tr["attention_s"], "measured_s": attention,
            "error_s": attention - tr["attention_s"],
            "truth_glances": tr["glances"], "glances": sum(int(t["glances"]) for t in mine),
            "truth_first_s": tr["first_glance_s"], "first_s": first,
            "truth_watcher": tr["watcher"],
            "watcher": any(t["watcher"] == "True" for t in mine)})
    return rows


def window_truth(truths: list[dict[str, Any]], lo: float, hi: float, watcher_min_s: float
                 ) -> dict[str, int]:
    """ots, watchers and glances of the window [lo, hi), audience.csv's definitions."""
    def inside(spans: list[Interval]) -> float:
        return sum(max(0.0, min(b, hi) - max(a, lo)) for a, b in spans)

    here = [t for t in truths if inside([t["present"]]) > 0]
    return {"ots": len(here),
            "watchers": sum(inside(t["looks"]) > 0 and t["attention_s"] >= watcher_min_s
                            for t in here),
            "glances": sum(lo <= s < hi for t in here for s, _ in t["looks"])}


def window_rows(truths: list[dict[str, Any]], windows: list[dict[str, str]],
                config: TrackerConfig, clip: str) -> list[dict[str, Any]]:
    rows = []
    for w in windows:
        lo, hi = float(w["window_start"]), float(w["window_end"])
        want = window_truth(truths, lo, hi, config.analytics.watcher_min_s)
        rows.append({"clip": clip, "window": f"{lo:g}-{hi:g}",
                     **{f"truth_{k}": v for k, v in want.items()},
                     **{k: int(w[k]) for k in want}})
    return rows


def run_clip(name: str, actors: list[Actor], seconds: float, config: TrackerConfig,
             heads: dict[str, _render.Head], folder: Path) -> dict[str, Any]:
    """Render one clip, run facetrack on it and score it."""
    video, out = folder / f"{name}.mp4", folder / name
    t0 = time.perf_counter()
    boxes = write_clip(video, actors, heads, seconds, FPS)
    t1 = time.perf_counter()
    track_file(video, out, config)
    t2 = time.perf_counter()
    frames, tracks, windows = read_outputs(out)
    truths = truth(actors, seconds, config)
    matches = match_tracks(frames, boxes)
    return {"clip": name, "seconds": seconds, "render_s": t1 - t0, "track_s": t2 - t1,
            "unmatched_tracks": sum(int(t["track_id"]) not in matches for t in tracks),
            "faces": face_rows(actors, truths, tracks, matches, name),
            "windows": window_rows(truths, windows, config, name),
            "pose": pose_errors(frames, actors, matches, config.analysis.looking_cone_deg)}


def summarise(clips: list[dict[str, Any]]) -> dict[str, Any]:
    """The headline figures over every face and window of every clip."""
    faces = [f for c in clips for f in c["faces"]]
    windows = [w for c in clips for w in c["windows"]]
    errors = [abs(f["error_s"]) for f in faces]
    firsts = [abs(f["first_s"] - f["truth_first_s"]) for f in faces
              if f["first_s"] is not None and f["truth_first_s"] is not None]
    pose = [c["pose"] for c in clips]
    rows = sum(p["rows"] for p in pose)

    def weighted(key: str) -> float:
        return sum(p[key] * p["rows"] for p in pose) / max(rows, 1)

    return {
        "faces": len(faces), "windows": len(windows),
        "attention_err_median_s": statistics.median(errors),
        "attention_err_max_s": max(errors),
        "glances_exact": sum(f["glances"] == f["truth_glances"] for f in faces) / len(faces),
        "glances_mae": statistics.mean(abs(f["glances"] - f["truth_glances"]) for f in faces),
        "watcher_exact": sum(f["watcher"] == f["truth_watcher"] for f in faces) / len(faces),
        "first_glance_err_median_s": statistics.median(firsts) if firsts else None,
        "one_track_per_face": sum(f["tracks"] == 1 for f in faces) / len(faces),
        "ots_exact": sum(w["ots"] == w["truth_ots"] for w in windows) / len(windows),
        "watchers_exact": sum(w["watchers"] == w["truth_watchers"] for w in windows)
        / len(windows),
        "window_glances_exact": sum(w["glances"] == w["truth_glances"] for w in windows)
        / len(windows),
        "pose_mae_yaw": weighted("mae_yaw"), "pose_mae_pitch": weighted("mae_pitch"),
        "cone_wrong": weighted("cone_wrong"), "keypoint_share": weighted("keypoint_share"),
    }


def load_heads(names: set[str]) -> dict[str, _render.Head]:
    root = data_root() / DATASET
    with (root / "poses.csv").open(newline="") as fh:
        poses = {Path(r["image"]).stem: tuple(float(r[k]) for k in
                                              ("yaw_deg", "pitch_deg", "roll_deg"))
                 for r in csv.DictReader(fh)}
    detector, landmarker = new_models()
    return {n: load_head(root / "images" / f"{n}.jpg", poses[n], detector, landmarker)
            for n in sorted(names)}


def evaluate(short: bool = False, random_clips: int = 2, seconds: float = 30.0, seed: int = 0,
             window_s: float = 10.0, gaze: bool = False, keep: Path | None = None,
             face_rate: float = 0.0) -> dict[str, Any]:
    """Make the clips, run facetrack on each and score them (figures: see ``summarise``)."""
    config = override(TrackerConfig(), {"analytics.enabled": True, "analytics.window_s": window_s,
                                        "analytics.gaze": gaze,
                                        "analysis.face_rate_hz": face_rate})
    rng = np.random.default_rng(seed)
    plan = [("short", short_script(), 8.0)] if short else [
        ("script", script(), 24.0),
        *((f"random-{k}", random_script(rng, seconds), seconds) for k in range(random_clips))]
    heads = load_heads({a.source for _, actors, _ in plan for a in actors})
    with tempfile.TemporaryDirectory() as tmp:
        folder = keep if keep is not None else Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        clips = [run_clip(name, actors, secs, config, heads, folder)
                 for name, actors, secs in plan]
    return {"clips": clips, "summary": summarise(clips),
            "settings": {"fps": FPS, "window_s": window_s, "gaze": gaze, "seed": seed,
                         "face_rate_hz": face_rate}}


def print_results(res: dict[str, Any]) -> None:
    s = res["summary"]
    print_table(["faces", "|attention err| median s", "max s", "glances exact", "glances MAE",
                 "watcher exact", "|first glance err| median s", "one track per face"],
                [[s["faces"], s["attention_err_median_s"], s["attention_err_max_s"],
                  s["glances_exact"], s["glances_mae"], s["watcher_exact"],
                  s["first_glance_err_median_s"], s["one_track_per_face"]]])
    print_table(["windows", "ots exact", "watchers exact", "glances exact", "pose MAE yaw",
                 "pose MAE pitch", "frames on the wrong side of the cone", "keypoint poses"],
                [[s["windows"], s["ots_exact"], s["watchers_exact"], s["window_glances_exact"],
                  s["pose_mae_yaw"], s["pose_mae_pitch"], s["cone_wrong"],
                  s["keypoint_share"]]])
    faces = [f for c in res["clips"] for f in c["faces"]]
    print_table(["clip", "face", "tracks", "truth s", "measured s", "error s", "truth glances",
                 "glances", "truth first s", "first s", "truth watcher", "watcher"],
                [[f["clip"], f["face"], f["tracks"], f["truth_s"], f["measured_s"],
                  f["error_s"], f["truth_glances"], f["glances"], f["truth_first_s"],
                  f["first_s"], f["truth_watcher"], f["watcher"]] for f in faces])
    windows = [w for c in res["clips"] for w in c["windows"]]
    print_table(["clip", "window s", "truth ots", "ots", "truth watchers", "watchers",
                 "truth glances", "glances"],
                [[w["clip"], w["window"], w["truth_ots"], w["ots"], w["truth_watchers"],
                  w["watchers"], w["truth_glances"], w["glances"]] for w in windows])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--random", type=int, default=2, help="seeded random clips (default 2)")
    parser.add_argument("--seconds", type=float, default=30.0, help="length of a random clip")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random clips")
    parser.add_argument("--short", action="store_true", help="only the golden test's 8 s clip")
    parser.add_argument("--window-s", type=float, default=10.0,
                        help="analytics.window_s: length of audience.csv's windows")
    parser.add_argument("--gaze", action="store_true",
                        help="analytics.gaze on: the ray also turned by the irises")
    parser.add_argument("--face-rate", type=float, default=0.0, metavar="HZ",
                        help="analysis.face_rate_hz: read each face at most HZ times a second")
    parser.add_argument("--keep", type=Path, default=None,
                        help="write the clips and facetrack's outputs here (else a temp folder)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    res = evaluate(args.short, args.random, args.seconds, args.seed, args.window_s,
                   args.gaze, args.keep, args.face_rate)
    print_results(res)
    if args.json is not None:
        args.json.write_text(json.dumps(res, indent=2) + "\n")


if __name__ == "__main__":
    main()
