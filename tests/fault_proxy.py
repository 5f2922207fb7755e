"""A loopback HTTP proxy that forwards to a local storage server and injects one kind of fault.

Point a destination's ``endpoint_url`` at it: URLs are then signed for the proxy's host, which it forwards
unchanged (``Host`` included), so the server checks the signatures as usual. ``rule(method, target, seen)``
picks what happens to each request (``seen`` counts earlier requests with the same method and target):
``None`` forwards it, ``"drop"`` closes the connection without an answer, ``"503"`` answers 503,
``"corrupt"`` flips one byte of the body before forwarding, and ``"lose-answer"`` forwards the request but
closes the connection instead of passing the answer on (the server did the work; the client never hears).
"""

from __future__ import annotations

import http.client
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

Rule = Callable[[str, str, int], str | None]
_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "proxy-connection"})


class FaultProxy:
    """The running proxy: its endpoint and what it saw."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self.seen: Counter[tuple[str, str]] = Counter()
        self.faults: list[tuple[str, str, str]] = []


@contextmanager
def fault_proxy(upstream: str, rule: Rule) -> Iterator[FaultProxy]:
    """Run a proxy to ``upstream`` (``http://host:port``) applying ``rule``; yield it."""
    target = urlsplit(upstream)
    lock = threading.Lock()
    proxy = FaultProxy("")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            key = (self.command, self.path)
            with lock:
                count = proxy.seen[key]
                proxy.seen[key] += 1
            action = rule(self.command, self.path, count)
            if action is not None:
                with lock:
                    proxy.faults.append((action, self.command, self.path))
            if action == "drop":
                self.close_connection = True
                return
            if action == "503":
                self.send_response(503)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if action == "corrupt" and body:
                body = bytes([body[0] ^ 0xFF]) + body[1:]
            connection = http.client.HTTPConnection(target.hostname or "127.0.0.1", target.port, timeout=60)
            try:
                headers = {name: value for name, value in self.headers.items() if name.lower() not in _HOP}
                connection.request(self.command, self.path, body=body, headers=headers)
                answer = connection.getresponse()
                data = answer.read()
            finally:
                connection.close()
            if action == "lose-answer":
                self.close_connection = True
                return
            self.send_response(answer.status)
            for name, value in answer.getheaders():
                if name.lower() not in _HOP and name.lower() != "content-length":
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._handle()

        def do_PUT(self) -> None:
            self._handle()

        def do_POST(self) -> None:
            self._handle()

        def do_DELETE(self) -> None:
            self._handle()

        def log_message(self, *_: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    proxy.endpoint = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
