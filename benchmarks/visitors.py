"""Repeat visitors in ``privacy.mode: pseudonymous``, on a day of visits made of real video.

    python -m benchmarks.visitors [--orders 3] [--gap-s 3]

The visits: each youtube_faces_tracks video cut in two halves (10 visits of 4 people; Alek_Wek
has two videos, so four visits), played one after another in a random order (``--orders``
seeds) with ``--gap-s`` of empty grey frames between, each frame scaled onto one 640x480
canvas; written as one H.264 file and run through ``facetrack track``'s pipeline with
``privacy: {mode: pseudonymous, visitor_gap_s: 0}`` (every visit is a new one). Each output
track is given to the visit whose annotated subject box it overlaps most (IoU >= 0.3; other
people in the footage are left out), and each visit takes its tracks' most common token.

Per order: visitors counted (distinct tokens over the subjects' visits; truth 4); repeat
visits counted (a visit whose token was met in an earlier visit; truth 6); visit pairs linked
(same token): precision and recall against "same person"; visits with no token (a face never
good enough to tell); frames per second. Beside it, on the same visits, the offline grouping of
``find_faces_in_file`` (every track's whole mean appearance, not pseudonymous: the reference a
live memory can at best equal), and the margin the threshold must fall in: the weakest
similarity of two visits of one person, the strongest of two different people. No peer
publishes a figure for this (Quividi and Sightcorp do not say how they count returning
visitors), so none is run.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np

from benchmarks._common import data_root, print_table
from facetrack.config import TrackerConfig
from facetrack.geometry import iou_matrix
from facetrack.pipeline.jobs import find_faces_in_file
from facetrack.pipeline.tracker import FaceTracker
from facetrack.results import FrameResult

CANVAS = (640, 480)
FPS = 25


@dataclass
class Visit:
    person: str
    frames: list[Path]
    boxes: list[tuple[float, float, float, float]]  # subject box per frame, on the canvas
    first: int = 0  # first frame in the stream
    tokens: Counter[str] = field(default_factory=Counter)
    groups: Counter[int] = field(default_factory=Counter)
    vectors: list[np.ndarray] = field(default_factory=list)  # offline: its tracks' means


def load_visits(root: Path) -> list[Visit]:
    """Each annotated video, cut in two halves."""
    visits = []
    for table in sorted(root.glob("*/*.boxes.csv")):
        with table.open(encoding="utf-8") as fh:
            rows = sorted(csv.DictReader(fh), key=lambda r: int(r["frame_index"]))
        frames = [root / r["frame_file"] for r in rows]
        boxes = [tuple(float(r[k]) for k in ("x1", "y1", "x2", "y2")) for r in rows]
        half = len(rows) // 2
        for lo, hi in ((0, half), (half, len(rows))):
            visits.append(Visit(rows[0]["identity"], frames[lo:hi], boxes[lo:hi]))  # type: ignore[arg-type]
    return visits


def write_stream(visits: list[Visit], gap: int, path: Path) -> list[tuple[int, tuple[
        float, ...]] | None]:
    """The visits one after another on the canvas; per stream frame, (visit, subject box)."""
    truth: list[tuple[int, tuple[float, ...]] | None] = []
    w, h = CANVAS
    blank = np.full((h, w, 3), 96, np.uint8)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"

        def put(image: np.ndarray) -> None:
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="bgr24")):
                out.mux(packet)

        for k, visit in enumerate(visits):
            for _ in range(gap):
                put(blank)
                truth.append(None)
            visit.first = len(truth)
            for frame, box in zip(visit.frames, visit.boxes, strict=True):
                image = cv2.imread(str(frame), cv2.IMREAD_COLOR)
                assert image is not None, frame
                s = min(w / image.shape[1], h / image.shape[0])
                scaled = cv2.resize(image, None, fx=s, fy=s, interpolation=cv2.INTER_LINEAR)
                canvas = blank.copy()
                ox, oy = (w - scaled.shape[1]) // 2, (h - scaled.shape[0]) // 2
                canvas[oy:oy + scaled.shape[0], ox:ox + scaled.shape[1]] = scaled
                put(canvas)
                truth.append((k, (box[0] * s + ox, box[1] * s + oy, box[2] * s + ox,
                                  box[3] * s + oy)))
        for _ in range(gap):
            put(blank)
            truth.append(None)
        for packet in stream.encode():
            out.mux(packet)
    return truth


def subject_votes(frames: list[tuple[np.ndarray, np.ndarray]],
                  truth: list[tuple[int, tuple[float, ...]] | None]) -> dict[int, int]:
    """Output track -> the visit whose subject it overlaps most (IoU >= 0.3)."""
    votes: dict[int, Counter[int]] = {}
    for (boxes, tids), t in zip(frames, truth, strict=True):
        if t is None or not len(boxes):
            continue
        iou = iou_matrix(np.array([t[1]]), boxes)[0]
        best = int(np.argmax(iou))
        if iou[best] >= 0.3 and tids[best] >= 0:
            votes.setdefault(int(tids[best]), Counter())[t[0]] += 1
    return {tid: c.most_common(1)[0][0] for tid, c in votes.items()}


def links(visits: list[Visit], label: Any) -> dict[str, Any]:
    """Counts and pair precision/recall of one labelling of the visits (None: no label)."""
    labels = [label(v) for v in visits]
    tp = fp = fn = 0
    for (a, la), (b, lb) in itertools.combinations(zip(visits, labels, strict=True), 2):
        same, linked = a.person == b.person, la is not None and la == lb
        tp += same and linked
        fp += linked and not same
        fn += same and not linked
    seen: set[Any] = set()
    repeats = 0
    for la in labels:
        repeats += la is not None and la in seen
        seen.add(la)
    return {"visitors": len({la for la in labels if la is not None}), "repeats": repeats,
            "precision": tp / (tp + fp) if tp + fp else 1.0,
            "recall": tp / (tp + fn) if tp + fn else 1.0,
            "untold": sum(la is None for la in labels)}


def margin(visits: list[Visit]) -> dict[str, float]:
    """The weakest similarity of two visits of one person and the strongest of two visits of
    different people (each visit: the unit mean of its tracks' mean appearance, offline)."""
    from facetrack.recognition.reid import unit_mean

    mean = [unit_mean(v.vectors) if v.vectors else None for v in visits]
    same, other = [], []
    for (a, ma), (b, mb) in itertools.combinations(zip(visits, mean, strict=True), 2):
        if ma is not None and mb is not None:
            (same if a.person == b.person else other).append(float(ma @ mb))
    return {"weakest_same": min(same, default=float("nan")),
            "closest_other": max(other, default=float("nan"))}


def run(order: int, gap_s: float, workdir: Path) -> dict[str, Any]:
    visits = load_visits(data_root() / "youtube_faces_tracks")
    np.random.default_rng(order).shuffle(visits)
    video = workdir / f"visits{order}.mp4"
    truth = write_stream(visits, round(gap_s * FPS), video)
    config = TrackerConfig.model_validate(
        {"privacy": {"mode": "pseudonymous", "visitor_gap_s": 0}})
    frames: list[tuple[np.ndarray, np.ndarray]] = []
    token: dict[int, str] = {}
    t0 = time.perf_counter()
    for result in FaceTracker(config).track(video, finish=True):
        if result.frame.index < len(truth) and len(frames) <= result.frame.index:
            frames.append((result.faces.xyxy.copy(), result.faces.track_id.copy()))
        for snap in result.tracks:
            if snap.visitor is not None:
                token[snap.track_id] = snap.visitor.token
    fps = len(truth) / (time.perf_counter() - t0)
    for tid, k in subject_votes(frames, truth).items():
        if tid in token:
            visits[k].tokens[token[tid]] += 1
    # the reference: offline grouping of the same file's tracks (embeddings kept)
    offline: list[tuple[np.ndarray, np.ndarray]] = []

    def keep(result: FrameResult) -> None:
        if len(offline) < len(truth):
            offline.append((result.faces.xyxy.copy(), result.faces.track_id.copy()))

    found = find_faces_in_file(video, on_result=keep)
    group = {f.track_id: f.group for f in found}
    means = {f.track_id: f.mean_embedding for f in found}
    for tid, k in subject_votes(offline, truth).items():
        visits[k].groups[group[tid]] += 1
        if means.get(tid) is not None:
            visits[k].vectors.append(means[tid])

    def top(counter: Counter[Any]) -> Any:
        return counter.most_common(1)[0][0] if counter else None

    truth_counts = links(visits, lambda v: v.person)
    return {"visits": len(visits), "true": truth_counts, "fps": fps, **margin(visits),
            "live": links(visits, lambda v: top(v.tokens)),
            "offline": links(visits, lambda v: top(v.groups))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=3, help="random visit orders (seeds)")
    parser.add_argument("--gap-s", type=float, default=3.0, help="empty seconds between visits")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for order in range(args.orders):
            r = run(order, args.gap_s, Path(tmp))
            t = r["true"]
            for name in ("live", "offline"):
                m = r[name]
                rows.append([order, "pseudonymous (live memory)" if name == "live" else
                             "find_faces grouping (offline)", r["visits"],
                             f"{m['visitors']} / {t['visitors']}",
                             f"{m['repeats']} / {t['repeats']}", m["precision"], m["recall"],
                             m["untold"], r["fps"] if name == "live" else "",
                             r["weakest_same"], r["closest_other"]])
    print_table(["order", "method", "visits", "visitors (found / true)",
                 "repeat visits (found / true)", "link precision", "link recall",
                 "visits untold", "fps", "weakest same-person sim",
                 "closest other-person sim"], rows)


if __name__ == "__main__":
    main()
