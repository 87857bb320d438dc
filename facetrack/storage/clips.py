"""Clip storage: a local folder (default) or S3-compatible object storage, never losing a clip.

A clip's key is ``CAMERA/YYYYMMDD/CAMERA-YYYYMMDDTHHMMSSffffff-REASON`` (``rules.alerts``);
its files are the key plus ``.mp4`` and ``.json`` (the suffix is appended, never substituted,
so a camera called ``door.1`` keeps its clips apart). Clips are written into a spool folder
first (``<dir>/.spool``); ``put`` moves or uploads them. An upload that fails stays in the
spool and is retried (``RetryingQueue``) until it succeeds, also after a restart: the spool is
scanned at start. Retention removes the oldest clips beyond ``max_age_days`` or
``max_total_mb``, and only clips facetrack wrote: a file must carry facetrack's clip name and
have its JSON sidecar beside it, so a user's own videos in the same folder are never touched.
"""

from __future__ import annotations

import logging
import re
import shutil
import threading
import time
from pathlib import Path
from typing import Any

from facetrack.config.service import ClipStorageConfig
from facetrack.errors import OutputError
from facetrack.runtime import RetryingQueue

log = logging.getLogger(__name__)

#: the file name of a clip facetrack wrote (retention deletes nothing else)
CLIP_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*-\d{8}T\d{12}-[a-z_]+\.mp4$")
#: spool files are the key with "/" written as this (camera names cannot contain it)
_SPOOL_SEP = "+"


def spool_stem(key: str) -> str:
    return key.replace("/", _SPOOL_SEP)


def key_of_stem(stem: str) -> str:
    return stem.replace(_SPOOL_SEP, "/") if _SPOOL_SEP in stem else stem.replace("__", "/")


def _pairs(folder: Path) -> list[tuple[str, Path, Path]]:
    """(key, video, sidecar) of every complete clip in the spool (sidecar written last)."""
    out = []
    for sidecar in sorted(folder.glob("*.json")):
        stem = sidecar.name[: -len(".json")]
        video = folder / f"{stem}.mp4"
        if video.exists():
            out.append((key_of_stem(stem), video, sidecar))
    return out


class ClipLinks:
    """Where a clip key is found, as alerts and notifications show it (a pure function of the
    config, so the alert stage can name a clip before it is written)."""

    def __init__(self, config: ClipStorageConfig) -> None:
        self.config = config

    def link(self, key: str) -> str:
        s3 = self.config.s3
        if self.config.kind == "s3" and s3 is not None:
            return f"s3://{s3.bucket}/{s3.prefix}{key}.mp4"
        return str(self.config.dir.resolve() / f"{key}.mp4")

    def key(self, link: str) -> str:
        """The key of a link made by ``link``."""
        s3 = self.config.s3
        if self.config.kind == "s3" and s3 is not None:
            start = f"s3://{s3.bucket}/{s3.prefix}"
        else:
            start = str(self.config.dir.resolve()) + "/"
        if not (link.startswith(start) and link.endswith(".mp4")):
            raise ValueError(f"{link!r} is not a clip link of this storage")
        return link[len(start):-len(".mp4")]


def _prepare_spool(root: Path) -> Path:
    spool = root / ".spool"
    try:
        spool.mkdir(parents=True, exist_ok=True)
        probe = spool / ".write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise OutputError(f"{root}: clip folder is not writable ({exc.strerror or exc})"
                          ) from None
    return spool


class LocalClipStorage:
    def __init__(self, config: ClipStorageConfig) -> None:
        self.config = config
        self.root = config.dir
        self.links = ClipLinks(config)
        self._lock = threading.Lock()
        self._spool = _prepare_spool(self.root)
        self.stored = 0
        self.retry()  # clips left in the spool by a crash or a full disk

    def retry(self) -> bool:
        """File the clips waiting in the spool; False when the disk still refuses."""
        for key, video, sidecar in _pairs(self._spool):
            try:
                self.put(key, video, sidecar)
            except OutputError as exc:
                log.warning("%s; it stays in %s", exc, self._spool)
                return False
        return True

    def spool_dir(self) -> Path:
        return self._spool

    def link(self, key: str) -> str:
        return self.links.link(key)

    def put(self, key: str, video: Path, sidecar: Path) -> None:
        with self._lock:
            target = self.root / key
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(str(video), f"{target}.mp4")
                shutil.move(str(sidecar), f"{target}.json")
            except OSError as exc:  # stays in the spool; moved at the next attempt or start
                raise OutputError(f"{target}: cannot store clip ({exc.strerror or exc})"
                                  ) from None
            self.stored += 1
            self._prune()

    def own_clips(self) -> list[tuple[float, int, Path]]:
        """(mtime, bytes with sidecar, path) of every clip facetrack wrote under the root:
        ``CAMERA/YYYYMMDD/<clip name>.mp4`` with its ``.json`` sidecar."""
        out = []
        for p in self.root.glob("*/*/*.mp4"):
            side = p.parent / f"{p.name[:-len('.mp4')]}.json"
            if not CLIP_NAME.match(p.name) or p.is_symlink() or not side.is_file():
                continue
            try:
                st = p.stat()
                out.append((st.st_mtime, st.st_size + side.stat().st_size, p))
            except OSError:
                continue
        return sorted(out)

    def _prune(self) -> None:
        clips = self.own_clips()
        now = time.time()
        total = sum(size for _, size, _ in clips)
        cfg = self.config
        for mtime, size, p in clips:
            too_old = cfg.max_age_days is not None and now - mtime > cfg.max_age_days * 86400
            too_big = cfg.max_total_mb is not None and total > cfg.max_total_mb * 2**20
            if not (too_old or too_big):
                continue
            try:
                p.unlink(missing_ok=True)
                (p.parent / f"{p.name[:-len('.mp4')]}.json").unlink(missing_ok=True)
            except OSError as exc:  # retention must never cost the clip being filed
                log.warning("retention: cannot remove %s (%s)", p, exc.strerror or exc)
                continue
            total -= size

    def close(self) -> None:
        """Nothing in the background."""


