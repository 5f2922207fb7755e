"""GCS endpoints and the unsigned or V4-signed URLs of the setup checker's bucket and object requests."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Final
from urllib.parse import quote, urlsplit

from byos.endpoints import is_loopback_host
from byos.errors import ConfigError, InvalidInputError
from byos.option_types import destination_kind
from byos.providers.gcs_signing import GcsSigning
from byos.signing import goog4

if TYPE_CHECKING:
    from byos.config import Destination, GCSDestination

DEFAULT_ENDPOINT: Final = goog4.DEFAULT_ENDPOINT
SERVER_CALL_EXPIRES: Final = 60


def gcs_destination(destination: Destination) -> GCSDestination:
    """Return ``destination`` as a GCS destination, or refuse it naming what it is."""
    from byos.config import GCSDestination  # noqa: PLC0415  (config is heavier than this module needs at load)

    if not isinstance(destination, GCSDestination):
        raise InvalidInputError(
            "destination", f"is {destination_kind(destination)}", "pass a GCS destination"
        )
    return destination


def endpoint_of(destination: GCSDestination) -> str:
    """Return the destination's ``scheme://host[:port]`` (``https://storage.googleapis.com`` by default).

    Raises:
        ConfigError: ``endpoint_url`` has a path (Cloud Storage URLs are path style from the root).
    """
    endpoint = destination.endpoint_url or DEFAULT_ENDPOINT
    if urlsplit(endpoint).path not in ("", "/"):
        raise ConfigError("endpoint_url", "may not have a path for GCS", "give only scheme://host[:port]")
    return endpoint.rstrip("/")


def is_local(destination: GCSDestination) -> bool:
    """Whether the endpoint is a loopback test server (no Google authentication there)."""
    return is_loopback_host(urlsplit(endpoint_of(destination)).hostname or "")


def object_url(destination: GCSDestination, key: str) -> str:
    """The unsigned path-style URL of an object."""
    return f"{endpoint_of(destination)}/{destination.bucket}/{quote(key, safe='/~')}"


def bucket_url(destination: GCSDestination) -> str:
    """The unsigned path-style URL of the bucket (the XML API's listing)."""
    return f"{endpoint_of(destination)}/{destination.bucket}"


def presign_bucket_url(
    signing: GcsSigning,
    destination: GCSDestination,
    method: str,
    *,
    query: Mapping[str, str] | None = None,
    expires: int = SERVER_CALL_EXPIRES,
    now: datetime | None = None,
) -> str:
    """Return a V4 signed URL for a bucket-level XML API request (``GET /BUCKET?location``, a listing).

    Equal to google-cloud-storage's ``Bucket.generate_signed_url(version="v4")`` for the same inputs; only
    ``host`` is signed.
    """
    if method not in ("GET", "HEAD", "DELETE", "PUT", "POST"):
        raise InvalidInputError(
            "method", f"{method!r} is not supported", "use GET, HEAD, DELETE, PUT or POST"
        )
    if type(expires) is not int or not 1 <= expires <= goog4.MAX_EXPIRES:
        raise InvalidInputError("expires", f"{expires!r} is out of range", "use 1 to 604800 seconds")
    signer = signing.signer
    parts = urlsplit(endpoint_of(destination))
    default_port = 443 if parts.scheme == "https" else 80
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    if parts.port is not None and parts.port != default_port:
        host = f"{host}:{parts.port}"
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    timestamp = moment.strftime("%Y%m%dT%H%M%SZ")
    datestamp = timestamp[:8]
    scope = f"{datestamp}/auto/storage/goog4_request"
    pairs = [
        f"X-Goog-Algorithm={signer.algorithm}",
        f"X-Goog-Credential={quote(f'{signer.client_id}/{scope}', safe='~')}",
        f"X-Goog-Date={timestamp}",
        f"X-Goog-Expires={expires}",
        "X-Goog-SignedHeaders=host",
    ]
    pairs += [f"{quote(name, safe='~')}={quote(value, safe='~')}" for name, value in (query or {}).items()]
    canonical_query = "&".join(sorted(pairs))
    resource = f"/{destination.bucket}"
    canonical = "\n".join((method, resource, canonical_query, f"host:{host}\n", "host", "UNSIGNED-PAYLOAD"))
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    string_to_sign = f"{signer.algorithm}\n{timestamp}\n{scope}\n{digest}"
    signature = signer.sign(string_to_sign.encode("ascii"), datestamp).hex()
    return f"{parts.scheme}://{host}{resource}?{canonical_query}&X-Goog-Signature={signature}"


def presign_object_url(
    signing: GcsSigning,
    destination: GCSDestination,
    method: str,
    key: str,
    *,
    headers: Mapping[str, str] | None = None,
    expires: int = SERVER_CALL_EXPIRES,
    now: datetime | None = None,
) -> str:
    """Return a V4 signed URL for ``method`` on one object (the checker's read and delete attempts)."""
    return goog4.presign_url(
        signing.signer,
        method,
        destination.bucket,
        key,
        signed_headers=headers,
        expires=expires,
        now=now,
        endpoint=endpoint_of(destination),
    )
