"""Every facetrack module imports on its own, as a user's first import: an import cycle
between two of our modules only shows when one of them is the first imported (the suite
imports them in its own order), so each is imported afresh in a clean process."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = r"""
import importlib, pkgutil, sys
import facetrack
names = sorted(m.name for m in pkgutil.walk_packages(facetrack.__path__, "facetrack.")
               if m.name.rsplit(".", 1)[-1] not in ("__main__", "_window_child"))
failed = []
for name in names:
    for loaded in [m for m in sys.modules if m == "facetrack" or m.startswith("facetrack.")]:
        del sys.modules[loaded]
    try:
        importlib.import_module(name)
    except ImportError as exc:
        failed.append(f"{name}: {exc}")
print("\n".join(failed))
print(len(names), "modules")
"""


def test_every_module_imports_first() -> None:
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    *failed, count = proc.stdout.strip().splitlines()
    assert not [f for f in failed if f], "\n".join(failed)
    assert int(count.split()[0]) > 150
