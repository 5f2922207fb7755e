"""The bounded HTTP client of every byos network call: a total deadline, a size cap, no redirects.

Each call ends within ``timeout`` seconds of wall-clock time whatever the server does: the DNS lookup, the
connection, the TLS handshake, sending, and every read of the status line, headers and body share one
deadline, so a server that drips one byte at a time, floods ``100 Continue`` or accepts and hangs is cut off.
Bodies are capped at :data:`MAX_BODY_BYTES` (a larger ``Content-Length`` is refused before reading; an endless
body is refused after the cap). Redirects are never followed. Addresses are checked against the endpoint
policy (:mod:`byos.endpoints`) after resolution, and the connection goes to the checked address while TLS
still verifies the certificate for the host name.

Responses of any status are returned, not raised; only transport failures raise
(:class:`~byos.errors.ProviderTimeoutError` for time-outs, :class:`~byos.errors.ProviderError` otherwise),
with the URL redacted: presigned URLs are bearer tokens.
"""

from __future__ import annotations

import http.client
import io
import os
import socket
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from byos import endpoints
from byos.endpoints import allow_private_endpoints, private_endpoints_allowed
from byos.errors import ProviderError, ProviderTimeoutError
from byos.redaction import redact_url

__all__ = [
    "DEFAULT_TIMEOUT",
    "MAX_BODY_BYTES",
    "Response",
    "allow_private_endpoints",
    "checked_error_code",
    "private_endpoints_allowed",
    "send",
    "xml_text",
]


class ConnectionLostError(ProviderError):
    """The connection failed, was refused or reset, or the answer broke off: worth retrying."""


DEFAULT_TIMEOUT = 10.0
MAX_BODY_BYTES = 1024 * 1024
_NO_BODY_STATUSES = frozenset({204, 304})


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
        """The error code: Azure's ``x-ms-error-code`` header, else the XML ``<Code>`` ("" if none).

        At most 64 characters, so a hostile server's code never fills a message (terminal output strips
        its control characters; JSON output keeps it exact).
        """
        return checked_error_code(self.header("x-ms-error-code") or xml_text(self.body, "Code"))


MAX_ERROR_CODE_CHARS = 64


def checked_error_code(code: str) -> str:
    """``code`` cut to :data:`MAX_ERROR_CODE_CHARS` characters (storage services' codes are shorter)."""
    return code[:MAX_ERROR_CODE_CHARS]


def xml_text(body: bytes, tag: str) -> str:
    """The text of the first ``tag`` element (any namespace) of an XML answer, or "" when there is none."""
    if not body.lstrip().startswith(b"<") or b"<!DOCTYPE" in body.upper():
        return ""  # no storage service answers with a DTD: its entities are never expanded
    import xml.etree.ElementTree as ET  # noqa: PLC0415  (only error and multipart answers are parsed)

    try:
        root = ET.fromstring(body)  # noqa: S314  (a storage service's answer; expat refuses entity expansion bombs)
    except ET.ParseError:
        return ""
    for element in root.iter():
        if element.tag.rpartition("}")[2] == tag:
            return (element.text or "").strip()
    return ""


class _TooLargeError(Exception):
    """The answer is larger than the cap."""


class _Deadline:
    """A monotonic deadline shared by every step of one call."""

    __slots__ = ("at",)

    def __init__(self, seconds: float) -> None:
        self.at = time.monotonic() + seconds

    def left(self) -> float:
        """Seconds left; raises TimeoutError when none are."""
        left = self.at - time.monotonic()
        if left <= 0:
            raise TimeoutError("deadline")
        return left


class _DeadlineReader(io.RawIOBase):
    """Reads from a socket, each read bounded by the time left before the call's deadline."""

    def __init__(self, sock: socket.socket, deadline: _Deadline) -> None:
        self._sock = sock
        self._deadline = deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        self._sock.settimeout(self._deadline.left())
        return self._sock.recv_into(buffer)


class _DeadlineSocket:
    """The little of a socket http.client uses, with every send and read bounded by the deadline."""

    def __init__(self, sock: socket.socket, deadline: _Deadline) -> None:
        self._sock = sock
        self._deadline = deadline

    def sendall(self, data: bytes) -> None:
        self._sock.settimeout(self._deadline.left())
        self._sock.sendall(data)

    def makefile(self, mode: str) -> io.BufferedReader:
        assert mode == "rb"  # noqa: S101  (http.client reads responses only)
        return io.BufferedReader(_DeadlineReader(self._sock, self._deadline))

    def close(self) -> None:
        """Nothing: http.client closes before the body is read; :meth:`_Connection.release` closes."""


_tls_contexts: dict[tuple[str | None, str | None], ssl.SSLContext] = {}


