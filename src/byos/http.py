"""A minimal HTTP client on the standard library for the few server-side calls byos makes itself.

Every call has a timeout. Responses of any status are returned, not raised; only transport failures raise
(:class:`~byos.errors.ProviderTimeoutError` for time-outs, :class:`~byos.errors.ProviderError` otherwise),
with the URL redacted: presigned URLs are bearer tokens.
"""

from __future__ import annotations

import http.client
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from byos.errors import ProviderError, ProviderTimeoutError
from byos.redaction import redact_url

DEFAULT_TIMEOUT = 10.0
MAX_BODY_BYTES = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Response:
    """An HTTP response: status, headers (lower-cased names) and at most 1 MiB of body."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    def header(self, name: str, default: str = "") -> str:
        """Return one header's value by case-insensitive name."""
        return self.headers.get(name.lower(), default)

    def error_code(self) -> str:
        """The error code: Azure's ``x-ms-error-code`` header, else the XML ``<Code>`` ("" if none)."""
        return self.header("x-ms-error-code") or xml_text(self.body, "Code")[:64]


def xml_text(body: bytes, tag: str) -> str:
    """The text of the first ``tag`` element (any namespace) of an XML answer, or "" when there is none."""
    if not body.lstrip().startswith(b"<"):
        return ""
    import xml.etree.ElementTree as ET  # noqa: PLC0415  (only error and multipart answers are parsed)

    try:
        root = ET.fromstring(body)  # noqa: S314  (a storage service's answer; expat refuses entity expansion bombs)
    except ET.ParseError:
        return ""
    for element in root.iter():
        if element.tag.rpartition("}")[2] == tag:
            return (element.text or "").strip()
    return ""


def send(
    method: str,
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    body: bytes | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> Response:
    """Send one request and return the response, whatever its status.

    Raises:
        ProviderTimeoutError: The server did not answer within ``timeout`` seconds.
        ProviderError: The connection failed.
    """
    parts = urlsplit(url)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    shown = f"{method} {redact_url(url)}"
    connection: http.client.HTTPConnection | None = None
    # Messages are built from the exception's type (and errno) only, and the cause is dropped: http.client
    # quotes the request target, signature included, in some of its messages.
    try:
        connection_class = (
            http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        )
        connection = connection_class(parts.netloc, timeout=timeout)
        connection.request(method, target, body=body, headers=dict(headers or {}))
        response = connection.getresponse()
        data = response.read(MAX_BODY_BYTES)
        found = {name.lower(): value for name, value in response.getheaders()}
        return Response(response.status, found, data)
    except TimeoutError:
        raise ProviderTimeoutError(f"{shown}: no answer within {timeout:g}s") from None
    except (OSError, http.client.HTTPException, ValueError) as exc:
        errno = getattr(exc, "errno", None)
        detail = type(exc).__name__ + (f" (errno {errno})" if errno else "")
        raise ProviderError(f"{shown}: {detail}") from None
    finally:
        if connection is not None:
            connection.close()
