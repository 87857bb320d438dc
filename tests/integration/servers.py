"""Real services for the live tests: an RTSP server (tests/rtsp, npm) and ffmpeg publishers.

Missing tools skip the tests locally with the reason, but fail them under ``CI=true``: CI
installs both (scripts/install dev), so a skip there would hide a broken setup.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

RTSP_DIR = Path(__file__).resolve().parents[1] / "rtsp"


def require(tool_ok: bool, what: str) -> None:
    if tool_ok:
        return
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{what} is missing under CI (scripts/install dev installs it)")
    pytest.skip(f"{what} is missing (bash scripts/install dev installs it)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on port {port}")


RTP_BLOCK = 40  # UDP ports per server: 2 per publisher or client session


class RtspServer:
    """tests/rtsp/server.js: publish on ``publish_url(name)``, pull from ``url(name)``."""

    _made = 0

    def __init__(self) -> None:
        require(shutil.which("node") is not None
                and (RTSP_DIR / "node_modules" / "rtsp-streaming-server").is_dir(),
                "the test RTSP server (node + tests/rtsp/node_modules)")
        self.publish_port, self.client_port = free_port(), free_port()
        # each server gets its own block of RTP (UDP) ports: servers sharing one block (several
        # cameras in one process) would steal each other's streams
        RtspServer._made += 1
        self._rtp = 20000 + ((os.getpid() % 400) * 100 + RtspServer._made * RTP_BLOCK) % 40000
        self.proc: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["node", "server.js", str(self.publish_port), str(self.client_port), str(self._rtp),
             str(RTP_BLOCK)],
            cwd=RTSP_DIR, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_port(self.publish_port)
        wait_port(self.client_port)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def publish_url(self, name: str) -> str:
        return f"rtsp://127.0.0.1:{self.publish_port}/{name}"

    def url(self, name: str) -> str:
        return f"rtsp://127.0.0.1:{self.client_port}/{name}"


class Publisher:
    """ffmpeg pushing ``clip`` in a loop, at its native rate, to an RTSP server: a camera."""

    def __init__(self, clip: Path, url: str) -> None:
        require(shutil.which("ffmpeg") is not None, "ffmpeg")
        self.clip, self.url = clip, url
        self.proc: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-stream_loop", "-1",
             "-i", str(self.clip), "-c:v", "copy", "-an", "-f", "rtsp", self.url],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None


def short_gop_copy(clip: Path, out: Path, seconds: float = 6.0, width: int = 640) -> Path:
    """A copy of ``clip`` with a keyframe every 10 frames, so a client joining a stream gets a
    picture within 0.4 s (the shared clips have long GOPs)."""
    require(shutil.which("ffmpeg") is not None, "ffmpeg")
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-i", str(clip), "-t",
         str(seconds), "-vf", f"scale={width}:-2", "-c:v", "libx264", "-preset", "ultrafast",
         "-g", "10", "-bf", "0", "-pix_fmt", "yuv420p", "-an", str(out)],
        check=True,
    )
    return out


class Camera:
    """An RTSP camera: a server plus ffmpeg publishing ``clip`` to it in a loop. ``stop`` takes
    both down (connections refused, like a camera that reboots); ``start`` brings them back on
    the same address."""

    def __init__(self, clip: Path, name: str = "cam") -> None:
        self.name = name
        self.server = RtspServer()
        self.publisher = Publisher(clip, self.server.publish_url(name))
        self.url = self.server.url(name)

    def stop(self) -> None:
        self.publisher.stop()
        self.server.stop()

    def start(self) -> None:
        self.server.start()
        self.publisher.start()

    def close(self) -> None:
        self.stop()


class WebhookReceiver:
    """A real HTTP server taking JSON POSTs (Apprise's ``json://``): ``bodies`` in arrival
    order, ``arrivals`` the same with ``time.monotonic()`` of arrival."""

    def __init__(self) -> None:
        self.arrivals: list[tuple[float, dict[str, Any]]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                outer.arrivals.append((time.monotonic(), json.loads(body)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.port = int(self.server.server_address[1])
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def bodies(self) -> list[dict[str, Any]]:
        return [body for _, body in self.arrivals]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def small_disk(path: Path, size_mb: int) -> Iterator[Path]:
    """A real, small file system (tmpfs) mounted at ``path``, to fill up: needs root (CI runs
    as root; elsewhere the test is skipped, or fails under CI=true)."""
    path.mkdir(parents=True, exist_ok=True)
    ok = os.geteuid() == 0 and shutil.which("mount") is not None and subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_mb}m,mode=0700", "tmpfs", str(path)],
        capture_output=True).returncode == 0
    require(ok, "mounting a tmpfs (root)")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


@contextmanager
def read_only_copy(src: Path, folder: Path) -> Iterator[Path]:
    """``src`` copied onto a small file system that is then remounted read-only (root only, as
    ``small_disk``): the real thing a read-only volume or a ConfigMap is."""
    with small_disk(folder, 8) as disk:
        dest = disk / src.name
        shutil.copy(src, dest)
        subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
        try:
            yield dest
        finally:
            subprocess.run(["mount", "-o", "remount,rw", str(disk)], check=True)


def fill_disk(path: Path) -> Path:
    """Write a file in ``path`` until its file system is full; delete it to free the space."""
    filler = path / "filler.bin"
    with filler.open("wb", buffering=0) as fh:
        for size in (2**16, 512):  # big pieces, then the last crumbs
            with contextlib.suppress(OSError):
                while True:
                    fh.write(b"\0" * size)
    return filler


class XServer:
    """A real X server without a screen (Debian's Xvfb), for the local window; ``grab()``
    takes a screenshot with ffmpeg's x11grab."""

    def __init__(self, size: tuple[int, int] = (1280, 800)) -> None:
        require(shutil.which("Xvfb") is not None, "Xvfb (Debian xvfb)")
        require(shutil.which("ffmpeg") is not None, "ffmpeg")
        self.size = size
        read, write = os.pipe()  # Xvfb picks a free display and writes its number here
        try:
            self.proc = subprocess.Popen(
                ["Xvfb", "-displayfd", str(write), "-screen", "0", f"{size[0]}x{size[1]}x24",
                 "-nolisten", "tcp"], pass_fds=(write,), stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL)
            os.close(write)
            with os.fdopen(read, "rb") as fh:
                number = fh.readline().decode().strip()
        except BaseException:
            with contextlib.suppress(OSError):
                os.close(write)
            raise
        if not number.isdigit():
            self.close()
            raise RuntimeError("Xvfb did not start")
        self.display = f":{number}"

    def grab(self, path: Path) -> Path:
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "x11grab", "-video_size",
                        f"{self.size[0]}x{self.size[1]}", "-i", f"{self.display}+0,0",
                        "-frames:v", "1", str(path)], check=True, timeout=20)
        return path

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def _pg_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"))
    return found[-1].parent if found else None


