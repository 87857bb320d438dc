"""Archives on several workers: wall time of ``facetrack track`` over the four synth sequences
(whole files) with 1 and 2 workers, as local processes and on a real Ray cluster, against one
process tracking them one after another.

    python -m benchmarks.batch_scaling [--runs 3] [--no-ray]

Rows, each the median of ``--runs`` wall times (the real CLI in a fresh process, models
loaded in the timing, as a user runs it):

- ``sequential``: ``facetrack track FILE`` once per file (the single-process tool);
- ``--workers 1`` / ``--workers 2``: local worker processes, each bound to its slice of the
  cores (1 worker: both cores; 2 workers: one core each);
- ``1-core nodes``: the same two commands under ``taskset -c 0`` and ``-c 0,1``, i.e. one
  versus two machines of one core each, which is what scaling over N nodes looks like;
- ``--ray``: a Ray cluster on this machine (head with no CPU, 1 or 2 worker nodes of one
  CPU); Ray does not bind tasks to cores, so a 1-node cluster still uses both.

Speed-up = the 1-worker row's time / the 2-worker row's. Outputs are checked to be the same
files whatever the worker count (tracks.csv of every input).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from benchmarks._common import SYNTH_SEQUENCES, data_root, print_table, wall_time


def _inputs(folder: Path) -> list[Path]:
    """The synth videos, linked into one folder under distinct names."""
    out = []
    for name in SYNTH_SEQUENCES:
        link = folder / f"{name}.mp4"
        link.symlink_to(data_root() / "synth_tracks" / name / "video.mp4")
        out.append(link)
    return out


def _facetrack(*args: str, cpus: str | None = None) -> list[str]:
    pre = ["taskset", "-c", cpus] if cpus else []
    return [*pre, sys.executable, "-m", "facetrack", "track", *args, "-q"]


def _same_tracks(a: Path, b: Path, names: list[str]) -> bool:
    return all((a / n / "tracks.csv").read_bytes() == (b / n / "tracks.csv").read_bytes()
               for n in names)


def _local_rows(files: list[Path], work: Path, runs: int) -> list[tuple[str, str, float]]:
    names = [f.stem for f in files]
    cases = [("sequential (one process)", None, None),
             ("--workers 1", "1", None), ("--workers 2", "2", None),
             ("1-core nodes: --workers 1 on core 0", "1", "0"),
             ("1-core nodes: --workers 2 on cores 0,1", "2", "0,1")]
    rows = []
    reference = work / "sequential-0"
    for label, workers, cpus in cases:
        times = []
        for run in range(runs):
            out = work / (f"sequential-{run}" if workers is None else
                          f"workers{workers}-cpus{cpus}-{run}")
            if workers is None:
                t = sum(wall_time(_facetrack(str(f), "-o", str(out / f.stem))) for f in files)
            else:
                t = wall_time(_facetrack(*map(str, files), "-o", str(out), "--workers", workers,
                                      cpus=cpus))
                if not _same_tracks(out, reference, names):
                    sys.exit(f"{label}: tracks differ from the sequential run")
            times.append(t)
            print(f"  {label}: {t:.1f} s", file=sys.stderr)
        rows.append((label, workers or "-", statistics.median(times)))
    return rows


def _ray_rows(files: list[Path], work: Path, runs: int) -> list[tuple[str, str, float]]:
    names = [f.stem for f in files]
    from tests.integration.servers import RayCluster

    rows = []
    for nodes in (1, 2):
        cluster = RayCluster(workers=nodes)
        try:
            times = []
            for run in range(runs):
                out = work / f"ray-{nodes}-{run}"
                times.append(wall_time(_facetrack(*map(str, files), "-o", str(out), "--ray",
                                               cluster.address)))
                if not _same_tracks(out, work / "sequential-0", names):
                    sys.exit(f"ray {nodes}: tracks differ from the sequential run")
                print(f"  ray {nodes} node(s): {times[-1]:.1f} s", file=sys.stderr)
        finally:
            cluster.close()
        rows.append((f"--ray: {nodes} worker node(s) of 1 CPU", str(nodes),
                     statistics.median(times)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-ray", action="store_true", help="skip the Ray rows")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="facetrack-batch-"))
    try:
        (work / "in").mkdir()
        files = _inputs(work / "in")
        rows = _local_rows(files, work, args.runs)
        if not args.no_ray:
            rows += _ray_rows(files, work, args.runs)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    base = {label: t for label, _, t in rows}
    table = []
    for label, workers, t in rows:
        pair = label.replace("--workers 2", "--workers 1").replace(" on cores 0,1", " on core 0")
        pair = pair.replace("2 worker node(s)", "1 worker node(s)")
        ratio = base[pair] / t if pair != label and pair in base else float("nan")
        table.append((label, workers, round(t, 1), ratio))
    print(f"{len(files)} synth sequences (3 at 1280x720, 1 at 640x480; {args.runs} runs, medians)")
    print_table(["run", "workers", "wall s", "speed-up over 1 worker"], table)


if __name__ == "__main__":
    main()
