"""The MJPEG live view (a real HTTP client reads the multipart stream) and the RTSP push (a
real RTSP server receives the annotated stream and a client pulls it back)."""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from facetrack.errors import OutputError
from facetrack.faces import Faces
from facetrack.frames import Frame
from facetrack.results import FrameResult
from facetrack.service import Monitor, MonitorConfig
from facetrack.sinks.live_view import LiveView, RtspPush
from facetrack.sinks.window import open_window
from facetrack.sources.live import Backoff, LiveSource
from tests.integration.servers import RtspServer, XServer, require


def _result(i: int, w: int = 320, h: int = 240) -> FrameResult:
    image = np.full((h, w, 3), 40 + i % 200, np.uint8)
    faces = Faces.from_arrays([[50, 50, 120, 140]], [0.9], track_id=[7])
    return FrameResult(Frame(image, "cam", i, i / 10), faces)


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return bytes(resp.read())


def test_mjpeg_view_index_still_and_stream() -> None:
    view = LiveView(["door", "hall"], port=0)
    base = f"http://127.0.0.1:{view.port}"
    try:
        page = _get(base + "/").decode()
        assert '<img src="/cameras/door.mjpg"' in page and "hall" in page
        with pytest.raises(urllib.error.HTTPError) as err:
            _get(base + "/cameras/door.jpg")
        assert err.value.code == 503  # no frame yet
        err.value.close()
        view.put("door", _result(1))
        still = cv2.imdecode(np.frombuffer(_get(base + "/cameras/door.jpg"), np.uint8),
                             cv2.IMREAD_COLOR)
        assert still.shape == (240, 320, 3)
        with pytest.raises(urllib.error.HTTPError) as err:
            _get(base + "/cameras/nope.mjpg")
        assert err.value.code == 404
        err.value.close()
        with urllib.request.urlopen(base + "/cameras/door.mjpg", timeout=5) as resp:
            assert resp.headers["Content-Type"].startswith("multipart/x-mixed-replace")
            frames = []
            for i in range(2, 5):
                view.put("door", _result(i))
                head = b""
                while not head.endswith(b"\r\n\r\n"):
                    head += resp.read(1)
                length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                                  if line.lower().startswith(b"content-length")))
                frames.append(cv2.imdecode(np.frombuffer(resp.read(length), np.uint8),
                                           cv2.IMREAD_COLOR))
                resp.read(2)
            assert all(f is not None and f.shape == (240, 320, 3) for f in frames)
    finally:
        view.close()


def test_a_real_browser_shows_the_live_cameras(tmp_path: Path) -> None:
    """Debian's chromium (headless) opens the index page and paints the camera's MJPEG
    stream: the green test frame covers the image area of the screenshot."""
    browser = shutil.which("chromium")
    require(browser is not None, "chromium (Debian package)")
    view = LiveView(["door"], port=0)
    stop = threading.Event()

    def feed() -> None:
        i = 0
        while not stop.is_set():
            image = np.full((240, 320, 3), (0, 160, 0), np.uint8)
            faces = Faces.from_arrays([[50, 50, 120, 140]], [0.9], track_id=[7])
            view.put("door", FrameResult(Frame(image, "door", i, i / 10), faces))
            i += 1
            time.sleep(0.1)

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    shot = tmp_path / "shot.png"
    try:
        subprocess.run(
            [str(browser), "--headless=new", "--no-sandbox", "--disable-gpu",
             "--hide-scrollbars", f"--screenshot={shot}", "--window-size=800,600",
             "--virtual-time-budget=3000", f"http://127.0.0.1:{view.port}/"],
            capture_output=True, timeout=60, check=True,
        )
    finally:
        stop.set()
        feeder.join()
        view.close()
    image = cv2.imread(str(shot))
    assert image is not None
    green = (image[:, :, 1] > 120) & (image[:, :, 0] < 60) & (image[:, :, 2] < 60)
    assert green.sum() > 0.8 * 320 * 240 * 0.9, int(green.sum())


@pytest.fixture()
def xserver() -> Iterator[XServer]:
    x = XServer()
    yield x
    x.close()


def _solid(camera: str, bgr: tuple[int, int, int]) -> FrameResult:
    image = np.zeros((360, 640, 3), np.uint8)
    image[:] = bgr
    return FrameResult(Frame(image, camera, 0, 0.0), Faces.from_arrays([[200, 100, 300, 220]],
                                                                       [0.9], track_id=[1]))


