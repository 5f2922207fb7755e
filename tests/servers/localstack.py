"""LocalStack S3 (validates presigned signatures), run without Docker from the venv in .tools/localstack."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from pathlib import Path
from typing import Self

from tests.servers.base import (
    INSTALL_HINT,
    TOOLS_DIR,
    LocalServer,
    ToolMissingError,
    clean_environment,
    http_body,
)
from tests.servers.containers import ContainerSpec

LOCALSTACK_VERSION = "4.13.1"
LOCALSTACK_VENV = TOOLS_DIR / "localstack"
LOCALSTACK_PYTHON = LOCALSTACK_VENV / "bin" / "python"
# LocalStack spends about 5 s building a service catalog index on a fresh FILESYSTEM_ROOT; the index
# (named after the LocalStack and botocore versions) is kept here and copied into each new server.
CATALOG_CACHE = LOCALSTACK_VENV / "catalog-cache"
_CATALOG_GLOB = "service-catalog-*.dill"
_CONTAINER_PORT = 4566


class LocalStackServer(LocalServer):
    """LocalStack with only S3, signature validation on, state in memory.

    Attributes:
        region: Region to sign for, ``us-east-1``.
        access_key_id: Any access key id works; this one is ``test``.
        secret_access_key: Secret LocalStack checks signatures with, ``test``.
    """

    name = "localstack"
    start_timeout = 90.0

    def __init__(self, *, use_container: bool = False) -> None:
        super().__init__(use_container=use_container)
        self.region = "us-east-1"
        self.access_key_id = "test"
        self.secret_access_key = "test"

    def start(self) -> Self:
        """Start LocalStack, then keep its service catalog index for the next start."""
        super().start()
        if not self.use_container:
            self._save_catalog()
        return self

    def check_installed(self) -> None:
        """Raise ToolMissingError unless the LocalStack venv exists."""
        if not LOCALSTACK_PYTHON.is_file():
            raise ToolMissingError(
                f"LocalStack is not installed ({LOCALSTACK_PYTHON} is missing); {INSTALL_HINT}"
            )

    def command(self) -> list[str]:
        """Return the LocalStack runtime command (no Docker, no CLI)."""
        return [str(LOCALSTACK_PYTHON), "-m", "localstack.runtime.main"]

    def _settings(self) -> dict[str, str]:
        return {
            "SERVICES": "s3",
            "EAGER_SERVICE_LOADING": "1",
            "LOCALSTACK_HOST": f"{self.host}:{self.port}",
            "DISABLE_EVENTS": "1",
            "SKIP_SSL_CERT_DOWNLOAD": "1",
            "S3_SKIP_SIGNATURE_VALIDATION": "0",
        }

    def environment(self) -> dict[str, str]:
        """Return the variables LocalStack needs to run as a plain process in its own directory.

        This machine looks like a container to LocalStack: ``OVERRIDE_IN_DOCKER=0`` keeps its files in
        ``FILESYSTEM_ROOT``; hypercorn is the gateway that really binds to 127.0.0.1 only.
        """
        home = self.workdir / "home"
        filesystem_root = self.workdir / "fs"
        home.mkdir()
        self._cache_dir.mkdir(parents=True)
        for cached in CATALOG_CACHE.glob(_CATALOG_GLOB):
            shutil.copyfile(cached, self._cache_dir / cached.name)
        return clean_environment(
            {
                **self._settings(),
                "HOME": str(home),
                "OVERRIDE_IN_DOCKER": "0",
                "FILESYSTEM_ROOT": str(filesystem_root),
                "GATEWAY_LISTEN": f"{self.host}:{self.port}",
                "GATEWAY_SERVER": "hypercorn",
                "DNS_ADDRESS": "0",
            }
        )

    @property
    def _cache_dir(self) -> Path:
        return self.workdir / "fs" / "var" / "lib" / "localstack" / "cache"

    def _save_catalog(self) -> None:
        # Only an optimisation: any failure just means the next start builds the index again.
        with contextlib.suppress(OSError):
            for built in self._cache_dir.glob(_CATALOG_GLOB):
                target = CATALOG_CACHE / built.name
                if target.exists():
                    continue
                CATALOG_CACHE.mkdir(exist_ok=True)
                partial = CATALOG_CACHE / f".{built.name}.{os.getpid()}.partial"
                shutil.copyfile(built, partial)
                partial.replace(target)  # atomic: a concurrent start never reads half a file

    def is_ready(self) -> bool:
        """Ready when the health endpoint reports S3 as running."""
        body = http_body(f"{self.endpoint}/_localstack/health", timeout=1.0)
        if body is None:
            return False
        try:
            services = json.loads(body).get("services", {})
        except (ValueError, AttributeError):
            return False
        return isinstance(services, dict) and services.get("s3") == "running"

    def container_spec(self) -> ContainerSpec:
        """Return the LocalStack image with the same settings."""
        return ContainerSpec(
            image=f"localstack/localstack:{LOCALSTACK_VERSION}", port=_CONTAINER_PORT, env=self._settings()
        )
