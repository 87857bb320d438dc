"""Silencing native libraries' stderr from many threads at once leaves stderr as it was."""

from __future__ import annotations

import os
import random
import threading
import time

from facetrack._native import native_stderr_silenced


def test_overlapping_silences_restore_stderr() -> None:
    before = os.fstat(2)

    def load(seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(20):
            with native_stderr_silenced():
                time.sleep(rng.uniform(0, 0.003))

    threads = [threading.Thread(target=load, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    after = os.fstat(2)
    assert (after.st_dev, after.st_ino) == (before.st_dev, before.st_ino)
    with native_stderr_silenced():
        silenced = os.fstat(2)
    assert (silenced.st_dev, silenced.st_ino) != (before.st_dev, before.st_ino)
