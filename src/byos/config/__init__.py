"""Destination settings: one flat pydantic class per provider, from TOML, ``BYOS_*`` or ``.env``.

A destination is one customer's bucket (or container) and the credentials that may write to it. Load one
with :func:`load_destination` (a TOML file, with ``BYOS_*`` environment variables and ``.env`` filling what
the file leaves out, so secrets can stay out of files), or a folder of them with :func:`load_fleet`.

Every problem is reported at load time as a :class:`~byos.errors.ConfigError` whose one-line message names the
setting and the fix. Secrets are :class:`pydantic.SecretStr` and never printed.

The package, by module:

- :mod:`~byos.config.rules`: the rules of single settings (durations, origins, endpoints, key layout);
- :mod:`~byos.config.base`: the rule table's row type, the common settings and :class:`DestinationBase`;
- :mod:`~byos.config.s3`, :mod:`~byos.config.gcs`, :mod:`~byos.config.azure`: each provider's rules, its
  table of settings and its cross check;
- :mod:`~byos.config.settings`: the pydantic classes, declared with those rules;
- :mod:`~byos.config.sources`, :mod:`~byos.config.loading`: TOML, environment and ``.env``, then the classes;
- :mod:`~byos.config.quick`: the presign fast path, the same rules without pydantic.

pydantic is imported only when a settings class (or a loader that builds one) is first used, so the rules and
the fast path stay cheap to import.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from byos.config.base import DestinationBase
from byos.config.rules import (
    DEFAULT_EXPIRES,
    MAX_CONFIG_BYTES,
    MAX_EXPIRES,
    MIN_EXPIRES,
    check_origin,
    parse_duration,
)

if TYPE_CHECKING:
    from byos.config.loading import destination_from_dict, load_destination, load_fleet
    from byos.config.settings import (
        PROVIDERS,
        AzureAccount,
        AzureContainer,
        AzureDestination,
        AzureLocation,
        Destination,
        Duration,
        Endpoint,
        ExternalId,
        GCSBucket,
        GCSDestination,
        GcsLocation,
        Origin,
        Prefix,
        RawTemplate,
        RoleArn,
        S3Bucket,
        S3Destination,
        Template,
    )

_SETTINGS = (
    "PROVIDERS",
    "AzureAccount",
    "AzureContainer",
    "AzureDestination",
    "AzureLocation",
    "Destination",
    "Duration",
    "Endpoint",
    "ExternalId",
    "GCSBucket",
    "GCSDestination",
    "GcsLocation",
    "Origin",
    "Prefix",
    "RawTemplate",
    "RoleArn",
    "S3Bucket",
    "S3Destination",
    "Template",
)
_LAZY: dict[str, tuple[str, str]] = {
    **{name: ("byos.config.settings", name) for name in _SETTINGS},
    "destination_from_dict": ("byos.config.loading", "destination_from_dict"),
    "load_destination": ("byos.config.loading", "load_destination"),
    "load_fleet": ("byos.config.loading", "load_fleet"),
    # The names the single module had before it became this package (private, kept for old imports).
    "ENV_PREFIX": ("byos.config_env", "ENV_PREFIX"),
    "_MAX_KEY_FILE": ("byos.config.rules", "MAX_KEY_FILE"),
    "_ProblemError": ("byos.config.rules", "ProblemError"),
    "_parse_duration": ("byos.config.rules", "parse_duration_value"),
    "_check_expires": ("byos.config.rules", "check_expires"),
    "_human": ("byos.config.rules", "human_duration"),
    "_check_prefix": ("byos.config.rules", "check_prefix"),
    "_check_origin": ("byos.config.rules", "check_origin_value"),
    "_check_endpoint": ("byos.config.rules", "check_endpoint"),
    "_no_path": ("byos.config.rules", "no_path"),
    "_check_template": ("byos.config.rules", "check_template"),
    "_check_raw_template": ("byos.config.rules", "check_raw_template"),
    "_check_s3_bucket": ("byos.config.s3", "check_s3_bucket"),
    "_check_gcs_bucket": ("byos.config.gcs", "check_gcs_bucket"),
    "_check_base64_key": ("byos.config.azure", "check_base64_key"),
    "_read_toml": ("byos.config.sources", "read_toml"),
    "_env_value": ("byos.config.sources", "env_value"),
    "_env_file_error": ("byos.config.sources", "env_file_error"),
    "_to_config_error": ("byos.config.loading", "_to_config_error"),
    "_read_text": ("byos.config.sources", "_read_text"),
    "_pattern": ("byos.config.settings", "pattern_validator"),
    **{
        name: ("byos.config.rules", name)
        for name in ("_DURATION_PART", "_DURATION_UNITS", "_MAX_DURATION_DIGITS", "_TOO_LONG")
    },
    **{name: ("byos.config.rules", name) for name in ("_duration", "_not_a_duration", "_number")},
    # And what the module imported, which could be imported from it.
    "keys": ("byos.keys", ""),
    **{name: ("byos.display", name) for name in ("clean", "clip", "shown")},
    **{name: ("byos.errors", name) for name in ("ConfigError", "InvalidInputError")},
    **{name: ("byos.config_env", name) for name in ("environment_values", "read_env_file")},
    **{
        name: ("byos.endpoint_policy", name)
        for name in ("ALLOW_PRIVATE_ENDPOINTS_ENV", "host_refusal", "is_final", "is_loopback_host")
    },
    "redact_userinfo": ("byos.redaction", "redact_userinfo"),
    "remember": ("byos.log_redaction", "remember"),
    **{
        name: ("pydantic", name)
        for name in (
            "AfterValidator",
            "BaseModel",
            "BeforeValidator",
            "ConfigDict",
            "Field",
            "SecretStr",
            "ValidationError",
            "model_validator",
        )
    },
    **{name: ("typing", name) for name in ("Annotated", "Any", "ClassVar", "Literal")},
    "Path": ("pathlib", "Path"),
    "timedelta": ("datetime", "timedelta"),
    "urlsplit": ("urllib.parse", "urlsplit"),
    "abstractmethod": ("abc", "abstractmethod"),
}


def __getattr__(name: str) -> object:
    """Load the settings classes (and pydantic) on first use of one of their names."""
    found = _LAZY.get(name)
    if found is None:
        raise AttributeError(f"module 'byos.config' has no attribute {name!r}")
    import importlib  # noqa: PLC0415

    module = importlib.import_module(found[0])
    return getattr(module, found[1]) if found[1] else module


__all__ = [
    "DEFAULT_EXPIRES",
    "MAX_CONFIG_BYTES",
    "MAX_EXPIRES",
    "MIN_EXPIRES",
    "PROVIDERS",
    "AzureAccount",
    "AzureContainer",
    "AzureDestination",
    "AzureLocation",
    "Destination",
    "DestinationBase",
    "Duration",
    "Endpoint",
    "ExternalId",
    "GCSBucket",
    "GCSDestination",
    "GcsLocation",
    "Origin",
    "Prefix",
    "RawTemplate",
    "RoleArn",
    "S3Bucket",
    "S3Destination",
    "Template",
    "check_origin",
    "destination_from_dict",
    "load_destination",
    "load_fleet",
    "parse_duration",
]
