"""byos: bring your own storage. Safe object keys, write-only presigned uploads, and setup checks.

The public names live here. Importing byos loads no cloud SDK.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from byos.browser import browser_client_path
from byos.errors import (
    ByosError,
    ConfigError,
    CredentialsError,
    InvalidInputError,
    MissingExtraError,
    ProviderError,
    ProviderTimeoutError,
)
from byos.redaction import redact_url

if TYPE_CHECKING:
    from byos.models import CheckResult, Report, Status, UploadRequest

__version__ = "0.1.0"
_LAZY = {"CheckResult", "Report", "Status", "UploadRequest"}


def __getattr__(name: str) -> object:
    """Load the result types on first use, so ``import byos`` stays cheap for the presign hot path."""
    if name in _LAZY:
        from byos import models  # noqa: PLC0415

        return getattr(models, name)
    raise AttributeError(f"module 'byos' has no attribute {name!r}")


__all__ = [
    "ByosError",
    "CheckResult",
    "ConfigError",
    "CredentialsError",
    "InvalidInputError",
    "MissingExtraError",
    "ProviderError",
    "ProviderTimeoutError",
    "Report",
    "Status",
    "UploadRequest",
    "__version__",
    "browser_client_path",
    "redact_url",
]
