"""Pick-up after SIGKILL: two ``facetrack monitor`` processes share cameras through one real
PostgreSQL store (``cluster:``); once they have split the cameras, one is killed with SIGKILL,
and the time until the survivor holds and runs the dead one's cameras is measured.

    python -m benchmarks.cluster_failover [--runs 5] [--cameras 4] [--lease-s 15]
                                          [--fps-cap 5]

Real parts: Debian's PostgreSQL in a temporary folder (tests/integration/servers.py), two
monitor processes on one config, every camera the synth01 clip looped as a live source. The
kill comes at a random point of the lease rounds. Printed per run: the time from the kill to
the survivor's take of the last orphaned camera (the lease table, the database's clock), to
the first stored event of each taken camera (an event needs a face to appear, so this bounds
the pick-up from above), and whether any camera ever had two holders at once (the lease
history). Then the median and max of each.
"""

from __future__ import annotations

import argparse
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import sqlalchemy as sa
import yaml

from benchmarks._common import data_root, print_table
from facetrack.storage.events import EventStore
from facetrack.storage.leases import LeaseStore, overlaps
from tests.integration.servers import PostgresServer, short_gop_copy


def _database(server: PostgresServer) -> str:
    name = f"b{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(server.url.replace("postgresql://", "postgresql+psycopg://"),
                              isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return server.url.rsplit("/", 1)[0] + "/" + name


def _monitor(cfg: dict, folder: Path, name: str) -> subprocess.Popen[bytes]:
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    with (folder / f"{name}.log").open("wb") as log:
        return subprocess.Popen([sys.executable, "-m", "facetrack", "monitor", str(path)],
                                stdout=log, stderr=subprocess.STDOUT)


def _wait(cond: object, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():  # type: ignore[operator]
            return True
        time.sleep(0.1)
    return False


def one_run(server: PostgresServer, clip: Path, folder: Path, args: argparse.Namespace
            ) -> tuple[float, float, bool]:
    url = _database(server)
    cams = [f"c{i + 1}" for i in range(args.cameras)]
    cfg = {"store": {"events_db": url, "events_jsonl": None},
           "metrics": {"log_every_s": 60}, "cluster": {"lease_s": args.lease_s},
           "cameras": [{"name": c, "source": str(clip), "loop": True, "fps_cap": args.fps_cap}
                       for c in cams]}
    procs = [_monitor(cfg, folder, "a"), _monitor(cfg, folder, "b")]
    try:
        with LeaseStore(url) as leases, EventStore(url) as store:
            def pids() -> list[int]:
                return sorted(int(h.split(":")[1]) for h in leases.holders().values())

            share = sorted([p.pid for p in procs] * (args.cameras // 2))
            if not _wait(lambda: pids() == share, 90):
                raise RuntimeError(f"the monitors did not split the cameras: {pids()}")
            # killed at a random point of the lease rounds (every lease_s / 3)
            time.sleep(3 + random.uniform(0, args.lease_s / 3))
            victim, survivor = procs
            orphans = [c for c, h in leases.holders().items()
                       if h.split(":")[1] == str(victim.pid)]
            killed_at = time.time()
            victim.send_signal(signal.SIGKILL)
            victim.wait()
            if not _wait(lambda: pids() == [survivor.pid] * args.cameras, 60):
                raise RuntimeError(f"the survivor did not take every camera: {pids()}")
            history = leases.history()
            taken = max(h["since"] for h in history if h["camera"] in orphans
                        and h["holder"].split(":")[1] == str(survivor.pid))
            kill_iso = datetime.fromtimestamp(killed_at, timezone.utc).isoformat()
            firsts: dict[str, float] = {}

            def events_back() -> bool:
                for c in orphans:
                    if c not in firsts:
                        rows = store.query(camera=c, since=kill_iso, limit=None)
                        if rows:
                            firsts[c] = time.time()
                return len(firsts) == len(orphans)

            _wait(events_back, 60)
            survivor.send_signal(signal.SIGTERM)
            survivor.wait(60)
            clean = not overlaps(leases.history())
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    events = max(firsts.values(), default=float("nan")) - killed_at
    return taken - killed_at, events, clean


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cameras", type=int, default=4)
    parser.add_argument("--lease-s", type=float, default=15.0)
    parser.add_argument("--fps-cap", type=float, default=5.0)
    args = parser.parse_args()
    src = data_root() / "synth_tracks" / "synth01" / "video.mp4"
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        clip = short_gop_copy(src, folder / "cam.mp4")
        server = PostgresServer(folder)
        try:
            results = []
            for i in range(args.runs):
                taken, events, clean = one_run(server, clip, folder, args)
                results.append((taken, events, clean))
                print(f"run {i + 1}: taken {taken:.1f} s, events {events:.1f} s, "
                      f"two holders at once: {'no' if clean else 'YES'}", flush=True)
        finally:
            server.close()
    rows: list[list[object]] = [[i + 1, t, e, "no" if c else "YES"]
                                for i, (t, e, c) in enumerate(results)]
    taken_s = [r[0] for r in results]
    event_s = [r[1] for r in results]
    rows.append(["median", statistics.median(taken_s), statistics.median(event_s), ""])
    rows.append(["max", max(taken_s), max(event_s), ""])
    print_table(["run", "kill -> leases taken (s)", "kill -> events again (s)",
                 "two holders at once"], rows)


if __name__ == "__main__":
    main()
