"""Checking many destinations at once, each within its deadline: a stuck one is reported, never waited for.

Every destination's check runs in its own daemon thread, at most ``concurrency`` at a time. A check that has
not reported when its deadline has passed is given up: it is reported as failed ("deadline"), its slot goes
to the next destination, and its thread is left to end alone. So a fleet of N destinations finishes within
``(N / concurrency + 1) x deadline`` whatever any endpoint does.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING

from byos.models import CheckResult, Report, Status

if TYPE_CHECKING:
    from byos.config import Destination

Check = Callable[..., Report]


def inner_deadline(deadline: float) -> float:
    """The deadline each check gets: a little under the fleet's, so a check using all of it still reports."""
    return deadline - min(1.0, deadline / 10)


def run_fleet(
    destinations: Iterable[Destination],
    check: Check,
    *,
    origins: Sequence[str] | None,
    concurrency: int,
    timeout: float,
    deadline: float,
    check_ids: Sequence[str],
) -> Iterator[Report]:
    """Yield one report per destination as each completes (or is given up at its deadline)."""
    pending = list(destinations)
    answers: queue.Queue[tuple[int, Report]] = queue.Queue()
    running: dict[int, float] = {}  # index -> monotonic time it is given up at
    inner = inner_deadline(deadline)
    started = 0

    def start(index: int) -> None:
        destination = pending[index]

        def work() -> None:
            try:
                report = check(destination, origins, timeout=min(timeout, inner), deadline=inner)
            except Exception as exc:  # noqa: BLE001  (a fleet reports, it never raises)
                report = _failed(destination, check_ids, f"unexpected {type(exc).__name__}", "report this")
            answers.put((index, report))

        running[index] = time.monotonic() + deadline
        threading.Thread(target=work, name=f"byos-check-{index}", daemon=True).start()

    while started < len(pending) or running:
        while started < len(pending) and len(running) < max(1, concurrency):
            start(started)
            started += 1
        wait = max(0.0, min(running.values()) - time.monotonic())
        try:
            index, report = answers.get(timeout=wait)
        except queue.Empty:
            now = time.monotonic()
            for index, give_up_at in sorted(running.items()):
                if give_up_at <= now:
                    del running[index]
                    yield _failed(
                        pending[index],
                        check_ids,
                        f"not finished: the check's deadline of {deadline:g} s was reached (the destination "
                        "kept byos waiting); the other destinations were checked",
                        "check endpoint_url and that the service answers; retry later",
                    )
            continue
        if running.pop(index, None) is not None:  # a late answer of a given-up check is dropped
            yield report


def _failed(destination: Destination, check_ids: Sequence[str], message: str, fix: str) -> Report:
    results = tuple(CheckResult(check_id, Status.FAIL, message, fix, 0.0) for check_id in check_ids)
    return Report(destination.label, results)
