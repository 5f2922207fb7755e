"""Drift between two fleet runs: which checks got worse, which destinations appeared or vanished.

``byos check --fleet DIR --output RUN.jsonl`` keeps a run's JSON lines (one report per destination, as
``--json`` prints them); the next run passes that file as ``--baseline``. A check *regressed* when its status
got worse: ``pass`` -> ``warn`` or ``fail``, ``warn`` -> ``fail`` (``skip`` on either side is not compared:
a skipped check says nothing about the setup). A destination *appeared* when the baseline has no report of
it and *vanished* when this run has none.

The baseline is a file someone else may have written: it is read with bounds (size, line length, line count,
nesting) and every problem is one :class:`~byos.errors.ConfigError` line naming ``--baseline``, the line
number and the fix, before anything is checked.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from byos.display import clean
from byos.errors import ConfigError
from byos.models import Status

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from byos.models import Report

MAX_BASELINE_BYTES = 64 * 1024 * 1024
MAX_LINE_BYTES = 1024 * 1024
MAX_DESTINATIONS = 100_000
MAX_CHECKS = 64
MAX_NAME_CHARS = 1024
_RANK = {Status.PASS: 0, Status.WARN: 1, Status.FAIL: 2}
_STATUS_VALUES = frozenset(status.value for status in Status)
_FIX = "pass a file written by `byos check --fleet DIR --output FILE`"

Statuses = dict[str, Status]


@dataclass(frozen=True, slots=True)
class Regression:
    """One check of one destination whose status got worse."""

    destination: str
    check: str
    before: Status
    after: Status
    message: str


@dataclass(frozen=True, slots=True)
class Drift:
    """What changed between the baseline and this run."""

    regressions: tuple[Regression, ...] = ()
    appeared: tuple[str, ...] = ()
    vanished: tuple[str, ...] = ()
    improved: int = 0
    compared: int = 0
    marks: Mapping[str, Mapping[str, Status]] = field(default_factory=dict)

    @property
    def regressed(self) -> bool:
        """True when some check got worse."""
        return bool(self.regressions)

    def summary(self, baseline_name: str) -> str:
        """One line: ``drift since LAST.jsonl: 2 regressions in 1 destination, 1 appeared, 0 vanished, …``."""
        destinations = len({r.destination for r in self.regressions})
        return (
            f"drift since {clean(baseline_name)}: {_count(len(self.regressions), 'regression')} in "
            f"{_count(destinations, 'destination')}, {len(self.appeared)} appeared, {len(self.vanished)} "
            f"vanished, {self.improved} improved ({_count(self.compared, 'destination')} compared)"
        )

    def lines(self) -> list[str]:
        """One line per regression, appeared and vanished destination (terminal-safe)."""
        out = [
            f"  regressed  {clean(r.destination)}: {clean(r.check)} {r.before.value} -> {r.after.value}"
            f" ({clean(r.message)})"
            for r in self.regressions
        ]
        out += [f"  appeared   {clean(name)}" for name in self.appeared]
        out += [f"  vanished   {clean(name)}" for name in self.vanished]
        return out


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def compare(baseline: Mapping[str, Statuses], reports: Iterable[Report]) -> Drift:
    """Compare this run's reports with the baseline's statuses (from :func:`read_baseline`)."""
    regressions: list[Regression] = []
    marks: dict[str, dict[str, Status]] = {}
    seen: list[str] = []
    improved = compared = 0
    for report in reports:
        seen.append(report.destination)
        before = baseline.get(report.destination)
        if before is None:
            continue
        compared += 1
        for check in report.checks:
            old = before.get(check.id)
            if old not in _RANK or check.status not in _RANK:
                continue
            assert old is not None  # noqa: S101  (for mypy: _RANK has no None)
            if _RANK[check.status] > _RANK[old]:
                regressions.append(Regression(report.destination, check.id, old, check.status, check.message))
                marks.setdefault(report.destination, {})[check.id] = old
            elif _RANK[check.status] < _RANK[old]:
                improved += 1
    current = set(seen)
    return Drift(
        regressions=tuple(regressions),
        appeared=tuple(name for name in seen if name not in baseline),
        vanished=tuple(sorted(name for name in baseline if name not in current)),
        improved=improved,
        compared=compared,
        marks=marks,
    )


def read_baseline(path: str | Path) -> dict[str, Statuses]:
    """Read a previous run's JSON lines: destination -> check id -> status.

    Raises:
        ConfigError: The file is missing, not a regular file, too large, not UTF-8, or a line is not a
            report; the message names ``--baseline`` and the line.
    """
    file = Path(path)
    try:
        data = _read_bounded(file)
    except ConfigError as exc:
        error = exc
    else:
        return _parse(data)
    raise error


def _read_bounded(file: Path) -> bytes:
    try:
        regular, exists = file.is_file(), file.exists()
    except ValueError:  # a NUL byte in the path
        regular = exists = False
    if not regular:
        found = "is not a regular file" if exists else "does not exist"
        raise ConfigError("--baseline", f"{clean(str(file))} {found}", _FIX)
    try:
        with file.open("rb") as handle:
            data = handle.read(MAX_BASELINE_BYTES + 1)
    except OSError as exc:
        problem = f"{clean(str(file))} cannot be read ({exc.strerror or type(exc).__name__})"
        error = ConfigError("--baseline", problem, "check the file")
    else:
        if len(data) > MAX_BASELINE_BYTES:
            raise ConfigError(
                "--baseline",
                f"is over {MAX_BASELINE_BYTES // (1024 * 1024)} MiB, larger than any fleet run",
                _FIX,
            )
        return data
    raise error


def _parse(data: bytes) -> dict[str, Statuses]:
    baseline: dict[str, Statuses] = {}
    for number, raw in enumerate(data.split(b"\n"), start=1):
        if not raw.strip():
            continue
        if len(baseline) >= MAX_DESTINATIONS:
            raise ConfigError("--baseline", f"holds more than {MAX_DESTINATIONS} destinations", _FIX)
        parsed = _parse_line(raw)
        if isinstance(parsed, str):
            problem = parsed
        elif parsed[0] in baseline:
            problem = "repeats a destination an earlier line reported"
        else:
            baseline[parsed[0]] = parsed[1]
            continue
        raise ConfigError("--baseline", f"line {number} {problem}", _FIX)
    return baseline


def _parse_line(raw: bytes) -> tuple[str, Statuses] | str:  # noqa: PLR0911  (one return per problem)
    """One report as ``--json`` prints it: its destination and statuses, or why the line is not one."""
    if len(raw) > MAX_LINE_BYTES:
        return f"is over {MAX_LINE_BYTES // 1024} KiB"
    try:
        item = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return "is not UTF-8 text"
    except RecursionError:
        return "is nested too deeply"
    except ValueError:
        return "is not JSON"
    if not isinstance(item, dict):
        return "is not a JSON object"
    name = item.get("destination")
    checks = item.get("checks")
    if not isinstance(name, str) or not 0 < len(name) <= MAX_NAME_CHARS:
        return f"has no destination name (a string of 1-{MAX_NAME_CHARS} characters)"
    if not isinstance(checks, list) or len(checks) > MAX_CHECKS:
        return f"has no checks list (at most {MAX_CHECKS} checks)"
    statuses: Statuses = {}
    for check in checks:
        if not isinstance(check, dict) or not isinstance(check.get("id"), str) or len(check["id"]) > 64:
            return "has a check without an id"
        if check.get("status") not in _STATUS_VALUES:
            return f"has a check status that is not one of {', '.join(sorted(_STATUS_VALUES))}"
        statuses[check["id"]] = Status(check["status"])
    return name, statuses


def write_run(path: str | Path, lines: Iterable[str]) -> None:
    """Write this run's JSON lines to ``path`` atomically: a reader never sees half a file.

    Raises:
        OSError: The folder does not exist or cannot be written.
    """
    target = Path(path)
    handle = tempfile.NamedTemporaryFile(  # noqa: SIM115  (closed below, before the rename)
        "w", encoding="utf-8", dir=target.parent, prefix=f".{target.name}.", delete=False
    )
    try:
        with handle:
            for line in lines:
                handle.write(line + "\n")
        Path(handle.name).replace(target)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise
