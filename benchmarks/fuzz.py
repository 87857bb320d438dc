"""Hostile input, fuzzed (issue 14): images, videos, YAML configs, face-database exports and
garbage-sending stream servers, each through the entry a user hits, with a time limit per
input and the child's peak RSS measured (benchmarks/_fuzz_run.py).

    python -m benchmarks.fuzz --inputs 10000          # the long run (docs/benchmarks.md)
    python -m benchmarks.fuzz --inputs 300 --only yaml --seed 7

Prints one table per run (a row per target) and every failure with its index, so it can be
replayed with the same ``--seed``. Exit 1 when anything crashed, hung, printed a traceback or
passed its memory limit. tests/unit/test_fuzz.py runs a short, seeded version in CI.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from benchmarks._common import data_root, print_table
from benchmarks._fuzz_run import OUTCOMES, TARGETS, Tally, run_target, shares


def table(tallies: list[Tally]) -> None:
    rows = []
    for t in tallies:
        target = TARGETS[t.target]
        cli = t.cli_counts
        rows.append([t.target, t.inputs, t.counts["refused"], t.counts["accepted"],
                     t.counts["crash"], t.counts["hang"], t.counts["traceback"],
                     t.counts["memory"], f"{target.limit_s:.0f}", f"{t.slowest_s:.2f}",
                     t.peak_rss_mb, target.memory_mb,
                     f"{sum(cli.values())} ({cli['refused']}/{cli['accepted']}/"
                     f"{cli['noisy']}/{cli['crash'] + cli['hang'] + cli['traceback']})",
                     f"{t.seconds:.0f}"])
    print_table(["target", "inputs", "clean refusals", "accepted", "crashes", "hangs",
                 "tracebacks", "over memory", "limit s", "slowest s", "peak RSS MB",
                 "RSS limit MB", "via CLI (refused/accepted/noisy/bad)", "run s"], rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--inputs", type=int, default=1000, help="inputs in all, split by target")
    ap.add_argument("--only", choices=sorted(TARGETS), action="append",
                    help="run only this target (repeatable); it gets all --inputs")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cli-every", type=int, default=100,
                    help="also run every n-th input through the command line (0: never)")
    args = ap.parse_args(argv)
    counts = ({name: args.inputs for name in args.only} if args.only
              else shares(args.inputs))
    tallies = []
    with tempfile.TemporaryDirectory(prefix="facetrack-fuzz-") as work:
        for name, count in counts.items():
            tally = run_target(name, count, data_root(), Path(work), args.seed, args.cli_every)
            tallies.append(tally)
            print(f"{name}: {tally.inputs} inputs in {tally.seconds:.0f} s", file=sys.stderr)
    table(tallies)
    failures = [(t.target, *f) for t in tallies for f in t.failures]
    for target, index, label, outcome, detail in failures:
        print(f"- {target} #{index} ({label}): {outcome}: {detail}")
    assert set(OUTCOMES) == set(tallies[0].counts)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
