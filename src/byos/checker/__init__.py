"""The setup checker: prove a customer's bucket takes browser uploads and grants no more than writing.

:func:`check_setup` runs every check in order and returns a :class:`~byos.models.Report`; it never raises
for a failing check. Every network call has a timeout and the whole run has a deadline: checks that cannot
start in time are reported as failed, not left hanging. :func:`check_fleet` checks many destinations at once.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol, cast

from byos import http
from byos.checker import common
from byos.checker.context import CheckContext, DeadlineExceededError
from byos.checker.outcome import Outcome, failed, passed, skipped
from byos.errors import ByosError, CredentialsError, MissingExtraError, ProviderError, ProviderTimeoutError
from byos.models import CheckResult, Report, Status
from byos.option_types import check_run_options

if TYPE_CHECKING:
    from byos.config import Destination

DEFAULT_TIMEOUT = 10.0
DEFAULT_DEADLINE = 60.0
CHECK_IDS = (
    "config",
    "credentials",
    "bucket.exists",
    "bucket.region",
    "bucket.owner",
    "upload",
    "write_once",
    "least_privilege",
    "cors",
    "public_access",
    "encryption",
    "clock",
    "lifetime",
)
_NEEDS_CREDENTIALS = frozenset(
    {
        "bucket.exists",
        "bucket.region",
        "bucket.owner",
        "upload",
        "write_once",
        "least_privilege",
        "cors",
        "encryption",
    }
)
_NEEDS_BUCKET = frozenset(
    {
        "bucket.region",
        "bucket.owner",
        "upload",
        "write_once",
        "least_privilege",
        "cors",
        "public_access",
        "encryption",
    }
)
_OFFLINE = frozenset({"config", "clock", "lifetime"})  # need no network, so they run even past the deadline
# The order checks run in. public_access reads the probe anonymously, so it runs before least_privilege,
# whose delete trial could remove the probe where the credentials may delete (a public bucket would then
# look private). The report keeps the order of CHECK_IDS.
RUN_ORDER = (
    "config",
    "credentials",
    "bucket.exists",
    "bucket.region",
    "upload",
    "bucket.owner",
    "write_once",
    "public_access",
    "least_privilege",
    "cors",
    "encryption",
    "clock",
    "lifetime",
)


class ProviderChecks(Protocol):
    """The checks whose method differs per provider (a module in ``byos.checker``)."""

    def credentials(self, ctx: CheckContext) -> Outcome:
        """Authenticate, name the signing mode, and leave ``credentials_expire_at`` in ``ctx.state``."""
        ...

    def bucket_exists(self, ctx: CheckContext) -> Outcome:
        """The bucket or container exists and is reachable."""
        ...

    def bucket_region(self, ctx: CheckContext) -> Outcome:
        """The bucket's region equals the configured one."""
        ...

    def least_privilege(self, ctx: CheckContext) -> Outcome:
        """Reading, listing and deleting with the uploader's credentials are refused."""
        ...

    def anonymous_urls(self, ctx: CheckContext) -> dict[str, str]:
        """URLs to list the bucket and read the probe without credentials."""
        ...

    def encryption(self, ctx: CheckContext) -> Outcome:
        """Default encryption at rest, where the credentials may read it."""
        ...


def provider_checks(provider: str) -> ProviderChecks:
    """Return the check module of ``provider``."""
    return cast("ProviderChecks", importlib.import_module(f"byos.checker.{provider}"))


def check_setup(
    destination: Destination,
    origins: Sequence[str] | None = None,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    deadline: float = DEFAULT_DEADLINE,
    clock: Callable[[], datetime] | None = None,
    transport: Callable[..., http.Response] | None = None,
) -> Report:
    """Check that ``destination`` works for browser uploads and grants no more than it should.

    Args:
        destination: The destination to check.
        origins: Browser origins for the CORS check; the destination's ``origins`` when None.
        timeout: Longest wait for one network call, in seconds.
        deadline: Longest time for the whole check, in seconds.
        clock: The local clock (UTC); tests inject skew here.
        transport: Sends one HTTP request (default :func:`byos.http.send`).

    Returns:
        One result per check id, in :data:`CHECK_IDS` order (they run in :data:`RUN_ORDER`). Never raises
        for a failing check.

    Raises:
        InvalidInputError: An argument of the wrong type (a single string for ``origins``, a timeout that is
            not a finite number of seconds above 0, …); nothing is sent.
    """
    check_run_options(destination, origins, timeout=timeout, deadline=deadline)
    ctx = CheckContext(
        destination=destination,
        origins=list(destination.origins if origins is None else origins),
        timeout=timeout,
        deadline=time.monotonic() + deadline,
        deadline_seconds=deadline,
        clock=clock or (lambda: datetime.now(UTC)),
        transport=transport or http.send,
    )
    try:
        provider = provider_checks(destination.provider)
    except ImportError as exc:  # pragma: no cover - every provider has a module
        result = CheckResult("config", Status.FAIL, f"no checks for provider {destination.provider}: {exc}")
        return Report(destination.label, (result,))
    steps: dict[str, Callable[[CheckContext], Outcome]] = {
        "config": lambda _: passed(f"{destination.provider} destination {destination.label} loaded"),
        "credentials": provider.credentials,
        "bucket.exists": provider.bucket_exists,
        "bucket.region": provider.bucket_region,
        "bucket.owner": getattr(provider, "bucket_owner", _owner_not_applicable),
        "upload": common.upload,
        "write_once": common.write_once,
        "least_privilege": provider.least_privilege,
        "cors": common.cors,
        "public_access": lambda c: common.public_access(c, provider.anonymous_urls(c)),
        "encryption": provider.encryption,
        "clock": common.clock,
        "lifetime": common.lifetime,
    }
    results: list[CheckResult] = []
    for check_id in RUN_ORDER:
        results.append(_run_one(ctx, check_id, steps[check_id], results, deadline))
    by_id = {result.id: result for result in results}
    return Report(destination.label, tuple(by_id[check_id] for check_id in CHECK_IDS))


