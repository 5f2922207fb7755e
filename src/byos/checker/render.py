"""Render setup reports for people (a rich table) and for programs (JSON)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table
from rich.text import Text

from byos.display import clean, json_safe
from byos.models import Report, Status

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

STYLES = {Status.PASS: "bold green", Status.WARN: "bold yellow", Status.FAIL: "bold red", Status.SKIP: "dim"}


def report_table(
    report: Report, marks: Mapping[str, Status] | None = None, *, appeared: bool = False
) -> Table:
    """A table with one row per check: id, status, what was found, what to do.

    Args:
        report: The destination's results.
        marks: Checks that got worse since a baseline run, with their status then (``fail (was pass)``).
        appeared: The baseline had no report of this destination.
    """
    marks = marks or {}
    verdict = "OK" if report.ok else "FAILED"
    # Messages come from servers and configuration: never let them be read as rich markup, and strip the
    # control characters and bidi overrides that a terminal would act on.
    title = Text(
        f"{clean(report.destination)}: {verdict}" + (" (new since the baseline)" if appeared else "")
    )
    table = Table(title=title, title_justify="left", expand=True, show_lines=False)
    table.add_column("check", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("finding", ratio=3)
    table.add_column("what to do", ratio=2)
    table.add_column("ms", justify="right", no_wrap=True)
    for check in report.checks:
        table.add_row(
            Text(clean(check.id)),
            Text(
                check.status.value + (f" (was {marks[check.id].value})" if check.id in marks else ""),
                style=STYLES[check.status],
            ),
            Text(clean(check.message)),
            Text(clean(check.remediation)),
            f"{check.duration_ms:.0f}",
        )
    return table


def print_report(
    report: Report, console: Console, *, marks: Mapping[str, Status] | None = None, appeared: bool = False
) -> None:
    """Print one report as a table (regressed checks marked, see :func:`report_table`) and a summary line."""
    console.print(report_table(report, marks, appeared=appeared))
    console.print(Text(summary_line([report])))


def summary_line(reports: Iterable[Report]) -> str:
    """``N destinations: N ok, N failed; checks: N pass, N warn, N fail, N skip``."""
    reports = list(reports)
    counts = dict.fromkeys(Status, 0)
    for report in reports:
        for check in report.checks:
            counts[check.status] += 1
    ok = sum(1 for r in reports if r.ok)
    return (
        f"{len(reports)} destination{'s' if len(reports) != 1 else ''}: {ok} ok, {len(reports) - ok} failed; "
        "checks: " + ", ".join(f"{counts[s]} {s.value}" for s in Status)
    )


def report_json(report: Report) -> str:
    """The report as one line of JSON (the CLI contract); values exact, terminal controls escaped."""
    return json_safe(json.dumps(report.to_dict(), ensure_ascii=False))