class PostgresServer:
    """A real PostgreSQL server (Debian's postgresql) in a temporary folder, trust auth on
    127.0.0.1; ``stop()`` / ``start()`` take it down and bring it back (same data, same port).
    As root it runs as the ``postgres`` user the package creates (PostgreSQL refuses root)."""

    def __init__(self, folder: Path) -> None:
        bin_dir = _pg_bin()
        require(bin_dir is not None, "PostgreSQL (Debian postgresql)")
        assert bin_dir is not None
        self.bin = bin_dir
        self.data = folder / "pgdata"
        self.port = free_port()
        self.url = f"postgresql://facetrack@127.0.0.1:{self.port}/postgres"
        self._as: list[str] = []
        if os.geteuid() == 0:
            require(shutil.which("runuser") is not None, "runuser (util-linux)")
            self._as = ["runuser", "-u", "postgres", "--"]
            for parent in [folder, *folder.parents]:  # the postgres user must reach its folder
                if parent != Path("/"):
                    parent.chmod(parent.stat().st_mode | 0o011)
        self.data.mkdir()
        if self._as:
            shutil.chown(self.data, "postgres", "postgres")
        subprocess.run([*self._as, str(self.bin / "initdb"), "-D", str(self.data), "-U",
                        "facetrack", "--auth=trust", "-E", "UTF8", "--no-sync"],
                       check=True, capture_output=True, timeout=120)
        self.pg_running = False
        self.start()

    def _ctl(self, *args: str) -> None:
        subprocess.run([*self._as, str(self.bin / "pg_ctl"), "-D", str(self.data), *args],
                       check=True, capture_output=True, timeout=60)

    def start(self) -> None:
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 -c "
                   f"unix_socket_directories={self.data} -c fsync=off")
        self._ctl("-o", options, "-l", str(self.data / "server.log"), "-w", "start")
        self.pg_running = True
        wait_port(self.port, 30)

    def stop(self) -> None:
        """Fast shutdown: clients are disconnected, as when the database host goes down."""
        if self.pg_running:
            self._ctl("-m", "fast", "-w", "stop")
            self.pg_running = False

    def close(self) -> None:
        self.stop()


