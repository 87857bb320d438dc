"""Quieting native libraries that print to the process's stderr on their own."""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Iterator

_lock = threading.Lock()
_depth = 0
_saved: int | None = None


@contextlib.contextmanager
def native_stderr_silenced() -> Iterator[None]:
    """Send file descriptor 2 to /dev/null while native code initialises.

    LiteRT prints "INFO: Created TensorFlow Lite XNNPACK delegate" and OpenCV's DNN engine a
    WARN line from C++ when a model is loaded; users should see only facetrack's own messages.
    The redirect is process-wide, so overlapping uses (several cameras loading models on their
    own threads) share one: the first saves fd 2, the last restores it. Meanwhile every thread's
    stderr is silenced; model loading is short. Python exceptions raised meanwhile are
    unaffected (they carry their own text).
    """
    global _depth, _saved
    with _lock:
        if _depth == 0:
            sys.stderr.flush()
            _saved = os.dup(2)
            with open(os.devnull, "w") as null:
                os.dup2(null.fileno(), 2)
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _saved is not None:
                os.dup2(_saved, 2)
                os.close(_saved)
                _saved = None
