"""A loopback stand-in for S3 that answers every request after a fixed latency, for the fleet benchmark.

It answers the calls the setup checker makes as a write-only, CORS-configured, private bucket does: signed
reads, lists, deletes and the location and encryption reads are refused (``AccessDenied``), ``HEAD`` on the
bucket is refused with its region, a ``PUT`` stores the key (a second ``PUT`` of that key with
``If-None-Match: *`` gets 412), a preflight is allowed for the origin and the requested headers, and
anonymous requests are refused. ``POST ?uploads`` (CreateMultipartUpload) answers a new upload id.
Signatures are not verified: the stub stands for a cloud's latency, not for its checks (the test suite's
moto, LocalStack, Azurite and fake-gcs-server do those).

One asyncio event loop serves every connection, so thousands of requests can wait out their latency at once
at almost no CPU cost: the figures measure byos, not the stub. Run as a program it prints ``PORT=<n>`` and
serves until its standard input closes::

    python benchmarks/storage_stub.py --latency 0.05 --region us-east-1
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from email.utils import formatdate
from urllib.parse import unquote, urlsplit

_MAX_HEAD = 64 * 1024
_MAX_BODY = 1024 * 1024
_DENIED = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b"<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>"
)
_PRECONDITION = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b"<Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not"
    b" hold</Message></Error>"
)
_INITIATED = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<InitiateMultipartUploadResult><UploadId>{id}</UploadId>'
    b"</InitiateMultipartUploadResult>"
)
_REASONS = {200: "OK", 400: "Bad Request", 403: "Forbidden", 412: "Precondition Failed"}


class StorageStub:
    """The stub's state (the keys written) and its answer to one request."""

    def __init__(self, latency: float, region: str) -> None:
        self.latency = latency
        self.region = region
        self.written: set[str] = set()
        self.requests = 0
        self.uploads = 0

    def answer(  # noqa: PLR0911 - one answer per kind of request
        self, method: str, target: str, headers: dict[str, str]
    ) -> tuple[int, dict[str, str], bytes]:
        """Return status, headers and body for one request (names in ``headers`` are lower case)."""
        parts = urlsplit(target)
        path = unquote(parts.path)
        signed = "X-Amz-Signature=" in parts.query or "authorization" in headers
        origin = headers.get("origin")
        cors = (
            {"Access-Control-Allow-Origin": origin, "Access-Control-Expose-Headers": "ETag", "Vary": "Origin"}
            if origin
            else {}
        )
        if method == "OPTIONS":
            if not origin:
                return 403, {}, _DENIED
            return (
                200,
                {
                    **cors,
                    "Access-Control-Allow-Methods": "PUT, POST",
                    "Access-Control-Allow-Headers": headers.get("access-control-request-headers", ""),
                    "Access-Control-Max-Age": "3000",
                },
                b"",
            )
        query_names = {pair.partition("=")[0] for pair in parts.query.split("&")}
        if method == "POST" and signed and "uploads" in query_names:
            self.uploads += 1
            upload_id = f"byos-stub-upload-{self.uploads}"
            return 200, cors, _INITIATED.replace(b"{id}", upload_id.encode("ascii"))
        if method == "PUT" and signed and path.count("/") >= 2:
            if path in self.written and headers.get("if-none-match") == "*":
                return 412, cors, _PRECONDITION
            self.written.add(path)
            return 200, {**cors, "ETag": '"d41d8cd98f00b204e9800998ecf8427e"'}, b""
        if method == "HEAD":
            return 403, {"x-amz-bucket-region": self.region}, b""
        return 403, cors, _DENIED


async def _serve_one(stub: StorageStub, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
        if len(head) > _MAX_HEAD:
            return
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0") or "0")
        if 0 < length <= _MAX_BODY:
            await reader.readexactly(length)
        stub.requests += 1
        await asyncio.sleep(stub.latency)
        status, extra, body = stub.answer(method, target, headers)
        out = [
            f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}",
            "Server: byos-storage-stub",
            "Date: " + formatdate(usegmt=True),
        ]
        out.extend(f"{name}: {value}" for name, value in extra.items())
        if body:
            out.append("Content-Type: application/xml")
        out.append(f"Content-Length: {0 if method == 'HEAD' else len(body)}")
        out.append("Connection: close")
        writer.write(("\r\n".join(out) + "\r\n\r\n").encode("latin-1") + (b"" if method == "HEAD" else body))
        await writer.drain()
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, ValueError):
        pass
    finally:
        writer.close()


async def _main(latency: float, region: str) -> None:
    stub = StorageStub(latency, region)
    server = await asyncio.start_server(
        lambda r, w: _serve_one(stub, r, w), "127.0.0.1", 0, backlog=4096, limit=_MAX_HEAD
    )
    port = server.sockets[0].getsockname()[1]
    print(f"PORT={port}", flush=True)
    loop = asyncio.get_running_loop()
    stdin_closed = loop.run_in_executor(None, sys.stdin.read)
    async with server:
        await stdin_closed
    print(f"REQUESTS={stub.requests}", flush=True)


def main(argv: list[str] | None = None) -> int:
    """Serve until standard input closes."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds before each answer")
    parser.add_argument("--region", default="us-east-1", help="the region HEAD bucket names")
    options = parser.parse_args(argv)
    asyncio.run(_main(options.latency, options.region))
    return 0


if __name__ == "__main__":
    sys.exit(main())
