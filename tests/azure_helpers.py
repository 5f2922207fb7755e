"""Helpers shared by the Azure tests: Azurite destinations, containers, HTTPS Azurite, a management stub."""

from __future__ import annotations

import contextlib
import json
import threading
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import requests
from azure.storage.blob import BlobServiceClient

from byos.config import AzureDestination, destination_from_dict
from byos.models import UploadRequest
from tests.test_sas_azurite import _OAuthAzurite, _self_signed_certificate, _UnsignedToken

__all__ = [
    "ManagementStub",
    "OAuthAzurite",
    "UnsignedToken",
    "destination",
    "new_container",
    "send",
    "service",
    "start_oauth_azurite",
]

OAuthAzurite = _OAuthAzurite
"""Azurite over HTTPS with ``--oauth basic``: serves user delegation keys and checks delegation SAS."""
UnsignedToken = _UnsignedToken
"""A token credential whose unsigned JWT (with ``iat``) Azurite's basic OAuth accepts."""
TIMEOUT = 10


def destination(server: Any, container: str, **settings: Any) -> AzureDestination:
    """An Azure destination on Azurite with the account key, unless settings say otherwise."""
    values: dict[str, Any] = {
        "provider": "azure",
        "account_name": server.account_name,
        "container": container,
        "endpoint_url": server.blob_endpoint,
        "account_key": server.account_key,
        "prefix": "imports/",
        **settings,
    }
    built = destination_from_dict({k: v for k, v in values.items() if v is not None}, env=False)
    assert isinstance(built, AzureDestination)
    return built


def service(server: Any) -> BlobServiceClient:
    """An SDK client for arranging and inspecting state (never used to send what is under test)."""
    return BlobServiceClient.from_connection_string(server.connection_string)


def new_container(server: Any, *, public_access: str | None = None) -> str:
    """Create a fresh container (``public_access="container"`` makes it anonymously readable)."""
    name = f"byos-{uuid.uuid4().hex[:12]}"
    service(server).create_container(name, public_access=public_access)
    return name


def send(
    request: UploadRequest,
    body: bytes,
    *,
    headers: Mapping[str, str] | None = None,
    verify: str | bool = True,
) -> requests.Response:
    """Send an upload as a browser would: the request's method, URL and headers."""
    sent = dict(request.headers if headers is None else headers)
    return requests.request(
        request.method, request.url, data=body, headers=sent, timeout=TIMEOUT, verify=verify
    )


def start_oauth_azurite(directory: Path) -> OAuthAzurite:
    """Start Azurite over HTTPS (a fresh self-signed certificate in ``directory``) with basic OAuth."""
    cert_path, key_path = _self_signed_certificate(directory)
    return OAuthAzurite(cert_path, key_path).start()


@dataclass
class ManagementStub:
    """A local stand-in for Azure Resource Manager's storage account read, on 127.0.0.1.

    It answers ``GET /subscriptions/S/resourceGroups/G/providers/Microsoft.Storage/storageAccounts/A`` with
    ``accounts[A]`` as JSON (404 with an ARM error body for other accounts, ``status`` when set), and records
    every request's path, query and Authorization header.
    """

    accounts: dict[str, dict[str, Any]]
    status: int | None = None
    seen: list[tuple[str, str, str]] = field(default_factory=list)
    endpoint: str = ""

    @contextlib.contextmanager
    def running(self) -> Iterator[ManagementStub]:
        """Serve until the block ends."""
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path, _, query = self.path.partition("?")
                stub.seen.append((path, query, self.headers.get("Authorization", "")))
                account = path.rsplit("/", 1)[-1]
                found = stub.accounts.get(account) if "/storageAccounts/" in path else None
                status = stub.status or (200 if found is not None else 404)
                if status == 200 and found is not None:
                    body = found
                else:
                    body = {
                        "error": {"code": "ResourceNotFound" if status == 404 else "Failed", "message": "-"}
                    }
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                """Stay quiet."""

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{server.server_address[1]}"
        thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="management-stub", daemon=True
        )
        thread.start()
        try:
            yield self
        finally:
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)
