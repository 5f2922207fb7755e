"""Registry of provider modules by import path, loaded lazily, with the extra each SDK feature needs.

Provider modules import no SDK at load time: presigning with static keys works on a bare install. A feature
that needs an SDK (a credential chain, a control-plane call) calls :func:`require`, which names the extra.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import TYPE_CHECKING, Protocol, cast, runtime_checkable

from byos import log_redaction
from byos.errors import ConfigError, MissingExtraError

if TYPE_CHECKING:
    from byos.config import Destination
    from byos.models import UploadOptions, UploadRequest

PROVIDER_MODULES: dict[str, str] = {
    "s3": "byos.providers.s3",
    "gcs": "byos.providers.gcs",
    "azure": "byos.providers.azure",
}
EXTRAS: dict[str, str] = {"s3": "s3", "gcs": "gcs", "azure": "azure"}


@runtime_checkable
class Provider(Protocol):
    """What every provider module offers."""

    NAME: str

    def presign_upload(self, destination: Destination, options: UploadOptions) -> UploadRequest:
        """Presign one write-only upload as ``options`` asks."""
        ...


def get_provider(name: str) -> Provider:
    """Return the provider module registered under ``name``."""
    path = PROVIDER_MODULES.get(name)
    if path is None:
        raise ConfigError(
            "provider", f"{name!r} is not supported", f"use one of {', '.join(PROVIDER_MODULES)}"
        )
    return cast("Provider", importlib.import_module(path))


def require(module: str, *, feature: str, extra: str) -> ModuleType:
    """Import ``module`` for ``feature``, or raise :class:`MissingExtraError` naming the extra to install.

    Before any SDK is used, its loggers are set to redact secrets (:func:`byos.log_redaction.install`).
    """
    log_redaction.install()
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtraError(feature, extra) from exc
