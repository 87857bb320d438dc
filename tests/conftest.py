from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from facetrack.faces import Faces
from facetrack.frames import Frame

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("FACETRACK_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def data_dir() -> Path:
    if not DATA.is_dir():
        pytest.skip(f"shared data not found at {DATA} (set FACETRACK_DATA)")
    return DATA


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


@pytest.fixture(scope="session")
def live_clip(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """synth01 as a 640-wide, 6 s clip with a keyframe every 10 frames: a camera stream for
    the live tests (made once per session with ffmpeg)."""
    from tests.live_support import short_gop_copy

    src = data_dir / "synth_tracks" / "synth01" / "video.mp4"
    return short_gop_copy(src, tmp_path_factory.mktemp("live") / "cam.mp4")


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """One real PostgreSQL server for the session (tests/live_support.PostgresServer)."""
    from tests.live_support import PostgresServer

    server = PostgresServer(tmp_path_factory.mktemp("pg"))
    yield server
    server.close()


@pytest.fixture()
def pg_url(postgres: object) -> str:
    """A fresh, empty database on the session's PostgreSQL server."""
    import uuid

    import sqlalchemy as sa

    base: str = postgres.url  # type: ignore[attr-defined]
    name = f"t{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(base.replace("postgresql://", "postgresql+psycopg://"),
                              isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return base.rsplit("/", 1)[0] + "/" + name
