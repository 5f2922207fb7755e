"""GCS write-only uploads: the V4-signed PUT, the browser form POST and the start of a resumable upload."""

from __future__ import annotations

import base64
import binascii
import re
from typing import TYPE_CHECKING, Final

from byos.errors import InvalidInputError
from byos.models import UploadOptions, UploadRequest
from byos.prepared import Prepared, prepare
from byos.providers.gcs_signing import resolve_signing
from byos.providers.gcs_urls import endpoint_of, gcs_destination
from byos.signing import goog4

if TYPE_CHECKING:
    from byos.config import Destination

NAME = "gcs"
MAX_OBJECT_BYTES: Final = 5 * 1024**4

_CONTENT_TYPE = re.compile(r"[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?")


def presign_upload(destination: Destination, options: UploadOptions) -> UploadRequest:
    """Presign a PUT (default) or a browser form POST that writes exactly one new object.

    PUT signs every header the client must send: ``Content-Type`` (when given), ``Content-MD5`` (when
    given), ``x-goog-if-generation-match: 0`` unless ``overwrite`` (Cloud Storage answers 412 rather than
    replace an object), ``x-goog-content-length-range: MIN,MAX`` (from ``content_length``, ``min_bytes``,
    ``max_bytes`` or the destination's ``max_upload_bytes``) and ``x-goog-meta-*`` (the original file name
    first). POST (policy v4) pins the exact key, ``Content-Type``, the metadata and a
    ``content-length-range``; a form upload has no write-once condition on Cloud Storage, so it relies on
    the key's fresh UUID.

    Raises:
        InvalidInputError: A bad option (nothing is sent). ``checksum_sha256`` is refused: Cloud Storage's
            XML API has no SHA-256 header (use ``content_md5``).
        CredentialsError: No usable credentials, or signBlob was refused.
        MissingExtraError: Keyless signing or default credentials need ``byos[gcs]``.
    """
    gcs = gcs_destination(destination)
    _check_options(options)
    prepared = prepare(gcs, options)
    length = _length_range(options, prepared)
    endpoint = endpoint_of(gcs)
    if options.method == "POST":
        if options.content_md5 is not None:
            raise InvalidInputError(
                "content_md5", "a POST form cannot lock a checksum", "use method PUT with content_md5"
            )
        low, high = length or (0, MAX_OBJECT_BYTES)
        fields: dict[str, str] = {}
        if options.content_type is not None:
            fields["Content-Type"] = options.content_type
        fields.update({f"x-goog-meta-{name}": value for name, value in prepared.metadata.items()})
        signing = resolve_signing(gcs)
        url, form = goog4.presign_post(
            signing.signer,
            gcs.bucket,
            prepared.key,
            conditions=[goog4.content_length_range(low, high)],
            fields=fields,
            expires=prepared.seconds,
            now=prepared.now,
            endpoint=endpoint,
        )
        return UploadRequest(NAME, "POST", url, {}, form, prepared.key, prepared.expires_at)
    headers = _upload_headers(options, prepared, length, resumable=False)
    signing = resolve_signing(gcs)
    url = goog4.presign_url(
        signing.signer,
        "PUT",
        gcs.bucket,
        prepared.key,
        signed_headers=headers,
        expires=prepared.seconds,
        now=prepared.now,
        endpoint=endpoint,
    )
    return UploadRequest(NAME, "PUT", url, headers, {}, prepared.key, prepared.expires_at)


