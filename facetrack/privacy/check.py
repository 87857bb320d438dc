"""``facetrack privacy-check``: scan what a run wrote and report anything beyond its privacy
mode. In ``anonymous`` and ``pseudonymous`` mode (whose visitor tokens are random, not
biometric): a picture with a readable face in it (images and videos, checked
with facetrack's own face detector: a blurred face does not fire it), an embedding (a
``embeddings`` table with rows, a blob or a JSON array that looks like a unit float vector),
a name (a ``person`` field or column with a value). Databases are SQLite files or
PostgreSQL stores given by URL: every row of every table. An S3 prefix (``s3://BUCKET/PREFIX``,
where clips go) is read object by object. ``identified`` allows all of these
(the scan then only lists them). Findings are lines ``path: what``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from facetrack.detection import Detector

IMAGE = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}
VIDEO = {".mp4", ".mkv", ".avi", ".mov", ".webm"}
TEXT = {".json", ".jsonl", ".csv", ".txt", ".log"}
#: video frames checked: one every this many
VIDEO_STEP = 10
#: a detection at least this sure is a readable face (the detector also returns weaker ones
#: for the tracker; on a blurred picture they are shapes, not faces)
CONFIDENT = 0.6
_ARRAY = re.compile(rb"\[(?:\s*-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?\s*,){63,}\s*-?\d[^\]]*\]")
_PERSON = re.compile(rb'"person"\s*:\s*"(?!erased")[^"]+"')


@dataclass(frozen=True)
class Finding:
    path: str
    what: str

    def line(self) -> str:
        return f"{self.path}: {self.what}"


def unit_vector(values: np.ndarray) -> bool:
    """64 to 4096 finite values of unit length: what an embedding looks like."""
    if not 64 <= values.size <= 4096 or not np.isfinite(values).all():
        return False
    return abs(float(np.linalg.norm(values)) - 1.0) < 1e-3


class Checker:
    def __init__(self, detector: Detector | None = None) -> None:
        self._detector = detector

    def detector(self) -> Detector:
        if self._detector is None:
            from facetrack.config import DetectorConfig
            from facetrack.detection import make_detector

            self._detector = make_detector(DetectorConfig())
        return self._detector

    def scan(self, root: Path | str) -> Iterator[Finding]:
        """Everything under a folder, one file, a bucket's prefix (s3://BUCKET/PREFIX) or a
        store's URL (postgresql://...)."""
        from facetrack.storage.sql import is_database_url

        if str(root).startswith("s3://"):
            for name, path in s3_objects(str(root)):
                for f in self.file(path):
                    yield Finding(name, f.what)
            return
        if is_database_url(root):
            yield from database(str(root))  # DatabaseError when it cannot be read
            return
        root = Path(root)
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for path in files:
            yield from self.file(path)

    def file(self, path: Path) -> Iterator[Finding]:
        suffix = path.suffix.lower()
        if suffix in IMAGE:
            yield from self._image(path)
        elif suffix in VIDEO:
            yield from self._video(path)
        elif _is_sqlite(path):
            yield from database(path)
        elif suffix in TEXT:
            yield from _text(path)

    def _faces(self, image: np.ndarray) -> int:
        from facetrack.frames import Frame

        faces = self.detector().detect(Frame(image, "check", 0, 0.0))
        return int((faces.score >= CONFIDENT).sum())

    def _image(self, path: Path) -> Iterator[Finding]:
        import cv2

        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is not None and self._faces(image):
            yield Finding(str(path), "a picture with a readable face")

    def _video(self, path: Path) -> Iterator[Finding]:
        import av

        try:
            with av.open(str(path)) as container:
                for i, frame in enumerate(container.decode(video=0)):
                    if i % VIDEO_STEP == 0 and self._faces(frame.to_ndarray(format="bgr24")):
                        yield Finding(str(path), f"a readable face in frame {i}")
                        return
        except (av.error.FFmpegError, OSError) as exc:
            yield Finding(str(path), f"not readable as a video ({exc})")


