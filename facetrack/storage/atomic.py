"""Writing a whole file so that a reader never sees half of it: the one helper for tracks.csv,
tracks.json and face-database exports."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from facetrack.errors import OutputError


def current_umask() -> int:
    """The process's umask (the ``facetrack`` command sets 077: ``facetrack.__main__``). A
    thread creating a file between the two calls gets 077: more private, never less."""
    mask = os.umask(0o077)
    os.umask(mask)
    return mask


def write_atomically(path: Path, chunks: Iterable[str], mode: int | None = None) -> None:
    """Write ``chunks`` to a fresh temporary beside ``path`` (created with O_EXCL under a random
    name, so a file or link planted in a shared folder is never written through), flush it to
    disk, give it ``mode`` (default: what a new file gets under the umask) and rename it over
    ``path``. Nothing is left behind on failure."""
    if mode is None:
        mode = 0o666 & ~current_umask()
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise OutputError(f"{path}: cannot write ({exc.strerror or exc})") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            for chunk in chunks:
                fh.write(chunk)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise OutputError(f"{path}: cannot write ({exc.strerror or exc})") from None