def test_local_window_shows_each_camera_in_its_cell(xserver: XServer, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A real X server (Xvfb): the window opens at the top left and shows camera a's red frame
    in the left cell and camera b's blue frame in the right one (screenshot by x11grab)."""
    monkeypatch.setenv("DISPLAY", xserver.display)
    window = open_window(["a", "b"])
    assert window is not None
    try:
        end = time.monotonic() + 10
        while window.shown < 3 and time.monotonic() < end:
            window.put("a", _solid("a", (0, 0, 255)))
            window.put("b", _solid("b", (255, 0, 0)))
            time.sleep(0.1)
        assert window.shown >= 3
        time.sleep(0.3)
        shot = cv2.imread(str(xserver.grab(tmp_path / "screen.png")))
    finally:
        window.close()
    left, right = shot[300:340, 20:180], shot[300:340, 660:820]  # corners, away from boxes
    assert np.abs(left.reshape(-1, 3).mean(0) - (0, 0, 255)).max() < 10, left.mean((0, 1))
    assert np.abs(right.reshape(-1, 3).mean(0) - (255, 0, 0)).max() < 10, right.mean((0, 1))
    # nothing below the window (1280 x 360) but the X cursor
    assert (shot[400:, :] > 10).any(axis=2).mean() < 0.001


def test_losing_the_display_ends_only_the_window(xserver: XServer,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Xlib ends a process whose X server goes away: the window runs in its own process, so
    killing the X server ends the window and nothing else (this test process lives on)."""
    monkeypatch.setenv("DISPLAY", xserver.display)
    window = open_window(["a"])
    assert window is not None
    try:
        end = time.monotonic() + 10
        while window.shown < 2 and time.monotonic() < end:
            window.put("a", _solid("a", (0, 255, 0)))
            time.sleep(0.1)
        assert window.shown >= 2
        xserver.close()
        end = time.monotonic() + 15
        while window.closed is None and time.monotonic() < end:
            window.put("a", _solid("a", (0, 255, 0)))
            time.sleep(0.1)
        assert window.closed is not None and "display went away" in window.closed
    finally:
        window.close()


def test_monitor_window_with_and_without_a_display(xserver: XServer, live_clip: Path,
                                                   tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    cfg = MonitorConfig.model_validate({
        "store": {"events_db": str(tmp_path / "ev.db"), "events_jsonl": None},
        "live_view": {"window": True},
        "cameras": [{"name": "cam", "source": str(live_clip), "loop": True}],
    })
    monkeypatch.setenv("DISPLAY", xserver.display)
    mon = Monitor(cfg)
    runner = threading.Thread(target=mon.run, kwargs={"duration_s": 20})
    runner.start()
    try:
        end = time.monotonic() + 15
        while (mon.window is None or mon.window.shown < 10) and time.monotonic() < end:
            time.sleep(0.1)
        assert mon.window is not None and mon.window.shown >= 10
        shot = cv2.imread(str(xserver.grab(tmp_path / "screen.png")))
    finally:
        mon.stop()
        runner.join(timeout=60)
    assert not runner.is_alive()
    cell = shot[:360, :640].astype(np.float32)
    assert cell.std() > 20  # a picture, not an empty window
    monkeypatch.delenv("DISPLAY")
    counters = Monitor(cfg).run(duration_s=8)
    assert counters["cam"].processed > 0
    assert any("no display" in r.getMessage() for r in caplog.records)


def test_view_port_in_use_is_a_clear_error() -> None:
    view = LiveView(["a"], port=0)
    try:
        with pytest.raises(OutputError, match="cannot listen"):
            LiveView(["a"], port=view.port)
    finally:
        view.close()


def test_rtsp_push_reaches_a_real_server() -> None:
    """Annotated frames pushed at 10 fps are pulled back from the server at their size."""
    server = RtspServer()
    push = RtspPush(server.publish_url("annotated"), fps=10)
    stop = threading.Event()

    def feed() -> None:
        i = 0
        while not stop.is_set():
            push.put(_result(i).frame.image)
            i += 1
            time.sleep(0.1)

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    try:
        deadline = time.monotonic() + 20
        while push.sent < 5 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert push.sent >= 5, (push.sent, push.last_error)
        with LiveSource(server.url("annotated"), backoff=Backoff(0.2, 2, 1, 0.1),
                        read_timeout=3, open_timeout=3) as src:
            assert src.wait_online(15), src.stats
            frame = next(iter(src))
        assert frame.image.shape[:2] == (240, 320)
    finally:
        stop.set()
        feeder.join()
        push.close()
        server.stop()
