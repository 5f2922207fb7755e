"""The one exception tree of byos.

Every error byos raises derives from :class:`ByosError`::

    ByosError
     ├── ConfigError            (also ValueError)   a destination setting is invalid
     ├── InvalidInputError      (also ValueError)   an argument to a call is invalid (nothing was sent)
     ├── MissingExtraError      (also ImportError)  an optional extra (byos[s3], …) is not installed
     ├── CredentialsError                           credentials are missing, expired or cannot sign
     └── ProviderError                              a storage provider call failed (SDK errors translated)
          └── ProviderTimeoutError                  … because it did not answer in time

Messages are one line that names the field (or the operation) and says how to fix it. They never
contain secrets or presigned URLs.
"""

from __future__ import annotations


class ByosError(Exception):
    """Base class of every error byos raises."""


class ConfigError(ByosError, ValueError):
    """A destination setting is invalid.

    Attributes:
        field: The setting at fault, as written in configuration files.
    """

    def __init__(self, field: str, problem: str, fix: str) -> None:
        self.field = field
        self.problem = problem
        self.fix = fix
        super().__init__(f"{field}: {problem}; {fix}")


class InvalidInputError(ByosError, ValueError):
    """An argument to a byos call is invalid; nothing was sent.

    Attributes:
        field: The argument at fault.
    """

    def __init__(self, field: str, problem: str, fix: str) -> None:
        self.field = field
        self.problem = problem
        self.fix = fix
        super().__init__(f"{field}: {problem}; {fix}")


class MissingExtraError(ByosError, ImportError):
    """An optional dependency is needed for this operation but not installed."""

    def __init__(self, feature: str, extra: str) -> None:
        self.extra = extra
        super().__init__(f"{feature} needs the '{extra}' extra; install it with: pip install 'byos[{extra}]'")


class CredentialsError(ByosError):
    """Credentials are missing, expired, or cannot sign."""


class ProviderError(ByosError):
    """A storage provider call failed. The SDK's own exception is chained as ``__cause__``."""


class ProviderTimeoutError(ProviderError):
    """A storage provider did not answer in time."""