class MotoServer:
    def __init__(self) -> None:
        exe = shutil.which("moto_server") or str(Path(os.sys.executable).parent / "moto_server")
        require(Path(exe).exists(), "moto_server (moto[server])")
        self.exe, self.port = exe, free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.proc = subprocess.Popen([self.exe, "-H", "127.0.0.1", "-p", str(self.port)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port, 20)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def make_bucket(self, name: str) -> None:
        import boto3

        boto3.client("s3", endpoint_url=self.url).create_bucket(Bucket=name)

    def keys(self, name: str) -> list[str]:
        import boto3

        out = boto3.client("s3", endpoint_url=self.url).list_objects_v2(Bucket=name)
        return sorted(o["Key"] for o in out.get("Contents", []))


class RayCluster:
    """A real Ray cluster on this machine: a head with no CPU of its own and ``workers``
    worker nodes of one CPU each, every one a ``ray start --block`` process (stopping it
    stops that node's processes)."""

    def __init__(self, workers: int = 2, timeout: float = 90.0) -> None:
        exe = Path(sys.executable).parent / "ray"
        require(exe.exists(), "ray (facetrack[ray])")
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
        common = ["--block", "--disable-usage-stats"]
        self.nodes = [subprocess.Popen(
            [str(exe), "start", "--head", "--port", str(self.port), "--num-cpus", "0",
             "--include-dashboard=false", "--node-ip-address", "127.0.0.1", *common],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)]
        try:
            wait_port(self.port, timeout)
            for n in range(1, workers + 1):  # one at a time: nodes starting together clash
                self.nodes.append(subprocess.Popen(
                    [str(exe), "start", "--address", self.address, "--num-cpus", "1",
                     "--node-ip-address", "127.0.0.1", *common],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env))
                self._wait_for_cpus(n, timeout)
        except BaseException:
            self.close()
            raise

    def _wait_for_cpus(self, cpus: int, timeout: float) -> None:
        exe = Path(sys.executable).parent / "ray"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = subprocess.run([str(exe), "status", "--address", self.address],
                                    capture_output=True, text=True, timeout=30)
            if f"/{cpus}.0 CPU" in status.stdout:
                return
            if any(p.poll() is not None for p in self.nodes):
                raise RuntimeError("a Ray node exited while starting")
            time.sleep(1)
        raise TimeoutError(f"the Ray cluster did not reach {cpus} CPUs in {timeout:.0f} s")

    def close(self) -> None:
        for proc in reversed(self.nodes):
            if proc.poll() is None:
                proc.terminate()
        for proc in self.nodes:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def fresh_database(url: str, prefix: str = "t") -> str:
    """A new, empty database on the PostgreSQL server of ``url``; its URL."""
    import uuid

    import sqlalchemy as sa

    name = f"{prefix}{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"),
                              isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return url.rsplit("/", 1)[0] + "/" + name