def start_resumable(destination: Destination, options: UploadOptions) -> UploadRequest:
    """Presign the start of a resumable upload: ``POST`` with ``x-goog-resumable: start``.

    The browser sends the returned request with an empty body and exactly the returned headers; Cloud Storage
    answers ``201 Created`` with the session URI in ``Location``. The browser then sends the file to
    that URI with ``PUT`` in chunks (multiples of 256 KiB but the last), each with
    ``Content-Range: bytes A-B/TOTAL``, and gets ``308`` until the upload is complete. Content type,
    metadata, the size range and write-once (``x-goog-if-generation-match: 0`` unless ``overwrite``) are
    fixed by the signed start.

    Raises:
        InvalidInputError: A bad option, ``content_md5`` (the start has no body to hash), or ``method`` other
            than PUT (nothing is sent).
        CredentialsError: No usable credentials, or signBlob was refused.
    """
    gcs = gcs_destination(destination)
    if options.method != "PUT":
        raise InvalidInputError("method", "a resumable upload signs its own POST", "leave method at PUT")
    if options.content_md5 is not None:
        raise InvalidInputError(
            "content_md5", "cannot be locked on a resumable upload", "use presign_upload for one PUT"
        )
    _check_options(options)
    prepared = prepare(gcs, options)
    headers = _upload_headers(options, prepared, _length_range(options, prepared), resumable=True)
    signing = resolve_signing(gcs)
    url = goog4.presign_url(
        signing.signer,
        "POST",
        gcs.bucket,
        prepared.key,
        signed_headers=headers,
        expires=prepared.seconds,
        now=prepared.now,
        endpoint=endpoint_of(gcs),
    )
    return UploadRequest(NAME, "POST", url, headers, {}, prepared.key, prepared.expires_at)


def _check_options(options: UploadOptions) -> None:
    """Refuse what Cloud Storage cannot enforce, naming the option."""
    if options.checksum_sha256 is not None:
        raise InvalidInputError(
            "checksum_sha256",
            "Cloud Storage's XML API has no SHA-256 checksum header",
            "pass content_md5 (base64 MD5) instead",
        )
    if options.content_type is not None and (
        not isinstance(options.content_type, str) or _CONTENT_TYPE.fullmatch(options.content_type) is None
    ):
        raise InvalidInputError(
            "content_type", "must be printable ASCII without line breaks", "pass a media type like text/csv"
        )
    if options.content_md5 is not None:
        try:
            digest = base64.b64decode(options.content_md5, validate=True)
        except (binascii.Error, ValueError, TypeError):
            digest = b""
        if len(digest) != 16:
            raise InvalidInputError(
                "content_md5", "is not a base64 MD5 digest", "pass base64 of the 16-byte MD5"
            )


def _length_range(options: UploadOptions, prepared: Prepared) -> tuple[int, int] | None:
    """The ``(min, max)`` size range to sign, or None when nothing limits the size."""
    if options.content_length is not None:
        if options.min_bytes is not None and options.content_length < options.min_bytes:
            raise InvalidInputError(
                "content_length", f"is below min_bytes ({options.min_bytes})", "fix the size limits"
            )
        if options.content_length > MAX_OBJECT_BYTES:
            raise InvalidInputError(
                "content_length", "is over 5 TiB", "Cloud Storage objects are at most 5 TiB"
            )
        return options.content_length, options.content_length
    if options.min_bytes is None and prepared.max_bytes is None:
        return None
    low = options.min_bytes or 0
    high = MAX_OBJECT_BYTES if prepared.max_bytes is None else min(prepared.max_bytes, MAX_OBJECT_BYTES)
    if low > high:
        raise InvalidInputError(
            "min_bytes", f"is above the size limit of {high} bytes", "fix the size limits"
        )
    return low, high


def _upload_headers(
    options: UploadOptions, prepared: Prepared, length: tuple[int, int] | None, *, resumable: bool
) -> dict[str, str]:
    """The headers the client sends, exactly as signed."""
    headers: dict[str, str] = {"x-goog-resumable": "start"} if resumable else {}
    if options.content_type is not None:
        headers["Content-Type"] = options.content_type
    if options.content_md5 is not None:
        headers["Content-MD5"] = options.content_md5
    if not options.overwrite:
        headers["x-goog-if-generation-match"] = "0"
    if length is not None:
        headers["x-goog-content-length-range"] = f"{length[0]},{length[1]}"
    for name, value in prepared.metadata.items():
        headers[f"x-goog-meta-{name}"] = value
    return headers
