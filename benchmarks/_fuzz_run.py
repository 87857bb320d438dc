"""The fuzz runner: each target's inputs go, one after another, through the entry a user hits,
in a child process the parent watches. An input that runs past its target's time limit is a
hang (the child is killed and a fresh one takes the next input); a child whose peak RSS passes
the target's memory limit marks the input that took it there. A sample of inputs also goes
through the real command line, where the exit code and stderr (one ``error:`` line, no
``Traceback``) are checked.

Outcomes: ``accepted`` (read to the end), ``refused`` (a ``FacetrackError``: one line, exit 2/3),
``crash`` (any other exception, exit 1 or a signal), ``hang``, ``traceback`` (the command line
printed a traceback, or no ``error:`` line for a refusal), ``memory``; on the command line also
``noisy``: the one ``error:`` line plus a native library's own message (libpng's ``libpng
error: ...``), counted apart.
"""

from __future__ import annotations

import contextlib
import io
import multiprocessing as mp
import os
import random
import resource
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from benchmarks import _fuzz_media as media
from benchmarks import _fuzz_text as text
from benchmarks._fuzz_media import FuzzInput

OUTCOMES = ("accepted", "refused", "crash", "hang", "traceback", "memory")
#: the longest one command-line run of a sample input may take (models load each time)
CLI_LIMIT_S = 120.0


@dataclass(frozen=True)
class Target:
    """``limit_s``: per-input time limit; ``memory_mb``: peak RSS limit of the child;
    ``share``: its part of ``--inputs``."""

    name: str
    limit_s: float
    memory_mb: int
    share: float
    setup: Callable[[Path, Path], dict[str, Any]]
    make: Callable[[dict[str, Any], int, random.Random, Path], FuzzInput]
    attempt: Callable[[dict[str, Any], FuzzInput, Path], tuple[str, str]]
    cli: Callable[[FuzzInput, Path], list[str] | None] = lambda inp, folder: None


def _refusal(exc: BaseException) -> tuple[str, str]:
    from facetrack.errors import FacetrackError

    message = str(exc)
    if isinstance(exc, FacetrackError):
        return ("refused" if message and "\n" not in message else "traceback"), message[:200]
    return "crash", f"{type(exc).__name__}: {message.splitlines()[0][:200] if message else ''}"


def _read_source(ctx: dict[str, Any], inp: FuzzInput, folder: Path) -> tuple[str, str]:
    """What ``facetrack track`` does with its input: open it and read every frame."""
    from facetrack.sources import open_source

    try:
        with open_source(folder / inp.entry) as src:
            frames = sum(1 for _ in src)
    except Exception as exc:
        return _refusal(exc)
    return "accepted", f"{frames} frames"


def _read_config(ctx: dict[str, Any], inp: FuzzInput, folder: Path) -> tuple[str, str]:
    """``track --config`` (TrackerConfig.from_yaml) or ``check-config`` (the command's own
    function), by turns; a python tag that ran is a crash."""
    import typer

    from facetrack.cli.config import check_config
    from facetrack.config import TrackerConfig

    path = folder / inp.entry
    out, err = io.StringIO(), io.StringIO()
    try:
        if inp.extra.get("via") == "track":
            TrackerConfig.from_yaml(path)
        else:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                check_config(path)
        outcome = "accepted", ""
    except typer.Exit as exc:
        # one error line (a warning logged before it, e.g. an old spelling, is fine)
        errors = [ln for ln in err.getvalue().splitlines() if ln.startswith("error: ")]
        ok = exc.exit_code == 2 and len(errors) == 1 and "Traceback" not in err.getvalue()
        outcome = ("refused" if ok else "crash" if exc.exit_code == 1 else "traceback",
                   err.getvalue()[:200])
    except Exception as exc:
        outcome = _refusal(exc)
    if (folder / text.MARKER).exists():
        return "crash", "a python tag ran"
    return outcome


def _import_export(ctx: dict[str, Any], inp: FuzzInput, folder: Path) -> tuple[str, str]:
    """``facetrack db import``: FaceDatabase.import_ into a fresh database."""
    from facetrack.privacy.keys import parse_key
    from facetrack.recognition.gallery import FaceDatabase

    key = parse_key(text.FUZZ_KEY, "fuzz key") if inp.extra.get("key") else None
    try:
        with FaceDatabase(folder / "faces.db", key=key) as db:
            done = db.import_(folder / inp.entry)
    except Exception as exc:
        return _refusal(exc)
    return "accepted", f"{done.people} people"


