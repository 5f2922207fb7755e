"""Checks alike on every provider: the browser's upload path, write-once, CORS, public access, clock.

They drive the provider only through presigned requests and plain HTTP, exactly as a browser would.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING

from byos.checker.outcome import Outcome, failed, passed, skipped, warned
from byos.models import UploadOptions, UploadRequest
from byos.providers import get_provider

if TYPE_CHECKING:
    from byos.checker.context import CheckContext

PROBE_CONTENT_TYPE = "text/csv"
PROBE_LIFETIME = timedelta(minutes=5)
CLOCK_WARN = timedelta(minutes=5)
CLOCK_FAIL = timedelta(minutes=15)
WRITE_ONCE_REFUSALS = frozenset({409, 412})
# Azure refuses an overwrite through a create-only SAS (sp=c) for lack of permission, before If-None-Match.
PERMISSION_REFUSALS = frozenset({"AuthorizationPermissionMismatch"})


def policy_hint(section: str) -> str:
    """Point at the part of ``byos policy`` output that fixes a problem."""
    return f"apply the {section} printed by `byos policy --config <this destination>`"


def probe_request(ctx: CheckContext) -> UploadRequest:
    """Presign a small write-once probe upload under the destination's reserved probe folder."""
    options = UploadOptions(
        filename="byos-probe.csv", content_type=PROBE_CONTENT_TYPE, expires=PROBE_LIFETIME, probe=True
    )
    return get_provider(ctx.destination.provider).presign_upload(ctx.destination, options)


def probe_body(ctx: CheckContext) -> bytes:
    """The probe's content: small, and saying what it is."""
    return f"byos setup probe,{ctx.clock().isoformat()}\n".encode()


def upload(ctx: CheckContext) -> Outcome:
    """Presign a probe upload and send it as a browser would; the provider must accept it."""
    request = probe_request(ctx)
    ctx.state["probe"] = request
    answer = ctx.send(request.method, request.url, headers=request.headers, body=probe_body(ctx))
    if 200 <= answer.status < 300:
        ctx.state["probe_written"] = True
        return passed(
            f"a browser-style {request.method} to {request.key} was accepted (HTTP {answer.status})"
        )
    reason = answer.error_code() or f"HTTP {answer.status}"
    ctx.state["probe_error"] = reason
    if answer.status in (401, 403):
        return failed(
            f"the upload was refused ({reason}): the credentials cannot write under the prefix",
            policy_hint("write permission"),
        )
    return failed(f"the upload failed ({reason})", "check the bucket, the endpoint and the credentials")


def write_once(ctx: CheckContext) -> Outcome:
    """Send the same write-once request again: the provider must refuse to overwrite."""
    request: UploadRequest | None = ctx.state.get("probe")
    if request is None or not ctx.state.get("probe_written"):
        return skipped("no probe was written, so there is nothing to try to overwrite")
    answer = ctx.send(request.method, request.url, headers=request.headers, body=b"byos overwrite attempt\n")
    if answer.status == 403 and answer.header("x-ms-error-code") in PERMISSION_REFUSALS:
        return passed("a second upload to the same key was refused: the create-only link may not overwrite")
    if answer.status in WRITE_ONCE_REFUSALS:
        return passed(
            f"a second upload to the same key was refused (HTTP {answer.status}); objects are never replaced"
        )
    if 200 <= answer.status < 300:
        return failed(
            "a second upload with the same write-once request replaced the object",
            "the storage service ignored the write-once condition; use a service that honours it",
        )
    return warned(
        f"the second upload was refused with HTTP {answer.status}, not as a write-once conflict",
        "check the credentials; write-once should answer 409 or 412",
    )


def cors(ctx: CheckContext) -> Outcome:
    """For every browser origin, a preflight for the upload must be allowed, and ETag must be exposed."""
    if not ctx.origins:
        return skipped("no browser origins configured; set origins in the destination or pass --origin")
    request: UploadRequest | None = ctx.state.get("probe")
    if request is None:
        request = probe_request(ctx)
    wanted = sorted(
        name.lower() for name in request.headers if name.lower() not in ("content-length", "host")
    )
    problems: list[str] = []
    allowed: list[str] = []
    for origin in ctx.origins:
        answer = ctx.send(
            "OPTIONS",
            request.url,
            headers={
                "Origin": origin,
                "Access-Control-Request-Method": request.method,
                "Access-Control-Request-Headers": ",".join(wanted),
            },
        )
        problem = _preflight_problem(answer, origin, request.method, wanted)
        if problem:
            problems.append(f"{origin}: {problem}")
        else:
            allowed.append(origin)
    if problems:
        return failed("browsers cannot upload from " + "; ".join(problems), policy_hint("CORS rules"))
    exposed = _etag_exposed(ctx, allowed[0])
    if exposed is False:
        return warned(
            f"uploads from {', '.join(allowed)} are allowed, but the ETag header is not exposed",
            "add ETag to the exposed headers of the CORS rule (multipart uploads need it); "
            + policy_hint("CORS rules"),
        )
    unverified = "" if exposed else " (ETag exposure could not be verified: the probe upload was refused)"
    return passed(
        f"preflight for {request.method} with {', '.join(wanted) or 'no headers'} "
        f"allowed from {', '.join(allowed)}{unverified}"
    )


