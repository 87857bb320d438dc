"""Face-database import: how long ``facetrack db import`` holds the write lock, and how long an
enrolment arriving meanwhile waits (it was quadratic: 8,000 rows took 6.5 s, 200,000 over 5 min
while every enrolment failed with "locked").

    python -m benchmarks.gallery_import [--rows 8000 200000]

Random unit vectors (128-d, no content hashes, so duplicates are found by vector), 100 per
person, exported and imported into a fresh SQLite file; a second connection enrols one person
every 50 ms while the import runs (the longest any of them waited, and whether one failed,
are printed). Medians of ``--runs``.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from benchmarks._common import print_table
from facetrack.errors import DatabaseLockedError
from facetrack.recognition.gallery import FaceDatabase


def one(rows: int, tmp: Path) -> tuple[float, float, float, bool]:
    rng = np.random.default_rng(rows)
    src, dst, backup = tmp / f"src{rows}.db", tmp / f"dst{rows}.db", tmp / f"b{rows}.jsonl"
    for p in (src, dst, backup):
        p.unlink(missing_ok=True)
    with FaceDatabase(src) as db:
        for p in range(rows // 100):
            db.enroll(f"person {p}", rng.normal(size=(100, 128)).astype(np.float32), "m")
        db.export(backup)
    waits: list[float] = []
    failed = [False]
    done = threading.Event()

    def enrol_meanwhile() -> None:
        """Enrol one person every 50 ms while the import runs: the longest wait is the write
        lock the import held."""
        with FaceDatabase(dst, timeout=60) as other:
            n = 0
            while not done.is_set():
                t0 = time.perf_counter()
                try:
                    other.enroll(f"late {n}", rng.normal(size=(1, 128)).astype(np.float32), "m")
                except DatabaseLockedError:
                    failed[0] = True
                waits.append(time.perf_counter() - t0)
                n += 1
                time.sleep(0.05)

    with FaceDatabase(dst) as db:
        db.enroll("first", rng.normal(size=(1, 128)).astype(np.float32), "m")
        side = threading.Thread(target=enrol_meanwhile)
        side.start()
        t0 = time.perf_counter()
        db.import_(backup)
        took = time.perf_counter() - t0
        done.set()
        side.join()
        t0 = time.perf_counter()
        again = db.import_(backup)  # everything already there: found, skipped
        skip = time.perf_counter() - t0
        assert again.skipped == rows
    return took, skip, max(waits), failed[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[8000, 200_000])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for rows in args.rows:
            runs = [one(rows, Path(tmp)) for _ in range(args.runs)]
            out.append([rows, statistics.median(r[0] for r in runs),
                        statistics.median(r[1] for r in runs),
                        statistics.median(r[2] for r in runs), sum(r[3] for r in runs)])
    print_table(["rows", "import s (median)", "re-import, all skipped s",
                 "longest wait of an enrolment meanwhile s",
                 "enrolments that failed 'locked'"], out)


if __name__ == "__main__":
    main()