def _tls_context() -> ssl.SSLContext:
    """The default verifying TLS context (honours ``SSL_CERT_FILE``, ``SSL_CERT_DIR``), once per setting."""
    key = (os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))
    context = _tls_contexts.get(key)
    if context is None:
        context = _tls_contexts[key] = ssl.create_default_context()
    return context


class _Connection(http.client.HTTPConnection):
    """One connection to a policy-checked address, TLS verified for the URL's host name."""

    def __init__(self, scheme: str, host: str, port: int, addresses: list[str], deadline: _Deadline) -> None:
        super().__init__(host, port, timeout=deadline.left())
        self.default_port = 443 if scheme == "https" else 80
        self._tls = scheme == "https"
        self._addresses = addresses
        self._deadline = deadline
        self._raw: socket.socket | None = None

    def release(self) -> None:
        """Close the connection and its socket."""
        self.close()
        if self._raw is not None:
            self._raw.close()
            self._raw = None

    def connect(self) -> None:
        error: OSError | None = None
        for address in self._addresses:
            try:
                raw = socket.create_connection((address, self.port), timeout=self._deadline.left())
            except TimeoutError:
                raise
            except OSError as exc:
                error = exc
                continue
            break
        else:
            raise error or OSError("no address")
        try:
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self._tls:
                raw.settimeout(self._deadline.left())  # the handshake as a whole is bounded by it
                raw = _tls_context().wrap_socket(raw, server_hostname=self.host)
        except BaseException:
            raw.close()
            raise
        self._raw = raw
        self.sock = _DeadlineSocket(raw, self._deadline)


def send(
    method: str,
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    body: bytes | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    max_body: int = MAX_BODY_BYTES,
) -> Response:
    """Send one request and return the response, whatever its status; never follows a redirect.

    Args:
        method: The HTTP method.
        url: The full URL (a presigned one is never shown unredacted).
        headers: Request headers.
        body: Request body.
        timeout: Total seconds for the whole call: resolving, connecting, sending and reading everything.
        max_body: Largest body accepted, in bytes; a larger answer is refused.

    Raises:
        ProviderTimeoutError: The call did not complete within ``timeout`` seconds.
        ProviderError: The connection failed, the endpoint policy refused the address, or the answer was
            malformed or larger than ``max_body``.
    """
    shown = f"{method} {redact_url(url)}"
    connection: _Connection | None = None
    # Messages are built from the exception's type only, and the cause is dropped: http.client quotes the
    # request target, signature included, in some of its messages.
    try:
        connection = _connect(url, _Deadline(max(timeout, 0.0)))
        return _exchange(connection, method, url=url, headers=headers, body=body, max_body=max_body)
    except ProviderError as exc:
        raise type(exc)(f"{shown}: {exc}") from None
    except _TooLargeError:
        raise ProviderError(f"{shown}: the answer is larger than {max_body} bytes; refused") from None
    except TimeoutError:
        raise ProviderTimeoutError(f"{shown}: no answer within {timeout:g}s") from None
    except socket.gaierror:
        raise ProviderError(f"{shown}: cannot resolve {urlsplit(url).hostname}") from None
    except ssl.SSLCertVerificationError:
        raise ProviderError(f"{shown}: the TLS certificate could not be verified for the host") from None
    except ConnectionRefusedError:
        raise ConnectionLostError(f"{shown}: connection refused") from None
    except (OSError, http.client.HTTPException, ValueError) as exc:
        errno = getattr(exc, "errno", None)
        detail = type(exc).__name__ + (f" (errno {errno})" if errno else "")
        lost = isinstance(exc, ConnectionError | http.client.RemoteDisconnected | http.client.IncompleteRead)
        raise (ConnectionLostError if lost else ProviderError)(f"{shown}: {detail}") from None
    finally:
        if connection is not None:
            connection.release()


def _connect(url: str, deadline: _Deadline) -> _Connection:
    """Resolve and check the URL's host; return an unopened connection to its checked addresses."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme not in ("http", "https") or not host:
        raise ProviderError("not an http(s) URL")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    addresses = endpoints.checked_addresses(host, port, parts.scheme, deadline.at)
    return _Connection(parts.scheme, host, port, addresses, deadline)


def _exchange(
    connection: _Connection,
    method: str,
    *,
    url: str,
    headers: Mapping[str, str] | None,
    body: bytes | None,
    max_body: int,
) -> Response:
    """Send the request and read the answer, refusing one over ``max_body`` bytes."""
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    connection.request(method, target, body=body, headers=dict(headers or {}))
    response = connection.getresponse()
    found = {name.lower(): value for name, value in response.getheaders()}
    data = b""
    if method != "HEAD" and response.status not in _NO_BODY_STATUSES:
        if response.length is not None and response.length > max_body:
            raise _TooLargeError
        data = response.read(max_body + 1)
        if len(data) > max_body:
            raise _TooLargeError
    return Response(response.status, found, data)