class S3ClipStorage:
    """Uploads with boto3 on a ``RetryingQueue``: a failed upload stays spooled on disk and is
    retried until it succeeds (every ``retry_every_s``)."""

    PRUNE_EVERY_S = 600.0

    def __init__(self, config: ClipStorageConfig) -> None:
        try:
            import boto3
            from botocore.config import Config
        except ImportError:
            raise OutputError("S3 clip storage needs boto3: pip install 'facetrack[s3]'"
                              ) from None
        assert config.s3 is not None
        self.config, self.s3cfg = config, config.s3
        self.links = ClipLinks(config)
        self._spool = _prepare_spool(config.dir)
        self._client: Any = boto3.client(
            "s3", endpoint_url=self.s3cfg.endpoint_url, region_name=self.s3cfg.region,
            config=Config(connect_timeout=3, read_timeout=10,
                          retries={"max_attempts": 2, "mode": "standard"}),
        )
        self.uploaded = 0
        self._last_prune = 0.0
        self.queue: RetryingQueue[tuple[str, Path, Path]] = RetryingQueue(
            "clip uploads", self._upload, is_outage=lambda _: True,
            retry_s=config.retry_every_s, durable=True)
        for pair in _pairs(self._spool):  # left by a crash or an outage
            self.queue.put(pair)

    def spool_dir(self) -> Path:
        return self._spool

    def link(self, key: str) -> str:
        return self.links.link(key)

    def put(self, key: str, video: Path, sidecar: Path) -> None:
        self.queue.put((key, video, sidecar))

    def _upload(self, item: tuple[str, Path, Path]) -> None:
        key, video, sidecar = item
        if not (video.exists() and sidecar.exists()):
            return  # sent meanwhile
        base = f"{self.s3cfg.prefix}{key}"
        self._client.upload_file(str(video), self.s3cfg.bucket, f"{base}.mp4",
                                 ExtraArgs={"ContentType": "video/mp4"})
        self._client.upload_file(str(sidecar), self.s3cfg.bucket, f"{base}.json",
                                 ExtraArgs={"ContentType": "application/json"})
        video.unlink(missing_ok=True)
        sidecar.unlink(missing_ok=True)
        self.uploaded += 1
        if time.monotonic() - self._last_prune > self.PRUNE_EVERY_S:
            self._last_prune = time.monotonic()
            self._prune_remote()

    def pending(self) -> int:
        return len(_pairs(self._spool))

    def flush(self, timeout: float) -> bool:
        """Wait up to ``timeout`` for every spooled clip to be uploaded."""
        return self.queue.drain(timeout)

    def _prune_remote(self) -> None:
        cfg = self.config
        if cfg.max_age_days is None:
            return
        cutoff = time.time() - cfg.max_age_days * 86400
        try:
            pages = self._client.get_paginator("list_objects_v2").paginate(
                Bucket=self.s3cfg.bucket, Prefix=self.s3cfg.prefix)
            old = [{"Key": o["Key"]} for page in pages for o in page.get("Contents", [])
                   if o["LastModified"].timestamp() < cutoff
                   and CLIP_NAME.match(o["Key"].rsplit("/", 1)[-1].replace(".json", ".mp4"))]
            for i in range(0, len(old), 1000):
                self._client.delete_objects(Bucket=self.s3cfg.bucket,
                                            Delete={"Objects": old[i:i + 1000]})
        except Exception as exc:  # retention is best effort; uploads matter
            log.debug("retention pass failed: %s", exc)

    def close(self, patience_s: float = 10.0) -> None:
        """Upload what is spooled for up to ``patience_s``; the rest stays in the spool."""
        self.queue.close(patience_s)


ClipStorage = LocalClipStorage | S3ClipStorage


def make_clip_storage(config: ClipStorageConfig) -> ClipStorage:
    if config.kind == "s3":
        if config.s3 is None:
            raise OutputError("clips.kind s3 needs clips.s3.bucket")
        return S3ClipStorage(config)
    return LocalClipStorage(config)