def s3_objects(url: str) -> Iterator[tuple[str, Path]]:
    """Each object under ``s3://BUCKET/PREFIX`` (credentials and ``AWS_ENDPOINT_URL`` from the
    environment, as boto3 reads them), fetched one at a time into a private temporary folder:
    (its s3:// name, the local copy, kept until the next)."""
    import tempfile

    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    from facetrack.errors import InputError

    bucket, _, prefix = url[len("s3://"):].partition("/")
    if not bucket:
        raise InputError(f"{url}: give s3://BUCKET or s3://BUCKET/PREFIX")
    client = boto3.client("s3")
    try:
        with tempfile.TemporaryDirectory(prefix="facetrack-check-") as tmp:
            for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket,
                                                                          Prefix=prefix):
                for obj in page.get("Contents", []):
                    local = Path(tmp) / f"object{Path(obj['Key']).suffix}"
                    client.download_file(bucket, obj["Key"], str(local))
                    yield f"s3://{bucket}/{obj['Key']}", local
    except (BotoCoreError, ClientError) as exc:
        raise InputError(f"{url}: cannot read the bucket ({str(exc).splitlines()[0]})"
                         ) from None


def _is_sqlite(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            return fh.read(16) == b"SQLite format 3\x00"
    except OSError:
        return False


def database(target: str | Path) -> Iterator[Finding]:
    """A SQLite file or a PostgreSQL store (URL; named in findings without its password):
    every row of every table."""
    import sqlalchemy as sa

    from facetrack.errors import DatabaseError
    from facetrack.storage.sql import open_database

    try:
        db = open_database(target, what="store", read_only=True)
    except DatabaseError as exc:
        if not isinstance(target, Path):
            raise  # a store named by URL that cannot be read: nothing was checked
        yield Finding(_shown(target), f"not readable as a database ({exc})")
        return
    try:
        with db.engine.connect() as conn:
            meta = sa.MetaData()
            meta.reflect(conn)
            for table in meta.sorted_tables:
                yield from _table(conn, db.name, table)
    except sa.exc.SQLAlchemyError as exc:
        why = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        if not isinstance(target, Path):
            raise DatabaseError(f"{db.name}: cannot open the store ({why})") from None
        yield Finding(db.name, f"not readable as a database ({why})")
    finally:
        db.close()


def _shown(target: str | Path) -> str:
    """A store's name without its password."""
    import sqlalchemy as sa

    try:
        return sa.engine.make_url(str(target)).render_as_string(hide_password=True)
    except (sa.exc.ArgumentError, ValueError):
        return str(target) if isinstance(target, Path) else "the database URL given"


def _table(conn: Any, name: str, table: Any) -> Iterator[Finding]:
    import sqlalchemy as sa

    if table.name == "embeddings":
        n = conn.execute(sa.select(sa.func.count()).select_from(table)).scalar()
        if n:
            yield Finding(name, f"{n} embeddings (a face database)")
        return
    rows = conn.execution_options(stream_results=True, yield_per=1000).execute(
        sa.select(table))
    for row in rows:
        for column, value in row._mapping.items():
            what = _value(str(column), value)
            if what:
                yield Finding(name, f"{what} in table {table.name}")
                return


def _value(column: str, value: Any) -> str | None:
    """What a stored value is beyond the anonymous mode (None: nothing)."""
    if isinstance(value, memoryview):
        value = value.tobytes()
    if isinstance(value, bytes) and len(value) % 4 == 0 and unit_vector(
            np.frombuffer(value, "<f4")):
        return "an embedding-like blob"
    if not isinstance(value, str) or not value:
        return None
    if column == "person" and value != "erased":
        return "a person's name"
    if _PERSON.search(value.encode("utf-8", "replace")):
        return "a person's name"
    return None


def _text(path: Path) -> Iterator[Finding]:
    data = path.read_bytes()
    if _PERSON.search(data):
        yield Finding(str(path), "a person's name")
    for m in _ARRAY.finditer(data):
        try:
            values = np.asarray(json.loads(m.group(0)), np.float64)
        except ValueError:
            continue
        if unit_vector(values):
            yield Finding(str(path), "an embedding-like array")
            return
