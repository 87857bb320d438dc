"""Evidence clips: a ring buffer of the last seconds per camera, saved around alerts.

``ClipRecorder.push(result)`` keeps the last ``pre_s`` seconds of processed frames (JPEG in
memory, so memory stays bounded); ``alert(alert)`` opens a clip from ``pre_s`` before the alert
to ``post_s`` after it, or extends the open one (overlapping alerts make one clip, up to
``max_s``). A finished clip goes to a background writer that encodes H.264 MP4 (frame times
kept from the timestamps) plus a JSON sidecar (camera, times, alerts, per-frame results) and
hands both to the clip storage. The clip's key is fixed when it opens, so a notification can
link to it before it is written. ``close()`` finishes the open clip with what it has.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timezone
from fractions import Fraction
from pathlib import Path
from typing import Any, Protocol

import av
import cv2
import numpy as np
import numpy.typing as npt

from facetrack.config.camera import ClipsConfig
from facetrack.errors import OutputError
from facetrack.events import Alert
from facetrack.results import FrameResult
from facetrack.sinks.video import annotate

log = logging.getLogger(__name__)


class ClipStorage(Protocol):
    """Where finished clips go: ``put`` takes the MP4 and sidecar files written in a spool
    folder and returns the clip's link; it must never lose them (retry later if needed)."""

    def link(self, key: str) -> str: ...

    def put(self, key: str, video: Path, sidecar: Path) -> None: ...

    def spool_dir(self) -> Path: ...


@dataclass
class _Held:
    timestamp: float
    index: int
    jpeg: bytes
    record: dict[str, Any]


@dataclass
class _Clip:
    key: str
    start: float
    end: float
    frames: list[_Held]
    alerts: list[Alert] = field(default_factory=list)


class ClipRecorder:
    def __init__(self, camera: str, config: ClipsConfig, writer: ClipWriter) -> None:
        self.camera = camera
        self.config = config
        self.writer = writer
        self._ring: deque[_Held] = deque()
        self._open: _Clip | None = None
        self._lock = threading.Lock()
        self.opened = 0

    def push(self, result: FrameResult,
             annotated: npt.NDArray[np.uint8] | None = None) -> None:
        """Hold ``result``'s frame (``annotated``: its drawing, when the caller made one)."""
        if self.config.annotated:
            image = annotated if annotated is not None else annotate(result)
        else:
            image = result.frame.image
        ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY,
                                               self.config.jpeg_quality])
        if not ok:
            return
        held = _Held(result.frame.timestamp, result.frame.index, buf.tobytes(),
                     result.to_json())
        with self._lock:
            t = held.timestamp
            self._ring.append(held)
            while self._ring and self._ring[0].timestamp < t - self.config.pre_s:
                self._ring.popleft()
            clip = self._open
            if clip is not None:
                clip.frames.append(held)
                if t >= clip.end:
                    self._finish()

    def alert(self, alert: Alert) -> str:
        """Open or extend the clip for ``alert``; return the clip's key."""
        cfg = self.config
        t = alert.timestamp
        with self._lock:
            clip = self._open
            if clip is not None and t <= clip.end and t + cfg.post_s - clip.start <= cfg.max_s:
                clip.end = max(clip.end, t + cfg.post_s)
                clip.alerts.append(alert)
                return clip.key
            if clip is not None:
                self._finish()
            when = datetime.now(timezone.utc)
            key = (f"{self.camera}/{when:%Y%m%d}/{self.camera}-{when:%Y%m%dT%H%M%S%f}"
                   f"-{alert.reason}")
            frames = [h for h in self._ring if h.timestamp >= t - cfg.pre_s]
            self._open = _Clip(key, t - cfg.pre_s, t + cfg.post_s, frames, [alert])
            self.opened += 1
            return key

    def _finish(self) -> None:
        clip, self._open = self._open, None
        if clip is not None and clip.frames:
            self.writer.submit(self.camera, clip)

    def close(self) -> None:
        with self._lock:
            self._finish()


# errors of an outage that passes (full disk or quota, read-only or unwritable folder, I/O):
# the clip is kept and written again; any other error loses only that clip
_RETRIED = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EIO,
            errno.ENOENT}


@dataclass
class ClipStats:
    written: int = 0  # encoded and handed to the storage
    waiting: int = 0  # refused by the disk (full, unwritable): held in memory and retried
    lost: int = 0  # given up: too many waiting, or still refused at close


