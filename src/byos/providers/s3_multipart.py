"""S3 multipart uploads: part sizes, the server-side create, complete and abort, the presigned part URLs."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

from byos import http, presigner_cache
from byos.errors import InvalidInputError, ProviderError
from byos.models import UploadOptions, UploadRequest
from byos.option_types import require_bool
from byos.prepared import prepare
from byos.providers.s3_credentials import NAME, owner_headers, resolve_credentials, s3_destination, signer_for
from byos.signing.sigv4 import MAX_PART_NUMBER, MAX_UPLOAD_BYTES
from byos.upload_answers import checked_upload_id

if TYPE_CHECKING:
    from byos.config import Destination

MIN_PART_BYTES = 5 * 1024**2
DEFAULT_PART_BYTES = 16 * 1024**2
MAX_OBJECT_BYTES = 5 * 1024**4
SERVER_CALL_EXPIRES = 60
_ETAG = re.compile(r'"?[0-9A-Za-z-]{1,64}"?')


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
    s3 = s3_destination(destination)
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
    s3 = s3_destination(destination)
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
