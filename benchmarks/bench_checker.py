"""Section 4: the setup checker on a fleet of destinations against a loopback storage stub."""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Any

from benchmarks.bench_inputs import SECTION_CHECKER, Plan
from benchmarks.bench_report import Outcome, Run, fig_x, fmt_ratio, ratio_line, ratio_of, table
from byos.models import Status, redact_url

# --- 4. setup checker fleet ----------------------------------------------------------------------------

STUB_LATENCY = 0.05
FLEET_SPEEDUP_AT = 64
FLEET_SPEEDUP_TARGET = 40.0


def summarize(reports: Sequence[Any]) -> str:
    """Count check statuses over reports: ``pass 9 warn 2 skip 1 fail 0``."""
    counts = dict.fromkeys(Status, 0)
    for report in reports:
        for check in report.checks:
            counts[check.status] += 1
    return " ".join(f"{status.value} {counts[status]}" for status in Status)


def not_passed(reports: Sequence[Any]) -> list[str]:
    """One line per check id that failed somewhere: its count and first message."""
    seen: dict[str, tuple[int, str]] = {}
    for report in reports:
        for check in report.checks:
            if check.status is Status.FAIL:
                count, message = seen.get(check.id, (0, check.message))
                seen[check.id] = (count + 1, message)
    return [
        f"fail {check_id} ({count} of {len(reports)}): {redact_url(message)[:110]}"
        for check_id, (count, message) in sorted(seen.items())
    ]


def section_checker(run: Run, plan: Plan, cpus: set[int]) -> None:
    """Section 4: check_fleet on many destinations served by a stub that answers after 50 ms."""
    bench_fleet: Any = importlib.import_module("bench_fleet")  # the fleet's parts, next to this script

    print(SECTION_CHECKER)
    with bench_fleet.storage_stub(STUB_LATENCY, cpus) as endpoint:
        fleet = bench_fleet.destinations(endpoint, plan.destinations)
        serial = bench_fleet.run_fleet(fleet[: plan.serial_destinations], 1)
        runs = [bench_fleet.run_fleet(fleet, concurrency) for concurrency in plan.concurrency]
    per_destination = serial.seconds / serial.destinations
    at_one = Outcome(per_destination * plan.destinations)
    print(
        f"stub: asyncio, one process on CPU(s) {sorted(cpus) or 'any'}, {STUB_LATENCY * 1000:.0f} ms before"
        f" every answer; {plan.destinations} S3 destinations, each its own bucket; byos checks in threads"
    )
    rows = [
        [
            "1",
            f"{serial.destinations}",
            f"{serial.seconds:.2f}",
            f"{at_one.value:.1f} (x{plan.destinations / serial.destinations:.0f})",
            f"{serial.destinations / serial.seconds:.1f}",
            "1.0x",
            f"{serial.cpu_seconds:.2f}",
            f"{serial.rss_peak - serial.rss_before:+.1f}",
            summarize(serial.reports),
        ]
    ]
    speedups: dict[int, Outcome] = {}
    for fleet_run in runs:
        speedup = at_one.value / fleet_run.seconds if at_one.value else 0.0
        speedups[fleet_run.concurrency] = Outcome(fleet_run.seconds)
        rows.append(
            [
                str(fleet_run.concurrency),
                str(fleet_run.destinations),
                f"{fleet_run.seconds:.2f}",
                f"{fleet_run.seconds:.1f}",
                f"{fleet_run.destinations / fleet_run.seconds:.1f}",
                fmt_ratio(speedup),
                f"{fleet_run.cpu_seconds:.2f}",
                f"{fleet_run.rss_peak - fleet_run.rss_before:+.1f}",
                summarize(fleet_run.reports),
            ]
        )
    table(
        [
            "concurrency",
            "checked",
            "seconds",
            f"s for {plan.destinations}",
            "destinations/s",
            "speed-up",
            "CPU s",
            "peak MiB",
            "check statuses",
        ],
        rows,
    )
    print(
        f"(concurrency 1 checks {serial.destinations} destinations one after another; its time for"
        f" {plan.destinations} is that x{plan.destinations / serial.destinations:.0f}. 'peak MiB': resident"
        " memory above the run's start, sampled every 20 ms; 'CPU s': this process's CPU time)"
    )
    for line in not_passed([serial.reports[0], *[r for fleet_run in runs for r in fleet_run.reports]]):
        print("  " + line)
    if runs:
        cpu_per_destination = runs[-1].cpu_seconds / runs[-1].destinations
        print(
            f"(CPU per destination {cpu_per_destination * 1000:.1f} ms: one CPU checks at most"
            f" {1 / cpu_per_destination:.0f} destinations/s whatever the concurrency; the GIL keeps the"
            " threads on one core)"
        )
    print()
    for concurrency, outcome in speedups.items():
        ratio_line(
            f"fleet concurrency {concurrency} vs 1",
            (f"seconds at 1 for {plan.destinations}", at_one),
            (f"seconds at {concurrency}", outcome),
        )
    print()
    at_target = speedups.get(FLEET_SPEEDUP_AT)
    value = ratio_of(at_one, at_target) if at_target is not None else None
    run.target(
        f"fleet: concurrency {FLEET_SPEEDUP_AT} >= {FLEET_SPEEDUP_TARGET:.0f}x concurrency 1",
        fig_x(value),
        None if value is None else value >= FLEET_SPEEDUP_TARGET,
    )
