"""REST API latency over a store of a million events, with 20 concurrent clients, while cameras
run; and whether the cameras drop more frames because of it.

    python -m benchmarks.api_latency [--events 1000000] [--clients 20] [--seconds 30]
                                     [--cameras 4 [2 ...]] [--think 0 1] [--repeats 2]
                                     [--audience-cameras 2] [--separate-serve]
                                     [--no-browser] [--rebuild]

1. **The store.** A SQLite event store (the schema ``EventStore`` and ``AudienceStore``
   create) filled by bulk insert with ``--events`` events of 8 cameras over the last 30 days,
   as tracks: ``track_started``, then (85%) ``identity_matched`` or ``unknown_face``, sometimes
   ``attention``, ``dwell``, ``distracted``, ``eyes_closed`` and an ``alert`` (about 2% of the
   events), then ``track_ended``; ``data`` is each event's ``to_dict()`` JSON, ``wall_time`` the
   ISO UTC text the store writes. Plus one audience row per 1-minute window, zone ``all``,
   target ``camera``, for ``--audience-cameras`` cameras over the same 30 days. No ``ANALYZE``
   (the store never runs it). Built once under ``$TMPDIR/facetrack-api-bench/`` and reused for
   3 hours (``since=24h`` moves with the clock); every run works on a copy, since a monitor
   adds to it. A viewer API key (``facetrack keys add bench --role viewer``) and a viewer
   account for the browser are added with the CLI.
2. **The load.** ``--clients`` keep-alive HTTP/1.1 connections from one asyncio loop in this
   process (a few lines of raw HTTP: the cheapest generator at hand, no wrk on the machine; its
   CPU, on the same 2 cores, is printed). Each client sends the 7 queries below in turn, with
   ``--think`` seconds (uniform 0.5-1.5x) between its requests: ``0`` is a closed loop (each
   client asks again as soon as it has the answer: the saturating case load tools measure),
   ``1`` is 20 dashboards asking once a second. The first 2 s are not counted. Latency is from
   writing the request to reading the last byte of the answer; in a closed loop the mean is
   clients / throughput, and the cheap queries' p50 says little (they overtake slow ones).
3. **Where the API runs.** (a) ``facetrack serve`` alone, in its own process; (b) ``facetrack
   monitor``'s in-process API (``api:`` in its config, the case where the server could take
   frames from the cameras) with ``--cameras`` 720p synth_tracks clips in a loop at 10 fps
   (``benchmarks.monitor_capacity``'s setup), its ``store.events_db`` the million-event store.
   For (b) the same cameras also run without ``api:`` and without load, and with
   ``--separate-serve`` (c) without ``api:`` but with ``facetrack serve`` beside them over the
   same store, loaded (cores shared, but not the monitor's interpreter); the configurations
   alternate, ``--repeats`` times each, and every camera's processed fps and dropped share
   (frames overwritten before processing took them) is counted over the load period only
   (after the models loaded and every camera processed 10 frames, plus 5 s).
4. **The store alone.** Each query's store call in-process (no HTTP), median of 20, with
   SQLite's ``EXPLAIN QUERY PLAN`` of the SQL it ran: what the database costs of the latency.
5. **The dashboard** in Debian's chromium (headless, Selenium): first contentful paint and
   the time until the events and audience pages have drawn their data, over this store, from
   ``facetrack serve`` without load (skipped without chromium/chromedriver or with
   ``--no-browser``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import random
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from benchmarks._common import REPO, data_root, print_table, stop_process

EVENT_CAMERAS = 8
DAYS = 30
CACHE_HOURS = 3.0
WARM_S = 2.0  # load not counted at the start of each run
SETTLE_S = 5.0  # after every camera processed its first frames, before counting
BUILD_VERSION = 2  # bump when the store's content changes
LATENCY_HEADERS = ["query", "requests", "req/s", "p50 ms", "p99 ms", "mean ms", "max ms",
                   "errors"]
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
PASSWORD = "bench-password-long"


# -- the store ---------------------------------------------------------------------------


@dataclass
class Store:
    path: Path
    key: str
    events: int
    max_id: int
    audience_rows: int
    audience_cameras: int
    build_s: float
    built_at: float
    cached: bool
    folder: Path = Path()
    topped_events: int = 0  # added since the build, so that "the last hour" has data
    topped_windows: int = 0


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds")


def _event_rows(n: int, start: float, end: float, seed: int) -> list[tuple[Any, ...]]:
    """About ``n`` events of tracks on 8 cameras between ``start`` and ``end``, oldest first,
    as rows of the events table."""
    from facetrack.events import EVENT_TYPES

    if n <= 0:
        return []
    rng = random.Random(seed)
    span = end - start
    per_track = 3.3  # the mean of what one track below gives
    starts = sorted(start + rng.random() * span for _ in range(int(n / per_track * 1.05) + 100))
    track_ids = [0] * EVENT_CAMERAS
    unknowns = [0] * EVENT_CAMERAS
    people = [(i, f"Person {i:02d}") for i in range(1, 41)]
    watchlist = {1, 2, 3, 4}
    raw: list[tuple[float, str, str, int, dict[str, Any]]] = []
    for t0 in starts:
        cam = rng.randrange(EVENT_CAMERAS)
        name = f"cam{cam}"
        track_ids[cam] += 1
        tid = track_ids[cam]
        dur = min(rng.lognormvariate(2.3, 0.9), 900.0)  # median ~10 s
        raw.append((t0, name, "track_started", tid, {}))
        pid, person = -1, None
        if rng.random() < 0.85:
            t = t0 + rng.uniform(0.3, min(2.0, dur))
            if rng.random() < 0.4:
                pid, person = people[rng.randrange(len(people))]
                sim = round(rng.uniform(0.45, 0.85), 4)
                raw.append((t, name, "identity_matched", tid,
                            {"person_id": pid, "person": person, "similarity": sim}))
                if pid in watchlist:
                    raw.append((t + 0.001, name, "alert", tid, {
                        "reason": "identity_matched", "person_key": f"person:{pid}",
                        "person_id": pid, "person": person, "detail": {
                            "person_id": pid, "person": person, "similarity": sim}}))
            else:
                sim = round(rng.uniform(0.05, 0.35), 4)
                raw.append((t, name, "unknown_face", tid, {"similarity": sim}))
                if rng.random() < 0.06:
                    unknowns[cam] += 1
                    raw.append((t + 0.001, name, "alert", tid, {
                        "reason": "unknown_face", "person_key": f"unknown:{unknowns[cam]}",
                        "detail": {"similarity": sim}}))
        if rng.random() < 0.2:
            look = rng.uniform(0.3, dur)
            raw.append((t0 + dur * 0.9, name, "attention", tid, {
                "target": "screen", "state": "end", "start_s": round(rng.uniform(0, dur), 4),
                "duration_s": round(look, 4)}))
        if rng.random() < 0.1:
            raw.append((t0 + min(dur, 5.0), name, "dwell", tid,
                        {"zone": "entrance", "duration_s": 5.0}))
        if rng.random() < 0.05:
            raw.append((t0 + dur / 2, name, "distracted", tid, {"duration_s": 3.0}))
        if rng.random() < 0.03:
            raw.append((t0 + dur / 3, name, "eyes_closed", tid,
                        {"duration_s": round(rng.uniform(1.0, 3.0), 4)}))
        raw.append((t0 + dur, name, "track_ended", tid, {
            "duration_s": round(dur, 4), "frames": int(dur * 10), "person_id": pid,
            "person": person}))
    raw = sorted((r for r in raw if r[0] <= end), key=lambda r: r[0])[-n:]  # the newest n
    rows = []
    for t, camera, kind, tid, extra in raw:
        ts = t - start  # seconds since the camera's stream began
        event = EVENT_TYPES[kind](camera=camera, frame=int(ts * 25), timestamp=ts,
                                  track_id=tid, wall_time=_iso(t), **extra)
        data = event.to_dict()
        rows.append((kind, camera, event.wall_time, event.timestamp, event.frame, tid,
                     data.get("person_id"), json.dumps(data, ensure_ascii=False)))
    return rows


def _audience_rows(cameras: int, first: float, end: float, seed: int) -> list[dict[str, Any]]:
    """1-minute windows (zone all, target camera) of ``cameras`` cameras, the first starting
    at ``first``, the last ending by ``end``."""
    from facetrack.analytics.windows import BUCKET_COLUMNS

    rng = random.Random(seed + 1)
    rows = []
    for cam in range(cameras):
        for i in range(max(0, int((end - first) // 60))):
            s = first + 60.0 * i
            hour = (s % 86400) / 3600
            busy = max(0.0, math.sin(math.pi * (hour - 7) / 14))
            ots = max(0, round(busy * 12 + rng.gauss(0, 1.5)))
            watchers = min(ots, round(ots * rng.uniform(0.2, 0.6)))
            split = [rng.random() for _ in BUCKET_COLUMNS]
            tot = sum(split)
            dwell = [int(ots * v / tot) for v in split]
            dwell[0] += ots - sum(dwell)
            rows.append({
                "camera": f"cam{cam}", "window_start": _iso(s), "window_end": _iso(s + 60),
                "zone": "all", "target": "camera", "model_version": "bench",
                "config_hash": "0123456789ab", "ots": ots, "watchers": watchers,
                "glances": watchers + rng.randrange(3), "smiles": rng.randrange(2),
                "entries": ots, "exits": ots, **dict(zip(BUCKET_COLUMNS, dwell, strict=True)),
                "conversion": watchers / ots if ots else None,
                "dwell_mean_s": round(rng.uniform(3, 20), 2) if ots else None,
                "attention_mean_s": round(rng.uniform(0.5, 4), 2) if watchers else None,
                "attention_total_s": round(watchers * rng.uniform(0.5, 4), 2),
                "attraction": round(rng.random(), 3) if ots else None,
                "occupancy_mean": round(ots * rng.uniform(0.05, 0.3), 3)})
    return rows


def _facetrack(*args: str, stdin: str | None = None) -> str:
    res = subprocess.run([sys.executable, "-m", "facetrack", *args], input=stdin,
                         capture_output=True, text=True, cwd=REPO, check=False)
    if res.returncode != 0:
        sys.exit(f"facetrack {' '.join(args)} failed: {res.stderr[-2000:]}")
    return res.stdout + res.stderr


def build_store(events: int, audience_cameras: int, rebuild: bool, seed: int = 7) -> Store:
    """The cached store for these parameters, built if missing or older than 3 hours."""
    import hashlib

    import facetrack.storage
    from facetrack.storage.accounts import AccountStore
    from facetrack.storage.audience import AudienceStore
    from facetrack.storage.cameras import CameraStatusStore
    from facetrack.storage.events import EventStore

    # the schema is the storage code's: a store built by older code is not reused
    code = hashlib.sha256(b"".join(p.read_bytes() for p in sorted(
        Path(facetrack.storage.__file__).parent.glob("*.py")))).hexdigest()[:10]
    folder = (Path(tempfile.gettempdir()) / "facetrack-api-bench" /
              f"v{BUILD_VERSION}-e{events}-a{audience_cameras}-d{DAYS}-s{seed}-{code}")
    meta_path, db = folder / "meta.json", folder / "events.db"
    if meta_path.is_file() and db.is_file() and not rebuild:
        meta = json.loads(meta_path.read_text())
        if time.time() - meta["built_at"] < CACHE_HOURS * 3600:
            store = Store(db, meta["key"], events, meta["max_id"], meta["audience_rows"],
                          audience_cameras, meta["build_s"], meta["built_at"], cached=True,
                          folder=folder)
            top_up(store)
            return store
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    t0 = time.perf_counter()
    end = time.time()
    for store_class in (EventStore, AudienceStore, AccountStore, CameraStatusStore):
        store_class(db).close()  # the tables, indexes and schema versions facetrack makes
    rows = _event_rows(events, end - DAYS * 86400.0, end, seed)
    t_events = time.perf_counter()
    first = math.floor((end - DAYS * 86400.0) / 60) * 60
    windows_until = first + 60.0 * (DAYS * 1440)
    audience = _audience_rows(audience_cameras, first, windows_until, seed)
    t_gen = time.perf_counter()
    max_id = _insert(db, rows, audience)
    t_insert = time.perf_counter()
    out = _facetrack("keys", "add", "bench", "--role", "viewer", "--store", str(db))
    found = re.findall(r"ftk_[A-Za-z0-9_\-]+", out)  # the secret, and maybe its hint
    if not found:
        sys.exit(f"no key in: {out}")
    key = max(found, key=len)
    _facetrack("users", "add", "bench", "--role", "viewer", "--password-stdin", "--store",
               str(db), stdin=PASSWORD + "\n")
    build_s = time.perf_counter() - t0
    print(f"built the store in {build_s:.1f} s: events generated {t_events - t0:.1f} s, "
          f"audience generated {t_gen - t_events:.1f} s, inserted {t_insert - t_gen:.1f} s, "
          f"key and user {time.perf_counter() - t_insert:.1f} s; "
          f"{db.stat().st_size / 2**20:.0f} MB", flush=True)
    meta = {"key": key, "built_at": end, "max_id": max_id, "audience_rows": len(audience),
            "build_s": build_s, "events_until": end, "windows_until": windows_until}
    meta_path.write_text(json.dumps(meta))
    return Store(db, key, events, max_id, len(audience), audience_cameras, build_s, end,
                 cached=False, folder=folder)


def _insert(db: Path, rows: Sequence[tuple[Any, ...]], audience: Sequence[dict[str, Any]]
            ) -> int:
    """Bulk insert events and audience rows; the events' largest id."""
    from facetrack.storage.audience import FLOATS, INTS, TEXT

    columns = (*TEXT, *INTS, *FLOATS)
    conn = sqlite3.connect(db)
    try:
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("PRAGMA cache_size=-262144")
        with conn:
            conn.executemany("INSERT INTO events (kind, camera, wall_time, ts, frame, "
                             "track_id, person_id, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
            conn.executemany(f"INSERT INTO audience ({', '.join(columns)}) VALUES "
                             f"({', '.join('?' * len(columns))})",
                             [tuple(r[c] for c in columns) for r in audience])
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return int(conn.execute("SELECT max(id) FROM events").fetchone()[0])
    finally:
        conn.close()


def top_up(store: Store) -> None:
    """Bring a cached store up to now at the same rates (events for the time since it was
    last filled, the audience windows that have ended since), so ``since=1h`` finds data."""
    meta_path = store.folder / "meta.json"
    meta = json.loads(meta_path.read_text())
    now = time.time()
    gap = now - meta["events_until"]
    rows = _event_rows(round(store.events * gap / (DAYS * 86400.0)), meta["events_until"], now,
                       int(now))
    audience = _audience_rows(store.audience_cameras, meta["windows_until"], now, int(now))
    if not rows and not audience:
        return
    store.max_id = _insert(store.path, rows, audience)
    store.topped_events += len(rows)
    store.topped_windows += len(audience)
    meta.update(max_id=store.max_id, events_until=now,
                windows_until=meta["windows_until"] + 60.0 * (
                    len(audience) // max(store.audience_cameras, 1)))
    meta_path.write_text(json.dumps(meta))


def working_copy(store: Store, folder: Path) -> Path:
    """A copy of the store (topped up to now) for one run."""
    top_up(store)
    folder.mkdir(parents=True, exist_ok=True)
    copy = folder / "events.db"
    shutil.copyfile(store.path, copy)
    os.chmod(copy, 0o600)
    os.sync()  # no writeback of the copy during a measurement
    return copy


# -- the queries -------------------------------------------------------------------------


#: the load's queries, in the order each client sends them: kind -> its path
QUERIES: dict[str, Callable[[random.Random, Store], str]] = {
    "events latest": lambda rng, store: "/api/events?limit=50",
    "events camera 24h": lambda rng, store:
        f"/api/events?camera=cam{rng.randrange(EVENT_CAMERAS)}&since=24h&limit=50",
    "events kind=alert": lambda rng, store: "/api/events?kind=alert&limit=50",
    "events deep cursor": lambda rng, store:
        f"/api/events?before={rng.randint(store.max_id // 20, store.max_id // 2)}&limit=50",
    "alerts 7d": lambda rng, store: "/api/alerts?since=7d",
    "audience summary 24h": lambda rng, store:
        f"/api/audience/summary?since=24h&camera=cam{rng.randrange(store.audience_cameras)}",
    "audience windows 1h": lambda rng, store: "/api/audience/windows?since=1h",
}
KINDS = tuple(QUERIES)


def query_path(kind: str, rng: random.Random, store: Store) -> str:
    return QUERIES[kind](rng, store)


def store_calls(path: Path, store: Store) -> tuple[list[tuple[str, Callable[[], Any]]],
                                                   list[Any]]:
    """Each query's store call, as its route makes it (defaults included), and the stores."""
    from facetrack.storage.audience import AudienceStore
    from facetrack.storage.events import EventStore

    events, audience = EventStore(path), AudienceStore(path)
    rng = random.Random(3)

    def cam(n: int) -> str:
        return f"cam{rng.randrange(n)}"

    return [
        ("events latest", lambda: events.page()),
        ("events camera 24h", lambda: events.page(camera=cam(EVENT_CAMERAS), since="24h")),
        ("events kind=alert", lambda: events.page(kinds=["alert"])),
        ("events deep cursor", lambda: events.page(
            before_id=rng.randint(store.max_id // 20, store.max_id // 2))),
        ("alerts 7d", lambda: events.page(kinds=["alert"], since="7d")),
        ("audience summary 24h", lambda: audience.summary(
            camera=cam(store.audience_cameras), since="24h")),
        ("audience windows 1h", lambda: audience.query(since="1h", limit=1000)),
        # not in the load mix: filters that match fewer rows than the page holds
        ("+ alerts 1h", lambda: events.page(kinds=["alert"], since="1h")),
        ("+ events kind=sleep 24h (none stored)", lambda: events.page(kinds=["sleep"],
                                                                      since="24h")),
        ("+ audience summary 30d, every camera", lambda: audience.summary(since="30d")),
    ], [events, audience]


def _count(result: Any) -> int:
    """Rows a store call returned; a summary's windows it summed."""
    if isinstance(result, dict) and "windows" in result:
        return int(result["windows"])
    return len(result.get("items", result) if isinstance(result, dict) else result)


def store_alone(path: Path, store: Store) -> list[list[Any]]:
    """Median ms of each store call in-process, rows returned, and SQLite's plan of its SQL
    (caught with the connection's trace callback, bound values expanded)."""
    sqls: list[str] = []
    calls, stores = store_calls(path, store)
    for s in stores:
        s._db.engine.raw_connection().driver_connection.set_trace_callback(sqls.append)
    plan_db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    rows = []
    try:
        for name, call in calls:
            call()  # warm
            times, n = [], 0
            for _ in range(20):
                t0 = time.perf_counter()
                n = _count(call())
                times.append(time.perf_counter() - t0)
            sqls.clear()
            call()
            sql = next((q for q in sqls if q.lstrip().upper().startswith("SELECT")), "")
            plan = "; ".join(r[3] for r in plan_db.execute("EXPLAIN QUERY PLAN " + sql)) \
                if sql else "?"
            rows.append([name, n, f"{1000 * statistics.median(times):.1f}",
                         f"{1000 * max(times):.1f}", plan])
    finally:
        plan_db.close()
        for s in stores:
            s.close()
    return rows


# -- the load ----------------------------------------------------------------------------


@dataclass
class Load:
    samples: list[tuple[str, float, int]] = field(default_factory=list)  # kind, s, status
    seconds: float = 0.0
    cpu_s: float = 0.0  # of this process (the generator)


async def _answer(reader: asyncio.StreamReader) -> tuple[int, bool]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    length, chunked, close = 0, False, False
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name, value = name.strip().lower(), value.strip().lower()
        if name == "content-length":
            length = int(value)
        elif name == "transfer-encoding" and "chunked" in value:
            chunked = True
        elif name == "connection" and value == "close":
            close = True
    if chunked:
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    else:
        await reader.readexactly(length)
    return status, close


async def _client(i: int, port: int, store: Store, think: float, warm_until: float,
                  end: float, out: list[tuple[str, float, int]]) -> None:
    rng = random.Random(i)
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None
    k = i
    if think:
        await asyncio.sleep(rng.uniform(0, think))  # dashboards do not start in step
    while time.perf_counter() < end:
        kind = KINDS[k % len(KINDS)]
        k += 1
        request = (f"GET {query_path(kind, rng, store)} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                   f"Authorization: Bearer {store.key}\r\n\r\n").encode()
        t0 = time.perf_counter()
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            assert reader is not None
            writer.write(request)
            status, close = await asyncio.wait_for(_answer(reader), 60)
        except (OSError, ValueError, IndexError, asyncio.TimeoutError,
                asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            status, close = 0, True
        t1 = time.perf_counter()
        if close and writer is not None:
            writer.close()
            reader = writer = None
        if t0 >= warm_until:
            out.append((kind, t1 - t0, status))
        if think:
            await asyncio.sleep(rng.uniform(0.5, 1.5) * think)
    if writer is not None:
        writer.close()


def run_load(port: int, store: Store, clients: int, seconds: float, think: float) -> Load:
    """``clients`` clients for WARM_S + ``seconds``; the samples after WARM_S."""
    out: list[tuple[str, float, int]] = []
    cpu0 = os.times()

    async def main() -> None:
        t = time.perf_counter()
        await asyncio.gather(*(_client(i, port, store, think, t + WARM_S, t + WARM_S + seconds,
                                       out) for i in range(clients)))

    asyncio.run(main())
    cpu1 = os.times()
    return Load(out, seconds, cpu1.user - cpu0.user + cpu1.system - cpu0.system)


def pct(values: Sequence[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, round(q * (len(s) - 1)))]


def latency_rows(loads: Sequence[Load]) -> list[list[Any]]:
    seconds = sum(x.seconds for x in loads)
    samples = [s for x in loads for s in x.samples]
    rows = []
    for kind in (*KINDS, "all"):
        mine = [s for s in samples if kind in ("all", s[0])]
        ok = [1000 * t for _, t, status in mine if status == 200]
        mean = statistics.mean(ok) if ok else float("nan")
        rows.append([kind, len(mine), f"{len(mine) / seconds:.1f}", f"{pct(ok, 0.5):.1f}",
                     f"{pct(ok, 0.99):.1f}", f"{mean:.1f}", f"{max(ok, default=float('nan')):.1f}",
                     sum(1 for s in mine if s[2] != 200)])
    return rows


def check_answers(port: int, store: Store) -> list[list[Any]]:
    """One request of each kind: its status and how many items it returned."""
    import urllib.request

    rows = []
    rng = random.Random(1)
    for kind in QUERIES:
        path = query_path(kind, rng, store)
        req = urllib.request.Request(f"http://127.0.0.1:{port}{path}",
                                     headers={"Authorization": f"Bearer {store.key}"})
        t0 = time.perf_counter()
        with urllib.request.urlopen(req, timeout=60) as res:
            body = json.loads(res.read())
            status = res.status
        ms = 1000 * (time.perf_counter() - t0)
        n = len(body.get("items", body.get("series", [])))
        rows.append([kind, path, status, n, f"{ms:.1f}"])
    return rows


def check_key(port: int, store: Store) -> None:
    """Stop at once when the API refuses the key (a wrong store, a schema change)."""
    import urllib.error
    import urllib.request

    req = urllib.request.Request(f"http://127.0.0.1:{port}/api/events?limit=1",
                                 headers={"Authorization": f"Bearer {store.key}"})
    try:
        with urllib.request.urlopen(req, timeout=60) as res:
            res.read()
    except urllib.error.HTTPError as exc:
        sys.exit(f"the API answered {exc.code}: {exc.read()[:500]!r}")


def statuses(load: Load) -> str:
    counts: dict[int, int] = {}
    for _, _, status in load.samples:
        counts[status] = counts.get(status, 0) + 1
    return ", ".join(f"{k or 'no answer'}: {v}" for k, v in sorted(counts.items()))


def proc_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# -- facetrack serve ---------------------------------------------------------------------


@contextlib.contextmanager
def serving(db: Path, folder: Path) -> Any:
    """``facetrack serve`` over ``db`` in its own process; yields (port, pid)."""
    config = folder / "serve.json"
    config.write_text(json.dumps({
        "store": {"events_db": str(db), "events_jsonl": None},
        "clips": {"dir": str(folder / "clips")},
        "api": {"port": 0, "jobs_dir": str(folder / "jobs")}}))
    log_path = folder / "serve.log"
    # this repository's facetrack, whatever the environment's install points at
    path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    with log_path.open("w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "facetrack", "serve", "--config",
                                 str(config)], stdout=log, stderr=subprocess.STDOUT,
                                cwd=folder, env={**os.environ, "PYTHONPATH": path})
    try:
        deadline = time.monotonic() + 120
        port = None
        while port is None:
            m = re.search(r"http://127\.0\.0\.1:(\d+)/", log_path.read_text())
            if m:
                port = int(m.group(1))
            elif proc.poll() is not None or time.monotonic() > deadline:
                sys.exit(f"facetrack serve did not start: {log_path.read_text()[-2000:]}")
            else:
                time.sleep(0.1)
        yield port, proc.pid
    finally:
        stop_process(proc)


# -- the monitor (in a child process) -----------------------------------------------------


def monitor_config(db: Path, folder: Path, cameras: int, api: bool) -> dict[str, Any]:
    root = data_root() / "synth_tracks"
    cfg: dict[str, Any] = {
        "store": {"events_db": str(db), "events_jsonl": None},
        "clips": {"dir": str(folder / "clips")},
        "metrics": {"log_every_s": 3600},
        "cameras": [{"name": f"cam{i}", "source": str(root / f"synth0{i % 4 + 1}" /
                                                       "video.mp4"),
                     "loop": True, "fps_cap": 10.0} for i in range(cameras)],
    }
    if api:
        cfg["api"] = {"port": 0, "jobs_dir": str(folder / "jobs")}
    return cfg


def monitor_child(config_path: str) -> None:
    """Run a Monitor (what ``facetrack monitor`` runs); answer ``start``/``stop`` on stdin with
    a snapshot of its counters and CPU time on stdout (lines starting ``@@``)."""
    from facetrack.config.service import MonitorConfig
    from facetrack.service import Monitor

    cfg = MonitorConfig.model_validate(json.loads(Path(config_path).read_text()))
    mon = Monitor(cfg)
    runner = threading.Thread(target=mon.run, daemon=True)
    runner.start()

    def snapshot() -> dict[str, Any]:
        cpu = os.times()
        return {"t": time.monotonic(), "cpu": cpu.user + cpu.system, "cams": {
            n: [c.processed, c.live.dropped, c.live.frames_in, c.live.skipped]
            for n, c in mon.counters().items()}}

    deadline = time.monotonic() + 300
    while True:
        if not runner.is_alive() or time.monotonic() > deadline:
            print("@@" + json.dumps({"error": "the monitor did not start"}), flush=True)
            return
        if all(c.processed >= 10 for c in mon.counters().values()):
            break
        time.sleep(0.2)
    print("@@" + json.dumps({"port": mon.api_port}), flush=True)
    for line in sys.stdin:
        command = line.strip()
        print("@@" + json.dumps(snapshot()), flush=True)
        if command == "stop":
            break
    mon.stop()
    runner.join(timeout=120)


@dataclass
class CameraRun:
    cameras: int
    mode: str  # "no api" or "api + load (think X)"
    fps: dict[str, float]
    dropped: dict[str, int]
    share: dict[str, float]
    cpu: float  # monitor process, cores
    seconds: float
    load: Load | None
    serve_cpu: float | None = None  # the separate serve process, cores


def _read(proc: subprocess.Popen[str]) -> dict[str, Any]:
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("@@"):
            return json.loads(line[2:])  # type: ignore[no-any-return]
    raise RuntimeError("the monitor process ended")


def camera_run(store: Store, cameras: int, api: str, think: float | None,
               args: argparse.Namespace, folder: Path) -> CameraRun:
    """One monitor run. ``api``: ``none`` (no ``api:``, no load), ``monitor`` (``api:`` in the
    monitor's config, loaded) or ``serve`` (no ``api:``; ``facetrack serve`` beside it over
    the same store, loaded)."""
    db = working_copy(store, folder)
    cfg = folder / "monitor.json"
    cfg.write_text(json.dumps(monitor_config(db, folder, cameras, api == "monitor")))
    with (folder / "monitor.log").open("w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "benchmarks.api_latency",
                                 "--monitor-child", str(cfg)], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=log, text=True, cwd=REPO)
    assert proc.stdin is not None
    with contextlib.ExitStack() as stack:
        try:
            ready = _read(proc)
            if "error" in ready:
                sys.exit(f"{ready['error']}: {(folder / 'monitor.log').read_text()[-3000:]}")
            port, serve_pid = ready["port"], None
            if api == "serve":
                port, serve_pid = stack.enter_context(serving(db, folder))
            if think is not None:
                check_key(port, store)
            time.sleep(SETTLE_S)
            serve_cpu0 = proc_cpu_s(serve_pid) if serve_pid else 0.0
            proc.stdin.write("start\n")
            proc.stdin.flush()
            a = _read(proc)
            load = None
            if think is not None:
                load = run_load(port, store, args.clients, args.seconds, think)
            else:
                time.sleep(WARM_S + args.seconds)
            proc.stdin.write("stop\n")
            proc.stdin.flush()
            b = _read(proc)
            serve_cpu = proc_cpu_s(serve_pid) - serve_cpu0 if serve_pid else 0.0
            proc.wait(timeout=180)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    wall = b["t"] - a["t"]
    fps, dropped, share = {}, {}, {}
    for name, (p1, d1, _, _) in b["cams"].items():
        p0, d0, _, _ = a["cams"][name]
        fps[name] = (p1 - p0) / wall
        dropped[name] = d1 - d0
        share[name] = (d1 - d0) / max(d1 - d0 + p1 - p0, 1)
    mode = {"none": "no api", "monitor": "api: in monitor", "serve": "serve process"}[api]
    if think is not None:
        mode += f" + load (think {think:g} s)"
    return CameraRun(cameras, mode, fps, dropped, share, (b["cpu"] - a["cpu"]) / wall, wall,
                     load, serve_cpu / wall if serve_pid else None)


def spread(values: Sequence[float], fmt: str = "{:.2f}") -> str:
    med = statistics.median(values)
    if len(values) == 1:
        return fmt.format(med)
    return f"{fmt.format(med)} ({fmt.format(min(values))}-{fmt.format(max(values))})"


def camera_rows(runs: Sequence[CameraRun]) -> list[list[Any]]:
    rows = []
    for key in dict.fromkeys((r.cameras, r.mode) for r in runs):
        mine = [r for r in runs if (r.cameras, r.mode) == key]
        fps_med = [statistics.median(r.fps.values()) for r in mine]
        fps_min = [min(r.fps.values()) for r in mine]
        share_mean = [100 * statistics.mean(r.share.values()) for r in mine]
        share_max = [100 * max(r.share.values()) for r in mine]
        per_min = [60 * statistics.mean(r.dropped.values()) / r.seconds for r in mine]
        gen = [r.load.cpu_s / r.seconds for r in mine if r.load is not None]
        serve = [r.serve_cpu for r in mine if r.serve_cpu is not None]
        rows.append([key[0], key[1], len(mine), spread(fps_med), spread(fps_min),
                     spread(share_mean, "{:.1f}%"), spread(share_max, "{:.1f}%"),
                     spread(per_min, "{:.0f}"), spread([r.cpu for r in mine]),
                     spread(serve) if serve else "-", spread(gen) if gen else "-"])
    return rows


# -- the dashboard in chromium ------------------------------------------------------------


_READY_SCRIPT = """
window.__ready = {};
new MutationObserver(() => {
  const v = document.getElementById('view');
  const r = v && v.dataset.ready;
  if (r && !(r in window.__ready)) window.__ready[r] = performance.now();
}).observe(document, {subtree: true, attributes: true, attributeFilter: ['data-ready']});
"""


def browser_paints(port: int, folder: Path) -> list[list[Any]]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", f"--user-data-dir={folder / 'profile'}",
                 "--window-size=1280,800"):
        options.add_argument(flag)
    options.page_load_strategy = "eager"
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    base = f"http://127.0.0.1:{port}/ui/"

    def wait(fn: Callable[[], Any], what: str, timeout: float = 60) -> Any:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            value = fn()
            if value:
                return value
            time.sleep(0.02)
        raise TimeoutError(what)

    def fcp() -> float:
        return float(wait(lambda: driver.execute_script(
            "const p = performance.getEntriesByType('paint')"
            ".find(e => e.name === 'first-contentful-paint'); return p && p.startTime"),
            "first-contentful-paint"))

    rows: list[list[Any]] = []
    try:
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument",
                               {"source": _READY_SCRIPT})
        driver.get(base)
        wait(lambda: driver.find_elements(By.ID, "login-form"), "the login form")
        rows.append(["login (fresh browser)", f"{fcp():.0f}", "-"])
        driver.find_element(By.ID, "login-name").send_keys("bench")
        driver.find_element(By.ID, "login-password").send_keys(PASSWORD, Keys.ENTER)
        wait(lambda: driver.execute_script("return window.__ready.live"), "the live page")
        for page in ("events", "audience"):
            paints, ready = [], []
            for i in range(3):
                driver.get("about:blank")
                driver.get(f"{base}?n={i}#/{page}")
                paints.append(fcp())
                script = f"return window.__ready['{page}'] || window.__ready.error"
                ready.append(float(wait(partial(driver.execute_script, script),
                                        f"{page} drawn")))
            rows.append([f"{page} page, logged in (median of 3)",
                         f"{statistics.median(paints):.0f}", f"{statistics.median(ready):.0f}"])
    finally:
        driver.quit()
    return rows


# -- main --------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--audience-cameras", type=int, default=2, help="cameras with "
                        "audience windows (1-minute windows over 30 days each)")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--cameras", type=int, nargs="+", default=[4],
                        help="camera counts to run with and without the API (0: none)")
    parser.add_argument("--think", type=float, nargs="+", default=[0.0, 1.0],
                        help="seconds each client waits between requests (0: closed loop)")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--separate-serve", action="store_true", help="also run the cameras "
                        "without api: and load a facetrack serve process beside them")
    parser.add_argument("--no-browser", action="store_true")
    parser.add_argument("--rebuild", action="store_true", help="build the store again")
    parser.add_argument("--monitor-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.monitor_child:
        monitor_child(args.monitor_child)
        return
    store = build_store(args.events, args.audience_cameras, args.rebuild)
    age = (time.time() - store.built_at) / 60
    state = (f"cached, built {age:.0f} min ago; {store.topped_events} events and "
             f"{store.topped_windows} windows added up to now" if store.cached else "built now")
    print_table(["events", "audience rows", "cameras (events/audience)", "file MB",
                 "build s", "this run"],
                [[store.events, store.audience_rows, f"{EVENT_CAMERAS}/{store.audience_cameras}",
                  f"{store.path.stat().st_size / 2**20:.0f}", f"{store.build_s:.1f}", state]])
    work = Path(tempfile.mkdtemp(prefix="facetrack-api-bench-"))
    try:
        run_all(store, args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run_all(store: Store, args: argparse.Namespace, work: Path) -> None:
    # the store alone
    db = working_copy(store, work / "serve")
    print("\nstore calls in-process (no HTTP), median of 20 (+: not in the load mix):")
    print_table(["query", "rows", "median ms", "max ms", "SQLite query plan"],
                store_alone(db, store))

    # facetrack serve alone
    with serving(db, work / "serve") as (port, pid):
        print("\none request of each kind (facetrack serve, idle):")
        print_table(["query", "path", "status", "items", "ms"], check_answers(port, store))
        for think in args.think:
            cpu0, t0 = proc_cpu_s(pid), time.monotonic()
            load = run_load(port, store, args.clients, args.seconds, think)
            server_cpu = (proc_cpu_s(pid) - cpu0) / (time.monotonic() - t0)
            print(f"\nfacetrack serve alone, {args.clients} clients, think {think:g} s, "
                  f"{args.seconds:g} s: server {server_cpu:.2f} cores, load generator "
                  f"{load.cpu_s / (WARM_S + args.seconds):.2f} cores (status "
                  f"{statuses(load)})")
            print_table(LATENCY_HEADERS,
                        latency_rows([load]))
        if not args.no_browser:
            print("\ndashboard in chromium (facetrack serve over this store, no load), ms "
                  "from navigation:")
            if CHROMIUM.is_file() and CHROMEDRIVER.is_file():
                try:
                    print_table(["page", "first contentful paint ms", "data drawn ms"],
                                browser_paints(port, work / "browser"))
                except Exception as exc:
                    print(f"skipped: the browser failed ({type(exc).__name__}: {exc})")
            else:
                print("skipped: no /usr/bin/chromium or /usr/bin/chromedriver")
    shutil.rmtree(work / "serve", ignore_errors=True)

    # the monitor, with and without its API under load, alternating
    runs: list[CameraRun] = []
    for cameras in [c for c in args.cameras if c > 0]:
        modes: list[tuple[str, float | None]] = [
            ("none", None), *(("monitor", t) for t in args.think),
            *(("serve", t) for t in (args.think if args.separate_serve else ()))]
        for rep in range(args.repeats):
            for api, think in modes:
                folder = work / f"monitor-{cameras}-{rep}-{api}-{think}"
                run = camera_run(store, cameras, api, think, args, folder)
                runs.append(run)
                shutil.rmtree(folder, ignore_errors=True)
                fps = ", ".join(f"{v:.2f}" for v in run.fps.values())
                drops = ", ".join(f"{v:.1%}" for v in run.share.values())
                lat = ""
                if run.load is not None:
                    ok = [1000 * t for _, t, s in run.load.samples if s == 200]
                    lat = (f"; API p50 {pct(ok, 0.5):.1f} ms p99 {pct(ok, 0.99):.1f} ms, "
                           f"{len(run.load.samples) / run.load.seconds:.1f} req/s "
                           f"(status {statuses(run.load)})")
                print(f"run {rep + 1}: {cameras} camera(s), {run.mode}: fps {fps}; dropped "
                      f"{drops}; monitor {run.cpu:.2f} cores{lat}", flush=True)
        for api, think in modes[1:]:
            loads = [r.load for r in runs if r.cameras == cameras and r.load is not None
                     and r.mode.startswith("api:" if api == "monitor" else "serve")
                     and r.mode.endswith(f"(think {think:g} s)")]
            where = ("in facetrack monitor (api:)" if api == "monitor" else
                     "of a facetrack serve process beside the monitor")
            print(f"\nAPI {where} with {cameras} camera(s), {args.clients} clients, think "
                  f"{think:g} s, {len(loads)} runs of {args.seconds:g} s pooled:")
            print_table(LATENCY_HEADERS,
                        latency_rows(loads))
    if runs:
        print(f"\ncameras over the load period ({args.seconds + WARM_S:g} s per run), median "
              "over runs (min-max):")
        print_table(["cameras", "configuration", "runs", "fps/camera (median)",
                     "fps/camera (min)", "dropped share (mean of cameras)",
                     "dropped share (worst camera)", "dropped frames/camera/min",
                     "monitor CPU cores", "serve CPU cores", "load generator cores"],
                    camera_rows(runs))


if __name__ == "__main__":
    main()
