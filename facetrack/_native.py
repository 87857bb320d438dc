"""Quieting native libraries that print to the process's stderr on their own."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def native_stderr_silenced() -> Iterator[None]:
    """Send file descriptor 2 to /dev/null while native code initialises.

    LiteRT prints "INFO: Created TensorFlow Lite XNNPACK delegate" and OpenCV's DNN engine a
    WARN line from C++ when a model is loaded; users should see only facetrack's own messages.
    Python exceptions raised meanwhile are unaffected (they carry their own text).
    """
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # stderr replaced (e.g. captured by pytest)
        fd = 2
    sys.stderr.flush()
    saved = os.dup(fd)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), fd)
            try:
                yield
            finally:
                os.dup2(saved, fd)
    finally:
        os.close(saved)
