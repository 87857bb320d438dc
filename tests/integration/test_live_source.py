"""LiveSource against real parts: an RTSP server with an ffmpeg 'camera', and real files."""

from __future__ import annotations

import itertools
import random
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from facetrack.sources.live import Backoff, LiveSource
from tests.integration.servers import Camera

FAST = Backoff(initial=0.2, factor=2.0, maximum=1.0, jitter=0.1)


@pytest.fixture()
def camera(live_clip: Path) -> Iterator[Camera]:
    cam = Camera(live_clip, "cam1")
    yield cam
    cam.close()


def _take(source: LiveSource, n: int, timeout: float = 20.0) -> list:  # type: ignore[type-arg]
    frames = []
    end = time.monotonic() + timeout
    for frame in source:
        frames.append(frame)
        if len(frames) >= n or time.monotonic() > end:
            break
    return frames


def test_backoff_grows_caps_and_jitters() -> None:
    b = Backoff(initial=0.5, factor=2.0, maximum=30.0, jitter=0.2)
    rng = random.Random(1)
    delays = [b.delay(a, rng) for a in range(10)]
    for a, d in enumerate(delays):
        base = min(30.0, 0.5 * 2**a)
        assert 0.8 * base <= d <= 1.2 * base
    assert max(delays) <= 36.0
    assert delays[3] > delays[0]


@pytest.mark.data
def test_rtsp_camera_frames_and_reconnect_after_the_camera_returns(camera: Camera) -> None:
    states: list[str] = []
    time.sleep(1.0)
    with LiveSource(camera.url, source_id="cam1", backoff=FAST, read_timeout=3.0,
                    open_timeout=3.0, on_state=lambda _c, s, _r: states.append(s)) as src:
        assert src.wait_online(15.0), src.stats
        frames = _take(src, 10)
        assert len(frames) == 10
        assert all(b.timestamp > a.timestamp for a, b in itertools.pairwise(frames))
        assert all(b.index > a.index for a, b in itertools.pairwise(frames))
        assert frames[0].image.shape[1] == 640 and src.info.width == 640
        # the camera dies mid-stream, then comes back
        camera.stop()
        end = time.monotonic() + 15
        while src.stats.state == "online" and time.monotonic() < end:
            time.sleep(0.05)
        assert src.stats.state == "reconnecting", src.stats
        time.sleep(2.0)  # down for a while: several refused attempts
        camera.start()
        back = time.monotonic()
        end = back + 20
        while not (src.stats.state == "online" and src.stats.online_since
                   and src.stats.online_since > back) and time.monotonic() < end:
            time.sleep(0.05)
        assert src.stats.state == "online", src.stats
        reconnect_s = (src.stats.online_since or 0) - back
        assert reconnect_s <= 5.0, reconnect_s  # the target
        more = _take(src, 5)
        assert len(more) == 5 and more[0].index > frames[-1].index
        assert src.stats.reconnects >= 2
    assert states[0] == "connecting" and "online" in states and "reconnecting" in states
    assert states[-1] == "stopped"


def test_unreachable_url_keeps_retrying_and_closes_promptly() -> None:
    src = LiveSource("rtsp://127.0.0.1:9/none", backoff=FAST, open_timeout=1.0,
                     read_timeout=1.0)
    try:
        end = time.monotonic() + 10
        while src.stats.reconnects < 2 and time.monotonic() < end:
            time.sleep(0.05)
        assert src.stats.reconnects >= 2
        assert src.stats.state == "reconnecting" and src.stats.last_error
    finally:
        t0 = time.monotonic()
        src.close()
        assert time.monotonic() - t0 < 5.0
    assert src.stats.state == "stopped"


@pytest.mark.data
def test_slow_processing_drops_old_frames_and_keeps_the_latest(live_clip: Path) -> None:
    """Played at 25 fps while the consumer takes 0.2 s a frame: most frames are dropped, the
    ones processed are current (their capture index jumps), memory holds one frame."""
    with LiveSource(live_clip, realtime=True, loop=True) as src:
        got = []
        for frame in src:
            got.append(frame)
            time.sleep(0.2)
            if len(got) == 8:
                break
        stats = src.stats
    assert stats.dropped >= 8, stats
    gaps = [b.index - a.index for a, b in itertools.pairwise(got)]
    assert min(gaps) >= 2 and sum(gaps) / len(gaps) >= 3


@pytest.mark.data
def test_file_at_native_rate_loop_and_fps_cap(live_clip: Path) -> None:
    with LiveSource(live_clip, realtime=True) as src:
        t0 = time.monotonic()
        frames = list(src)
        took = time.monotonic() - t0
    assert len(frames) == 150 - src.stats.dropped  # 6 s at 25 fps, played once then ends
    assert 5.0 <= took <= 9.0, took  # paced at the native rate
    with LiveSource(live_clip, realtime=True, fps_cap=5.0, loop=True) as src:
        capped = _take(src, 10)
        assert src.stats.skipped >= 30
    span = capped[-1].timestamp - capped[0].timestamp
    assert 1.5 <= span <= 2.6, span  # 10 frames at <= 5 fps


@pytest.mark.data
def test_http_stream_source(live_clip: Path) -> None:
    """A clip served over HTTP by a real web server is read like a camera stream."""
    import functools
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    # Python's simple server ignores Range requests: serve the index (moov) first so FFmpeg
    # never has to seek back, as a streaming HTTP source would
    web = live_clip.parent / "web"
    web.mkdir(exist_ok=True)
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-i", str(live_clip),
                    "-c", "copy", "-movflags", "+faststart", str(web / live_clip.name)], check=True)
    server = ThreadingHTTPServer(("127.0.0.1", 0),
                                 functools.partial(Quiet, directory=str(web)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/{live_clip.name}"
        with LiveSource(url, backoff=FAST, read_timeout=3.0) as src:
            frames = _take(src, 5)
        assert len(frames) == 5 and frames[0].image.shape[1] == 640
        assert src.stats.state == "stopped"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("behaviour", ["silent", "garbage"])
def test_a_silent_or_garbage_server_keeps_the_source_reconnecting(behaviour: str) -> None:
    """A server that accepts the connection and then says nothing (the read timeout, the
    decoder watchdog, gives up) or sends garbage: the source reconnects instead of hanging or
    dying, and close() is prompt."""
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    port = listener.getsockname()[1]
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
                held.append(conn)
                if behaviour == "garbage":
                    conn.sendall(bytes(random.Random(len(held)).randbytes(4096)))
                    conn.shutdown(socket.SHUT_WR)
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        t0 = time.monotonic()
        src = LiveSource(f"rtsp://127.0.0.1:{port}/silent", backoff=FAST, open_timeout=1.0,
                         read_timeout=1.0)
        try:
            end = t0 + 15
            while src.stats.reconnects < 2 and time.monotonic() < end:
                time.sleep(0.05)
            assert src.stats.reconnects >= 2, src.stats
            assert time.monotonic() - t0 < 10
        finally:
            src.close()
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        listener.close()
