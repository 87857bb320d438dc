"""Recognition on the demo clip: enrol every photo of demo_videos/enrollment/ (one of them,
biden.jpg, is a distractor who never appears), track short_hamilton_clip.mp4 with recognition
on, and report which enrolled people are found (a track confirmed as them), in how many frames,
and which are not. There is no per-frame ground truth: upstream documents Lin-Manuel Miranda and
Alex Lacamoire in the clip and Barack Obama in the audience shots near the end.

    python -m benchmarks.demo_recognition [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any

from benchmarks._common import data_root, print_table
from facetrack.config import DetectorConfig, TrackerConfig
from facetrack.detection.yunet import YuNetDetector
from facetrack.pipeline import FaceTracker
from facetrack.recognition.embedder import SFaceEmbedder
from facetrack.recognition.enroll import collect_images, enroll_images
from facetrack.recognition.gallery import FaceDatabase

CLIP = "short_hamilton_clip.mp4"
DISTRACTOR = "biden"


def evaluate() -> dict[str, Any]:
    root = data_root() / "demo_videos"
    photos = collect_images([root / "enrollment"])
    with tempfile.TemporaryDirectory() as tmp:
        db_path = Path(tmp) / "faces.db"
        with FaceDatabase(db_path) as db:
            detector, embedder = YuNetDetector(DetectorConfig()), SFaceEmbedder()
            for photo in photos:
                enroll_images(db, photo.stem, [photo], detector, embedder)
        data = TrackerConfig().model_dump()
        data["recognition"].update(enabled=True, database=db_path)
        tracker = FaceTracker(TrackerConfig.model_validate(data))
        frames: dict[str, int] = {}
        tracks: dict[str, set[int]] = {}
        best: dict[str, float] = {}
        n = 0
        for result in tracker.track(root / "videos" / CLIP):
            n += 1
            f = result.faces
            who = f.identity
            for tid, pid, name, sim, ok in zip(
                    f.track_id.tolist(), who.person_id.tolist(), who.name.tolist(),
                    who.similarity.tolist(), who.confirmed.tolist(), strict=True):
                if ok and pid >= 0:
                    frames[name] = frames.get(name, 0) + 1
                    tracks.setdefault(name, set()).add(tid)
                    best[name] = max(best.get(name, -1.0), sim)
    people = sorted(p.stem for p in photos)
    return {
        "frames": n,
        "people": {p: {"found": p in frames, "frames": frames.get(p, 0),
                       "tracks": sorted(tracks.get(p, ())), "best_similarity": best.get(p)}
                   for p in people},
        "distractor_reported": DISTRACTOR in frames,
        "embeddings": tracker.embeddings_computed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    result = evaluate()
    print_table(
        ["enrolled person", "found", "frames labelled", "tracks", "best similarity"],
        [[p, "yes" if r["found"] else "no", r["frames"], len(r["tracks"]),
          r["best_similarity"] if r["best_similarity"] is not None else ""]
         for p, r in result["people"].items()],
    )
    print(f"\n{result['frames']} frames; distractor {DISTRACTOR!r} reported: "
          f"{result['distractor_reported']}; embeddings computed: {result['embeddings']}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
