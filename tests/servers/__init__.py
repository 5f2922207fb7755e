"""Local storage servers the test suite starts: Azurite, LocalStack, moto and fake-gcs-server."""

from __future__ import annotations

from tests.servers.azurite import AzuriteServer
from tests.servers.base import (
    LocalServer,
    ServerStartError,
    ToolMissingError,
    free_port,
    port_accepts,
    stop_all,
)
from tests.servers.fake_gcs import FakeGcsServer
from tests.servers.localstack import LocalStackServer
from tests.servers.moto_server import MotoServer

__all__ = [
    "AzuriteServer",
    "FakeGcsServer",
    "LocalServer",
    "LocalStackServer",
    "MotoServer",
    "ServerStartError",
    "ToolMissingError",
    "free_port",
    "port_accepts",
    "stop_all",
]
