"""Azurite (Azure Blob emulator) from the npm package installed in .tools/azurite."""

from __future__ import annotations

import base64
import os
import re
import shutil
from pathlib import Path

from tests.servers.base import INSTALL_HINT, TOOLS_DIR, LocalServer, ToolMissingError, http_status
from tests.servers.containers import ContainerSpec

AZURITE_VERSION = "3.37.0"
AZURITE_DIR = TOOLS_DIR / "azurite"
PACKAGE_DIR = AZURITE_DIR / "node_modules" / "azurite"
BLOB_MAIN = PACKAGE_DIR / "dist" / "src" / "blob" / "main.js"
CONSTANTS_JS = PACKAGE_DIR / "dist" / "src" / "blob" / "utils" / "constants.js"
ACCOUNT_NAME = "devstoreaccount1"
_CONTAINER_PORT = 10000


def read_account_key(constants_js: Path = CONSTANTS_JS) -> str:
    """Read the well-known devstoreaccount1 key from Azurite's own constants.

    Raises:
        ToolMissingError: Azurite is not installed, or the constant is no longer where it was.
    """
    try:
        source = constants_js.read_text()
    except OSError as exc:
        raise ToolMissingError(
            f"Azurite is not installed ({constants_js} is missing); {INSTALL_HINT}"
        ) from exc
    match = re.search(r"EMULATOR_ACCOUNT_KEY_STR\s*=\s*[\"']([A-Za-z0-9+/=]+)[\"']", source)
    if match is None:
        raise ToolMissingError(
            f"EMULATOR_ACCOUNT_KEY_STR not found in {constants_js}: this Azurite version keeps its "
            f"key elsewhere; install azurite@{AZURITE_VERSION} with scripts/test or update "
            "tests/servers/azurite.py"
        )
    return match.group(1)


class AzuriteServer(LocalServer):
    """Azurite Blob service with account devstoreaccount1, in memory, on a free port.

    Attributes:
        account_name: Always ``devstoreaccount1``.
        account_key: The account's base64 key (Azurite's well-known key; a random one in containers).
    """

    name = "azurite"

    def __init__(self, *, use_container: bool = False) -> None:
        super().__init__(use_container=use_container)
        self.account_name = ACCOUNT_NAME
        # In a container the key cannot be read from a local install: give the account our own key.
        self.account_key = base64.b64encode(os.urandom(64)).decode() if use_container else read_account_key()

    @property
    def blob_endpoint(self) -> str:
        """Blob service URL of the account, path-style: ``endpoint/devstoreaccount1``."""
        return f"{self.endpoint}/{self.account_name}"

    @property
    def connection_string(self) -> str:
        """Connection string accepted by azure-storage-blob's ``from_connection_string``."""
        return (
            f"DefaultEndpointsProtocol=http;AccountName={self.account_name};"
            f"AccountKey={self.account_key};BlobEndpoint={self.blob_endpoint};"
        )

    def check_installed(self) -> None:
        """Raise ToolMissingError unless node and the Azurite package are present."""
        if not BLOB_MAIN.is_file():
            raise ToolMissingError(f"Azurite is not installed ({BLOB_MAIN} is missing); {INSTALL_HINT}")
        if shutil.which("node") is None:
            raise ToolMissingError("node is not on PATH; Azurite needs Node.js (20 or newer)")

    def command(self) -> list[str]:
        """Return the Azurite Blob command line.

        ``--location`` is not passed: Azurite 3.37 refuses it together with ``--inMemoryPersistence``;
        the process runs in its private temporary directory instead.
        """
        node = shutil.which("node") or "node"
        return [node, str(BLOB_MAIN), "--blobHost", self.host, "--blobPort", str(self.port), *self._flags()]

    @staticmethod
    def _flags() -> list[str]:
        return ["--skipApiVersionCheck", "--loose", "--disableTelemetry", "--inMemoryPersistence"]

    def is_ready(self) -> bool:
        """Azurite answers an unsigned container listing (with 403)."""
        return http_status(f"{self.blob_endpoint}?comp=list", timeout=1.0) is not None

    def container_spec(self) -> ContainerSpec:
        """Return the Azurite image running the Blob service only."""
        return ContainerSpec(
            image=f"mcr.microsoft.com/azure-storage/azurite:{AZURITE_VERSION}",
            port=_CONTAINER_PORT,
            command=[
                "azurite-blob",
                "--blobHost",
                "0.0.0.0",  # noqa: S104 - inside the container; Docker publishes the port
                "--blobPort",
                str(_CONTAINER_PORT),
                *self._flags(),
            ],
            env={"AZURITE_ACCOUNTS": f"{self.account_name}:{self.account_key}"},
        )
