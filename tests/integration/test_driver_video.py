"""The driver profile end to end on real faces: `facetrack monitor` plays a 10 fps clip made of
ZJU Eyeblink frames (a real person, real open and closed eyes; the timing is composed): a real
closed eye held for 4 s, then the eyes covered for 7 s, then nobody in view for 7 s. Expected:
`microsleep` and `sleep` for the closure, `uncertain` (eyes not visible) for the covered eyes,
never a closure event for them, and `uncertain` (no face) for the empty frames."""

from __future__ import annotations

import csv
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from facetrack.service import Monitor, MonitorConfig
from facetrack.storage.events import EventStore
from tests.builders import write_video

CLIP = "000001M_FNN"
FPS = 10


def _frames(data_dir: Path) -> tuple[list[np.ndarray], list[dict[str, str]]]:
    folder = data_dir / "zju_eyeblink_video" / CLIP
    with av.open(str(folder / f"{CLIP}.mp4")) as c:
        frames = [f.to_ndarray(format="bgr24") for f in c.decode(video=0)]
    with (folder / f"{CLIP}.csv").open() as fh:
        return frames, list(csv.DictReader(fh))


def _cover(image: np.ndarray, row: dict[str, str]) -> np.ndarray:
    out = image.copy()
    for side in ("le", "re"):
        x0, y0, x1, y1 = (float(row[f"{side}_{k}"]) for k in ("lx", "ly", "rx", "ry"))
        w, cx, cy = x1 - x0, (x0 + x1) / 2, (y0 + y1) / 2
        cv2.rectangle(out, (int(cx - 0.8 * w), int(cy - 0.5 * w)),
                      (int(cx + 0.8 * w), int(cy + 0.5 * w)), (12, 12, 12), -1)
    return out


def _drive_clip(data_dir: Path, path: Path) -> dict[str, tuple[float, float]]:
    """Write the clip; the time span (s) of each part."""
    frames, rows = _frames(data_dir)
    open_ = [i for i, r in enumerate(rows) if r["eye_state"] == "open"]
    closed = [i for i, r in enumerate(rows) if r["eye_state"] == "closed"]
    still = closed[len(closed) // 2]
    steps = open_[::3]  # ~10 fps of the open frames, repeated as long as needed

    def awake(n: int) -> list[np.ndarray]:
        return [frames[steps[k % len(steps)]] for k in range(n)]

    parts = {
        "calibrate": awake(60),
        "closed": [frames[still]] * 40,
        "open": awake(30),
        "covered": [_cover(frames[steps[k % len(steps)]], rows[steps[k % len(steps)]])
                    for k in range(70)],
        "back": awake(20),
        "empty": [np.full_like(frames[0], 90)] * 70,
        "end": awake(20),
    }
    spans, t, video = {}, 0.0, []
    for name, part in parts.items():
        spans[name] = (t, t + len(part) / FPS)
        t += len(part) / FPS
        video += part
    write_video(path, video, fps=FPS)
    return spans


@pytest.mark.data
@pytest.mark.slow
def test_driver_profile_on_real_faces(data_dir: Path, tmp_path: Path) -> None:
    spans = _drive_clip(data_dir, tmp_path / "cabin.mp4")
    cfg = MonitorConfig.model_validate({
        "store": {"events_db": str(tmp_path / "ev.db"), "events_jsonl": None},
        "cameras": [{"name": "cabin", "source": str(tmp_path / "cabin.mp4"), "fps_cap": FPS,
                     "events": {"profile": "driver"}}]})
    Monitor(cfg).run(duration_s=spans["end"][1] + 8)
    with EventStore(tmp_path / "ev.db") as store:
        events = store.query()

    def during(kind: str) -> list[tuple[float, dict]]:
        return [(e["timestamp"], e) for e in events if e["kind"] == kind]

    def inside(t: float, part: str) -> bool:
        start, end = spans[part]
        return start <= t <= end + 0.5

    micro, sleep = during("microsleep"), during("sleep")
    assert len(micro) == 1 and inside(micro[0][0], "closed"), micro
    assert len(sleep) == 1 and inside(sleep[0][0], "closed"), sleep
    closed_start = spans["closed"][0]
    assert 0.5 - 0.2 <= micro[0][0] - closed_start <= 0.5 + 0.3
    assert 3.0 - 0.2 <= sleep[0][0] - closed_start <= 3.0 + 0.3
    uncertain = during("uncertain")
    reasons = {e["reason"]: t for t, e in uncertain}
    assert set(reasons) == {"eyes_not_visible", "no_face"}, uncertain
    assert inside(reasons["eyes_not_visible"], "covered")
    assert inside(reasons["no_face"], "empty")
    # nothing about the eyes was guessed while they were covered
    assert not [t for t, _ in micro + sleep if inside(t, "covered")]
