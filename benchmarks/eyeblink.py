"""Blinks, fully-closed eyes and PERCLOS on real labelled webcam video (ZJU Eyeblink).

    python -m benchmarks.eyeblink [--mesh] [--follow N] [--face-rate HZ ...] [--no-peers]

Every clip of ``zju_eyeblink_video`` runs through facetrack as a user's file would (detection,
tracking, Face Mesh, the iris model, the per-track eye levels); the annotated person is the face
that overlaps the clip's labelled face box. Figures, by condition (FNN no glasses, FTN thin
glasses, FBN dark glasses, UNN camera below the face) and overall:

- blinks: facetrack's blinks (blinks.csv) against the labelled blink intervals, one to one by
  overlap in time; a blink wholly outside the annotated frames (some clips leave a few first or
  last frames unlabelled, blinks there included) is not counted. Precision, recall, F1;
- fully closed, per frame: accuracy on the annotated frames labelled ``open`` or ``closed``
  (``partial`` frames, the lids moving, are left out); a face not read counts as "not closed";
- PERCLOS per clip: the share of the annotated time with both eyes fully closed, each frame
  weighted by its own duration (the capture dropped frames: timestamps, not counts), against
  the same share computed from facetrack's per-frame ``eyes_closed`` (a frame whose eyes were
  not read counts as not closed; facetrack's own PERCLOS in tracks.csv leaves such frames out
  instead); mean absolute error over the clips.

Peer, on the same frames and the same faces: the classic eye-aspect-ratio threshold
(Soukupova & Cech, CVWW 2016: the EAR of six eye points under a threshold is closed, a blink is
at least two consecutive closed frames) on dlib's 68-point landmarks (the points that method is
usually run with, in the box of dlib's own HOG detector; ``dlib-bin`` and
``face_recognition_models`` from PyPI, benchmark-only: the 68-point model's training data is
non-commercial) at thresholds 0.2 and 0.25, and on Face Mesh's points at 0.2. ``--mesh`` adds
facetrack with ``analysis.eye_model: mesh`` (its eyes before the iris model, through the same
per-track levels). ``--face-rate HZ`` adds facetrack with ``analysis.face_rate_hz: HZ`` (each
face read at most HZ times a second); there, as in facetrack's own signals, a frame between two
reads holds the last read's ``eyes_closed``.
"""

from __future__ import annotations

import argparse
import csv
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from benchmarks._common import data_root, print_table
from facetrack.analysis.signals import eye_aspect_ratio
from facetrack.config import TrackerConfig
from facetrack.geometry import iou_matrix
from facetrack.pipeline.tracker import FaceTracker

CONDITIONS = ("FNN", "FTN", "FBN", "UNN")
EAR_MIN_FRAMES = 2
DLIB_EYES = (tuple(range(36, 42)), tuple(range(42, 48)))  # p1..p6 of each eye, 68-point scheme


@dataclass
class Clip:
    name: str
    condition: str
    time: np.ndarray  # (n,) seconds from the original capture timestamps
    state: np.ndarray  # (n,) open / partial / closed / na
    boxes: np.ndarray  # (n,4) labelled face box xyxy (NaN where not annotated)
    blinks: list[tuple[float, float]]  # labelled blink intervals, seconds

    @property
    def weights(self) -> np.ndarray:
        """Each frame's duration: until the next frame (the last one: the median step)."""
        step = np.diff(self.time)
        return np.append(step, np.median(step))

    @property
    def annotated(self) -> np.ndarray:
        return self.state != "na"


