"""Live sources: RTSP/HTTP streams, local cameras, and files played at their native rate.

A reader thread decodes continuously (PyAV/FFmpeg) and keeps only the **latest** frame: when
processing falls behind, older frames are overwritten and counted as dropped, so the consumer
always works on what the camera shows now, with bounded memory. On an error, end of stream or
silence longer than the read timeout, the reader closes the stream and reconnects with
exponential backoff and jitter, forever (until ``close``), reporting its state (``connecting``,
``online``, ``reconnecting``, ``stopped``) to a callback and in ``stats``. The read timeout is
the decoder watchdog: FFmpeg's interrupt callback aborts a read that hangs longer than it.

Frames carry a monotonic capture time (seconds since the source started) and a capture index
that counts every decoded frame, dropped ones included, so downstream sees the gaps (the
tracker predicts across them).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import av

from facetrack._closing import Closing
from facetrack.frames import Frame, SourceInfo
from facetrack.redact import redact_url
from facetrack.runtime import spawn
from facetrack.sources.video import limit_decoder

log = logging.getLogger(__name__)

#: the longest ``close`` waits for the reader thread
CLOSE_WAIT_S = 2.0

State = Literal["connecting", "online", "reconnecting", "stopped"]


@dataclass(frozen=True)
class Backoff:
    """Wait ``initial * factor**attempt`` seconds (at most ``maximum``), +-``jitter`` of it at
    random, before reconnecting; the attempt count resets once a connection delivers frames.

    The 2 s ceiling bounds how long a camera that comes back waits for the next attempt (the
    soak benchmark's target: frames again within 5 s; with a 3 s ceiling the 4-camera soak saw
    up to 5.5 s); a refused or timed-out attempt every 2 s costs a camera nothing."""

    initial: float = 0.5
    factor: float = 2.0
    maximum: float = 2.0
    jitter: float = 0.2

    def delay(self, attempt: int, rng: random.Random) -> float:
        base = min(self.maximum, self.initial * self.factor ** max(attempt, 0))
        return max(0.0, base * (1.0 + rng.uniform(-self.jitter, self.jitter)))


@dataclass
class LiveStats:
    """Counters of one live source (read them any time; updated by the reader thread)."""

    state: State = "connecting"
    frames_in: int = 0  # decoded from the stream
    frames_out: int = 0  # handed to processing
    dropped: int = 0  # overwritten by a newer frame before processing took them
    skipped: int = 0  # thinned out by the fps cap
    reconnects: int = 0
    last_error: str | None = None
    online_since: float | None = None
    history: list[tuple[float, State]] = field(default_factory=list, repr=False)


def is_stream_url(source: str | Path) -> bool:
    text = str(source)
    return "://" in text and not text.startswith("file://")


class LiveSource(Closing):
    """Frames of a camera, stream or file, latest first (see the module doc).

    ``url``: ``rtsp://``, ``rtsp[s]://``, ``http[s]://``, a V4L2 device (``/dev/video0``, opened
    with ``device_format='v4l2'``) or a file path. ``realtime``: pace a file at its native rate
    (streams and devices pace themselves). ``loop``: start a file again at its end (else the
    source ends there); a stream that ends is reconnected. ``fps_cap``: hand at most this many
    frames a second to processing (the rest are counted as skipped, not dropped).
    ``options``: FFmpeg demuxer options (e.g. ``{"rtsp_transport": "tcp"}``).
    """

    def __init__(
        self,
        url: str | Path,
        *,
        source_id: str | None = None,
        fps_cap: float | None = None,
        realtime: bool | None = None,
        loop: bool = False,
        backoff: Backoff | None = None,
        read_timeout: float = 10.0,
        open_timeout: float = 10.0,
        options: Mapping[str, str] | None = None,
        device_format: str | None = None,
        on_state: Callable[[str, State, str | None], None] | None = None,
        seed: int | None = None,
    ) -> None:
        self.url = str(url)
        self.is_file = self.plays_file(url)
        # the id names the source in every log line: never with its credentials
        self.source_id = source_id or (Path(self.url).name if self.is_file
                                       else redact_url(self.url))
        self.fps_cap = fps_cap
        self.realtime = self.is_file if realtime is None else realtime
        self.loop = loop
        self.backoff = backoff or Backoff()
        self.read_timeout = read_timeout
        self.open_timeout = open_timeout
        self.options = dict(options or {})
        self.device_format = device_format or ("v4l2" if self.url.startswith("/dev/") else None)
        self.on_state = on_state
        self.stats = LiveStats()
        self._rng = random.Random(seed)  # noqa: S311 - retry jitter, not security
        self._lock = threading.Condition()
        self._latest: Frame | None = None
        self._ended = False
        self._stop = threading.Event()
        self._t0 = time.monotonic()
        self._size = (0, 0)
        self._fps = 0.0
        self._thread = spawn(self._run, f"live-{self.source_id}")

    @staticmethod
    def plays_file(url: str | Path) -> bool:
        """A file path (played at its native rate), not a stream or a device."""
        return not is_stream_url(url) and not str(url).startswith("/dev/")

    @property
    def started_at(self) -> float:
        """``time.monotonic()`` at which frame timestamps are 0: a frame was decoded at
        ``started_at + frame.timestamp``."""
        return self._t0

    # -- consumer side -------------------------------------------------------------------------

    @property
    def info(self) -> SourceInfo:
        w, h = self._size
        return SourceInfo(self.source_id, "stream", w, h, self.fps_cap or self._fps or 25.0,
                          None)

    def __iter__(self) -> Iterator[Frame]:
        while True:
            with self._lock:
                while self._latest is None and not self._ended and not self._stop.is_set():
                    self._lock.wait(0.1)
                frame, self._latest = self._latest, None
                if frame is None:
                    return  # ended (a file played once) or closed
                self.stats.frames_out += 1
            yield frame

    def wait_online(self, timeout: float) -> bool:
        """Block until the first frame of a connection arrived (True) or ``timeout``."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.stats.state == "online" and self.stats.frames_in:
                return True
            time.sleep(0.02)
        return False

    def close(self) -> None:
        """Stop reading. Waits at most ``CLOSE_WAIT_S`` for the reader: one blocked in a
        connection attempt (a camera that accepts but never answers) gives up on its own
        within ``open_timeout``, touching only its own stream meanwhile."""
        self._stop.set()
        with self._lock:
            self._lock.notify_all()
        self._thread.join(CLOSE_WAIT_S)
        self._set_state("stopped", None)

    # -- reader thread ---------------------------------------------------------------------------

    def _set_state(self, state: State, reason: str | None) -> None:
        if self.stats.state == state and reason is None and self.stats.history:
            return  # unchanged (the first report always goes out)
        self.stats.state = state
        if reason:
            self.stats.last_error = reason
        self.stats.history.append((time.monotonic() - self._t0, state))
        del self.stats.history[:-100]
        if state == "online":
            self.stats.online_since = time.monotonic()
        if self.on_state is not None:
            try:
                self.on_state(self.source_id, state, reason)
            except Exception:  # a listener's bug must not kill the camera
                log.exception("state listener failed")

    def _run(self) -> None:
        attempt = 0
        index = 0
        while not self._stop.is_set():
            try:
                delivered, index = self._play(index)
                reason = "stream ended"
                if self.is_file and not self.loop:
                    with self._lock:
                        self._ended = True
                        self._lock.notify_all()
                    return
                if self.is_file and self.loop and delivered:
                    attempt = 0
                    continue  # a file loops at once
            except (av.error.FFmpegError, OSError, ValueError, RuntimeError) as exc:
                delivered = False
                reason = _reason(exc)
            if self._stop.is_set():
                return
            if delivered:
                attempt = 0
            self.stats.reconnects += 1
            self._set_state("reconnecting", reason)
            delay = self.backoff.delay(attempt, self._rng)
            attempt += 1
            log.warning("%s: %s; reconnecting in %.1f s", self.source_id, redact_url(reason),
                        delay)
            if self._stop.wait(delay):
                return

    def _play(self, index: int) -> tuple[bool, int]:
        """One connection: open, decode until it ends or fails. Returns (delivered any frame,
        next capture index)."""
        if self.stats.state != "reconnecting":
            self._set_state("connecting", None)
        kwargs: dict[str, Any] = {"options": self.options,
                                  "timeout": (self.open_timeout, self.read_timeout)}
        if self.device_format:
            kwargs["format"] = self.device_format
        container: Any = av.open(self.url, mode="r", **kwargs)
        delivered = False
        try:
            streams = container.streams.video
            if not streams:
                raise ValueError("no video stream")
            stream = streams[0]
            stream.thread_type = "AUTO"
            limit_decoder(stream)  # a camera's frames are held to the same size as a file's
            rate = stream.average_rate or stream.guessed_rate
            self._fps = float(rate) if rate else self._fps
            clock = _Pacing(self, stream.time_base)
            for vf in container.decode(stream):
                now = clock.wait_for(vf.pts)
                if now is None:
                    break
                index += 1
                self.stats.frames_in += 1
                if not delivered:
                    delivered = True
                    self._set_state("online", None)
                if clock.take(now):
                    self._offer(Frame(vf.to_ndarray(format="bgr24"), self.source_id, index - 1,
                                      now - self._t0))
        finally:
            container.close()
        return delivered, index

    def _offer(self, frame: Frame) -> None:
        """Make ``frame`` the latest (the one it replaces, if unread, counts as dropped)."""
        self._size = (frame.width, frame.height)
        with self._lock:
            if self._latest is not None:
                self.stats.dropped += 1
            self._latest = frame
            self._lock.notify_all()


