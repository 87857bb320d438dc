"""``facetrack privacy-check``: scan what a run wrote and report anything beyond its privacy
mode. In ``anonymous`` mode: a picture with a readable face in it (images and videos, checked
with facetrack's own face detector: a blurred face does not fire it), an embedding (a
``embeddings`` table with rows, a blob or a JSON array that looks like a unit float vector),
a name (a ``person`` field with a value). ``identified`` allows all of these (the scan then
only lists them). Findings are lines ``path: what``.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

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

    def scan(self, root: Path) -> Iterator[Finding]:
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
            yield from _database(path)
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


def _is_sqlite(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            return fh.read(16) == b"SQLite format 3\x00"
    except OSError:
        return False


def _database(path: Path) -> Iterator[Finding]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = "
                                             "'table'")]
        if "embeddings" in tables:
            n = conn.execute("SELECT count(*) FROM embeddings").fetchone()[0]
            if n:
                yield Finding(str(path), f"{n} embeddings (a face database)")
        for table in tables:
            if table == "embeddings":
                continue
            yield from _table(conn, path, table)
    except sqlite3.DatabaseError as exc:
        yield Finding(str(path), f"not readable as a database ({exc})")
    finally:
        conn.close()


def _table(conn: sqlite3.Connection, path: Path, table: str) -> Iterator[Finding]:
    quoted = '"' + table.replace('"', '""') + '"'
    for row in conn.execute(f"SELECT * FROM {quoted}"):  # noqa: S608 - a name from the file
        for value in row:
            if isinstance(value, bytes) and len(value) % 4 == 0 and unit_vector(
                    np.frombuffer(value, "<f4")):
                yield Finding(str(path), f"an embedding-like blob in table {table}")
                return
            if isinstance(value, str) and _PERSON.search(value.encode("utf-8", "replace")):
                yield Finding(str(path), f"a person's name in table {table}")
                return


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
