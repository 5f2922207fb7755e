"""How the benchmark times: CPU pinning, timeit-style loops, and cases measured in interleaved rounds."""

from __future__ import annotations

import gc
import itertools
import os
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from benchmarks.bench_inputs import Plan
from benchmarks.bench_report import Outcome, short_reason


def pin_cpu(requested: int | None) -> tuple[int | None, set[int]]:
    """Pin this process to one CPU; return it and the other CPUs it may use."""
    if not hasattr(os, "sched_setaffinity"):
        return None, set()
    allowed = os.sched_getaffinity(0)
    cpu = requested if requested is not None else max(allowed)
    if cpu not in allowed:
        raise SystemExit(f"--cpu {cpu}: not one of the CPUs this process may use ({sorted(allowed)})")
    os.sched_setaffinity(0, {cpu})
    return cpu, allowed - {cpu}


@contextmanager
def gc_off() -> Iterator[None]:
    """Disable the garbage collector inside the block (after collecting once)."""
    gc.collect()
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def timed_loop(fn: Callable[[], object], number: int) -> tuple[int, int]:
    """Return the wall-clock and CPU nanoseconds ``number`` calls of ``fn`` take, the collector off."""
    loop = itertools.repeat(None, number)
    with gc_off():
        cpu = time.thread_time_ns()
        start = time.perf_counter_ns()
        for _ in loop:
            fn()
        wall = time.perf_counter_ns() - start
        return wall, time.thread_time_ns() - cpu


def calibrate(fn: Callable[[], object], min_seconds: float) -> int:
    """Return a loop count (1, 2, 5, 10, 20, …) whose loop takes at least ``min_seconds``, as timeit does."""
    scale = 1
    while True:
        for base in (1, 2, 5):
            if timed_loop(fn, base * scale)[0] >= min_seconds * 1e9:
                return base * scale
        scale *= 10


@dataclass
class Case:
    """One timed implementation.

    Attributes:
        id: Key of the case in the results.
        group: Provider shown in the table.
        label: What is timed.
        build: Returns the callable to time; raising means ``n/a`` with the exception as reason.
        same: Returns whether its URL equals byos's at a frozen clock (None: not comparable).
        note: Shown in the table's last column.
    """

    id: str
    group: str
    label: str
    build: Callable[[], Callable[[], object]]
    same: Callable[[], bool | None] | None = None
    note: str = ""


def measure(cases: Sequence[Case], plan: Plan) -> dict[str, Outcome]:
    """Time every case: calibrate each, then ``plan.repeats`` rounds in turn; median seconds per call."""
    runnable: list[tuple[Case, Callable[[], object], int]] = []
    results: dict[str, Outcome] = {}
    for case in cases:
        try:
            fn = case.build()
            fn()
            number = calibrate(fn, plan.min_loop_seconds)
        except Exception as exc:  # noqa: BLE001 - a case that cannot run is reported as n/a
            results[case.id] = Outcome(None, short_reason(exc))
            continue
        runnable.append((case, fn, number))
        results[case.id] = Outcome(None)
    cpu: dict[str, list[float]] = {case.id: [] for case, _, _ in runnable}
    for _ in range(plan.repeats):
        for case, fn, number in runnable:
            wall_ns, cpu_ns = timed_loop(fn, number)
            results[case.id].samples.append(wall_ns / number / 1e9)
            cpu[case.id].append(cpu_ns / number / 1e9)
    for case, _, _ in runnable:
        results[case.id].value = statistics.median(results[case.id].samples)
        results[case.id].cpu = statistics.median(cpu[case.id])
    for case in cases:
        if case.same is not None:
            try:
                same = case.same()
            except Exception as exc:  # noqa: BLE001 - the comparison is informative only
                results[case.id].same = f"? ({type(exc).__name__})"
            else:
                results[case.id].same = "-" if same is None else ("yes" if same else "NO")
    return results


# --- fixtures: keys, clients, frozen clocks ----------------------------------------------------------------
