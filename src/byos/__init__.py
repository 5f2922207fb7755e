"""byos: bring your own storage. Safe object keys, write-only presigned uploads, and setup checks.

The public names live here. Importing byos loads no cloud SDK.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from byos.errors import (
    ByosError,
    ConfigError,
    CredentialsError,
    InvalidInputError,
    MissingCredentialsError,
    MissingExtraError,
    ProviderError,
    ProviderTimeoutError,
)
from byos.redaction import redact_url

if TYPE_CHECKING:
    from byos.browser import browser_client_path
    from byos.checker import check_setup
    from byos.config import load_destination
    from byos.models import CheckResult, Report, Status, UploadRequest
    from byos.planner import presign_upload
    from byos.plans import Step, UploadPlan
    from byos.policy import build_policy
    from byos.transfer import UploadResult, upload_file

__version__ = "0.1.0"
_LAZY = {
    "browser_client_path": "byos.browser",
    "CheckResult": "byos.models",
    "Report": "byos.models",
    "Status": "byos.models",
    "UploadRequest": "byos.models",
    "UploadPlan": "byos.plans",
    "Step": "byos.plans",
    "UploadResult": "byos.transfer",
    "upload_file": "byos.transfer",
    "presign_upload": "byos.planner",
    "load_destination": "byos.config",
    "check_setup": "byos.checker",
    "build_policy": "byos.policy",
}


def __getattr__(name: str) -> object:
    """Load public names on first use, so ``import byos`` stays cheap and loads no SDK."""
    module = _LAZY.get(name)
    if module is not None:
        import importlib  # noqa: PLC0415

        return getattr(importlib.import_module(module), name)
    raise AttributeError(f"module 'byos' has no attribute {name!r}")


__all__ = [
    "ByosError",
    "CheckResult",
    "ConfigError",
    "CredentialsError",
    "InvalidInputError",
    "MissingCredentialsError",
    "MissingExtraError",
    "ProviderError",
    "ProviderTimeoutError",
    "Report",
    "Status",
    "Step",
    "UploadPlan",
    "UploadRequest",
    "UploadResult",
    "__version__",
    "browser_client_path",
    "build_policy",
    "check_setup",
    "load_destination",
    "presign_upload",
    "redact_url",
    "upload_file",
]
