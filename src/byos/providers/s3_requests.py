"""S3 control-plane requests the setup checker makes itself: SigV4 header-signed, bounded transport.

They replace SDK calls whose answers could not be bounded (an endless body once took a check to 9.5 GB):
every answer here is capped by :mod:`byos.http`, and the caller's transport keeps the deadline.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING

from byos import http
from byos.providers.s3 import AwsCredentials, owner_headers, signer_for

if TYPE_CHECKING:
    from byos.config import S3Destination

Send = Callable[..., http.Response]


def request(
    destination: S3Destination,
    credentials: AwsCredentials,
    method: str,
    *,
    send: Send,
    now: datetime,
    key: str | None = None,
    query: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> http.Response:
    """Sign and send one request on the bucket (or on ``key`` in it); returns the answer, whatever its status.

    Args:
        destination: The S3 destination (bucket, region, endpoint, addressing style).
        credentials: Who signs.
        method: HTTP method.
        send: Sends the request (the checker's deadline-keeping transport).
        now: The signing time.
        key: An object key, or None for the bucket itself.
        query: Operation parameters, e.g. ``{"location": ""}``.
        headers: Extra headers to send and sign (e.g. ``Range``).
    """
    signer, endpoint = signer_for(destination, credentials)
    if key is None:
        url = endpoint.post_url(destination.bucket)
    else:
        url = endpoint.object_url(destination.bucket, key)
    sent = {**(headers or {}), **owner_headers(destination)}  # every request names the bucket's owner
    target, signed = signer.sign_request(method, url, query=query, headers=sent, now=now)
    return send(method, target, headers=signed)


def error_code(answer: http.Response) -> str | None:
    """None for a success, else S3's error code (the XML ``<Code>``, or the HTTP status)."""
    code = answer.error_code()
    if 200 <= answer.status < 300 and not code:
        return None
    return code or str(answer.status)
