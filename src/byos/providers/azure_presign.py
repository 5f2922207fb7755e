"""Azure single-shot uploads: the create-only Put Blob SAS, its option checks and metadata names."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from datetime import timedelta
from typing import TYPE_CHECKING

from byos.errors import InvalidInputError
from byos.models import UploadOptions, UploadRequest
from byos.prepared import prepare
from byos.providers.azure_delegation import AzureSigning, resolve_signing
from byos.providers.azure_entra import NAME, azure_destination

if TYPE_CHECKING:
    from byos.config import AzureDestination, Destination

_IDENTIFIER_START = frozenset("abcdefghijklmnopqrstuvwxyz_")
_MD5_BYTES = 16


def presign_upload(destination: Destination, options: UploadOptions) -> UploadRequest:
    """Presign a PUT (Put Blob) that creates exactly one new blob.

    The returned headers are what the client must send: ``x-ms-blob-type: BlockBlob``, ``If-None-Match: *``
    (unless ``overwrite``), ``x-ms-blob-content-type`` (with ``content_type``), ``Content-MD5`` (with
    ``content_md5``) and ``x-ms-meta-*`` (the original file name as ``x-ms-meta-original_filename``).

    Raises:
        InvalidInputError: POST, a size limit, a SHA-256 checksum or another bad option (nothing is sent).
        ConfigError: A stored access policy without an account key.
        CredentialsError: No delegation key could be had.
        MissingExtraError: User delegation needs ``byos[azure]``.
    """
    azure = azure_destination(destination)
    check_options(options)
    if options.content_md5 is not None:
        _check_md5(options.content_md5)
    signing = signing_for(azure, options)
    prepared = prepare(azure, options, credentials_expire_at=signing.expires_at)
    headers = {"x-ms-blob-type": "BlockBlob"}
    if not options.overwrite:
        headers["If-None-Match"] = "*"
    if options.content_type is not None:
        headers["x-ms-blob-content-type"] = options.content_type
    if options.content_md5 is not None:
        headers["Content-MD5"] = options.content_md5
    headers.update(metadata_headers(prepared.metadata))
    sas = signing.signer.sign(
        azure.container,
        prepared.key,
        now=prepared.now,
        expires=timedelta(seconds=prepared.seconds),
        overwrite=options.overwrite,
        stored_access_policy=azure.stored_access_policy,
    )
    assert sas.expires_at is not None  # noqa: S101  (byos always signs the expiry itself)
    return UploadRequest(NAME, "PUT", sas.url, headers, {}, prepared.key, sas.expires_at)


def signing_for(azure: AzureDestination, options: UploadOptions) -> AzureSigning:
    """How an upload signs, after every option is checked (before any delegation key is fetched)."""
    if azure.account_key is None:
        prepare(azure, options)  # every option is checked before a delegation key is fetched
    lifetime = azure.expires if options.expires is None else options.expires
    return resolve_signing(azure, lifetime=lifetime, now=options.now)


def check_options(options: UploadOptions) -> None:
    """Refuse what an Azure SAS cannot do: POST, size limits, SHA-256 checksums, a malformed Content-Type."""
    if options.method == "POST":
        raise InvalidInputError(
            "method", "Azure Blob Storage has no browser form (POST) upload", "use PUT (the default)"
        )
    for name in ("content_length", "min_bytes", "max_bytes"):
        if getattr(options, name) is not None:
            raise InvalidInputError(
                name,
                "an Azure SAS cannot limit the upload's size (it signs no headers)",
                "drop it and check the blob's size after the upload",
            )
    if options.checksum_sha256 is not None:
        raise InvalidInputError(
            "checksum_sha256",
            "Azure Put Blob does not verify SHA-256 checksums",
            "pass content_md5 instead (Azure verifies it)",
        )
    content_type = options.content_type
    if content_type is not None and (
        not content_type
        or not content_type.isascii()
        or not content_type.isprintable()
        or content_type.strip() != content_type
    ):
        raise InvalidInputError(
            "content_type",
            "must be printable ASCII without surrounding spaces",
            "pass a MIME type like text/csv",
        )


def _check_md5(value: str) -> None:
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError, TypeError):
        raw = b""
    if len(raw) != _MD5_BYTES:
        raise InvalidInputError(
            "content_md5", "is not the base64 of a 16-byte MD5 digest", "pass base64(md5(body).digest())"
        )


def metadata_name(name: str) -> str:
    """Return the Azure form of a byos metadata name: ``-`` becomes ``_`` (Azure wants C# identifiers).

    Raises:
        InvalidInputError: The name cannot become an identifier (it starts with a digit).
    """
    converted = name.lower().replace("-", "_")
    if not converted or converted[0] not in _IDENTIFIER_START:
        raise InvalidInputError(
            "metadata", f"name {name!r} starts with a digit, which Azure refuses", "start it with a letter"
        )
    return converted


def metadata_headers(metadata: Mapping[str, str]) -> dict[str, str]:
    """Return ``x-ms-meta-*`` headers for byos metadata (names through :func:`metadata_name`)."""
    return {f"x-ms-meta-{metadata_name(name)}": value for name, value in metadata.items()}
