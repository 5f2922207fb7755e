"""moto's standalone server (S3 with optional IAM permission checks), in its own process."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import sys
import urllib.request
from typing import TYPE_CHECKING

from tests.servers.base import INSTALL_HINT, LocalServer, ToolMissingError, clean_environment, http_status
from tests.servers.containers import ContainerSpec

if TYPE_CHECKING:
    from collections.abc import Iterator

MOTO_VERSION = "5.2.5"
_CONTAINER_PORT = 5000  # port of the motoserver/moto image; unverified here (no Docker engine)


class MotoServer(LocalServer):
    """moto server with global CORS headers off, so CORS answers come from the bucket's rules.

    It runs as a separate process (not ``ThreadedMotoServer``) so that its state, in particular the
    IAM-auth switch, never leaks into tests that use moto's in-process mocks.

    Attributes:
        region: ``us-east-1``.
        access_key_id: Any key id works while auth is off; this one is ``testing``.
        secret_access_key: ``testing``.
    """

    name = "moto"

    def __init__(self, *, use_container: bool = False) -> None:
        super().__init__(use_container=use_container)
        self.region = "us-east-1"
        self.access_key_id = "testing"
        self.secret_access_key = "testing"

    def check_installed(self) -> None:
        """Raise ToolMissingError unless moto and its server extra are importable."""
        for module in ("moto", "flask", "werkzeug"):
            if importlib.util.find_spec(module) is None:
                raise ToolMissingError(
                    f"moto[server] is not installed (no module {module!r}); {INSTALL_HINT}"
                )

    def command(self) -> list[str]:
        """Return the moto server command, run by this interpreter."""
        return [sys.executable, "-m", "moto.server", "-H", self.host, "-p", str(self.port)]

    def environment(self) -> dict[str, str]:
        """Turn moto's blanket CORS headers off."""
        return clean_environment({"MOTO_DISABLE_GLOBAL_CORS": "true"})

    def is_ready(self) -> bool:
        """moto answers HTTP (a GET on its reset-auth endpoint is a cheap 400)."""
        return http_status(f"{self.endpoint}/moto-api/reset-auth", timeout=1.0) is not None

    def reset_auth(self, on: bool) -> None:
        """Turn IAM authentication and authorisation on or off for every following request.

        On: ``POST /moto-api/reset-auth`` with body ``0`` (no unauthenticated requests left), so
        header-signed requests are checked against moto's IAM users and policies. Off: the same call with
        body ``inf`` (moto's default, ``INITIAL_NO_AUTH_ACTION_COUNT = inf``). Create IAM users and
        keys while auth is off, then turn it on. With auth on, presigned and anonymous requests fail
        with HTTP 500 in moto; use it for SDK calls only.
        """
        body = b"0" if on else b"inf"
        # A form content type (urllib's default for a body) would hide the body from moto: say text/plain.
        request = urllib.request.Request(
            f"{self.endpoint}/moto-api/reset-auth",
            data=body,
            method="POST",
            headers={"Content-Type": "text/plain"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            answer = json.loads(response.read())
        if answer.get("status") != "ok":
            raise RuntimeError(f"moto refused reset-auth: {answer}")

    @contextlib.contextmanager
    def auth(self) -> Iterator[None]:
        """Turn IAM auth on inside the block and off again on the way out, even on failure."""
        self.reset_auth(True)
        try:
            yield
        finally:
            self.reset_auth(False)

    def reset(self) -> None:
        """Delete every bucket, user and other resource (``POST /moto-api/reset``); auth is unchanged."""
        status = http_status(f"{self.endpoint}/moto-api/reset", method="POST", body=b"", timeout=10)
        if status != 200:
            raise RuntimeError(f"moto reset answered HTTP {status}")

    def container_spec(self) -> ContainerSpec:
        """Return the moto server image."""
        return ContainerSpec(
            image=f"motoserver/moto:{MOTO_VERSION}",
            port=_CONTAINER_PORT,
            env={"MOTO_DISABLE_GLOBAL_CORS": "true"},
        )
