"""Blob URLs under a SAS: the blob service endpoint, the encoded blob path and the signed URL (BlobSas)."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple
from urllib.parse import quote, urlsplit

from byos.redaction import redact_url
from byos.signing.sas_blocks import put_block_list_url, put_block_url
from byos.signing.sas_rules import _ASCII_PATH_QUOTES, _SERVICE_URL_SUFFIX, _invalid

__all__ = ["BlobSas", "blob_path", "parse_blob_endpoint"]


class BlobSas(NamedTuple):
    """A signed URL for one blob.

    Attributes:
        url: The blob URL with the SAS token as its query. A bearer token: ``repr`` shows it redacted.
        token: The SAS token alone (no leading ``?``).
        permission: The signed permission (``c`` or ``cw``), or None when the stored access policy sets it.
        starts_at: When the SAS starts to work (``st``), or None when it works at once.
        expires_at: When the SAS stops working (``se``), or None when the stored access policy sets it.
    """

    url: str
    token: str
    permission: str | None
    starts_at: datetime | None
    expires_at: datetime | None

    def __repr__(self) -> str:
        return (
            f"BlobSas(url={redact_url(self.url)!r}, permission={self.permission!r}, "
            f"starts_at={self.starts_at!r}, expires_at={self.expires_at!r})"
        )

    def put_block_url(self, block_id_value: str) -> str:
        """Return the Put Block URL (``comp=block&blockid=…``) for this blob under the same SAS."""
        return put_block_url(self.url, block_id_value)

    def put_block_list_url(self) -> str:
        """Return the Put Block List URL (``comp=blocklist``) for this blob under the same SAS."""
        return put_block_list_url(self.url)


def blob_path(blob_name: str) -> str:
    """Return a checked blob name encoded for the URL path, as ``BlobClient(...).url`` encodes it."""
    return blob_name.translate(_ASCII_PATH_QUOTES) if blob_name.isascii() else quote(blob_name, safe="~/")


def parse_blob_endpoint(endpoint: str | None, account_name: str) -> str:
    """Return the blob service URL without a trailing slash; None gives the account's Azure endpoint.

    Raises:
        InvalidInputError: The endpoint is not an http(s) URL with a host, carries a query, fragment or user
            name, or is an Azure blob service URL with a path.
    """
    if endpoint is None:
        return f"https://{account_name}{_SERVICE_URL_SUFFIX}"
    fix = "use https://ACCOUNT.blob.core.windows.net, or http://127.0.0.1:PORT/ACCOUNT for a local server"
    if not isinstance(endpoint, str):
        raise _invalid("endpoint", "must be a URL string", fix)
    try:
        parts = urlsplit(endpoint.strip())
    except ValueError:
        raise _invalid("endpoint", "is not a valid URL", fix) from None
    scheme = parts.scheme.lower()
    if scheme not in {"http", "https"} or not parts.netloc:
        raise _invalid("endpoint", "must be an http:// or https:// URL with a host", fix)
    if parts.query or parts.fragment or "@" in parts.netloc:
        raise _invalid("endpoint", "must not contain a query, fragment or user name", fix)
    path = parts.path.rstrip("/")
    if path and ".blob.core." in parts.netloc:
        raise _invalid("endpoint", "an Azure blob service URL takes no path", fix)
    return f"{scheme}://{parts.netloc}{path}"
