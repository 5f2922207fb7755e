"""Measure byos against the cloud SDKs and obstore in one run: presign cost, batch, cold start, checker.

Usage::

    .venv/bin/python benchmarks/bench.py            # full run, a few minutes
    .venv/bin/python benchmarks/bench.py --quick    # smoke run, under a minute (CI)

The process pins itself to one CPU (``--cpu``, default the last one it may use); every figure is the median
of several repeats, each a timeit-style loop timed with ``time.perf_counter_ns`` with the garbage collector
off; the thread's CPU time is recorded beside it. Repeats of the cases of one table run in turns (case A,
case B, …, then again), so load from other jobs falls on every case alike. Targets are printed as PASS or
MISS; nothing is asserted and the exit status is 0 whatever the figures. No presigned URL is ever printed.
This is the driver: each section lives in its own module beside it (``bench_presign``, ``bench_batch``,
``bench_cold``, ``bench_checker``), on shared inputs, timing and report helpers (``bench_inputs``,
``bench_timing``, ``bench_report``). See benchmarks/README.md for what each section measures and the
latest figures.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import platform
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

if __package__ in {None, ""}:  # run as a script: the section modules import each other as benchmarks.*
    sys.path.append(str(Path(__file__).resolve().parents[1]))

from benchmarks.bench_batch import section_batch
from benchmarks.bench_checker import section_checker
from benchmarks.bench_cold import section_cold
from benchmarks.bench_fixtures import make_keys
from benchmarks.bench_inputs import FULL, QUICK, SECTION_TARGETS
from benchmarks.bench_presign import section_presign
from benchmarks.bench_report import Run, table, verdict
from benchmarks.bench_timing import pin_cpu


def versions() -> str:
    """Versions of the packages compared."""
    names = (
        "boto3",
        "botocore",
        "azure-storage-blob",
        "google-cloud-storage",
        "cryptography",
        "obstore",
        "moto",
    )
    found = []
    for name in names:
        try:
            found.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            found.append(f"{name} (not installed)")
    return ", ".join(found)


def main(argv: Sequence[str] | None = None) -> int:
    """Run every section and print the tables, ratios and targets."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--quick", action="store_true", help="fewer repeats and 64 fleet destinations (CI smoke run)"
    )
    parser.add_argument("--cpu", type=int, default=None, help="CPU to pin to (default: the last allowed one)")
    parser.add_argument(
        "--sections",
        default="presign,batch,cold,checker",
        help="comma-separated subset of presign,batch,cold,checker (default: all)",
    )
    options = parser.parse_args(argv)
    sections = set(options.sections.split(","))
    plan = QUICK if options.quick else FULL
    started = time.perf_counter()
    cpu, others = pin_cpu(options.cpu)
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    mode = "quick" if options.quick else "full"
    pinned = cpu if cpu is not None else "n/a (no sched_setaffinity)"
    print(f"byos benchmarks ({mode} run), {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    system = f"{platform.machine()} {platform.system()}"
    print(f"Python {platform.python_version()} on {system}, {os.cpu_count()} CPUs,")
    print(f"pinned to CPU {pinned}, load average {load[0]:.2f}")
    print(versions())
    print()
    run = Run()
    with tempfile.TemporaryDirectory(prefix="byos-bench-") as folder:
        keys = make_keys(Path(folder))
        if "presign" in sections:
            section_presign(run, plan, keys)
        if "batch" in sections:
            section_batch(run, plan)
        if "cold" in sections:
            section_cold(run, plan, keys, Path(folder))
        if "checker" in sections:
            section_checker(run, plan, others)
    print(SECTION_TARGETS)
    table(
        ["target", "figure", "result", "by CPU time", "result by CPU"],
        [
            [
                t.name,
                t.figure,
                verdict(t.met),
                t.cpu_figure,
                "-" if t.cpu_figure == "-" else verdict(t.cpu_met),
            ]
            for t in run.targets
        ],
    )
    print(
        "(results by wall clock, as measured; 'by CPU time' discounts other jobs that shared the pinned CPU)"
    )
    passed = sum(1 for t in run.targets if t.met)
    missed = sum(1 for t in run.targets if t.met is False)
    end_load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    print()
    print(
        f"{passed} PASS, {missed} MISS of {len(run.targets)} targets (wall clock);"
        f" run took {time.perf_counter() - started:.1f} s; load average at the end {end_load:.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
