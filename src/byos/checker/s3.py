"""S3 checks: credentials, bucket existence and region, least privilege, anonymous URLs, default encryption.

Existence and region use a presigned ``HEAD`` on the bucket (S3 names the bucket's region in
``x-amz-bucket-region`` even when it refuses, so write-only credentials suffice). Credentials, least privilege
and encryption use header-signed requests byos signs and sends itself (no SDK: every answer is bounded in
time and size), exactly as an attacker holding the keys would.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC
from typing import TYPE_CHECKING

from byos import http
from byos.checker.common import policy_hint
from byos.checker.context import DeadlineExceededError
from byos.checker.outcome import Outcome, failed, passed, skipped, warned
from byos.config import S3Destination
from byos.errors import ProviderTimeoutError
from byos.keys import KeyLayout
from byos.providers import s3 as provider
from byos.providers import s3_requests

if TYPE_CHECKING:
    from byos.checker.context import CheckContext

_BAD_CREDENTIALS = frozenset(
    {"InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken", "InvalidClientTokenId"}
)
_UNANSWERED = frozenset({"SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout", "500", "503"})
_REFUSED = frozenset({"AccessDenied", "AllAccessDisabled", "403", "AccountProblem", "InvalidAccessKeyId"})


def _dest(ctx: CheckContext) -> S3Destination:
    assert isinstance(ctx.destination, S3Destination)  # noqa: S101  (the runner picks this module by provider)
    return ctx.destination


def credentials(ctx: CheckContext) -> Outcome:
    """Resolve the credentials and prove S3 accepts them (an AccessDenied still proves who we are)."""
    dest = _dest(ctx)
    timeout = ctx.call_timeout()
    try:
        found = provider.resolve_credentials(dest, now=ctx.clock(), timeout=timeout)
    except ProviderTimeoutError as exc:
        if isinstance(exc, DeadlineExceededError):
            raise
        ctx.state["credentials_expire_at"] = None
        source = "AWS STS (assuming role_arn)" if dest.role_arn else "the AWS credential chain"
        return failed(
            f"{source} did not answer within {timeout:g} s, so no credentials could be had",
            "check the network path to AWS STS (or the profile's credential source)",
        )
    ctx.state["credentials_expire_at"] = found.expires_at
    mode = {
        "static": "long-term access key",
        "session": "temporary keys with a session token",
        "profile": f"profile {dest.profile}",
        "chain": "the AWS default credential chain",
        "role": f"role {dest.role_arn}",
    }[found.source]
    code = _code(ctx, found, "GET", query={"location": ""})
    if code in _BAD_CREDENTIALS:
        return failed(
            f"S3 rejected the credentials ({code}) from {mode}",
            "check the access key id and secret (or the role and its session) and that they are active",
        )
    if code in _UNANSWERED:
        return failed(
            f"S3 could not confirm the credentials from {mode}: it answered {code} "
            "(throttling, or unavailable)",
            "retry later; check endpoint_url",
        )
    return passed(f"S3 accepted the credentials ({mode}, key {found.access_key_id[:4]}…)")


def bucket_exists(ctx: CheckContext) -> Outcome:
    """A presigned HEAD on the bucket: 200 or 403 mean it exists, 404 that it does not."""
    answer = _head_bucket(ctx)
    region = answer.header("x-amz-bucket-region")
    if region:
        ctx.state["bucket_region"] = region
    dest = _dest(ctx)
    if answer.status == 404:
        return failed(
            f"bucket {dest.bucket} does not exist (HTTP 404)",
            "create the bucket, or fix bucket (and region) in the destination",
        )
    if answer.status in (200, 301, 307, 400, 403):
        note = {
            200: "",
            403: " (HEAD refused, as write-only credentials should be)",
        }.get(answer.status, f" (HTTP {answer.status}: it lives in another region)")
        return passed(f"bucket {dest.bucket} exists{note}")
    return failed(f"bucket {dest.bucket} could not be reached (HTTP {answer.status})", "check endpoint_url")


def bucket_region(ctx: CheckContext) -> Outcome:
    """The region S3 names for the bucket must be the configured one."""
    dest = _dest(ctx)
    region = ctx.state.get("bucket_region") or _head_bucket(ctx).header("x-amz-bucket-region")
    if not region:
        return skipped("S3 did not name the bucket's region (no x-amz-bucket-region header)")
    if region != dest.region:
        return failed(
            f"bucket {dest.bucket} is in {region}, not in the configured {dest.region}; importers refuse "
            "cross-region uploads",
            f"set region = {region!r} in the destination (or use a bucket in {dest.region})",
        )
    return passed(f"bucket {dest.bucket} is in {region}, as configured")


def bucket_owner(ctx: CheckContext) -> Outcome:
    """With ``expected_bucket_owner`` set, the probe upload (which signs it) proves the bucket's owner.

    S3 refuses (403) a request whose ``x-amz-expected-bucket-owner`` is not the bucket owner's account, so a
    bucket deleted and re-created under the same name by another account never receives an upload.
    """
    owner = _dest(ctx).expected_bucket_owner
    if owner is None:
        return skipped(
            "expected_bucket_owner is not set, so uploads are not bound to the customer's AWS account (if "
            "the bucket were deleted, another account could take its name); set it to their 12-digit id"
        )
    if ctx.state.get("probe_written"):
        return passed(
            f"S3 accepted the probe upload that names account {owner} as the bucket's owner "
            "(x-amz-expected-bucket-owner, signed)"
        )
    code = ctx.state.get("probe_error")
    if code in _REFUSED:
        return failed(
            f"S3 refused the probe upload that names account {owner} as the bucket's owner ({code}): the "
            "bucket belongs to another account, or the credentials may not write",
            "check expected_bucket_owner is the bucket owner's account id (aws sts get-caller-identity in "
            "the customer's account), then the upload check",
        )
    return skipped("cannot tell: the probe upload failed (see the upload check)")


def least_privilege(ctx: CheckContext) -> Outcome:
    """With the uploader's credentials, reading, listing and deleting must all be refused.

    Deleting is tried on a key under the probe folder that was never written: S3 answers 204 to a permitted
    DeleteObject whether or not the key exists, and the probe stays for the other checks.
    """
    dest = _dest(ctx)
    probe = ctx.state.get("probe")
    key = probe.key if probe is not None else f"{dest.prefix}{dest.probe_prefix}absent.txt"
    absent = KeyLayout.from_destination(dest).probe_key()  # never written: deleting it harms nothing
    found = provider.resolve_credentials(dest, now=ctx.clock(), timeout=ctx.call_timeout())
    listing = {"list-type": "2", "max-keys": "1"}
    if dest.prefix:
        listing["prefix"] = dest.prefix
    trials: dict[str, Callable[[], str | None]] = {
        "read": lambda: _code(ctx, found, "GET", key=key, headers={"Range": "bytes=0-0"}),
        "list": lambda: _code(ctx, found, "GET", query=listing),
        "delete": lambda: _code(ctx, found, "DELETE", key=absent),
    }
    allowed: list[str] = []
    unknown: list[str] = []
    for name, call in trials.items():
        code = call()
        if code in (None, "NoSuchKey"):
            allowed.append(name)
        elif code not in _REFUSED:
            unknown.append(f"{name} ({code})")
    if unknown and not allowed:
        return failed(
            f"could not tell whether {', '.join(unknown)} would be refused",
            "retry later; the service answered with an error that is not a refusal",
        )
    if allowed:
        return warned(
            f"the uploader's credentials can also {', '.join(allowed)}; the customer was promised write-only",
            policy_hint("IAM policy"),
        )
    return passed("reading, listing and deleting with the uploader's credentials were refused")


def anonymous_urls(ctx: CheckContext) -> dict[str, str]:
    """The bucket listing and the probe object, without credentials."""
    dest = _dest(ctx)
    _, endpoint = provider.signer_for(dest, provider.AwsCredentials("ANONYMOUS", "-"))
    probe = ctx.state.get("probe")
    key = probe.key if probe is not None else f"{dest.prefix}{dest.probe_prefix}absent.txt"
    return {
        "list": endpoint.post_url(dest.bucket).rstrip("/") + "/?list-type=2",
        "read": endpoint.object_url(dest.bucket, key),
    }


def encryption(ctx: CheckContext) -> Outcome:
    """Default encryption, where the credentials may read it."""
    dest = _dest(ctx)
    found = provider.resolve_credentials(dest, now=ctx.clock(), timeout=ctx.call_timeout())
    answer = s3_requests.request(dest, found, "GET", send=ctx.send, now=ctx.clock(), query={"encryption": ""})
    code = s3_requests.error_code(answer)
    if code == "AccessDenied":
        return skipped(
            "the credentials may not read the bucket's encryption settings (a write-only uploader should not)"
        )
    if code == "ServerSideEncryptionConfigurationNotFoundError":
        return passed("no custom default encryption; S3 encrypts every new object with SSE-S3")
    if code is not None:
        return skipped(f"the encryption settings could not be read ({code})")
    algorithms = sorted(set(_xml_texts(answer.body, "SSEAlgorithm")) or {"SSE-S3"})
    suffix = "; uploads also ask for SSE-KMS" if dest.sse_kms_key_id else ""
    return passed(f"default encryption: {', '.join(algorithms) or 'SSE-S3'}{suffix}")


# --- plumbing ---


def _head_bucket(ctx: CheckContext) -> http.Response:
    dest = _dest(ctx)
    found = provider.resolve_credentials(dest, now=ctx.clock(), timeout=ctx.call_timeout())
    signer, endpoint = provider.signer_for(dest, found)
    headers = provider.owner_headers(dest)
    url = signer.presign_url(
        "HEAD",
        endpoint.post_url(dest.bucket),
        signed_headers={name.lower(): value for name, value in headers.items()},
        expires=60,
        now=ctx.clock().astimezone(UTC),
    )
    return ctx.send("HEAD", url, headers=headers)


def _code(
    ctx: CheckContext,
    found: provider.AwsCredentials,
    method: str,
    *,
    key: str | None = None,
    query: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> str | None:
    """Send one header-signed request; return None on success, else the S3 error code."""
    answer = s3_requests.request(
        _dest(ctx), found, method, send=ctx.send, now=ctx.clock(), key=key, query=query, headers=headers
    )
    return s3_requests.error_code(answer)


def _xml_texts(body: bytes, tag: str) -> list[str]:
    """Every ``tag`` element's text in an XML answer (any namespace)."""
    if not body.lstrip().startswith(b"<"):
        return []
    import xml.etree.ElementTree as ET  # noqa: PLC0415

    try:
        root = ET.fromstring(body)  # noqa: S314  (bounded answer; expat refuses entity expansion bombs)
    except ET.ParseError:
        return []
    return [(e.text or "").strip() for e in root.iter() if e.tag.rpartition("}")[2] == tag]