def _read_stream(ctx: dict[str, Any], inp: FuzzInput, folder: Path) -> tuple[str, str]:
    """A live source on a server that sends garbage: it reports and reconnects, never raises,
    closes promptly, and never decodes a frame past the video pixel limit."""
    from facetrack.sources.live import Backoff, LiveSource
    from facetrack.sources.video import MAX_VIDEO_PIXELS

    server = text.GarbageServer(str(inp.extra["behaviour"]), ctx["jpeg"], int(inp.extra["seed"]))
    errors: list[str] = []
    sizes: list[int] = []
    previous = threading.excepthook
    threading.excepthook = lambda args: errors.append(f"{args.exc_type.__name__}: {args.exc_value}")
    try:
        src = LiveSource(server.url, open_timeout=1.0, read_timeout=1.0, seed=0,
                         backoff=Backoff(initial=0.05, maximum=0.2))

        def consume() -> None:
            try:
                sizes.extend(f.image.size for f in src)
            except Exception as exc:
                errors.append(f"{type(exc).__name__}: {exc}")

        consumer = threading.Thread(target=consume, daemon=True)
        consumer.start()
        end = time.monotonic() + 3.0
        while src.stats.reconnects < 1 and time.monotonic() < end:
            time.sleep(0.02)
        t0 = time.monotonic()
        src.close()
        consumer.join(2.0)
        readers = [t for t in threading.enumerate() if t.name.startswith("live-")]
        for reader in readers:
            reader.join(max(0.0, t0 + 2.5 - time.monotonic()))
        if consumer.is_alive() or any(t.is_alive() for t in readers):
            return "hang", "the source did not stop within 2.5 s of close()"
    finally:
        threading.excepthook = previous
        server.close()
    if errors:
        return "crash", errors[0][:200]
    if any(s > 3 * MAX_VIDEO_PIXELS for s in sizes):
        return "memory", f"a frame of {max(sizes) // 3} pixels was decoded"
    return ("accepted", f"{len(sizes)} frames") if sizes else (
        "refused", str(src.stats.last_error))


def _setup_media(data: Path, work: Path) -> dict[str, Any]:
    return {"seeds": media.image_seeds(data), "bombs": media.image_bombs()}


def _setup_video(data: Path, work: Path) -> dict[str, Any]:
    return {"seeds": media.video_seeds(data)}


def _setup_exports(data: Path, work: Path) -> dict[str, Any]:
    seeds_dir = work / "export-seeds"
    seeds_dir.mkdir(parents=True, exist_ok=True)
    return {"seeds": text.export_seeds(seeds_dir)}


def _setup_stream(data: Path, work: Path) -> dict[str, Any]:
    return {"jpeg": media.image_seeds(data)["small.jpg"]}


def _track_cli(inp: FuzzInput, folder: Path) -> list[str]:
    return ["track", str(folder / inp.entry), "--out", str(folder / "out"), "-q"]


def _import_cli(inp: FuzzInput, folder: Path) -> list[str]:
    key = folder / "fuzz.key"
    key.write_text(text.FUZZ_KEY)
    return ["db", *(["--key-file", str(key)] if inp.extra.get("key") else []), "import",
            str(folder / inp.entry), "--db", str(folder / "cli.db")]


TARGETS = {t.name: t for t in (
    Target("images", 5.0, 1200, 0.35, _setup_media,
           lambda c, i, r, f: media.image_input(c["seeds"], c["bombs"], i, r), _read_source,
           _track_cli),
    Target("videos", 10.0, 1200, 0.20, _setup_video,
           lambda c, i, r, f: media.video_input(c["seeds"], i, r), _read_source, _track_cli),
    Target("yaml", 2.0, 600, 0.25, lambda d, w: {"seeds": text.yaml_seeds()},
           lambda c, i, r, f: replace(text.yaml_input(c["seeds"], i, r, str(f)),
                                      extra={"via": "track" if i % 2 else "check-config"}),
           _read_config,
           lambda inp, folder: ["check-config", str(folder / inp.entry)]),
    Target("exports", 5.0, 800, 0.17, _setup_exports,
           lambda c, i, r, f: text.export_input(c["seeds"], i, r), _import_export,
           _import_cli),
    Target("streams", 8.0, 800, 0.03, _setup_stream,
           lambda c, i, r, f: text.stream_input(i, r), _read_stream),
)}


def _cli_outcome(args: list[str], folder: Path) -> tuple[str, str]:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    try:
        proc = subprocess.run([sys.executable, "-m", "facetrack", *args], capture_output=True,
                              text=True, timeout=CLI_LIMIT_S, env=env, cwd=folder)
    except subprocess.TimeoutExpired:
        return "hang", f"command line past {CLI_LIMIT_S:.0f} s"
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    if "Traceback" in proc.stderr:
        return "traceback", proc.stderr[-300:]
    errors = [ln for ln in lines if ln.startswith("error: ")]
    if proc.returncode == 0 and not errors:
        return ("accepted", "") if not lines else ("noisy", " | ".join(lines)[:300])
    if proc.returncode in (2, 3) and len(errors) == 1:
        # one error line; anything else is a native library's own message (libpng's)
        return ("refused", errors[0][:200]) if len(lines) == 1 else (
            "noisy", " | ".join(lines)[:300])
    if proc.returncode in (2, 3):
        return "traceback", " | ".join(lines)[:300]
    return "crash", f"exit {proc.returncode}: {' | '.join(lines)[:300]}"


