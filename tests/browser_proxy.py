"""A loopback HTTP proxy in front of a storage server that fails or stalls chosen browser requests.

Point a destination's endpoint at :attr:`FaultProxy.endpoint`: byos signs URLs for the proxy's host, the
browser sends them there, and the proxy forwards each request byte for byte (Host included, so signatures
still verify) to the real server and its answer back, CORS headers and all. A :class:`Fault` picks requests by
method and a test on the URL's path and query, and either answers itself once (``fail``: a 503 as S3 or GCS
send when busy, with the CORS headers a real server adds to errors) or holds the request without forwarding it
(``stall``) until the browser gives up. :attr:`FaultProxy.log` records every request seen.

This is the one fault no local server produces on demand; everything else the browser sees is the server's.
"""

from __future__ import annotations

import contextlib
import http.client
import select
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

_HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection"}
)
_STALL_SECONDS = 30.0
_UPSTREAM_TIMEOUT = 60.0


@dataclass
class Fault:
    """What to do to the requests that match.

    Attributes:
        method: The HTTP method to match.
        match: Test on the request target (path and query).
        action: ``fail`` (answer ``status`` without forwarding) or ``stall`` (hold it, never forward).
        times: How many matching requests to hit; later ones pass through.
        status: The status ``fail`` answers with.
        body: The body ``fail`` answers with.
        headers: More response headers ``fail`` answers with (e.g. a hostile ``Location``).
        hits: How many requests it hit so far.
    """

    method: str
    match: Callable[[str], bool] = lambda _target: True
    action: str = "fail"
    times: int = 1
    status: int = 503
    body: bytes = b"<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"
    headers: tuple[tuple[str, str], ...] = ()
    hits: int = 0


@dataclass(frozen=True)
class Seen:
    """One request the proxy saw: method, target, and what happened to it."""

    method: str
    target: str
    outcome: str  # "forwarded", "failed", "stalled"
    status: int | None = None


@dataclass
class FaultProxy:
    """Forward loopback HTTP to ``upstream`` (``http://127.0.0.1:PORT``), applying :attr:`faults`."""

    upstream: str
    faults: list[Fault] = field(default_factory=list)
    log: list[Seen] = field(default_factory=list)
    host_header: str | None = None
    """Host to send upstream instead of the browser's (servers that route on their own host name);
    Location answers pointing at the upstream are then rewritten to the proxy."""

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._in_flight: dict[str, int] = {}
        self.max_in_flight: dict[str, int] = {}
        """Most requests of each method the proxy held at once (reading, stalled or forwarding)."""
        parts = urlsplit(self.upstream)
        self._upstream_host = parts.hostname or "127.0.0.1"
        self._upstream_port = parts.port or 80
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                proxy.handle(self)

            def do_PUT(self) -> None:
                proxy.handle(self)

            def do_POST(self) -> None:
                proxy.handle(self)

            def do_DELETE(self) -> None:
                proxy.handle(self)

            def do_HEAD(self) -> None:
                proxy.handle(self)

            def do_OPTIONS(self) -> None:
                proxy.handle(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def _fault_for(self, method: str, target: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.method == method and fault.hits < fault.times and fault.match(target):
                    fault.hits += 1
                    return fault
        return None

    def _record(self, seen: Seen) -> None:
        with self._lock:
            self.log.append(seen)

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        """Read one request whole, then fail, stall or forward it."""
        method = handler.command
        with self._lock:
            now = self._in_flight[method] = self._in_flight.get(method, 0) + 1
            self.max_in_flight[method] = max(self.max_in_flight.get(method, 0), now)
        try:
            self._handle(handler)
        finally:
            with self._lock:
                self._in_flight[method] -= 1

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        method, target = handler.command, handler.path
        fault = self._fault_for(method, target)
        if fault is not None and fault.action == "stall":
            self._record(Seen(method, target, "stalled"))
            _wait_until_closed(handler, _STALL_SECONDS)
            handler.close_connection = True
            return
        if fault is not None:
            self._record(Seen(method, target, "failed", fault.status))
            headers = [("Content-Type", "application/xml")]
            origin = handler.headers.get("Origin")
            if origin:
                headers += [("Access-Control-Allow-Origin", origin), ("Vary", "Origin")]
                headers += [("Access-Control-Expose-Headers", "Location, ETag")]
            self._answer(handler, fault.status, [*headers, *fault.headers], fault.body)
            return
        status, headers, answer = self._forward(handler, method, target, body)
        self._record(Seen(method, target, "forwarded", status))
        self._answer(handler, status, headers, answer)

    def _forward(
        self, handler: BaseHTTPRequestHandler, method: str, target: str, body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        connection = http.client.HTTPConnection(
            self._upstream_host, self._upstream_port, timeout=_UPSTREAM_TIMEOUT
        )
        try:
            connection.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
            for name, value in handler.headers.items():
                if name.lower() in _HOP_BY_HOP:
                    continue
                if name.lower() == "host" and self.host_header is not None:
                    value = self.host_header  # noqa: PLW2901
                connection.putheader(name, value)
            connection.endheaders(body or None)
            response = connection.getresponse()
            answer = response.read()
            headers = [(n, v) for n, v in response.getheaders() if n.lower() not in _HOP_BY_HOP]
            if self.host_header is not None:
                headers = [
                    (
                        n,
                        v.replace(self.host_header, f"127.0.0.1:{self.port}")
                        if n.lower() == "location"
                        else v,
                    )
                    for n, v in headers
                ]
            return response.status, headers, answer
        finally:
            connection.close()

    @staticmethod
    def _answer(
        handler: BaseHTTPRequestHandler,
        status: int,
        headers: list[tuple[str, str]],
        body: bytes,
    ) -> None:
        handler.send_response_only(status)
        for name, value in headers:
            if name.lower() != "content-length":
                handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(body)

    def seen(self, method: str, match: Callable[[str], bool] = lambda _target: True) -> list[Seen]:
        """Return the requests seen with ``method`` whose target matches."""
        with self._lock:
            return [s for s in self.log if s.method == method and match(s.target)]

    def stop(self) -> None:
        """Stop the proxy."""
        self._server.shutdown()
        self._server.server_close()


def _wait_until_closed(handler: BaseHTTPRequestHandler, seconds: float) -> None:
    """Hold a request until the client closes its connection (or ``seconds`` pass)."""
    deadline = time.monotonic() + seconds
    sock = handler.connection
    while time.monotonic() < deadline:
        readable, _, _ = select.select([sock], [], [], 0.1)
        if readable:
            with contextlib.suppress(OSError):
                if not sock.recv(1, 0):
                    return
