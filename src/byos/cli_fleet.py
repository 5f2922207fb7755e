"""``byos check --fleet DIR``: check many destinations, keep the run (``--output``), compare (``--baseline``).

Without ``--baseline`` every report is printed as it completes. With it, the run is compared with the
baseline first: a short drift summary comes first (regressions, destinations that appeared or vanished),
then the reports, each regressed check marked (``fail (was pass)`` in the table, ``"regressed_from"`` in
JSON) and each new destination marked ``"appeared": true``. ``--fail-on-regression`` makes the exit code
say only whether something got worse: 1 on a regression, 0 otherwise (failures that were already there
included).
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

from byos.display import clean, json_safe
from byos.errors import ConfigError, InvalidInputError

if TYPE_CHECKING:
    import argparse
    from collections.abc import Mapping

    from rich.console import Console

    from byos.checker.drift import Drift, Statuses
    from byos.models import Report, Status


def check_fleet_command(args: argparse.Namespace, out: Console) -> int:
    """Run ``byos check --fleet`` with its drift options; return the exit code."""
    from rich.console import Console  # noqa: PLC0415

    from byos.checker.drift import read_baseline, write_run  # noqa: PLC0415
    from byos.checker.render import report_json, summary_line  # noqa: PLC0415

    if args.fail_on_regression and not args.baseline:
        raise InvalidInputError("--fail-on-regression", "needs --baseline", "pass --baseline LAST.jsonl")
    baseline = read_baseline(args.baseline) if args.baseline else None  # refused before anything runs
    if args.output:
        _check_output_folder(args.output)
    err = Console(stderr=True)
    reports = _run(args, out, err, streaming=baseline is None)
    if args.output:
        write_run(args.output, (report_json(report) for report in reports))
    regressed = False
    if baseline is not None:
        regressed = _show_drift(args, baseline, reports, out, err)
    err.print(summary_line(reports), markup=False, highlight=False)
    if args.fail_on_regression:
        return 1 if regressed else 0
    return 0 if all(r.strict_ok if args.strict else r.ok for r in reports) else 1


def _run(args: argparse.Namespace, out: Console, err: Console, *, streaming: bool) -> list[Report]:
    """Load and check the fleet; print each report as it completes when ``streaming``; return them sorted."""
    from rich.progress import Progress  # noqa: PLC0415

    from byos.checker import check_fleet, config_failure  # noqa: PLC0415
    from byos.config import load_fleet  # noqa: PLC0415

    loaded = load_fleet(args.fleet)
    if not loaded:
        raise InvalidInputError(
            "--fleet", f"{args.fleet} holds no *.toml destinations", "point it at a folder"
        )
    reports = [config_failure(path.stem, item) for path, item in loaded if isinstance(item, ConfigError)]
    destinations = [item for _, item in loaded if not isinstance(item, ConfigError)]
    if args.baseline or args.output:
        _refuse_shared_names([r.destination for r in reports] + [d.label for d in destinations])
    if streaming:
        for report in reports:
            emit(report, args.json, out)
    with Progress(console=err, transient=True, disable=args.json and not err.is_terminal) as progress:
        task = progress.add_task("checking destinations", total=len(destinations))
        for report in check_fleet(
            destinations,
            origins=args.origin,
            concurrency=args.concurrency,
            timeout=args.timeout,
            deadline=args.deadline,
        ):
            reports.append(report)
            progress.advance(task)
            if streaming:
                emit(report, args.json, out)
    return sorted(reports, key=lambda r: r.destination)


def _show_drift(
    args: argparse.Namespace,
    baseline: Mapping[str, Statuses],
    reports: list[Report],
    out: Console,
    err: Console,
) -> bool:
    """Print the drift summary first, then every report with its marks; return whether something regressed."""
    from byos.checker.drift import compare  # noqa: PLC0415

    drift = compare(baseline, reports)
    _print_drift(drift, args.baseline, err if args.json else out)
    appeared = set(drift.appeared)
    for report in reports:
        marks = drift.marks.get(report.destination, {})
        emit(report, args.json, out, marks, report.destination in appeared)
    return drift.regressed


def _refuse_shared_names(names: list[str]) -> None:
    """Runs are compared by destination name: two files naming the same destination cannot be told apart."""
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise InvalidInputError(
                "--fleet",
                f"two files name the destination {clean(name)!r}, so runs cannot be compared",
                "give each destination its own name (or file name)",
            )
        seen.add(name)


def _check_output_folder(path: str) -> None:
    from pathlib import Path  # noqa: PLC0415

    target = Path(path)
    if target.is_dir():
        raise InvalidInputError("--output", f"{clean(path)} is a folder", "name a file, like run.jsonl")
    if not target.parent.is_dir():
        raise InvalidInputError(
            "--output", f"the folder of {clean(path)} does not exist", "create it or name another file"
        )


def _print_drift(drift: Drift, baseline_name: str, console: Console) -> None:
    for line in (drift.summary(baseline_name), *drift.lines()):
        console.print(line, markup=False, highlight=False, soft_wrap=True)


def emit(
    report: Report,
    as_json: bool,
    out: Console,
    marks: Mapping[str, Status] | None = None,
    appeared: bool = False,
) -> None:
    """Print one report: a JSON line, or the table (regressed checks marked ``(was pass)``)."""
    from byos.checker.render import print_report  # noqa: PLC0415

    marks = marks or {}
    if as_json:
        data: dict[str, Any] = report.to_dict()
        for check in data["checks"]:
            if check["id"] in marks:
                check["regressed_from"] = marks[check["id"]].value
        if appeared:
            data["appeared"] = True
        sys.stdout.write(json_safe(json.dumps(data, ensure_ascii=False)) + "\n")
        sys.stdout.flush()
    else:
        print_report(report, out, marks=marks, appeared=appeared)
