"""The shape of the code, checked: threads and processes start only in facetrack/runtime/,
no module grows past ~400 lines, and docs/architecture.md names every package."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "facetrack"
DOCS = PACKAGE.parent / "docs"

#: what starts a thread or a process (or a server loop that does)
STARTS = re.compile(
    r"threading\.Thread\b|\bThread\(|\bmultiprocessing\.(get_context|Process|Pool)\b"
    r"|\bProcess\(|ProcessPoolExecutor|ThreadPoolExecutor|ThreadingHTTPServer|ThreadingMixIn"
    r"|start_http_server|serve_forever|\bimport _thread\b|\bos\.fork\b|subprocess\.Popen"
    r"|asyncio\.run\b|\bray\.(init|remote)\b")


def sources() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_threads_and_processes_start_only_in_runtime() -> None:
    offenders = []
    for path in sources():
        rel = path.relative_to(PACKAGE)
        if rel.parts[0] == "runtime":
            continue
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            code = line.split("#", 1)[0]
            if STARTS.search(code):
                offenders.append(f"{rel}:{n}: {line.strip()}")
    assert not offenders, "start threads/processes through facetrack.runtime:\n" + "\n".join(
        offenders)


def test_the_check_would_catch_a_thread() -> None:
    assert STARTS.search("t = threading.Thread(target=f)")
    assert STARTS.search("ctx = multiprocessing.get_context('spawn')")
    assert STARTS.search("server = ThreadingHTTPServer(addr, Handler)")
    assert STARTS.search("task = ray.remote(num_cpus=1)(run)")
    assert not STARTS.search("lock = threading.Lock()")
    assert not STARTS.search("self._thread.join(); check_same_thread=False")


@pytest.mark.parametrize("path", sources(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_over_400_lines(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= 400, f"{path.relative_to(PACKAGE)} has {lines} lines: split it by concern"


def test_architecture_names_every_package() -> None:
    text = (DOCS / "architecture.md").read_text(encoding="utf-8")
    packages = sorted(p.name for p in PACKAGE.iterdir()
                      if p.is_dir() and (p / "__init__.py").exists())
    missing = [p for p in packages if f"`{p}/`" not in text]
    assert not missing, f"docs/architecture.md does not describe: {missing}"
