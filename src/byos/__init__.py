"""byos: bring your own storage. Safe object keys, write-only presigned uploads, and setup checks.

The public names live here. Importing byos loads no cloud SDK.
"""

from __future__ import annotations

from byos.errors import (
    ByosError,
    ConfigError,
    CredentialsError,
    InvalidInputError,
    MissingExtraError,
    ProviderError,
    ProviderTimeoutError,
)
from byos.models import CheckResult, Report, Status, UploadRequest, redact_url

__version__ = "0.1.0"

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
    "redact_url",
]
