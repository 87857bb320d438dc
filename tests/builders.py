"""Small builders shared by the tests: frames, faces, results with tracks, videos on disk, and
the CLI as a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from facetrack.faces import Faces
from facetrack.frames import Frame
from facetrack.tracking.history import TrackHistory
from facetrack.tracks import TrackIdentity, TrackSignals, TrackSnapshot


def make_frame(index: int, image: np.ndarray | None = None, fps: float = 25.0) -> Frame:
    img = np.zeros((8, 8, 3), np.uint8) if image is None else image
    return Frame(img, "test", index, index / fps)


def faces_at(boxes: Sequence[Sequence[float]], scores: Sequence[float] | None = None) -> Faces:
    """Faces with the given xyxy boxes (keypoints placed inside each box)."""
    b = np.asarray(boxes, np.float32).reshape(-1, 4)
    s = np.full(len(b), 0.9, np.float32) if scores is None else np.asarray(scores, np.float32)
    cx, cy = (b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2
    w, h = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]
    offs = np.array([[-0.2, -0.1], [0.2, -0.1], [0, 0.05], [-0.15, 0.25], [0.15, 0.25]])
    kps = np.stack([cx[:, None] + offs[None, :, 0] * w[:, None],
                    cy[:, None] + offs[None, :, 1] * h[:, None]], axis=-1)
    return Faces.from_arrays(b, s, kps)


def write_video(path: Path, frames: Iterator[np.ndarray] | Sequence[np.ndarray], fps: int = 25,
                faststart: bool = False) -> Path:
    """Encode BGR frames to an H.264 file with PyAV (a real file, as users give us).
    ``faststart`` puts the mp4 index first, so a truncated copy still opens."""
    frames = list(frames)
    h, w = frames[0].shape[:2]
    opts = {"movflags": "faststart"} if faststart else {}
    with av.open(str(path), "w", options=opts) as c:
        s = c.add_stream("libx264", rate=Fraction(fps))
        s.width, s.height, s.pix_fmt = w, h, "yuv420p"
        for img in frames:
            for p in s.encode(av.VideoFrame.from_ndarray(img, format="bgr24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return path


def records_for(faces: Faces, frame: Frame, known: dict[int, TrackHistory] | None = None
                ) -> dict[int, TrackHistory]:
    """A live record per track id of ``faces`` (kept in ``known`` across frames)."""
    known = {} if known is None else known
    for tid in faces.track_id.tolist():
        if tid >= 0:
            record = known.get(tid)
            if record is None:
                known[tid] = TrackHistory(tid, frame.index, frame.timestamp)
            else:
                record.seen(frame.index, frame.timestamp)
    return {t: known[t] for t in faces.track_id.tolist() if t >= 0}


def snapshot(track_id: int = 1, *, state: str = "active", first: float = 0.0,
             last: float = 0.0, frame: int = 0, frames_seen: int = 2,
             identity: TrackIdentity | None = None, **signals: object) -> TrackSnapshot:
    """A track snapshot for rule tests: ``signals`` are ``TrackSignals`` fields."""
    return TrackSnapshot(track_id, state, 0, first, frame, last, frames_seen,  # type: ignore[arg-type]
                         identity=identity, signals=TrackSignals(**signals))  # type: ignore[arg-type]


def facetrack(*args: str, cwd: Path | None = None, timeout: float = 600,
              env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m facetrack ARGS`` in a real process, as a user runs it (``env``: extra
    environment variables)."""
    env = {**os.environ, "PYTHONWARNINGS": "ignore", **(env or {})}
    return subprocess.run([sys.executable, "-m", "facetrack", *args], capture_output=True,
                          text=True, cwd=cwd, env=env, timeout=timeout)


def monitor_until_sigterm(config: dict, folder: Path, seconds: float
                          ) -> subprocess.CompletedProcess[str]:
    """``facetrack monitor`` on ``config`` (written as YAML in ``folder``) in a real process,
    stopped with SIGTERM after ``seconds``, as a service manager stops it."""
    import signal
    import time

    import yaml

    path = folder / "mon.yaml"
    path.write_text(yaml.safe_dump(config))
    args = [sys.executable, "-m", "facetrack", "monitor", str(path)]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(seconds)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    return subprocess.CompletedProcess(args, proc.returncode, out, err)


def wait_until(cond: Callable[[], bool], timeout: float = 5.0) -> bool:
    """Poll ``cond`` until it holds (True) or ``timeout`` seconds pass (False)."""
    import time

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.05)
    return bool(cond())


def assert_one_line_error(proc: subprocess.CompletedProcess[str], code: int, *needles: str
                          ) -> None:
    assert proc.returncode == code, proc.stderr
    assert "Traceback" not in proc.stderr
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("error: ")]
    assert len(errors) == 1, proc.stderr
    for needle in needles:
        assert needle in errors[0]