class _Pacing:
    """When a decoded frame is due (a file plays at its native rate) and whether the fps cap
    takes it: a schedule, not "1/fps since the last one" (25 fps capped at 10 gives 10, not
    8.3, every third frame; after a stall it does not burst)."""

    def __init__(self, source: LiveSource, time_base: Any) -> None:
        self.source, self.time_base = source, time_base
        self.first_pts: int | None = None
        self.start_wall = 0.0
        self.next_due = 0.0

    def wait_for(self, pts: int | None) -> float | None:
        """The time the frame is taken; None when the source was stopped meanwhile."""
        src = self.source
        if src._stop.is_set():
            return None
        now = time.monotonic()
        if src.realtime and pts is not None and self.time_base is not None:
            if self.first_pts is None:
                self.first_pts, self.start_wall = pts, now
            due = self.start_wall + float((pts - self.first_pts) * self.time_base)
            if due > now and src._stop.wait(due - now):
                return None
            now = time.monotonic()
        return now

    def take(self, now: float) -> bool:
        cap = self.source.fps_cap
        if not cap:
            return True
        if now < self.next_due - 1e-4:
            self.source.stats.skipped += 1
            return False
        self.next_due = max(self.next_due + 1.0 / cap, now)
        return True


def _reason(exc: BaseException) -> str:
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return str(text).splitlines()[0][:200]
