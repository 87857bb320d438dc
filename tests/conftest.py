from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("FACETRACK_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def data_dir() -> Path:
    if not DATA.is_dir():
        pytest.skip(f"shared data not found at {DATA} (set FACETRACK_DATA)")
    return DATA


@pytest.fixture(scope="session")
def live_clip(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """synth01 as a 640-wide, 6 s clip with a keyframe every 10 frames: a camera stream for
    the live tests (made once per session with ffmpeg)."""
    from tests.integration.servers import short_gop_copy

    src = data_dir / "synth_tracks" / "synth01" / "video.mp4"
    return short_gop_copy(src, tmp_path_factory.mktemp("live") / "cam.mp4")


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """One real PostgreSQL server for the session (tests/live_support.PostgresServer)."""
    from tests.integration.servers import PostgresServer

    server = PostgresServer(tmp_path_factory.mktemp("pg"))
    yield server
    server.close()


@pytest.fixture()
def pg_url(postgres: object) -> str:
    """A fresh, empty database on the session's PostgreSQL server."""
    from tests.integration.servers import fresh_database

    return fresh_database(postgres.url)  # type: ignore[attr-defined]


@pytest.fixture()
def s3_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
                       "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(key, value)


@pytest.fixture()
def moto() -> Iterator[object]:
    """A real S3-compatible server (moto's), one per test."""
    from tests.integration.servers import MotoServer

    server = MotoServer()
    server.start()
    yield server
    server.stop()