def peak_rss_mb() -> int:
    """This process's own peak resident memory: /proc's VmHWM (its address space's high-water
    mark). Not ``ru_maxrss``: Linux keeps that across exec, so a child spawned by a large
    process (a 1.8 GB test run) reports the parent's peak as its own."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) // 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


def _worker(conn: Any, name: str, data: str, work: str, seed: int, start: int, stop: int,
            cli_every: int) -> None:
    """The child: make and run inputs ``start..stop-1``, reporting each to the parent."""
    target = TARGETS[name]
    root = Path(work) / name
    ctx = target.setup(Path(data), root)
    conn.send(("ready",))
    for index in range(start, stop):
        folder = root / str(index)
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        rng = random.Random(f"{seed}:{name}:{index}")
        inp = target.make(ctx, index, rng, folder)
        for fname, content in inp.files.items():
            (folder / fname).write_bytes(content)
        conn.send(("start", index, inp.label))
        t0 = time.perf_counter()
        outcome, detail = target.attempt(ctx, inp, folder)
        seconds = time.perf_counter() - t0
        args = target.cli(inp, folder) if cli_every and index % cli_every == 0 else None
        cli = _cli_outcome(args, folder) if args else None
        conn.send(("done", index, outcome, detail, seconds, peak_rss_mb(), cli))
        shutil.rmtree(folder, ignore_errors=True)
    conn.send(("end",))


@dataclass
class Tally:
    """One target's counts; ``failures``: (index, input, outcome, detail) of every input that
    crashed, hung, printed a traceback or passed the memory limit."""

    target: str
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OUTCOMES, 0))
    cli_counts: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys((*OUTCOMES, "noisy"), 0))
    failures: list[tuple[int, str, str, str]] = field(default_factory=list)
    peak_rss_mb: int = 0
    slowest_s: float = 0.0
    seconds: float = 0.0

    @property
    def inputs(self) -> int:
        return sum(self.counts.values())

    def add(self, target: Target, label: str, index: int, outcome: str, detail: str,
            seconds: float, rss: int, cli: tuple[str, str] | None) -> bool:
        """Count one input's report; True when the child passed the memory limit."""
        if seconds > target.limit_s and outcome != "hang":
            outcome, detail = "hang", f"{seconds:.1f} s"
        over = rss > target.memory_mb
        if over:
            outcome, detail = "memory", f"peak RSS {rss} MB ({detail})"
        self.counts[outcome] += 1
        self.peak_rss_mb = max(self.peak_rss_mb, rss)
        self.slowest_s = max(self.slowest_s, seconds)
        if outcome in ("crash", "hang", "traceback", "memory"):
            self.failures.append((index, label, outcome, detail))
        if cli is not None:
            self.cli_counts[cli[0]] += 1
            if cli[0] in ("crash", "hang", "traceback"):
                self.failures.append((index, label, f"cli {cli[0]}", cli[1]))
        return over


def run_target(name: str, count: int, data: Path, work: Path, seed: int = 0,
               cli_every: int = 0) -> Tally:
    """``count`` inputs of ``name`` (``cli_every``: also every n-th through the command line)."""
    target, tally, index = TARGETS[name], Tally(name), 0
    t_start = time.perf_counter()
    ctx = mp.get_context("spawn")
    while index < count:
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=_worker, args=(child, name, str(data), str(work), seed, index,
                                                 count, cli_every), daemon=True)
        proc.start()
        index = _watch(parent, proc, target, tally, index, count, cli_every)
        proc.join(5)
        if proc.is_alive():
            proc.kill()
            proc.join()
    tally.seconds = time.perf_counter() - t_start
    return tally


def _watch(conn: Any, proc: Any, target: Target, tally: Tally, index: int, count: int,
           cli_every: int) -> int:
    """Follow one child until it ends, hangs or passes the memory limit; the next index to
    run."""
    if not conn.poll(600) or conn.recv()[0] != "ready":
        raise RuntimeError(f"{target.name}: the fuzz child did not start")
    label = ""
    while True:
        limit = target.limit_s + (CLI_LIMIT_S if cli_every and index % cli_every == 0 else 0)
        if not conn.poll(limit + 1.0):
            tally.counts["hang"] += 1
            tally.failures.append((index, label, "hang", f"no answer within {limit:.0f} s"))
            proc.kill()
            return index + 1
        try:
            msg = conn.recv()
        except EOFError:  # the child died (a signal, a native crash)
            tally.counts["crash"] += 1
            tally.failures.append((index, label, "crash", f"child died ({proc.exitcode})"))
            return index + 1
        if msg[0] == "end":
            return count
        if msg[0] == "start":
            index, label = msg[1], msg[2]
            continue
        index = msg[1]
        if tally.add(target, label, *msg[1:]):  # a fresh child: the next input's peak is its own
            proc.kill()
            return index + 1


def shares(total: int) -> dict[str, int]:
    """``total`` inputs split between the targets by their shares (at least 1 each)."""
    return {name: max(1, round(total * t.share)) for name, t in TARGETS.items()}
