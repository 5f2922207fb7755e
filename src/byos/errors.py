"""The one exception tree of byos.

Every error byos raises derives from :class:`ByosError`::

    ByosError
     ├── ConfigError            (also ValueError)   a destination setting is invalid
     ├── InvalidInputError      (also ValueError)   an argument to a call is invalid (nothing was sent)
     ├── MissingExtraError      (also ImportError)  an optional extra (byos[s3], …) is not installed
     ├── CredentialsError                           credentials are missing, expired or cannot sign
     │    └── MissingCredentialsError               … none are configured or found (a configuration problem)
     └── ProviderError                              a storage provider call failed (SDK errors translated)
          └── ProviderTimeoutError                  … because it did not answer in time

Messages are one line that names the field (or the operation) and says how to fix it. They never
contain secrets or presigned URLs.
"""

from __future__ import annotations

MAX_PROBLEM_CHARS = 400
"""A problem longer than this (it quoted a huge hostile value) is cut, so a message stays one short line."""


def _bounded(problem: str) -> str:
    return problem if len(problem) <= MAX_PROBLEM_CHARS else f"{problem[: MAX_PROBLEM_CHARS - 1]}…"


class ByosError(Exception):
    """Base class of every error byos raises."""


class ConfigError(ByosError, ValueError):
    """A destination setting is invalid.

    Attributes:
        field: The setting at fault, as written in configuration files.
    """

    def __init__(self, field: str, problem: str, fix: str) -> None:
        self.field = field
        self.problem = _bounded(problem)
        self.fix = fix
        super().__init__(f"{field}: {self.problem}; {fix}")


class InvalidInputError(ByosError, ValueError):
    """An argument to a byos call is invalid; nothing was sent.

    Attributes:
        field: The argument at fault.
    """

    def __init__(self, field: str, problem: str, fix: str) -> None:
        self.field = field
        self.problem = _bounded(problem)
        self.fix = fix
        super().__init__(f"{field}: {self.problem}; {fix}")


class MissingExtraError(ByosError, ImportError):
    """An optional dependency is needed for this operation but not installed."""

    def __init__(self, feature: str, extra: str) -> None:
        self.extra = extra
        super().__init__(f"{feature} needs the '{extra}' extra; install it with: pip install 'byos[{extra}]'")


class CredentialsError(ByosError):
    """Credentials are missing, expired, or cannot sign."""


_CREDENTIAL_SOURCES = {
    "s3": (
        "AWS",
        (
            "access_key_id and secret_access_key (BYOS_ACCESS_KEY_ID and BYOS_SECRET_ACCESS_KEY), a profile "
            "(BYOS_PROFILE), or role_arn (BYOS_ROLE_ARN)"
        ),
    ),
    "gcs": (
        "Google",
        (
            "service_account_file (BYOS_SERVICE_ACCOUNT_FILE), hmac_access_id and hmac_secret "
            "(BYOS_HMAC_ACCESS_ID and BYOS_HMAC_SECRET), or service_account_email "
            "(BYOS_SERVICE_ACCOUNT_EMAIL) with Application Default Credentials "
            "(GOOGLE_APPLICATION_CREDENTIALS, `gcloud auth application-default login`, or the workload's "
            "service account)"
        ),
    ),
    "azure": (
        "Azure",
        (
            "account_key (BYOS_ACCOUNT_KEY), or tenant_id, client_id and client_secret (BYOS_TENANT_ID, "
            "BYOS_CLIENT_ID and BYOS_CLIENT_SECRET), or sign the service in (managed identity, `az login`)"
        ),
    ),
}


class MissingCredentialsError(CredentialsError):
    """No credentials are configured or could be found: a configuration problem (the CLI exits 2).

    The message names the settings, their ``BYOS_*`` environment variables and the ``.env`` file.

    Attributes:
        provider: ``s3``, ``gcs`` or ``azure``.
    """

    def __init__(self, provider: str, detail: str = "") -> None:
        self.provider = provider
        cloud, sources = _CREDENTIAL_SOURCES[provider]
        found = f" ({detail})" if detail else ""
        super().__init__(
            f"no {cloud} credentials found{found}; set {sources}, in the destination file or as "
            "environment variables (a .env file in the working directory works too)"
        )


class ProviderError(ByosError):
    """A storage provider call failed. The SDK's own exception is chained as ``__cause__``."""


class ProviderTimeoutError(ProviderError):
    """A storage provider did not answer in time."""