class ClipWriter:
    """One background thread encodes clips and stores them, off the frame path.

    A clip the disk refuses (full, not writable) is not lost: its frames stay in memory (at
    most ``max_waiting_mb``; beyond that the oldest waiting clip is given up, logged and
    counted) and it is written again every ``retry_s``, in order. A clip that was written but
    not yet stored stays in the spool and the storage retries it. ``close()`` writes every clip
    still queued, tries the waiting ones once more, and reports what could not be written.

    Clips queued for encoding hold their frames too: past ``max_queued_mb`` (a machine past its
    capacity, alerting faster than it encodes) the oldest queued clip is given up, logged and
    counted, so memory stays bounded however long the overload lasts."""

    def __init__(self, storage: ClipStorage, *, retry_s: float = 10.0,
                 max_waiting_mb: float = 512.0, max_queued_mb: float = 512.0) -> None:
        self.storage = storage
        self.retry_s = retry_s
        self.max_waiting = int(max_waiting_mb * 2**20)
        self.max_queued = int(max_queued_mb * 2**20)
        self._queued_bytes = 0
        # clips to encode, and None (the end) from close(); one lock for the queue, its byte
        # count and dropping, so "the oldest" is exact
        self._queue: deque[tuple[str, _Clip] | None] = deque()
        self._cond = threading.Condition()
        self._stats: dict[str, ClipStats] = {}
        self._waiting: deque[tuple[str, _Clip]] = deque()
        self._failing: str | None = None
        self._spooled = False  # a written clip waits in the spool for the storage to file it
        self._thread = threading.Thread(target=self._run, name="clip-writer", daemon=True)
        self._thread.start()

    @property
    def written(self) -> int:
        return sum(s.written for s in list(self._stats.values()))

    @property
    def failed(self) -> int:
        return sum(s.lost for s in list(self._stats.values()))

    def stats(self, camera: str) -> ClipStats:
        return self._stats.setdefault(camera, ClipStats())

    def submit(self, camera: str, clip: _Clip) -> None:
        with self._cond:
            self._queued_bytes += _held_bytes(clip)
            self._queue.append((camera, clip))
            while self._queued_bytes > self.max_queued and len(self._queue) > 1:
                old = self._queue[0]
                if old is None:  # closing: nothing to drop before the end marker
                    break
                self._queue.popleft()
                old_cam, old_clip = old
                self._queued_bytes -= _held_bytes(old_clip)
                self.stats(old_cam).lost += 1
                log.error("camera %s: clip %s dropped: more than %d MB of clips queued for "
                          "encoding (alerts come faster than this machine encodes)", old_cam,
                          old_clip.key, self.max_queued // 2**20)
            self._cond.notify()

    def pending(self) -> int:
        return len(self._queue) + len(self._waiting)

    def _next(self, timeout: float | None) -> tuple[str, _Clip] | bool | None:
        """The next queued clip, None at the end, or False when ``timeout`` passed first."""
        with self._cond:
            if not self._queue:
                self._cond.wait(timeout)
            if not self._queue:
                return False
            item = self._queue.popleft()
            if item is not None:
                self._queued_bytes -= _held_bytes(item[1])
            return item

    def _run(self) -> None:
        next_retry = 0.0
        while True:
            retrying = bool(self._waiting) or self._spooled
            item = self._next(self.retry_s if retrying else None)
            try:
                if item is None:
                    self._retry_waiting()
                    self._give_up_waiting("still refused when the monitor stopped")
                    return
                if isinstance(item, tuple):
                    camera, clip = item
                    if self._waiting:  # keep the order: the new clip waits behind the others
                        self._hold(camera, clip)
                    else:
                        self._attempt(camera, clip)
                if (self._waiting or self._spooled) and time.monotonic() >= next_retry:
                    self._retry_waiting()
                    next_retry = time.monotonic() + self.retry_s
            except Exception:  # the writer must outlive any one clip's trouble
                log.exception("clip writer: unexpected error; it goes on")

    def _retry_waiting(self) -> None:
        retry = getattr(self.storage, "retry", None)
        if retry is not None and self._spooled:
            try:
                self._spooled = not retry()  # written clips the storage could not file yet
            except Exception as exc:
                log.warning("clips in the spool could not be filed yet: %s", exc)
        while self._waiting:
            camera, clip = self._waiting[0]
            self.stats(camera).waiting -= 1
            self._waiting.popleft()
            if not self._attempt(camera, clip, retrying=True):
                # back at the head of the line: _attempt put it at the end
                self._waiting.rotate(1)
                return

    def _attempt(self, camera: str, clip: _Clip, retrying: bool = False) -> bool:
        try:
            self._write(camera, clip)
        except (OSError, av.FFmpegError) as exc:
            self._clean(clip)
            if getattr(exc, "errno", None) not in _RETRIED:  # not an outage: retrying won't help
                self.stats(camera).lost += 1
                log.error("camera %s: clip %s could not be written: %s", camera, clip.key, exc)
                return True
            reason = getattr(exc, "strerror", None) or str(exc)
            if self._failing is None:
                log.error("camera %s: clip %s not written (%s); kept in memory and retried "
                          "every %g s", camera, clip.key, reason, self.retry_s)
            self._failing = reason
            self._hold(camera, clip)
            return False
        except Exception:  # a bug: keep writing the next clips; the reason is logged
            self._clean(clip)
            self.stats(camera).lost += 1
            log.exception("camera %s: clip %s could not be written", camera, clip.key)
            return True
        self.stats(camera).written += 1
        if self._failing is not None and not (retrying and len(self._waiting) > 0):
            log.warning("clips are written again (%d waiting)", len(self._waiting))
            self._failing = None
        return True

    def _hold(self, camera: str, clip: _Clip) -> None:
        self._waiting.append((camera, clip))
        self.stats(camera).waiting += 1
        held = sum(_held_bytes(c) for _, c in self._waiting)
        while held > self.max_waiting and len(self._waiting) > 1:
            old_cam, old = self._waiting.popleft()
            held -= _held_bytes(old)
            self._lose(old_cam, old, f"more than {self.max_waiting // 2**20} MB of clips "
                       "waiting")

    def _give_up_waiting(self, why: str) -> None:
        while self._waiting:
            self._lose(*self._waiting.popleft(), why)

    def _lose(self, camera: str, clip: _Clip, why: str) -> None:
        stats = self.stats(camera)
        stats.waiting -= 1
        stats.lost += 1
        log.error("camera %s: clip %s lost: %s (%s)", camera, clip.key, why, self._failing)

    def _clean(self, clip: _Clip) -> None:
        """Remove what a failed write left in the spool (a full disk needs the space)."""
        stem = clip.key.replace("/", "__")
        spool = self.storage.spool_dir()
        for name in (f"{stem}.mp4.part", f"{stem}.mp4", f"{stem}.json.part", f"{stem}.json"):
            with contextlib.suppress(OSError):
                (spool / name).unlink(missing_ok=True)

    def _write(self, camera: str, clip: _Clip) -> None:
        spool = self.storage.spool_dir()
        spool.mkdir(parents=True, exist_ok=True)  # it may have been removed meanwhile
        stem = clip.key.replace("/", "__")
        video = spool / f"{stem}.mp4"
        sidecar = spool / f"{stem}.json"
        encode_mp4(video, clip.frames)
        meta = {
            "camera": camera, "key": clip.key,
            "start_s": round(clip.frames[0].timestamp, 4),
            "end_s": round(clip.frames[-1].timestamp, 4),
            "frames": len(clip.frames),
            "alerts": [a.to_dict() for a in clip.alerts],
            "results": [h.record for h in clip.frames],
        }
        tmp = sidecar.with_suffix(".json.part")
        tmp.write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
        tmp.replace(sidecar)
        try:
            self.storage.put(clip.key, video, sidecar)
        except OutputError as exc:  # written: it stays in the spool and is filed later
            self._spooled = True
            log.warning("camera %s: %s; kept in %s and retried every %g s", camera, exc, spool,
                        self.retry_s)

    def close(self) -> None:
        with self._cond:
            self._queue.append(None)
            self._cond.notify()
        self._thread.join()


def _held_bytes(clip: _Clip) -> int:
    return sum(len(h.jpeg) for h in clip.frames)


def encode_mp4(path: Path, frames: list[_Held]) -> None:
    """H.264 MP4 with each frame at its own time (ms precision): live frames are irregular."""
    h, w = _decode(frames[0].jpeg).shape[:2]
    size = (w - w % 2, h - h % 2)
    part = path.with_suffix(".mp4.part")
    with av.open(str(part), mode="w", format="mp4") as container:
        stream: Any = container.add_stream("libx264", rate=Fraction(1000, 1))
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.time_base = Fraction(1, 1000)
        stream.options = {"crf": "23", "preset": "veryfast"}
        t0 = frames[0].timestamp
        last_pts = -1
        for held in frames:
            image = _decode(held.jpeg)
            if (image.shape[1], image.shape[0]) != size:
                image = np.asarray(cv2.resize(image, size), np.uint8)
            frame = av.VideoFrame.from_ndarray(image, format="bgr24")
            pts = max(last_pts + 1, round((held.timestamp - t0) * 1000))
            frame.pts, frame.time_base = pts, Fraction(1, 1000)
            last_pts = pts
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    part.replace(path)


def _decode(jpeg: bytes) -> npt.NDArray[np.uint8]:
    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError("a held frame could not be decoded")
    return np.asarray(image, np.uint8)
