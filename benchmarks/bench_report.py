"""How the benchmark reports: outcomes, targets, tables, ratio lines and figure formats."""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from byos.models import redact_url


@dataclass
class Outcome:
    """A measured figure, or why there is none.

    Attributes:
        value: The median (wall-clock seconds per call, or the figure itself), None when not measured.
        reason: Why there is no figure.
        same: Whether the URL equals byos's at a frozen clock (``yes``, ``NO`` or ``-``).
        samples: Per-round figures, in round order, so two cases measured in the same rounds pair up.
        cpu: Median CPU seconds per call of this thread (equals ``value`` when no other job shares the CPU).
    """

    value: float | None
    reason: str = ""
    same: str = "-"
    samples: list[float] = field(default_factory=list)
    cpu: float | None = None


@dataclass
class TargetLine:
    """One target: its wall-clock figure, whether it was met (None: not measured), the same by CPU time."""

    name: str
    figure: str
    met: bool | None
    cpu_figure: str = "-"
    cpu_met: bool | None = None


@dataclass
class Run:
    """Everything one run prints at the end."""

    targets: list[TargetLine] = field(default_factory=list)

    def target(
        self, name: str, figure: str, met: bool | None, cpu_figure: str = "-", cpu_met: bool | None = None
    ) -> None:
        """Record a target; printed in the Targets section."""
        self.targets.append(TargetLine(name, figure, met, cpu_figure, cpu_met))


def verdict(met: bool | None) -> str:
    """PASS, MISS or n/a."""
    return "n/a" if met is None else ("PASS" if met else "MISS")


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Print a plain table: first column left-aligned, the others right-aligned."""
    widths = [max(len(str(row[i])) for row in (headers, *rows)) for i in range(len(headers))]

    def line(cells: Sequence[str]) -> str:
        first = str(cells[0]).ljust(widths[0])
        rest = [str(cell).rjust(width) for cell, width in zip(cells[1:], widths[1:], strict=True)]
        return "  ".join([first, *rest]).rstrip()

    print(line(headers))
    print("  ".join("-" * width for width in widths))
    for row in rows:
        print(line(row))


def fmt_ratio(value: float) -> str:
    """Format a ratio: two decimals below 10, one above."""
    return f"{value:.2f}x" if value < 10 else f"{value:.1f}x"


def ratio_line(
    comparison: str, numerator: tuple[str, Outcome], denominator: tuple[str, Outcome]
) -> float | None:
    """Print ``ratio <comparison>: <numerator> / <denominator> = Nx`` (or ``= n/a (why)``); return N."""
    (top_label, top), (bottom_label, bottom) = numerator, denominator
    text = f"ratio  {comparison}: {top_label} / {bottom_label} = "
    value = ratio_of(top, bottom)
    if value is None:
        missing = top if top.value is None else bottom
        print(text + f"n/a ({missing.reason or 'not measured'})")
        return None
    print(text + fmt_ratio(value))
    return value


def ratio_of(top: Outcome, bottom: Outcome) -> float | None:
    """``top / bottom``: the median of per-round ratios when both were measured in the same rounds."""
    if top.value is None or bottom.value is None or bottom.value <= 0:
        return None
    if top.samples and len(top.samples) == len(bottom.samples):
        return statistics.median(a / b for a, b in zip(top.samples, bottom.samples, strict=True))
    return top.value / bottom.value


def short_reason(exc: BaseException) -> str:
    """One line naming an exception, cut short and with any URL signature redacted."""
    text = redact_url(f"{type(exc).__name__}: {exc}".splitlines()[0])
    return text if len(text) <= 100 else text[:97] + "..."


def contention(outcomes: Iterable[Outcome]) -> str:
    """Say how much of the wall-clock time other jobs on the pinned CPU took (wall / CPU time)."""
    factors = [o.value / o.cpu for o in outcomes if o.value is not None and o.cpu]
    if not factors:
        return "contention: n/a"
    factor = statistics.median(factors)
    verdict = (
        "the CPU was free"
        if factor < 1.1
        else "other jobs shared the pinned CPU: wall-clock figures are inflated"
    )
    return f"contention: wall / CPU time = {factor:.2f} ({verdict})"


def us(outcome: Outcome) -> str:
    """Microseconds of a per-call figure, or ``n/a``."""
    return "n/a" if outcome.value is None else f"{outcome.value * 1e6:,.1f}"


def fig_us(seconds: float | None) -> str:
    """Seconds as microseconds for the targets table."""
    return "n/a" if seconds is None else f"{seconds * 1e6:.1f} us"


def fig_x(value: float | None) -> str:
    """A ratio for the targets table."""
    return "n/a" if value is None else fmt_ratio(value)
