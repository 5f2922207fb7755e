"""Hostile HTTP servers on 127.0.0.1 for faults no storage server produces, and a recording server.

- :class:`HostileServer`: answers every request with one hostile behaviour (drip headers or body, a flood of
  ``100 Continue``, an endless chunked body, a huge Content-Length, accept-and-hang, a redirect loop). Every
  loop stops when the client goes away, when the server closes, or after :data:`MAX_SECONDS`.
- :class:`RecordingServer`: a plain HTTPS (or HTTP) server that records every request it sees and refuses
  it with an S3-style ``AccessDenied``; identity tests grep what it recorded for the service's secrets.
- :func:`tls_certificate`: a self-signed certificate for test host names (``*.test``) and 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Self

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

MAX_SECONDS = 20.0
"""No hostile behaviour lasts longer than this, whatever the client does."""
DRIP_INTERVAL = 0.5

Behaviour = Callable[[socket.socket, threading.Event], None]


def _until(stop: threading.Event) -> bool:
    return not stop.is_set()


def drip_headers(conn: socket.socket, stop: threading.Event) -> None:
    """A status line, then one header byte every half second, forever."""
    conn.sendall(b"HTTP/1.1 200 OK\r\nX-Drip: ")
    while _until(stop):
        conn.sendall(b"a")
        stop.wait(DRIP_INTERVAL)


def drip_body(conn: socket.socket, stop: threading.Event) -> None:
    """Honest headers promising 100 kB, then one body byte every half second."""
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\nContent-Length: 100000\r\n\r\n")
    while _until(stop):
        conn.sendall(b"<")
        stop.wait(DRIP_INTERVAL)


def continue_flood(conn: socket.socket, stop: threading.Event) -> None:
    """``100 Continue`` after ``100 Continue``, as fast as the client reads them."""
    burst = b"HTTP/1.1 100 Continue\r\nX-Flood: 1\r\n\r\n" * 200
    while _until(stop):
        conn.sendall(burst)


def endless_chunked(conn: socket.socket, stop: threading.Event) -> None:
    """A chunked body of 64 KiB chunks that never ends."""
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\nTransfer-Encoding: chunked\r\n\r\n")
    chunk = b"10000\r\n" + b"<" * 0x10000 + b"\r\n"
    while _until(stop):
        conn.sendall(chunk)


def huge_length(conn: socket.socket, stop: threading.Event) -> None:
    """A Content-Length of a petabyte, and bytes as fast as the client takes them."""
    conn.sendall(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\nContent-Length: 1000000000000000\r\n\r\n"
    )
    block = b"<" * 0x10000
    while _until(stop):
        conn.sendall(block)


def hang(conn: socket.socket, stop: threading.Event) -> None:  # noqa: ARG001  (a behaviour's signature)
    """Accept, read the request, never answer."""
    stop.wait(MAX_SECONDS)


def redirect_loop(conn: socket.socket, stop: threading.Event) -> None:  # noqa: ARG001
    """A redirect to the very same place, on every request."""
    conn.sendall(b"HTTP/1.1 302 Found\r\nLocation: /again\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")


BEHAVIOURS: dict[str, Behaviour] = {
    "drip-headers": drip_headers,
    "drip-body": drip_body,
    "100-continue-flood": continue_flood,
    "endless-chunked-body": endless_chunked,
    "huge-content-length": huge_length,
    "accept-and-hang": hang,
    "redirect-loop": redirect_loop,
}


class HostileServer:
    """Answers every connection on 127.0.0.1 with ``behaviour``; counts requests; stops by itself."""

    def __init__(self, behaviour: Behaviour, cert: tuple[Path, Path] | None = None) -> None:
        self._behaviour = behaviour
        self._tls: ssl.SSLContext | None = None
        if cert is not None:
            self._tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self._tls.load_cert_chain(str(cert[0]), str(cert[1]))
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.port: int = self._listener.getsockname()[1]
        self.endpoint = f"{'https' if cert else 'http'}://127.0.0.1:{self.port}"
        self.requests = 0
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._accepter = threading.Thread(target=self._accept, name="hostile-accept", daemon=True)

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            worker = threading.Thread(target=self._serve, args=(conn,), name="hostile-conn", daemon=True)
            self._threads.append(worker)
            worker.start()

    def _serve(self, conn: socket.socket) -> None:
        stop = threading.Event()
        timer = threading.Timer(MAX_SECONDS, stop.set)
        timer.daemon = True
        timer.start()

        def follow_server() -> None:
            self._stop.wait(MAX_SECONDS)
            stop.set()

        threading.Thread(target=follow_server, daemon=True).start()
        with contextlib.suppress(OSError):
            conn.settimeout(MAX_SECONDS)
            if self._tls is not None:
                conn = self._tls.wrap_socket(conn, server_side=True)
        with conn, contextlib.suppress(OSError):
            head = b""
            while b"\r\n\r\n" not in head and len(head) < 65536:
                data = conn.recv(4096)
                if not data:
                    return
                head += data
            self.requests += 1
            self._behaviour(conn, stop)
        timer.cancel()

    def __enter__(self) -> Self:
        self._accepter.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._stop.set()
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        self._accepter.join(timeout=5)
        for worker in self._threads:
            worker.join(timeout=5)


# --- recording ---


@dataclass(frozen=True)
class Recorded:
    """One request as the recording server saw it."""

    method: str
    target: str
    headers: dict[str, str]
    body: bytes

    def text(self) -> str:
        """Everything of the request as one string, for grepping."""
        lines = [f"{self.method} {self.target}", *(f"{k}: {v}" for k, v in self.headers.items())]
        return "\n".join(lines) + "\n" + self.body.decode("latin-1")


class _Recorder(BaseHTTPRequestHandler):
    server: _RecordingHTTPServer

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(min(length, 1 << 20)) if length else b""
        self.server.seen.append(Recorded(self.command, self.path, dict(self.headers.items()), body))
        answer = b"<?xml version='1.0'?><Error><Code>AccessDenied</Code><Message>no</Message></Error>"
        self.send_response(403)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(answer)))
        self.send_header("x-amz-bucket-region", "eu-west-1")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(answer)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = do_OPTIONS = _handle  # noqa: N815


class _RecordingHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Recorder)
        self.seen: list[Recorded] = []


class RecordingServer:
    """Records every request and refuses it (403 AccessDenied); HTTPS when given a certificate."""

    def __init__(self, cert: tuple[Path, Path] | None = None) -> None:
        self._server = _RecordingHTTPServer()
        if cert is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(str(cert[0]), str(cert[1]))
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="recorder", daemon=True)

    @property
    def seen(self) -> list[Recorded]:
        """Every request so far."""
        return list(self._server.seen)

    def everything(self) -> str:
        """All recorded requests as one string."""
        return "\n\n".join(request.text() for request in self.seen)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def tls_certificate(directory: Path, *names: str) -> tuple[Path, Path]:
    """A self-signed certificate (and key) valid for ``names`` and 127.0.0.1; returns their paths."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0] if names else "127.0.0.1")])
    now = datetime.now(UTC)
    alternatives: list[x509.GeneralName] = [x509.DNSName(name) for name in names]
    alternatives.append(x509.IPAddress(ipaddress.ip_address("127.0.0.1")))
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(alternatives), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path
