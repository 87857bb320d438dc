"""What every command shares: the one exit-code table, one-line errors, the progress bar, the
signals a long run treats as Ctrl-C, and text-or-JSON output.

Exit codes: 0 ok, 1 unexpected failure (results so far are written), 2 bad input or config
(nothing processed), 3 input broke part-way (results so far are written), 4 model problem,
130 interrupted (results so far are written).
"""

from __future__ import annotations

import json
import logging
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer

from facetrack.config import printable
from facetrack.errors import DamagedInputError, DecodeError, FacetrackError, ModelError

log = logging.getLogger("facetrack")

EXIT_OK, EXIT_UNEXPECTED, EXIT_INPUT, EXIT_BROKEN, EXIT_MODEL, EXIT_INTERRUPTED = (
    0, 1, 2, 3, 4, 130)


def fail(message: str, code: int) -> typer.Exit:
    """Print ``error: MESSAGE`` (one harmless line) and give the exit to raise."""
    typer.echo(f"error: {printable(message)}", err=True)
    return typer.Exit(code)


@contextmanager
def exit_codes(results: Path | None = None) -> Iterator[None]:
    """Every failure of a command becomes one ``error:`` line and its exit code; ``results``:
    where the results so far are (named in the message when a run stops part-way)."""
    where = f"; results so far are in {results}" if results is not None else ""
    try:
        yield
    except typer.Exit:
        raise
    except DamagedInputError as exc:
        raise fail(f"{exc}; the results are in {results}" if results is not None
                   else str(exc), EXIT_BROKEN) from None
    except DecodeError as exc:
        done = f"frames 0-{exc.frame - 1}" if exc.frame > 0 else "no frame"
        raise fail(f"{exc}; results for {done} are in {results}" if results is not None
                   else str(exc), EXIT_BROKEN) from None
    except ModelError as exc:
        raise fail(str(exc), EXIT_MODEL) from None
    except FacetrackError as exc:
        raise fail(str(exc), EXIT_INPUT) from None
    except KeyboardInterrupt:
        raise fail(f"interrupted{where}", EXIT_INTERRUPTED) from None
    except Exception as exc:  # a bug or an environment failure
        log.info("unexpected failure", exc_info=True)
        reason = str(exc).splitlines()[0] if str(exc) else ""
        raise fail(f"unexpected {type(exc).__name__}: {reason}{where} (run with --verbose for "
                   "details and please report it)", EXIT_UNEXPECTED) from None


@contextmanager
def stop_signals_as_interrupt() -> Iterator[None]:
    """SIGTERM and SIGHUP stop a run like Ctrl-C (the writers finish, the files stay valid);
    after the first, further signals are ignored so nothing interrupts that cleanup."""
    sigs = [s for s in (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGHUP", None))
            if s is not None]
    stopping: list[bool] = []

    def interrupt(*_: Any) -> None:
        for s in sigs:
            signal.signal(s, signal.SIG_IGN)
        stopping.append(True)
        raise KeyboardInterrupt

    previous = {s: signal.signal(s, interrupt) for s in sigs}
    try:
        yield
    finally:
        if not stopping:  # once stopping, stay deaf: the process is on its way out
            for s, handler in previous.items():
                signal.signal(s, handler)


@contextmanager
def progress_bar(label: str, *, enabled: bool = True, transient: bool = False
                 ) -> Iterator[Callable[[int, int | None], None] | None]:
    """A rich progress bar on a terminal (frames, fps, time left): yields ``update(done,
    total)``; None when ``enabled`` is False or stderr is not a terminal."""
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    import time

    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    t0 = time.perf_counter()
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.fields[fps]:.1f} fps"), TimeRemainingColumn(),
                  transient=transient) as bar:
        task = bar.add_task(printable(label), total=None, fps=0.0)

        def update(done: int, total: int | None) -> None:
            elapsed = time.perf_counter() - t0
            bar.update(task, completed=done, total=total,
                       fps=done / elapsed if elapsed > 0 else 0.0)

        yield update


def is_terminal() -> bool:
    return sys.stdout.isatty()


def show(data: Any, human: str) -> None:
    """Text for a person at a terminal; one JSON line for scripts (stdout not a terminal)."""
    if is_terminal():
        typer.echo(printable(human) if "\n" not in human else human)
    else:
        typer.echo(json.dumps(data, ensure_ascii=False))


def cli_actor() -> str:
    """Who runs this command, as the audit log names them (``cli:USER``)."""
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"