def _owner_not_applicable(ctx: CheckContext) -> Outcome:
    if ctx.destination.provider == "azure":
        return skipped(
            "S3 only: an Azure container lives inside the customer's storage account, whose name is in every "
            "URL and whose key or delegation signs every SAS, so another account cannot take its place"
        )
    return skipped(
        f"S3 only: {ctx.destination.provider} has no request header that binds a bucket to its owner, so "
        "a bucket of the same name created by another project after a deletion cannot be detected here"
    )


def _run_one(
    ctx: CheckContext,
    check_id: str,
    step: Callable[[CheckContext], Outcome],
    earlier: list[CheckResult],
    deadline: float,
) -> CheckResult:
    status = {result.id: result.status for result in earlier}
    started = time.monotonic()
    if status.get("credentials") is Status.FAIL and check_id in _NEEDS_CREDENTIALS:
        outcome = skipped("skipped: the credentials did not work")
    elif check_id == "lifetime" and status.get("credentials") not in (Status.PASS, Status.WARN):
        outcome = skipped("skipped: no credentials were obtained, so there is no lifetime to compare")
    elif status.get("bucket.exists") is Status.FAIL and check_id in _NEEDS_BUCKET:
        outcome = skipped("skipped: the bucket is missing or unreachable")
    elif ctx.remaining() <= 0 and check_id not in _OFFLINE:
        outcome = failed(f"not run: the check's deadline of {deadline:g} s was reached", "retry later")
    else:
        outcome = _guarded(ctx, step)
    if ctx.state.pop("throttled", None) and outcome.status is Status.FAIL:
        outcome = failed(outcome.message + " (the service kept throttling, HTTP 429/503)", "retry later")
    return CheckResult(
        check_id, outcome.status, outcome.message, outcome.remediation, (time.monotonic() - started) * 1000
    )


def _guarded(ctx: CheckContext, step: Callable[[CheckContext], Outcome]) -> Outcome:  # noqa: PLR0911  (one return per error kind)
    """Run one check; turn every error into a failed outcome (messages carry no secrets or URLs)."""
    try:
        return step(ctx)
    except DeadlineExceededError:
        return failed("not finished: the check's deadline was reached", "retry; check the endpoint answers")
    except ProviderTimeoutError:
        return failed(
            f"the storage service did not answer within {min(ctx.timeout, ctx.deadline_seconds):g} s",
            "check endpoint_url and the network path",
        )
    except MissingExtraError as exc:
        return skipped(str(exc))
    except CredentialsError as exc:
        return failed(str(exc), "fix the credentials in the destination")
    except ProviderError as exc:
        return failed(str(exc), "check endpoint_url and that the service is reachable")
    except ByosError as exc:
        return failed(str(exc), "fix the destination's settings")
    except Exception as exc:  # noqa: BLE001  (the checker reports, it never raises)
        return failed(f"unexpected {type(exc).__name__}", "report this; run with a debugger for details")


def check_fleet(
    destinations: Iterable[Destination],
    *,
    origins: Sequence[str] | None = None,
    concurrency: int = 8,
    timeout: float = DEFAULT_TIMEOUT,
    deadline: float = DEFAULT_DEADLINE,
) -> Iterator[Report]:
    """Check many destinations, ``concurrency`` at a time; yields each report as it completes.

    ``origins`` overrides every destination's own browser origins for the CORS check (None: each its own).
    A destination still unfinished at its ``deadline`` is reported as failed ("deadline") and not waited
    for, so the whole fleet ends within ``(len(destinations) / concurrency + 1) * deadline`` seconds.

    Raises:
        InvalidInputError: An option of the wrong type (checked before anything starts).
    """
    from byos.checker.fleet import run_fleet  # noqa: PLC0415

    check_run_options(None, origins, timeout=timeout, deadline=deadline, concurrency=concurrency)

    return run_fleet(
        destinations,
        check_setup,
        origins=origins,
        concurrency=concurrency,
        timeout=timeout,
        deadline=deadline,
        check_ids=CHECK_IDS,
    )


def config_failure(label: str, error: ByosError) -> Report:
    """The report of a destination whose configuration did not load."""
    result = CheckResult("config", Status.FAIL, str(error), "fix the configuration file", 0.0)
    return Report(label, (result,))
