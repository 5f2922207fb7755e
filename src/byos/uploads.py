"""Presign write-only uploads on any provider: the one function import services call.

:func:`presign_upload` works on every destination alike; what belongs to one provider (multipart on S3,
block uploads on Azure, resumable uploads on GCS) lives in that provider's module.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Literal

from byos.models import UploadOptions, UploadRequest
from byos.option_types import require_destination
from byos.prepared import MAX_LIFETIME, ORIGINAL_FILENAME, Prepared, prepare
from byos.presigner_cache import fast_request
from byos.providers import get_provider

if TYPE_CHECKING:
    from datetime import datetime, timedelta

    from byos.config import Destination

__all__ = ["MAX_LIFETIME", "ORIGINAL_FILENAME", "Prepared", "prepare", "presign_upload"]


def presign_upload(
    destination: Destination,
    filename: str,
    *,
    content_type: str | None = None,
    content_length: int | None = None,
    min_bytes: int | None = None,
    max_bytes: int | None = None,
    checksum_sha256: str | None = None,
    content_md5: str | None = None,
    overwrite: bool = False,
    expires: timedelta | None = None,
    method: Literal["PUT", "POST"] = "PUT",
    upload_id: str | None = None,
    import_id: str | None = None,
    metadata: Mapping[str, str] | None = None,
    now: datetime | None = None,
) -> UploadRequest:
    """Presign one upload that can write exactly one new object and nothing else.

    The key comes from the destination's layout (the file name sanitised); the original name is kept in the
    object's metadata. Every option is signed, so a client that deviates is refused. See
    :class:`~byos.models.UploadOptions` for the meaning of each argument.

    Returns:
        The request to hand the browser: method, URL, headers to send, form fields (POST), key and the true
        expiry (never past the credentials' own expiry).

    Raises:
        InvalidInputError: A bad argument (nothing is sent).
        CredentialsError: No usable credentials, or they expire too soon.
        MissingExtraError: The credentials need an SDK that is not installed.
    """
    fast = fast_request(
        destination,
        filename,
        content_type=content_type,
        content_length=content_length,
        overwrite=overwrite,
        expires=expires,
        now=now,
        plain=method == "PUT"
        and min_bytes is None
        and max_bytes is None
        and checksum_sha256 is None
        and content_md5 is None
        and upload_id is None
        and import_id is None
        and (metadata is None or (metadata.__class__ is dict and not metadata)),
    )
    if fast is not None:  # a destination compiled once; byte for byte what the general path returns
        return fast
    require_destination(destination)
    options = UploadOptions(
        filename=filename,
        content_type=content_type,
        content_length=content_length,
        min_bytes=min_bytes,
        max_bytes=max_bytes,
        checksum_sha256=checksum_sha256,
        content_md5=content_md5,
        overwrite=overwrite,
        expires=expires,
        method=method,
        upload_id=upload_id,
        import_id=import_id,
        metadata={} if metadata is None else metadata,
        now=now,
    )
    return get_provider(destination.provider).presign_upload(destination, options)
