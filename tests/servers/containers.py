"""Optional Docker path: run a local server as a container with testcontainers (BYOS_TESTCONTAINERS=1).

This path is not exercised by the default suite or CI, which run without a Docker engine; the process
path in the other modules is the one that is tested. Nothing here is imported unless the option is on.
Container ports are published on the same free host port the process path would use, so a server's
``endpoint`` is identical in both modes; testcontainers' reaper removes containers if the run dies.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ContainerSpec:
    """How to run one server as a container.

    Attributes:
        image: Image reference, pinned to the version the process path uses.
        port: Port the server listens on inside the container.
        command: Arguments replacing the image's default command, if any.
        env: Environment of the container.
    """

    image: str
    port: int
    command: list[str] | None = None
    env: dict[str, str] = field(default_factory=dict)


def docker_available() -> bool:
    """Return whether a Docker engine answers (False when the docker package is missing)."""
    try:
        import docker  # type: ignore[import-untyped, unused-ignore]  # noqa: PLC0415 - optional, on request
    except ImportError:
        return False
    try:
        client = docker.from_env()
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:  # noqa: BLE001 - any failure to reach an engine means no Docker here
        return False


def start_container(spec: ContainerSpec, host_port: int) -> Any:
    """Start a container for spec with its port published on host_port; return the running container."""
    from testcontainers.core.container import DockerContainer  # noqa: PLC0415 - optional dependency

    container = DockerContainer(spec.image).with_bind_ports(spec.port, host_port)
    if spec.command is not None:
        container = container.with_command(spec.command)
    for name, value in spec.env.items():
        container = container.with_env(name, value)
    return container.start()
