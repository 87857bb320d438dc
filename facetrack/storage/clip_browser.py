"""Reading and deleting stored evidence clips (the server's clip routes), in the local clip
folder or on S3, by key: ``CAMERA/YYYYMMDD/CAMERA-YYYYMMDDTHHMMSSffffff-REASON``.

A key is checked against that shape before it touches a path or an object name, so ``..``,
absolute paths, links and anything facetrack did not write are refused: a clip route can only
ever reach facetrack's own clips.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from facetrack.config.service import ClipStorageConfig
from facetrack.errors import InputError, OutputError

_KEY = re.compile(r"^(?P<camera>[A-Za-z0-9_][A-Za-z0-9_.-]*)/(?P<day>\d{8})/"
                  r"(?P=camera)-(?P<when>\d{8}T\d{12})-(?P<reason>[a-z_]+)$")


@dataclass(frozen=True)
class ClipInfo:
    key: str
    camera: str
    time: str  # ISO UTC of the alert that opened it
    reason: str
    size: int

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "camera": self.camera, "time": self.time,
                "reason": self.reason, "size": self.size}


def parse_key(key: str) -> ClipInfo:
    m = _KEY.match(key)
    if m is None or ".." in key:
        raise InputError(f"{key[:200]!r} is not a clip key (CAMERA/YYYYMMDD/CAMERA-TIME-REASON)")
    when = datetime.strptime(m.group("when"), "%Y%m%dT%H%M%S%f").replace(tzinfo=timezone.utc)
    return ClipInfo(key, m.group("camera"), when.isoformat(timespec="milliseconds"),
                    m.group("reason"), 0)


def key_of_link(link: str) -> str:
    """The key of an alert's clip link (a local path or an s3:// URL)."""
    text = link[:-len(".mp4")] if link.endswith(".mp4") else link
    parts = text.replace("\\", "/").split("/")
    return "/".join(parts[-3:])


class LocalClips:
    def __init__(self, config: ClipStorageConfig) -> None:
        self.root = config.dir

    def _path(self, key: str, suffix: str) -> Path:
        parse_key(key)
        path = self.root / f"{key}{suffix}"
        if path.is_symlink() or not path.is_file():
            raise LookupError(f"no clip {key}")
        return path

    def list(self) -> Iterator[ClipInfo]:
        if not self.root.is_dir():
            return
        for p in self.root.glob("*/*/*.mp4"):
            key = str(p.relative_to(self.root).with_suffix("")).replace("\\", "/")
            try:
                info = parse_key(key)
                if p.is_symlink() or not p.with_suffix(".json").is_file():
                    continue
                yield ClipInfo(info.key, info.camera, info.time, info.reason, p.stat().st_size)
            except (InputError, OSError):
                continue

    def video(self, key: str) -> Path:
        return self._path(key, ".mp4")

    def meta(self, key: str) -> dict[str, Any]:
        return _meta(self._path(key, ".json").read_bytes())

    def put_meta(self, key: str, meta: dict[str, Any]) -> None:
        """Replace the clip's sidecar (erasure rewrites it), atomically."""
        path = self._path(key, ".json")
        tmp = path.with_name(path.name + ".part")
        try:
            tmp.write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
            tmp.replace(path)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise OutputError(f"cannot rewrite clip {key} ({exc.strerror or exc})") from None

    def replace_video(self, key: str, rewrite: Callable[[Path, Path], object]) -> None:
        """``rewrite(video, new)`` writes a new video for the clip (erasure blurs it), which
        then replaces the old one."""
        video = self._path(key, ".mp4")
        new = video.with_name(video.stem + ".part.mp4")
        try:
            rewrite(video, new)
            new.replace(video)
        except OSError as exc:
            raise OutputError(f"cannot rewrite clip {key} ({exc.strerror or exc})") from None
        finally:
            new.unlink(missing_ok=True)

    def delete(self, key: str) -> None:
        video = self._path(key, ".mp4")
        try:
            video.unlink()
            video.with_suffix(".json").unlink(missing_ok=True)
        except OSError as exc:
            raise OutputError(f"cannot delete clip {key} ({exc.strerror or exc})") from None


