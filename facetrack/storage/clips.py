"""Clip storage: a local folder (default) or S3-compatible object storage, never losing a clip.

Clips are written into a spool folder first (``<dir>/.spool``); ``put`` moves or uploads them.
A clip whose upload fails stays in the spool and a retry thread sends it when the storage is
back (also after a restart: the spool is scanned at start). Retention removes the oldest clips
beyond ``max_age_days`` or ``max_total_mb`` (local: files; S3: objects under the prefix).
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from pathlib import Path
from typing import Any

from facetrack.config.service import ClipStorageConfig
from facetrack.errors import OutputError

log = logging.getLogger(__name__)


def _pairs(folder: Path) -> list[tuple[Path, Path]]:
    """(video, sidecar) of every complete clip in ``folder`` (sidecar written last)."""
    out = []
    for sidecar in sorted(folder.glob("*.json")):
        video = sidecar.with_suffix(".mp4")
        if video.exists():
            out.append((video, sidecar))
    return out


class LocalClipStorage:
    def __init__(self, config: ClipStorageConfig) -> None:
        self.config = config
        self.root = config.dir
        self._lock = threading.Lock()
        try:
            self._spool = self.root / ".spool"
            self._spool.mkdir(parents=True, exist_ok=True)
            probe = self._spool / ".write-test"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            raise OutputError(f"{self.root}: clip folder is not writable "
                              f"({exc.strerror or exc})") from None
        self.stored = 0
        self.retry()  # clips left in the spool by a crash or a full disk

    def retry(self) -> bool:
        """File the clips waiting in the spool; False when the disk still refuses."""
        for video, sidecar in _pairs(self._spool):
            try:
                self._move(sidecar.stem.replace("__", "/"), video, sidecar)
            except OutputError as exc:
                log.warning("%s; it stays in %s", exc, self._spool)
                return False
        return True

    def spool_dir(self) -> Path:
        return self._spool

    def link(self, key: str) -> str:
        return str((self.root / f"{key}.mp4").resolve())

    def put(self, key: str, video: Path, sidecar: Path) -> None:
        self._move(key, video, sidecar)

    def _move(self, key: str, video: Path, sidecar: Path) -> None:
        with self._lock:
            target = self.root / key
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(str(video), str(target.with_suffix(".mp4")))
                shutil.move(str(sidecar), str(target.with_suffix(".json")))
            except OSError as exc:  # stays in the spool; moved at the next start
                raise OutputError(f"{target}: cannot store clip ({exc.strerror or exc})"
                                  ) from None
            self.stored += 1
            self._prune()

    def _prune(self) -> None:
        clips = [p for p in self.root.rglob("*.mp4") if ".spool" not in p.parts]
        infos = []
        for p in clips:
            try:
                st = p.stat()
            except OSError:
                continue
            side = p.with_suffix(".json")
            size = st.st_size + (side.stat().st_size if side.exists() else 0)
            infos.append((st.st_mtime, size, p))
        infos.sort()
        now = time.time()
        total = sum(size for _, size, _ in infos)
        cfg = self.config
        for mtime, size, p in infos:
            too_old = cfg.max_age_days is not None and now - mtime > cfg.max_age_days * 86400
            too_big = cfg.max_total_mb is not None and total > cfg.max_total_mb * 2**20
            if not (too_old or too_big):
                continue
            try:
                p.unlink(missing_ok=True)
                p.with_suffix(".json").unlink(missing_ok=True)
            except OSError as exc:  # retention must never cost the clip being filed
                log.warning("retention: cannot remove %s (%s)", p, exc.strerror or exc)
                continue
            total -= size


class S3ClipStorage:
    """Uploads with boto3; failures stay spooled and are retried until they succeed."""

    def __init__(self, config: ClipStorageConfig) -> None:
        try:
            import boto3
            from botocore.config import Config
        except ImportError:
            raise OutputError("S3 clip storage needs boto3: pip install 'facetrack[s3]'"
                              ) from None
        assert config.s3 is not None
        self.config = config
        self.s3cfg = config.s3
        self._spool = config.dir / ".spool"
        try:
            self._spool.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"{self._spool}: spool folder is not writable "
                              f"({exc.strerror or exc})") from None
        self._client: Any = boto3.client(
            "s3", endpoint_url=self.s3cfg.endpoint_url, region_name=self.s3cfg.region,
            config=Config(connect_timeout=3, read_timeout=10,
                          retries={"max_attempts": 2, "mode": "standard"}),
        )
        self.uploaded = 0
        self.upload_failures = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._retry_loop, name="clip-upload-retry",
                                        daemon=True)
        self._thread.start()

    def spool_dir(self) -> Path:
        return self._spool

    def _key(self, key: str, suffix: str) -> str:
        return f"{self.s3cfg.prefix}{key}{suffix}"

    def link(self, key: str) -> str:
        return f"s3://{self.s3cfg.bucket}/{self._key(key, '.mp4')}"

    def put(self, key: str, video: Path, sidecar: Path) -> None:
        if not self._upload(key, video, sidecar):
            log.warning("clip %s: upload failed, kept in %s for retry", key, self._spool)

    def _upload(self, key: str, video: Path, sidecar: Path) -> bool:
        with self._lock:
            if not (video.exists() and sidecar.exists()):
                return True  # sent meanwhile
            try:
                self._client.upload_file(str(video), self.s3cfg.bucket, self._key(key, ".mp4"),
                                         ExtraArgs={"ContentType": "video/mp4"})
                self._client.upload_file(str(sidecar), self.s3cfg.bucket,
                                         self._key(key, ".json"),
                                         ExtraArgs={"ContentType": "application/json"})
            except Exception as exc:  # botocore raises many kinds; all mean "retry later"
                self.upload_failures += 1
                log.debug("upload of %s failed: %s", key, exc)
                return False
            video.unlink(missing_ok=True)
            sidecar.unlink(missing_ok=True)
            self.uploaded += 1
            return True

    def pending(self) -> int:
        return len(_pairs(self._spool))

    def flush(self, timeout: float) -> bool:
        """Try every spooled clip now; wait up to ``timeout`` for the spool to empty."""
        end = time.monotonic() + timeout
        while True:
            for video, sidecar in _pairs(self._spool):
                self._upload(sidecar.stem.replace("__", "/"), video, sidecar)
            if not self.pending() or time.monotonic() >= end:
                return not self.pending()
            time.sleep(0.5)

    def _retry_loop(self) -> None:
        while not self._stop.wait(self.config.retry_every_s):
            for video, sidecar in _pairs(self._spool):
                if self._stop.is_set():
                    return
                self._upload(sidecar.stem.replace("__", "/"), video, sidecar)
            self._prune_remote()

    def _prune_remote(self) -> None:
        cfg = self.config
        if cfg.max_age_days is None:
            return
        cutoff = time.time() - cfg.max_age_days * 86400
        try:
            pages = self._client.get_paginator("list_objects_v2").paginate(
                Bucket=self.s3cfg.bucket, Prefix=self.s3cfg.prefix)
            old = [{"Key": o["Key"]} for page in pages for o in page.get("Contents", [])
                   if o["LastModified"].timestamp() < cutoff]
            for i in range(0, len(old), 1000):
                self._client.delete_objects(Bucket=self.s3cfg.bucket,
                                            Delete={"Objects": old[i:i + 1000]})
        except Exception as exc:
            log.debug("retention pass failed: %s", exc)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()


def make_clip_storage(config: ClipStorageConfig) -> LocalClipStorage | S3ClipStorage:
    if config.kind == "s3":
        if config.s3 is None:
            raise OutputError("clips.kind s3 needs clips.s3.bucket")
        return S3ClipStorage(config)
    return LocalClipStorage(config)