def _preflight_problem(answer: object, origin: str, method: str, wanted: list[str]) -> str:
    from byos.http import Response  # noqa: PLC0415

    assert isinstance(answer, Response)  # noqa: S101  (always a Response; the annotation keeps imports light)
    if not 200 <= answer.status < 300:
        return f"the preflight was refused (HTTP {answer.status})"
    allow_origin = answer.header("access-control-allow-origin")
    if allow_origin not in (origin, "*"):
        return "the origin is not allowed"
    methods = {
        m.strip().upper() for m in answer.header("access-control-allow-methods").split(",") if m.strip()
    }
    if methods and method not in methods and "*" not in methods:
        return f"{method} is not an allowed method"
    allowed_headers = {h.strip().lower() for h in answer.header("access-control-allow-headers").split(",")}
    missing = [h for h in wanted if h not in allowed_headers and "*" not in allowed_headers]
    if missing:
        return f"headers {', '.join(missing)} are not allowed"
    return ""


def _etag_exposed(ctx: CheckContext, origin: str) -> bool | None:
    """Send one more probe with an Origin header and read Access-Control-Expose-Headers (None: unknown)."""
    request = probe_request(ctx)
    headers = {**request.headers, "Origin": origin}
    answer = ctx.send(request.method, request.url, headers=headers, body=probe_body(ctx))
    if not 200 <= answer.status < 300:
        return None
    exposed = {h.strip().lower() for h in answer.header("access-control-expose-headers").split(",")}
    return "etag" in exposed or "*" in exposed


def public_access(ctx: CheckContext, urls: dict[str, str]) -> Outcome:
    """Anonymous list and read of the bucket must be refused.

    Args:
        ctx: The check context.
        urls: What to try anonymously, by name (``list``, ``read``), each a URL without credentials.
    """
    opened = []
    unknown = []
    for name, url in urls.items():
        answer = ctx.send("GET", url)
        if 200 <= answer.status < 300:
            opened.append(name)
        elif not 400 <= answer.status < 500 or answer.status == 429:
            unknown.append(f"{name} (HTTP {answer.status})")
    if unknown and not opened:
        return failed(
            f"could not tell whether anonymous {' and '.join(unknown)} would be refused",
            "retry later; check endpoint_url",
        )
    if opened:
        return failed(
            f"anyone on the internet can {' and '.join(opened)} the bucket without credentials",
            "block public access on the bucket (and any public ACL or policy); a public bucket voids the "
            "customer's data protection",
        )
    return passed(f"anonymous {' and '.join(urls)} were refused")


def clock(ctx: CheckContext) -> Outcome:
    """Compare the local clock with the storage service's ``Date`` header."""
    seen = ctx.state.get("server_date")
    if seen is None:
        return skipped("no answer from the storage service carried a Date header")
    header, local = seen
    try:
        server = parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return skipped(f"the service's Date header {header!r} could not be read")
    skew = abs(local - server)
    shown = f"{int(skew.total_seconds())} s"
    if skew > CLOCK_FAIL:
        return failed(
            f"the local clock is {shown} off the storage service's; presigned URLs will be refused",
            "synchronise this machine's clock (NTP)",
        )
    if skew > CLOCK_WARN:
        return warned(
            f"the local clock is {shown} off the storage service's", "synchronise this machine's clock (NTP)"
        )
    return passed(f"the local clock agrees with the storage service's within {shown}")


def lifetime(ctx: CheckContext) -> Outcome:
    """Temporary credentials must outlive the configured upload lifetime."""
    expires_at: datetime | None = ctx.state.get("credentials_expire_at")
    wanted = ctx.destination.expires
    if expires_at is None:
        return passed("the credentials do not expire; uploads get their full configured lifetime")
    left = expires_at - ctx.clock()
    if left < wanted:
        minutes = max(0, int(left.total_seconds() // 60))
        return warned(
            f"the temporary credentials expire in {minutes} min, "
            f"before the {_minutes(wanted)} upload lifetime; "
            "upload URLs made now are cut short",
            "lengthen the credentials' session (for a role: DurationSeconds / maximum session duration) or "
            "shorten expires",
        )
    return passed(f"the temporary credentials outlive the {_minutes(wanted)} upload lifetime")


def _minutes(value: timedelta) -> str:
    return f"{int(value.total_seconds() // 60)} min"