class S3Clips:
    def __init__(self, config: ClipStorageConfig) -> None:
        import boto3
        from botocore.config import Config

        assert config.s3 is not None
        self.s3 = config.s3
        self.client: Any = boto3.client(
            "s3", endpoint_url=self.s3.endpoint_url, region_name=self.s3.region,
            config=Config(connect_timeout=3, read_timeout=10, retries={"max_attempts": 2}))

    def _name(self, key: str, suffix: str) -> str:
        parse_key(key)
        return f"{self.s3.prefix}{key}{suffix}"

    def list(self) -> Iterator[ClipInfo]:
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.s3.bucket, Prefix=self.s3.prefix)
        for page in pages:
            for obj in page.get("Contents", []):
                name = obj["Key"][len(self.s3.prefix):]
                if not name.endswith(".mp4"):
                    continue
                try:
                    info = parse_key(name[:-len(".mp4")])
                except InputError:
                    continue
                yield ClipInfo(info.key, info.camera, info.time, info.reason, int(obj["Size"]))

    def head(self, key: str) -> int:
        from botocore.exceptions import ClientError

        try:
            return int(self.client.head_object(Bucket=self.s3.bucket,
                                               Key=self._name(key, ".mp4"))["ContentLength"])
        except ClientError:
            raise LookupError(f"no clip {key}") from None

    def read(self, key: str, start: int, end: int) -> Iterator[bytes]:
        """Bytes ``start``..``end`` (inclusive) of the video."""
        body = self.client.get_object(Bucket=self.s3.bucket, Key=self._name(key, ".mp4"),
                                      Range=f"bytes={start}-{end}")["Body"]
        try:
            yield from body.iter_chunks(1 << 16)
        finally:
            body.close()

    def meta(self, key: str) -> dict[str, Any]:
        from botocore.exceptions import ClientError

        try:
            obj = self.client.get_object(Bucket=self.s3.bucket, Key=self._name(key, ".json"))
        except ClientError:
            raise LookupError(f"no clip {key}") from None
        return _meta(obj["Body"].read())

    def put_meta(self, key: str, meta: dict[str, Any]) -> None:
        self.head(key)
        self.client.put_object(Bucket=self.s3.bucket, Key=self._name(key, ".json"),
                               Body=json.dumps(meta, ensure_ascii=False).encode("utf-8"),
                               ContentType="application/json")

    def replace_video(self, key: str, rewrite: Callable[[Path, Path], object]) -> None:
        """The clip's video fetched to a private temporary folder, ``rewrite(video, new)``
        there, ``new`` uploaded over it."""
        import tempfile

        size = self.head(key)
        with tempfile.TemporaryDirectory(prefix="facetrack-clip-") as tmp:
            video, new = Path(tmp) / "clip.mp4", Path(tmp) / "new.mp4"
            with video.open("wb") as fh:
                for chunk in self.read(key, 0, size - 1):
                    fh.write(chunk)
            rewrite(video, new)
            self.client.upload_file(str(new), self.s3.bucket, self._name(key, ".mp4"),
                                    ExtraArgs={"ContentType": "video/mp4"})

    def delete(self, key: str) -> None:
        self.head(key)
        done = self.client.delete_objects(Bucket=self.s3.bucket, Delete={"Objects": [
            {"Key": self._name(key, ".mp4")}, {"Key": self._name(key, ".json")}]})
        errors = done.get("Errors") or []
        if errors:
            raise OutputError(f"cannot delete clip {key} from S3 ({errors[0].get('Code')}: "
                              f"{errors[0].get('Message')})")


def _meta(data: bytes) -> dict[str, Any]:
    """The sidecar: camera, span, alerts and, per frame, the faces with their tracks."""
    meta: dict[str, Any] = json.loads(data)
    return meta


def open_clips(config: ClipStorageConfig) -> LocalClips | S3Clips:
    if config.kind == "s3":
        try:
            return S3Clips(config)
        except ImportError:
            raise OutputError("S3 clip storage needs boto3: pip install 'facetrack[s3]'"
                              ) from None
    return LocalClips(config)
