"""The fleet benchmark's moving parts: the storage stub in a child process, destinations, timed fleet runs.

``benchmarks/bench.py`` prints the figures; this module only measures. The stub (``storage_stub.py``) runs
in its own process on the CPUs the benchmark is not pinned to, so its work never shares the measured
process's CPU or GIL.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

STUB = Path(__file__).with_name("storage_stub.py")
ORIGIN = "https://app.example.com"


@contextmanager
def storage_stub(latency: float, cpus: set[int]) -> Iterator[str]:
    """Run the storage stub in a child process (on ``cpus`` when given); yield its endpoint URL."""
    program = [sys.executable, str(STUB), "--latency", str(latency), "--region", "us-east-1"]
    child = subprocess.Popen(
        program, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    if cpus and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(child.pid, cpus)
    try:
        assert child.stdout is not None  # noqa: S101 - stdout is a pipe
        line = child.stdout.readline()
        if not line.startswith("PORT="):
            raise RuntimeError("the storage stub did not start")
        yield f"http://127.0.0.1:{int(line.removeprefix('PORT='))}"
    finally:
        if child.stdin is not None:
            child.stdin.close()
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def destinations(endpoint: str, count: int) -> list[Any]:
    """``count`` S3 destinations on the stub, each its own bucket, with static keys and one origin."""
    from byos.config import destination_from_dict  # noqa: PLC0415

    return [
        destination_from_dict(
            {
                "provider": "s3",
                "name": f"tenant-{index:04d}",
                "bucket": f"byos-fleet-{index:04d}",
                "region": "us-east-1",
                "endpoint_url": endpoint,
                "access_key_id": "AKIDFLEETBENCH",
                "secret_access_key": "fleet-bench-secret",
                "prefix": "imports/",
                "origins": [ORIGIN],
            },
            env=False,
        )
        for index in range(count)
    ]


def rss_mib() -> float:
    """This process's resident memory now, in MiB (0 where /proc is missing)."""
    try:
        with Path("/proc/self/status").open(encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


@contextmanager
def peak_rss() -> Iterator[list[float]]:
    """Sample resident memory every 20 ms inside the block; the list ends as [before, peak] in MiB."""
    figures = [rss_mib(), 0.0]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.02):
            figures[1] = max(figures[1], rss_mib())

    sampler = threading.Thread(target=sample, name="rss-sampler", daemon=True)
    sampler.start()
    try:
        yield figures
    finally:
        done.set()
        sampler.join()
        figures[1] = max(figures[1], rss_mib())


@dataclass
class FleetRun:
    """One fleet run: how many destinations at which concurrency, wall and CPU seconds, memory, statuses."""

    concurrency: int
    destinations: int
    seconds: float
    cpu_seconds: float
    rss_before: float
    rss_peak: float
    reports: list[Any]


def run_fleet(fleet: Sequence[Any], concurrency: int) -> FleetRun:
    """Check every destination of ``fleet`` with check_fleet at ``concurrency``; time it."""
    from byos.checker import check_fleet  # noqa: PLC0415

    with peak_rss() as memory:
        cpu = time.process_time()
        started = time.perf_counter()
        reports = list(check_fleet(fleet, concurrency=concurrency, timeout=30.0, deadline=120.0))
        seconds = time.perf_counter() - started
        cpu = time.process_time() - cpu
    return FleetRun(concurrency, len(fleet), seconds, cpu, memory[0], memory[1], reports)
