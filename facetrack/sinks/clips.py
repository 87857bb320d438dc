"""Evidence clips: a ring buffer of the last seconds of a camera, saved around its alerts.

``ClipRecorder`` is a sink: every result's frame goes into a ring buffer that keeps the last
``pre_s`` seconds (JPEG in memory, so memory stays bounded). An alert in the result that names
a clip (its link, decided by ``rules.alerts.ClipPlan``) opens that clip from ``pre_s`` before
the alert, or extends the open one when it is the same clip; it ends ``post_s`` after its
latest alert. A finished clip goes to the ``ClipWriter``, a ``RetryingQueue`` that encodes
H.264 MP4 (frame times kept from the timestamps) plus a JSON sidecar (camera, times, alerts,
per-frame results) and hands both to the clip storage, off the frame path. A clip the disk
refuses (full, read-only, unwritable) keeps its frames in memory and is written again every
``retry_s``, in order; any other error loses only that clip (logged, counted). Clips waiting
hold at most ``max_mb`` of frames: past that the oldest is given up, logged and counted.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
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
from facetrack.runtime import RetryingQueue
from facetrack.storage.clips import spool_stem

log = logging.getLogger(__name__)

Image = npt.NDArray[np.uint8]


class ClipStorage(Protocol):
    """Where finished clips go: ``put`` takes the MP4 and sidecar files written in the spool
    folder; it must never lose them (``OutputError``: keep them, try again later)."""

    def put(self, key: str, video: Path, sidecar: Path) -> None: ...

    def spool_dir(self) -> Path: ...


@dataclass
class _Held:
    timestamp: float
    index: int
    jpeg: bytes
    record: dict[str, Any]


@dataclass
class Clip:
    camera: str
    key: str
    start: float
    end: float
    frames: list[_Held]
    alerts: list[Alert] = field(default_factory=list)

    @property
    def nbytes(self) -> int:
        return sum(len(h.jpeg) for h in self.frames)


class ClipRecorder:
    """A camera's ring buffer and its open clip (a sink, on the camera's thread).

    ``key_of(link)`` turns an alert's clip link into the clip's storage key; ``picture`` gives
    the image of a result it keeps (drawn or plain as ``clips.annotated`` says, faces hidden as
    the privacy settings say; shared with the other sinks that show it)."""

    def __init__(self, camera: str, config: ClipsConfig, writer: ClipWriter,
                 key_of: Callable[[str], str], picture: Callable[[FrameResult], Image]
                 ) -> None:
        self.camera, self.config, self.writer = camera, config, writer
        self.key_of, self.picture = key_of, picture
        self._ring: deque[_Held] = deque()
        self._open: Clip | None = None
        self.opened = 0

    def consume(self, result: FrameResult) -> None:
        self._hold(result)
        for alert in result.alerts:
            if alert.clip is not None:
                self._alert(alert, self.key_of(alert.clip))

    def _hold(self, result: FrameResult) -> None:
        image = self.picture(result)
        ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY,
                                               self.config.jpeg_quality])
        if not ok:
            return
        held = _Held(result.frame.timestamp, result.frame.index, buf.tobytes(),
                     result.to_json())
        t = held.timestamp
        self._ring.append(held)
        while self._ring and self._ring[0].timestamp < t - self.config.pre_s:
            self._ring.popleft()
        clip = self._open
        if clip is not None:
            clip.frames.append(held)
            if t >= clip.end:
                self._finish()

    def _alert(self, alert: Alert, key: str) -> None:
        cfg, t = self.config, alert.timestamp
        clip = self._open
        if clip is not None and clip.key == key:
            clip.end = max(clip.end, t + cfg.post_s)
            clip.alerts.append(alert)
            return
        self._finish()
        frames = [h for h in self._ring if h.timestamp >= t - cfg.pre_s]
        self._open = Clip(self.camera, key, t - cfg.pre_s, t + cfg.post_s, frames, [alert])
        self.opened += 1

    def _finish(self) -> None:
        clip, self._open = self._open, None
        if clip is not None and clip.frames:
            self.writer.submit(clip)

    def close(self) -> None:
        """Finish the open clip with what it has."""
        self._finish()


# errors of an outage that passes (full disk or quota, read-only or unwritable folder, I/O):
# the clip is kept and written again; any other error loses only that clip
RETRIED = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EIO,
           errno.ENOENT}


def is_outage(exc: BaseException) -> bool:
    return isinstance(exc, OutputError) or getattr(exc, "errno", None) in RETRIED


@dataclass
class ClipStats:
    written: int = 0  # encoded and handed to the storage
    waiting: int = 0  # queued or refused by the disk: held in memory
    lost: int = 0  # given up: too many waiting, an encoding error, or still refused at close


class ClipWriter:
    """Encodes and files clips on its own ``RetryingQueue`` (see the module docstring)."""

    def __init__(self, storage: ClipStorage, *, retry_s: float = 10.0, max_mb: float = 512.0,
                 patience_s: float = 20.0) -> None:
        self.storage = storage
        self.patience_s = patience_s
        self._stats: dict[str, ClipStats] = {}
        self.queue: RetryingQueue[Clip] = RetryingQueue(
            "clip writer", self._write, is_outage=is_outage, max_bytes=int(max_mb * 2**20),
            nbytes=lambda c: c.nbytes, retry_s=retry_s, on_lost=self._lost,
            describe=lambda c: f"camera {c.camera}: clip {c.key}")

    def stats(self, camera: str) -> ClipStats:
        return self._stats.setdefault(camera, ClipStats())

    @property
    def written(self) -> int:
        return self.queue.written

    @property
    def failed(self) -> int:
        return self.queue.lost

    def pending(self) -> int:
        return self.queue.pending

    def submit(self, clip: Clip) -> None:
        self.stats(clip.camera).waiting += 1
        self.queue.put(clip)

    def _lost(self, clip: Clip, how: str) -> None:
        stats = self.stats(clip.camera)
        stats.waiting -= 1
        stats.lost += 1
        log.error("camera %s: clip %s lost (%s)", clip.camera, clip.key, how)

    def _write(self, clip: Clip) -> None:
        spool = self.storage.spool_dir()
        stem = spool_stem(clip.key)
        video, sidecar = spool / f"{stem}.mp4", spool / f"{stem}.json"
        if not (video.exists() and sidecar.exists()):  # a retry after filing failed: as is
            try:
                spool.mkdir(parents=True, exist_ok=True)  # it may have been removed meanwhile
                encode_mp4(video, clip.frames)
                _write_sidecar(sidecar, clip)
            except BaseException:
                _clean(spool, stem)  # a full disk needs the space back
                raise
        self.storage.put(clip.key, video, sidecar)
        stats = self.stats(clip.camera)
        stats.waiting -= 1
        stats.written += 1

    def close(self) -> None:
        """Write the queued clips for up to ``patience_s`` (a monitor past its capacity may
        have a long backlog: the stop must not wait for all of it); the rest are counted as
        lost and logged."""
        self.queue.close(self.patience_s)


def _write_sidecar(path: Path, clip: Clip) -> None:
    meta = {
        "camera": clip.camera, "key": clip.key,
        "start_s": round(clip.frames[0].timestamp, 4),
        "end_s": round(clip.frames[-1].timestamp, 4),
        "frames": len(clip.frames),
        "alerts": [a.to_dict() for a in clip.alerts],
        "results": [h.record for h in clip.frames],
    }
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    tmp.replace(path)


def _clean(spool: Path, stem: str) -> None:
    for name in (f"{stem}.mp4.part", f"{stem}.mp4", f"{stem}.json.part", f"{stem}.json"):
        with contextlib.suppress(OSError):
            (spool / name).unlink(missing_ok=True)


def encode_mp4(path: Path, frames: list[_Held]) -> None:
    """H.264 MP4 with each frame at its own time (ms precision): live frames are irregular."""
    h, w = _decode(frames[0].jpeg).shape[:2]
    size = (w - w % 2, h - h % 2)
    part = path.with_name(path.name + ".part")
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


def _decode(jpeg: bytes) -> Image:
    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError("a held frame could not be decoded")
    return np.asarray(image, np.uint8)