def load_clip(folder: Path) -> Clip:
    with (folder / f"{folder.name}.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    time = np.array([float(r["time_s"]) for r in rows])
    boxes = np.full((len(rows), 4), np.nan)
    frames: dict[int, list[int]] = {}
    for i, r in enumerate(rows):
        if r["face_x"]:
            x, y, w, h = (float(r[k]) for k in ("face_x", "face_y", "face_w", "face_h"))
            boxes[i] = (x, y, x + w, y + h)
        if int(r["blink_id"]) >= 0:
            frames.setdefault(int(r["blink_id"]), []).append(i)
    clip = Clip(folder.name, folder.name.split("_")[1], time,
                np.array([r["eye_state"] for r in rows]), boxes, [])
    period = clip.weights
    clip.blinks = [(time[min(v)], time[max(v)] + period[max(v)]) for v in frames.values()]
    return clip


@dataclass
class Reading:
    """One method's output on one clip: per frame closed (bool), blink intervals."""

    closed: np.ndarray
    blinks: list[tuple[float, float]] = field(default_factory=list)


class DlibEyes:
    """EAR of both eyes from dlib's 68-point shape predictor, in the box of dlib's own HOG
    detector (the box the predictor was trained on) that overlaps the given face; facetrack's
    box where HOG finds none."""

    def __init__(self) -> None:
        import dlib
        import face_recognition_models

        model = face_recognition_models.pose_predictor_model_location()
        self._predict = dlib.shape_predictor(model)
        self._detect = dlib.get_frontal_face_detector()
        self._rect = dlib.rectangle

    def ear(self, image: np.ndarray, box: np.ndarray) -> float:
        rgb = np.ascontiguousarray(image[:, :, ::-1])
        rects = list(self._detect(rgb, 0))
        if rects:
            xyxy = np.array([[r.left(), r.top(), r.right(), r.bottom()] for r in rects], float)
            best = int(np.argmax(iou_matrix(box[None], xyxy)[0]))
            if iou_matrix(box[None], xyxy[best][None])[0, 0] > 0.3:
                box = xyxy[best]
        x1, y1, x2, y2 = (round(float(v)) for v in box)
        shape = self._predict(rgb, self._rect(x1, y1, x2, y2))
        pts = np.array([[shape.part(i).x, shape.part(i).y] for i in range(68)], np.float64)
        ears = []
        for eye in DLIB_EYES:
            e = pts[list(eye)]
            vertical = np.linalg.norm(e[1] - e[5]) + np.linalg.norm(e[2] - e[4])
            ears.append(vertical / max(2.0 * np.linalg.norm(e[0] - e[3]), 1e-6))
        return float(np.mean(ears))


def run_facetrack(tracker: FaceTracker, video: Path, clip: Clip, dlib_eyes: DlibEyes | None,
                  hold: bool = False) -> dict[str, Reading]:
    """facetrack's reading and the EAR peers', from one pass over the clip; with ``hold`` a
    frame whose face was not read holds the person's last read (``analysis.face_rate_hz``)."""
    n = len(clip.time)
    closed, ear, ear68 = np.zeros(n, bool), np.full(n, np.nan), np.full(n, np.nan)
    blinks: dict[tuple[int, float], tuple[float, float]] = {}
    person: set[int] = set()
    for result in tracker.track(video, finish=True):  # blinks open at the end included
        i, faces = result.frame.index, result.faces
        if i < n and len(faces) and np.isfinite(clip.boxes[i]).all():
            k = int(np.argmax(iou_matrix(clip.boxes[i][None], faces.xyxy)[0]))
            if iou_matrix(clip.boxes[i][None], faces.xyxy[k][None])[0, 0] > 0.3:
                person.add(int(faces.track_id[k]))
                if dlib_eyes is not None:
                    ear68[i] = dlib_eyes.ear(result.frame.image, faces.xyxy[k])
                if faces.attrs.get("analysed", np.zeros(len(faces), bool))[k]:
                    closed[i] = bool(faces.attrs["eyes_closed"][k])
                    assert faces.landmarks is not None
                    ear[i] = float(eye_aspect_ratio(faces.landmarks[k][None])[0].mean())
                elif hold and i:
                    closed[i] = closed[i - 1]
        for snap in result.tracks:
            b = snap.signals.last_blink
            if b is not None:
                blinks[(snap.track_id, b.start_s)] = (b.start_s, b.end_s)
    out = {"facetrack": Reading(closed, [v for (tid, _), v in sorted(blinks.items())
                                         if tid in person])}
    if dlib_eyes is not None:
        out["EAR < 0.2, dlib 68"] = ear_peer(ear68, clip, 0.2)
        out["EAR < 0.25, dlib 68"] = ear_peer(ear68, clip, 0.25)
    out["EAR < 0.2, Face Mesh"] = ear_peer(ear, clip, 0.2)
    return out


def ear_peer(ear: np.ndarray, clip: Clip, threshold: float) -> Reading:
    closed = np.nan_to_num(ear, nan=1.0) < threshold
    blinks, start = [], None
    for i, c in enumerate([*closed, False]):
        if c and start is None:
            start = i
        elif not c and start is not None:
            if i - start >= EAR_MIN_FRAMES:
                blinks.append((clip.time[start], clip.time[i - 1] + clip.weights[i - 1]))
            start = None
    return Reading(closed, blinks)


@dataclass
class Score:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    right: int = 0
    frames: int = 0
    perclos_errors: list[float] = field(default_factory=list)

    def add(self, clip: Clip, reading: Reading) -> None:
        ann = np.flatnonzero(clip.annotated)
        lo, hi = clip.time[ann[0]], clip.time[ann[-1]] + clip.weights[ann[-1]]
        found = [b for b in reading.blinks if b[1] > lo and b[0] < hi]
        tp = match(found, clip.blinks)
        self.tp, self.fp, self.fn = self.tp + tp, self.fp + len(found) - tp, \
            self.fn + len(clip.blinks) - tp
        decided = (clip.state == "open") | (clip.state == "closed")
        self.right += int((reading.closed[decided] == (clip.state[decided] == "closed")).sum())
        self.frames += int(decided.sum())
        w = clip.weights * clip.annotated
        truth = float((w * (clip.state == "closed")).sum() / w.sum())
        self.perclos_errors.append(abs(float((w * reading.closed).sum() / w.sum()) - truth))

    def row(self) -> list[object]:
        p = self.tp / max(self.tp + self.fp, 1)
        r = self.tp / max(self.tp + self.fn, 1)
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        return [self.tp + self.fn, self.tp, self.fp, self.fn, p, r, f1,
                self.right / max(self.frames, 1), float(np.mean(self.perclos_errors))]


def match(found: list[tuple[float, float]], truth: list[tuple[float, float]]) -> int:
    """Blinks matched one to one, in time order, by any overlap."""
    used: set[int] = set()
    for start, end in found:
        for j, (t0, t1) in enumerate(truth):
            if j not in used and start < t1 and t0 < end:
                used.add(j)
                break
    return len(used)


def evaluate(clips: list[str] | None = None, mesh: bool = False, dlib: bool = True,
             follow: int | None = None, face_rates: tuple[float, ...] = ()
             ) -> dict[str, dict[str, Score]]:
    """{method: {condition or "all": Score}} over the clips (all of the shared split when
    ``clips`` is None); ``follow`` N adds facetrack with ``tracking.detect_interval: N`` (faces
    followed from their landmarks between detections), each of ``face_rates`` facetrack with
    ``analysis.face_rate_hz`` at that rate."""
    dlib_eyes = DlibEyes() if dlib else None
    root = data_root() / "zju_eyeblink_video"
    folders = sorted(p for p in root.iterdir() if p.is_dir())
    if clips is not None:
        folders = [f for f in folders if f.name in clips]
    trackers = {"": FaceTracker(TrackerConfig())}
    if mesh:
        trackers["mesh"] = FaceTracker(TrackerConfig.model_validate(
            {"analysis": {"eye_model": "mesh"}}))
    if follow is not None:
        trackers[f"detector every {follow} frames"] = FaceTracker(TrackerConfig.model_validate(
            {"tracking": {"detect_interval": follow}}))
    for hz in face_rates:
        trackers[f"faces read at {hz:g} Hz"] = FaceTracker(TrackerConfig.model_validate(
            {"analysis": {"face_rate_hz": hz}}))
    scores: dict[str, dict[str, Score]] = {}
    for folder in folders:
        clip = load_clip(folder)
        for tag, tracker in trackers.items():
            for method, reading in run_facetrack(tracker, folder / f"{folder.name}.mp4", clip,
                                                 None if tag else dlib_eyes,
                                                 hold=tag.startswith("faces read")).items():
                if tag and method != "facetrack":
                    continue
                name = f"{method} ({tag})" if tag else method
                by = scores.setdefault(name, {})
                by.setdefault(clip.condition, Score()).add(clip, reading)
                by.setdefault("all", Score()).add(clip, reading)
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mesh", action="store_true",
                        help="also run facetrack with analysis.eye_model: mesh")
    parser.add_argument("--follow", type=int, metavar="N",
                        help="also run facetrack with tracking.detect_interval: N")
    parser.add_argument("--face-rate", type=float, nargs="+", default=[], metavar="HZ",
                        help="also run facetrack with analysis.face_rate_hz: HZ")
    parser.add_argument("--no-peers", action="store_true",
                        help="leave out the dlib EAR peers (the slow part)")
    args = parser.parse_args()
    scores = evaluate(mesh=args.mesh, follow=args.follow, dlib=not args.no_peers,
                      face_rates=tuple(args.face_rate))
    rows = [[method, cond, *score.row()]
            for method, by in scores.items()
            for cond in (*CONDITIONS, "all") if (score := by.get(cond)) is not None]
    print_table(["method", "condition", "blinks", "found", "false", "missed", "precision",
                 "recall", "F1", "closed-frame accuracy", "PERCLOS MAE"], rows)


if __name__ == "__main__":
    main()
