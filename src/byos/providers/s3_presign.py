"""S3 single-shot uploads: the write-once presigned PUT and the browser form POST."""

from __future__ import annotations

from typing import TYPE_CHECKING

from byos.errors import InvalidInputError
from byos.models import UploadOptions, UploadRequest
from byos.prepared import prepare
from byos.providers.s3_credentials import NAME, resolve_credentials, s3_destination, signer_for
from byos.signing.sigv4 import MAX_UPLOAD_BYTES

if TYPE_CHECKING:
    from byos.config import Destination, S3Destination


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
    s3 = s3_destination(destination)
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
