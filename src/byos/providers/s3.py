"""AWS S3: credentials, write-only presigned uploads (PUT, POST, multipart) and the calls multipart needs.

Static keys (with or without a session token) sign without boto3. A profile or the default chain (SSO,
instance roles, environment) use botocore (``byos[s3]``), in a worker abandoned at the deadline; the
customer's role (with an ExternalId) is assumed by byos itself at the cloud's own STS
(:mod:`byos.providers.sts`), with the destination's keys or the chain's as the base. Temporary
credentials are cached, refreshed single-flight five minutes before they expire, and no URL outlives them.

Multipart uploads are created, completed and aborted server side with short-lived presigned requests sent
over plain HTTP: ``CreateMultipartUpload`` and ``CompleteMultipartUpload`` need only ``s3:PutObject``,
``AbortMultipartUpload`` needs ``s3:AbortMultipartUpload``.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit
from xml.sax.saxutils import escape

from byos import http, presigner_cache
from byos.bounded import SingleFlight, call_within
from byos.endpoints import is_loopback_host
from byos.errors import (
    CredentialsError,
    InvalidInputError,
    MissingCredentialsError,
    ProviderError,
    ProviderTimeoutError,
)
from byos.log_redaction import remember
from byos.models import UploadOptions, UploadRequest
from byos.option_types import destination_kind, require_bool
from byos.providers import require, sts
from byos.signing.sigv4 import MAX_PART_NUMBER, MAX_UPLOAD_BYTES, S3Endpoint, SigV4Signer
from byos.upload_answers import checked_upload_id
from byos.uploads import prepare

if TYPE_CHECKING:
    from byos.config import Destination, S3Destination

NAME = "s3"
MIN_PART_BYTES = 5 * 1024**2
DEFAULT_PART_BYTES = 16 * 1024**2
MAX_OBJECT_BYTES = 5 * 1024**4
REFRESH_MARGIN = timedelta(minutes=5)
ROLE_DURATION_SECONDS = 3600
SERVER_CALL_EXPIRES = 60
STS_TIMEOUT = 10.0
"""Seconds for each call to STS (or the credential chain's sources) when presigning; one retry."""
_ETAG = re.compile(r'"?[0-9A-Za-z-]{1,64}"?')


# --- credentials ---


@dataclass(frozen=True, slots=True)
class AwsCredentials:
    """A resolved set of AWS credentials.

    Attributes:
        access_key_id: The access key id (not secret: it appears in every URL).
        secret_access_key: The secret; never shown in ``repr``.
        session_token: The session token of temporary credentials; never shown.
        expires_at: When temporary credentials expire (None for long-term keys).
        source: Where they came from: ``static``, ``session``, ``profile``, ``chain`` or ``role``.
    """

    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str | None = field(default=None, repr=False)
    expires_at: datetime | None = None
    source: str = "static"


_cache: dict[tuple[Any, ...], AwsCredentials] = {}
_cache_lock = threading.Lock()
_flights = SingleFlight()
AWS_ENDPOINT_SUFFIXES = (".amazonaws.com", ".amazonaws.com.cn", ".amazonaws.eu")


def resolve_credentials(
    destination: S3Destination, *, now: datetime | None = None, timeout: float | None = None
) -> AwsCredentials:
    """Return the credentials ``destination`` signs with, refreshing temporary ones before they expire.

    A role is assumed at the cloud's own STS (see :mod:`byos.providers.sts`), never at ``endpoint_url``. The
    import service's own identity (the default chain or a profile, without the destination's own keys) is
    refused for a custom endpoint that is neither AWS's nor loopback. A refresh is single-flight: however many
    threads ask at once, one of them calls STS and the others get its answer.

    Args:
        destination: An S3 destination.
        now: The signing time (UTC now when None).
        timeout: Total seconds for the role assumption or the credential chain, tried once (the setup
            checker's bound); None gives :data:`STS_TIMEOUT` with one retry.

    Raises:
        CredentialsError: None found, the role cannot be assumed, or the service's own identity would be
            sent to a tenant's endpoint.
        ProviderTimeoutError: STS (or the chain's credential source) did not answer in time.
        MissingExtraError: A profile or the default chain needs ``byos[s3]``.
    """
    if destination.role_arn is None and destination.access_key_id is not None:
        assert destination.secret_access_key is not None  # noqa: S101  (config requires both together)
        token = destination.session_token.get_secret_value() if destination.session_token else None
        return AwsCredentials(
            destination.access_key_id,
            destination.secret_access_key.get_secret_value(),
            token,
            None,
            "session" if token else "static",
        )
    if destination.role_arn is None:
        refuse_service_identity(
            destination,
            "the AWS credential chain" + (f" (profile {destination.profile})" if destination.profile else ""),
        )
    cache_key = (
        destination.role_arn,
        destination.external_id,
        destination.role_session_name,
        destination.profile,
        destination.access_key_id,
        destination.region,
    )
    moment = now or datetime.now(UTC)
    cached = _fresh(cache_key, moment)
    if cached is not None:
        return cached
    wait = STS_TIMEOUT * 2 + 1 if timeout is None else max(timeout, 0.1)
    flight = _flights.lock(cache_key)
    started = time.monotonic()
    if not flight.acquire(timeout=wait):
        raise ProviderTimeoutError("another refresh of these AWS credentials did not finish in time")
    try:
        cached = _fresh(cache_key, moment)  # refreshed by the thread this one waited for
        if cached is not None:
            return cached
        left = None if timeout is None else max(0.1, timeout - (time.monotonic() - started))
        fresh = _assume_role(destination, left) if destination.role_arn else _from_chain(destination, left)
        with _cache_lock:
            _cache[cache_key] = fresh
        return fresh
    finally:
        flight.release()


def _fresh(cache_key: tuple[Any, ...], moment: datetime) -> AwsCredentials | None:
    with _cache_lock:
        cached = _cache.get(cache_key)
    if cached is not None and (cached.expires_at is None or cached.expires_at - moment > REFRESH_MARGIN):
        return cached
    return None


def refuse_service_identity(destination: S3Destination, what: str) -> None:
    """Refuse to present the import service's own AWS identity to a custom, non-AWS, non-loopback endpoint.

    Raises:
        CredentialsError: ``endpoint_url`` is the tenant's host.
    """
    if destination.endpoint_url is None:
        return
    host = (urlsplit(destination.endpoint_url).hostname or "").lower()
    if is_loopback_host(host) or host.endswith(AWS_ENDPOINT_SUFFIXES):
        return
    raise CredentialsError(
        f"endpoint_url: {host} is not an AWS endpoint, and byos never presents the import service's own "
        f"identity ({what}) to it; set the destination's own access_key_id and secret_access_key (with "
        "role_arn to assume its role at AWS STS)"
    )


def clear_credential_cache() -> None:
    """Forget cached temporary credentials (the next presign fetches new ones)."""
    with _cache_lock:
        _cache.clear()
    from byos import presigner_cache  # noqa: PLC0415  (compiled presigners hold signers too)

    presigner_cache.clear()


def _session(destination: S3Destination, timeout: float) -> Any:  # noqa: ANN401  (boto3 ships no types)
    boto3 = require("boto3", feature="AWS profiles and the default credential chain", extra="s3")
    botocore_session = require("botocore.session", feature="AWS profiles and the default chain", extra="s3")
    config = require("botocore.config", feature="AWS profiles and the default credential chain", extra="s3")
    try:
        core = botocore_session.get_session()
        # Bound what the chain itself may fetch (STS or SSO for a profile's role, instance metadata); the
        # whole fetch is abandoned at the deadline anyway.
        wait = max(timeout, 0.1)
        core.set_default_client_config(
            config.Config(connect_timeout=wait, read_timeout=wait, retries={"total_max_attempts": 1})
        )
        if timeout < 1:
            core.set_config_variable("metadata_service_timeout", wait)
        return boto3.session.Session(
            profile_name=destination.profile, region_name=destination.region, botocore_session=core
        )
    except Exception as exc:
        raise CredentialsError(
            f"profile: cannot be loaded ({type(exc).__name__}); check ~/.aws/config"
        ) from exc


def _from_chain(destination: S3Destination, timeout: float | None) -> AwsCredentials:
    """The default chain or a profile, in a worker abandoned after ``timeout`` (botocore cannot be cut)."""
    wait = STS_TIMEOUT if timeout is None else timeout
    return call_within(lambda: _chain_now(destination, wait), wait, "the AWS credential chain's source")


def _chain_now(destination: S3Destination, timeout: float) -> AwsCredentials:
    session = _session(destination, timeout)
    botocore_exceptions = require("botocore.exceptions", feature="the AWS credential chain", extra="s3")
    try:
        found = session.get_credentials()
        frozen = found.get_frozen_credentials() if found is not None else None
    except (botocore_exceptions.ConnectTimeoutError, botocore_exceptions.ReadTimeoutError) as exc:
        raise ProviderTimeoutError(
            f"the AWS credential chain's source did not answer in time ({type(exc).__name__})"
        ) from exc
    except Exception as exc:
        raise CredentialsError(
            f"the AWS credential chain failed ({type(exc).__name__}); check the profile"
        ) from exc
    if frozen is None or not frozen.access_key:
        raise MissingCredentialsError("s3")
    expiry = getattr(found, "_expiry_time", None)
    source = "profile" if destination.profile else "chain"
    return AwsCredentials(frozen.access_key, frozen.secret_key, frozen.token, expiry, source)


def _assume_role(destination: S3Destination, timeout: float | None) -> AwsCredentials:
    """Assume the destination's role at STS with its own keys (or the service's chain as the base)."""
    assert destination.role_arn is not None  # noqa: S101  (callers check)
    started = time.monotonic()
    if destination.access_key_id is not None and destination.secret_access_key is not None:
        token = destination.session_token.get_secret_value() if destination.session_token else None
        base = AwsCredentials(
            destination.access_key_id, destination.secret_access_key.get_secret_value(), token
        )
    else:
        base = _from_chain(destination, timeout)
    signer = SigV4Signer(
        base.access_key_id, base.secret_access_key, destination.region, base.session_token, service="sts"
    )
    attempts = 2 if timeout is None else 1
    for attempt in range(attempts):
        left = STS_TIMEOUT if timeout is None else max(0.1, timeout - (time.monotonic() - started))
        try:
            key_id, secret, token, expires_at = sts.assume_role(
                signer,
                role_arn=destination.role_arn,
                session_name=destination.role_session_name,
                duration_seconds=ROLE_DURATION_SECONDS,
                external_id=destination.external_id,
                region=destination.region,
                timeout=left,
            )
        except ProviderTimeoutError:
            if attempt + 1 == attempts:
                raise
            continue
        return AwsCredentials(key_id, secret, token, expires_at, "role")
    raise AssertionError("unreachable")  # pragma: no cover


@lru_cache(maxsize=256)
def _signer(access_key_id: str, secret: str, token: str | None, region: str) -> SigV4Signer:
    remember(secret, token)  # credentials from a role or the chain, too: never in SDK logs
    return SigV4Signer(access_key_id, secret, region, session_token=token)


@lru_cache(maxsize=256)
def _endpoint(region: str, endpoint_url: str | None, addressing_style: str) -> S3Endpoint:
    return S3Endpoint(region, endpoint_url, addressing_style)  # type: ignore[arg-type]


def signer_for(destination: S3Destination, credentials: AwsCredentials) -> tuple[SigV4Signer, S3Endpoint]:
    """Return the (cached) signer and endpoint for ``destination`` and ``credentials``."""
    return (
        _signer(
            credentials.access_key_id,
            credentials.secret_access_key,
            credentials.session_token,
            destination.region,
        ),
        _endpoint(destination.region, destination.endpoint_url, destination.addressing_style),
    )


def owner_headers(destination: S3Destination) -> dict[str, str]:
    """``x-amz-expected-bucket-owner`` when the destination names the bucket's owner (sent and signed)."""
    owner = destination.expected_bucket_owner
    return {} if owner is None else {"x-amz-expected-bucket-owner": owner}


def _s3(destination: Destination) -> S3Destination:
    from byos.config import S3Destination  # noqa: PLC0415  (config is heavier than this module needs at load)

    if not isinstance(destination, S3Destination):
        raise InvalidInputError(
            "destination", f"is {destination_kind(destination)}", "pass an S3 destination"
        )
    return destination


# --- presigned uploads ---


def presign_upload(destination: Destination, options: UploadOptions) -> UploadRequest:
    """Presign a PUT (default) or a browser form POST that writes exactly one new object.

    PUT signs ``If-None-Match: *`` unless ``overwrite`` (S3 answers 412 rather than replace an object), the
    Content-Type, size, checksums, SSE-KMS and metadata given. POST pins the exact key, Content-Type,
    metadata and a ``content-length-range``; S3 has no conditional form upload, so POST relies on the key's
    fresh UUID for write-once.

    A size limit (``max_bytes`` or the destination's ``max_upload_bytes``) is a ``content-length-range``
    for POST; a PUT can lock only an exact size, so under a limit a PUT needs ``content_length``.

    Raises:
        InvalidInputError: A bad option, or a PUT without ``content_length`` under a size limit (nothing is
            sent).
        CredentialsError: No credentials, or the role cannot be assumed.
        MissingExtraError: A profile, the default chain or a role needs ``byos[s3]``.
    """
    s3 = _s3(destination)
    _check_put_limit(s3, options)
    credentials = resolve_credentials(s3, now=options.now)
    prepared = prepare(s3, options, credentials_expire_at=credentials.expires_at)
    signer, endpoint = signer_for(s3, credentials)
    if options.method == "POST":
        if s3.expected_bucket_owner is not None:
            raise InvalidInputError(
                "method",
                "a POST form cannot carry x-amz-expected-bucket-owner, so it would not be bound to the "
                "bucket owner's account",
                "use PUT (the default)",
            )
        if options.content_length is not None or options.checksum_sha256 or options.content_md5:
            raise InvalidInputError(
                "method", "a POST form cannot lock the exact length or checksum", "use PUT, or min/max_bytes"
            )
        post = signer.presign_post(
            s3.bucket,
            prepared.key,
            expires=prepared.seconds,
            now=prepared.now,
            endpoint=endpoint,
            content_type=options.content_type,
            min_bytes=options.min_bytes if options.min_bytes is not None else 0,
            max_bytes=prepared.max_bytes if prepared.max_bytes is not None else MAX_UPLOAD_BYTES,
            sse_kms_key_id=s3.sse_kms_key_id,
            metadata=prepared.metadata,
        )
        return UploadRequest(NAME, "POST", post.url, {}, post.fields, prepared.key, post.expires_at)
    if options.min_bytes is not None or (options.max_bytes is not None and options.content_length is None):
        raise InvalidInputError(
            "max_bytes",
            "a presigned PUT cannot enforce a size range",
            "pass content_length, or use method POST",
        )
    put = signer.presign_put(
        s3.bucket,
        prepared.key,
        expires=prepared.seconds,
        now=prepared.now,
        endpoint=endpoint,
        content_type=options.content_type,
        content_length=options.content_length,
        content_md5=options.content_md5,
        checksum_sha256=options.checksum_sha256,
        if_none_match=not options.overwrite,
        sse_kms_key_id=s3.sse_kms_key_id,
        metadata=prepared.metadata,
        expected_bucket_owner=s3.expected_bucket_owner,
    )
    return UploadRequest(NAME, "PUT", put.url, put.headers, {}, prepared.key, put.expires_at)


def _check_put_limit(s3: S3Destination, options: UploadOptions) -> None:
    """Refuse a PUT of unknown size to a destination with ``max_upload_bytes`` (before anything is sent)."""
    limit = s3.max_upload_bytes
    if (
        options.method != "PUT"
        or limit is None
        or options.content_length is not None
        or options.max_bytes is not None  # refused below as a size range a PUT cannot enforce
        or options.probe  # the setup checker's probe: a few bytes sent by byos itself, never by a browser
    ):
        return
    raise InvalidInputError(
        "content_length",
        f"is required: the destination limits uploads to {limit} bytes and a presigned PUT can lock only "
        "an exact size",
        "pass content_length, or use method POST",
    )


# --- multipart uploads ---


def plan_parts(size: int, part_size: int | None = None) -> tuple[int, int]:
    """Choose a part size for an upload of ``size`` bytes: returns ``(part_size, part_count)``.

    Parts are 5 MiB..5 GiB (the last may be smaller) and at most 10,000. The default is 16 MiB, grown in
    whole MiB until the file fits in 10,000 parts.

    Raises:
        InvalidInputError: ``size`` is over 5 TiB, or ``part_size`` breaks S3's limits.
    """
    if not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= MAX_OBJECT_BYTES:
        raise InvalidInputError("size", f"{size!r} is not 1 byte..5 TiB", "S3 objects are at most 5 TiB")
    if part_size is None:
        needed = math.ceil(size / MAX_PART_NUMBER)
        part_size = max(DEFAULT_PART_BYTES, math.ceil(needed / 1024**2) * 1024**2)
    elif (
        isinstance(part_size, bool)
        or not isinstance(part_size, int)
        or not MIN_PART_BYTES <= part_size <= MAX_UPLOAD_BYTES
    ):
        raise InvalidInputError(
            "part_size", f"{part_size} is outside 5 MiB..5 GiB", "choose a part size in range"
        )
    count = math.ceil(size / part_size)
    if count > MAX_PART_NUMBER:
        raise InvalidInputError(
            "part_size",
            f"{part_size} bytes needs {count} parts, over 10000",
            "choose larger parts or omit it",
        )
    return part_size, count


@dataclass(frozen=True, slots=True)
class MultipartUpload:
    """A multipart upload created server side, with every part presigned.

    Attributes:
        key: The object key.
        multipart_id: S3's ``UploadId``.
        part_size: Size of every part but the last.
        size: The whole file's size.
        parts: One presigned PUT per part, in order; the browser sends part ``i`` (1-based) to ``parts[i-1]``
            and keeps each answer's ``ETag`` header for :func:`complete_multipart`.
        expires_at: When the part URLs expire.
    """

    key: str
    multipart_id: str = field(repr=False)
    part_size: int
    size: int
    parts: tuple[UploadRequest, ...] = field(repr=False)
    expires_at: datetime
    signed_at: datetime | None = None


def start_multipart(
    destination: Destination,
    options: UploadOptions,
    size: int,
    *,
    part_size: int | None = None,
    part_checksums: Sequence[str] | None = None,
    timeout: float = http.DEFAULT_TIMEOUT,
) -> MultipartUpload:
    """Create a multipart upload and presign all of its part URLs in one batch.

    With ``part_checksums`` (base64 SHA-256 of each part, in order) the upload is created with
    ``x-amz-checksum-algorithm: SHA256`` and every part URL signs its checksum, so S3 refuses a corrupted
    part.

    Raises:
        InvalidInputError: A bad argument, or ``size`` over ``max_bytes`` (or the destination's
            ``max_upload_bytes``); nothing is sent.
        ProviderError: S3 refused to create the upload.
    """
    s3 = _s3(destination)
    chosen, count = plan_parts(size, part_size)
    limit = options.max_bytes if options.max_bytes is not None else s3.max_upload_bytes
    if limit is not None and size > limit:
        raise InvalidInputError("size", f"{size} is over the limit of {limit} bytes", "split the file")
    if part_checksums is not None and (isinstance(part_checksums, str) or len(part_checksums) != count):
        raise InvalidInputError(
            "part_checksums", f"must list one checksum for each of {count} parts", "hash every part"
        )
    credentials = resolve_credentials(s3, now=options.now)
    prepared = prepare(s3, options, credentials_expire_at=credentials.expires_at)
    signer, endpoint = signer_for(s3, credentials)
    headers: dict[str, str] = {}
    if options.content_type is not None:
        headers["Content-Type"] = options.content_type
    if part_checksums is not None:
        headers["x-amz-checksum-algorithm"] = "SHA256"
    if s3.sse_kms_key_id is not None:
        headers["x-amz-server-side-encryption"] = "aws:kms"
        headers["x-amz-server-side-encryption-aws-kms-key-id"] = s3.sse_kms_key_id
    for name, value in prepared.metadata.items():
        headers[f"x-amz-meta-{name}"] = value
    headers.update(owner_headers(s3))
    object_url = endpoint.object_url(s3.bucket, prepared.key)
    url = signer.presign_url(
        "POST",
        object_url,
        signed_headers={name.lower(): value for name, value in headers.items()},
        query={"uploads": ""},
        expires=SERVER_CALL_EXPIRES,
        now=prepared.now,
    )
    answer = http.send("POST", url, headers=headers, timeout=timeout)
    _raise_for_error(answer, "CreateMultipartUpload")
    multipart_id = http.xml_text(answer.body, "UploadId")
    if not multipart_id:
        raise ProviderError("CreateMultipartUpload: S3 answered without an UploadId")
    multipart_id = checked_upload_id(multipart_id)
    signed = signer.presign_parts(  # every part URL in one call: checks and signing template once
        s3.bucket,
        prepared.key,
        upload_id=multipart_id,
        lengths=[min(chosen, size - index * chosen) for index in range(count)],
        expires=prepared.seconds,
        now=prepared.now,
        endpoint=endpoint,
        checksums=part_checksums,
        expected_bucket_owner=s3.expected_bucket_owner,
    )
    parts = presigner_cache.part_requests(NAME, signed, prepared.key)  # the signers' headers, not copied
    return MultipartUpload(
        prepared.key, multipart_id, chosen, size, tuple(parts), prepared.expires_at, prepared.now
    )


def complete_multipart(
    destination: Destination,
    upload: MultipartUpload,
    etags: Sequence[str],
    *,
    overwrite: bool = False,
    timeout: float = http.DEFAULT_TIMEOUT,
) -> None:
    """Complete ``upload`` with the ETags the browser collected, in part order.

    Write-once unless ``overwrite``: S3 refuses (412) to complete over an existing object.

    Raises:
        InvalidInputError: The ETags do not match the parts (nothing is sent).
        ProviderError: S3 refused to complete.
    """
    require_bool("overwrite", overwrite)
    if isinstance(etags, str) or len(etags) != len(upload.parts):
        raise InvalidInputError(
            "etags", f"got {len(etags)} for {len(upload.parts)} parts", "send one ETag per part, in order"
        )
    body = complete_body(etags)
    complete = presign_complete(destination, upload, overwrite=overwrite)
    answer = http.send("POST", complete.url, headers=complete.headers, body=body, timeout=timeout)
    _raise_for_error(answer, "CompleteMultipartUpload")


def abort_multipart(
    destination: Destination, upload: MultipartUpload, *, timeout: float = http.DEFAULT_TIMEOUT
) -> None:
    """Abort ``upload`` so S3 frees its parts (needs ``s3:AbortMultipartUpload``).

    Raises:
        ProviderError: S3 refused to abort.
    """
    abort = presign_abort(destination, upload)
    answer = http.send("DELETE", abort.url, headers=abort.headers, timeout=timeout)
    if answer.status != 404:  # already gone is what we wanted
        _raise_for_error(answer, "AbortMultipartUpload")


def complete_body(etags: Sequence[str], checksums: Sequence[str] | None = None) -> bytes:
    """The ``CompleteMultipartUpload`` body: every part's number and ETag (quoted), in part order.

    With ``checksums`` (base64 SHA-256 of each part) each part also names its ``ChecksumSHA256``.

    Raises:
        InvalidInputError: A malformed ETag, or checksums that do not match the parts.
    """
    if checksums is not None and len(checksums) != len(etags):
        raise InvalidInputError("checksums", "do not match the parts", "pass one checksum per part")
    body = ["<CompleteMultipartUpload>"]
    for number, etag in enumerate(etags, start=1):
        if not isinstance(etag, str) or not _ETAG.fullmatch(etag):
            raise InvalidInputError(
                "etags", f"part {number} has a malformed ETag", "pass the ETag header as sent"
            )
        quoted = etag if etag.startswith('"') else f'"{etag}"'
        checksum = (
            "" if checksums is None else f"<ChecksumSHA256>{escape(checksums[number - 1])}</ChecksumSHA256>"
        )
        body.append(f"<Part><PartNumber>{number}</PartNumber><ETag>{escape(quoted)}</ETag>{checksum}</Part>")
    body.append("</CompleteMultipartUpload>")
    return "".join(body).encode("utf-8")


def presign_complete(
    destination: Destination,
    upload: MultipartUpload,
    *,
    overwrite: bool = False,
    expires: int = SERVER_CALL_EXPIRES,
    now: datetime | None = None,
) -> UploadRequest:
    """Presign ``CompleteMultipartUpload`` (POST ``?uploadId=``), write-once (``If-None-Match: *`` signed).

    Equal to botocore's ``generate_presigned_url("complete_multipart_upload")`` for the same inputs.
    """
    require_bool("overwrite", overwrite)
    headers = {} if overwrite else {"If-None-Match": "*"}
    return _server_call(destination, upload, "POST", headers, expires=expires, now=now)


def presign_abort(
    destination: Destination,
    upload: MultipartUpload,
    *,
    expires: int = SERVER_CALL_EXPIRES,
    now: datetime | None = None,
) -> UploadRequest:
    """Presign ``AbortMultipartUpload`` (DELETE ``?uploadId=``); needs ``s3:AbortMultipartUpload``.

    Equal to botocore's ``generate_presigned_url("abort_multipart_upload")`` for the same inputs.
    """
    return _server_call(destination, upload, "DELETE", {}, expires=expires, now=now)


def _server_call(
    destination: Destination,
    upload: MultipartUpload,
    method: str,
    headers: Mapping[str, str],
    *,
    expires: int,
    now: datetime | None,
) -> UploadRequest:
    s3 = _s3(destination)
    headers = {**headers, **owner_headers(s3)}
    moment = now or datetime.now(UTC)
    credentials = resolve_credentials(s3, now=moment)
    signer, endpoint = signer_for(s3, credentials)
    if credentials.expires_at is not None:
        expires = max(1, min(expires, math.floor((credentials.expires_at - moment).total_seconds())))
    url = signer.presign_url(
        method,
        endpoint.object_url(s3.bucket, upload.key),
        signed_headers={name.lower(): value for name, value in headers.items()},
        query={"uploadId": upload.multipart_id},
        expires=expires,
        now=moment,
    )
    return UploadRequest(NAME, method, url, headers, {}, upload.key, moment + timedelta(seconds=expires))


def _raise_for_error(answer: http.Response, operation: str) -> None:
    code = http.checked_error_code(http.xml_text(answer.body, "Code")) if answer.body else ""
    if 200 <= answer.status < 300 and not code:
        return
    label = code or f"HTTP {answer.status}"
    hints = {
        "AccessDenied": "grant s3:PutObject (and s3:AbortMultipartUpload) on the prefix; see `byos policy`",
        "PreconditionFailed": "an object with this key exists; write-once uploads never replace it",
        "NoSuchUpload": "the multipart upload was completed or aborted already",
        "SignatureDoesNotMatch": "the secret access key does not match the access key id",
    }
    raise ProviderError(f"{operation}: S3 answered {label}; {hints.get(code, 'see the S3 error code')}")
