"""Small HTTP stubs on 127.0.0.1 for faults no real storage server produces: refusals, silence, throttling.

- :func:`refusing_port`: a port where connections are refused (bound, never listening).
- :class:`SilentServer`: accepts connections and never answers.
- :class:`StubS3`: a tiny path-style S3 that behaves like a well-configured bucket seen with write-only
  credentials (PUT under any key, write-once, everything else ``AccessDenied``, CORS for one origin), every
  answer overridable by a ``handler`` so a test can script throttling or odd answers; it records every
  request it saw.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Self
from urllib.parse import parse_qs, urlsplit

STUB_REGION = "us-east-1"
STUB_ORIGIN = "https://app.example.com"


@contextlib.contextmanager
def refusing_port() -> Iterator[int]:
    """Yield a 127.0.0.1 port that refuses connections (bound so no one else takes it, never listening)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        yield port


class SilentServer:
    """A listening socket that accepts every connection, reads nothing and never replies."""

    def __init__(self) -> None:
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.port: int = self._listener.getsockname()[1]
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.accepted = 0
        self._held: list[socket.socket] = []
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="silent-server", daemon=True)

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return
            self._held.append(connection)
            self.accepted += 1

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._closed.set()
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        for connection in self._held:
            connection.close()
        self._thread.join(timeout=5)


@dataclass(frozen=True)
class StubRequest:
    """One request as the stub saw it.

    Attributes:
        method: The HTTP method.
        path: The URL path (``/bucket`` or ``/bucket/key``).
        query: The query parameters (first value of each).
        headers: The request headers, names lower-cased.
        body: The request body.
    """

    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: bytes

    @property
    def presigned(self) -> bool:
        """Whether the request carries a query-string signature."""
        return "X-Amz-Signature" in self.query

    @property
    def signed(self) -> bool:
        """Whether the request carries credentials: a query signature or an ``Authorization`` header."""
        return self.presigned or "authorization" in self.headers

    @property
    def is_object(self) -> bool:
        """Whether the path names an object (``/bucket/key``), not the bucket."""
        return "/" in self.path.strip("/")


@dataclass(frozen=True)
class Reply:
    """An answer the stub sends."""

    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""


def s3_error(status: int, code: str, message: str = "") -> Reply:
    """An S3 XML error answer."""
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message or code}</Message></Error>"
    ).encode()
    return Reply(status, {"Content-Type": "application/xml"}, body)


SLOW_DOWN = s3_error(503, "SlowDown", "Please reduce your request rate.")
Handler = Callable[[StubRequest], Reply | None]


class StubS3:
    """A path-style S3 stub: a write-only view of one well-configured bucket, with scriptable answers.

    Default answers (a ``handler`` returning None falls back to them):

    - ``HEAD /bucket``: 403 with ``x-amz-bucket-region`` (what S3 tells write-only credentials).
    - ``PUT /bucket/key``: 200 with an ``ETag``, or 412 when the key exists and ``If-None-Match: *`` was sent.
    - ``OPTIONS``: a preflight allowed for ``origin`` only (PUT and POST, any header).
    - Every answer to a request with an allowed ``Origin`` carries ``Access-Control-Allow-Origin`` and,
      when ``expose_etag``, ``Access-Control-Expose-Headers: ETag``.
    - Anything else: 403 ``AccessDenied``.

    Attributes:
        endpoint: ``http://127.0.0.1:PORT``.
        requests: Every request seen, in order.
        replies: The status sent for each request, in the same order.
    """

    def __init__(
        self,
        handler: Handler | None = None,
        *,
        region: str = STUB_REGION,
        origin: str = STUB_ORIGIN,
        expose_etag: bool = True,
    ) -> None:
        self.handler = handler
        self.region = region
        self.origin = origin
        self.expose_etag = expose_etag
        self.requests: list[StubRequest] = []
        self.replies: list[int] = []
        self.objects: dict[str, bytes] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self._server.daemon_threads = True
        self.port: int = self._server.server_address[1]
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="stub-s3", daemon=True
        )

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def seen(self, method: str, *, presigned: bool | None = None) -> list[StubRequest]:
        """The requests seen with ``method`` (and, if given, with or without a query signature)."""
        with self._lock:
            return [
                r
                for r in self.requests
                if r.method == method and (presigned is None or r.presigned == presigned)
            ]

    def answer(self, request: StubRequest) -> Reply:
        """Answer one request: the handler's reply, else the default one, with CORS headers added."""
        reply = (self.handler(request) if self.handler else None) or self._default(request)
        headers = dict(reply.headers)
        if request.headers.get("origin") == self.origin and request.method != "OPTIONS":
            headers["Access-Control-Allow-Origin"] = self.origin
            if self.expose_etag:
                headers["Access-Control-Expose-Headers"] = "ETag"
        with self._lock:
            self.requests.append(request)
            self.replies.append(reply.status)
        return Reply(reply.status, headers, reply.body)

    def _default(self, request: StubRequest) -> Reply:
        if request.method == "OPTIONS":
            return self._preflight(request)
        if request.method == "HEAD" and not request.is_object:
            return Reply(403, {"x-amz-bucket-region": self.region})
        if request.method == "PUT" and request.is_object and request.presigned:
            with self._lock:
                if request.path in self.objects and request.headers.get("if-none-match") == "*":
                    return s3_error(412, "PreconditionFailed", "At least one of the pre-conditions failed")
                self.objects[request.path] = request.body
            return Reply(200, {"ETag": '"0123456789abcdef0123456789abcdef"'})
        return s3_error(403, "AccessDenied", "Access Denied")

    def _preflight(self, request: StubRequest) -> Reply:
        if request.headers.get("origin") != self.origin:
            return s3_error(403, "AccessForbidden", "CORSResponse: This CORS request is not allowed.")
        headers = {
            "Access-Control-Allow-Origin": self.origin,
            "Access-Control-Allow-Methods": "PUT, POST",
            "Access-Control-Allow-Headers": request.headers.get("access-control-request-headers", ""),
        }
        if self.expose_etag:
            headers["Access-Control-Expose-Headers"] = "ETag"
        return Reply(200, headers)


def _make_handler(stub: StubS3) -> type[BaseHTTPRequestHandler]:
    class _Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            query = {
                name: values[0] for name, values in parse_qs(parts.query, keep_blank_values=True).items()
            }
            request = StubRequest(
                self.command,
                parts.path,
                query,
                {name.lower(): value for name, value in self.headers.items()},
                body,
            )
            reply = stub.answer(request)
            self.send_response(reply.status)  # also sends Date, which the clock check reads
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(reply.body)

        do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_OPTIONS = _handle  # noqa: N815  (http.server's names)

        def log_message(self, format: str, *args: object) -> None:
            """Keep test output quiet."""

    return _Handler
