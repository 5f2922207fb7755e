"""The presign fast path's loader: a destination validated through the rule table, without importing pydantic.

``byos presign`` spends most of its start importing pydantic and building the settings classes. This loader
reads the same sources (:mod:`byos.config.sources`) and runs the same rules in the same order (each
setting's :class:`~byos.config.base.Setting`, then the cross checks), so it accepts exactly what the classes
accept, gives the same values, and raises the same one-line :class:`~byos.errors.ConfigError` for a broken
rule.
What it does not cover (a value whose Python type is not the plain one, like ``"300"`` for an integer or an
ISO 8601 duration) it declines with None, and the caller loads the settings class instead, which then decides.
A test holds the two loaders equal on every configuration the tests use.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any, Final

from byos.config import azure, gcs, s3
from byos.config.base import (
    CHOICE,
    DURATION,
    INT,
    LIST,
    PATH,
    REQUIRED,
    SECRET,
    STR,
    DestinationBase,
    Setting,
    check_common,
    remember_secrets,
)
from byos.config.rules import config_error
from byos.config.sources import TABLES, file_values, gather, missing

_CHECKS: Final = {"s3": s3.check_s3, "gcs": gcs.check_gcs, "azure": azure.check_azure}
_LABELS: Final = {"s3": s3.s3_label, "gcs": gcs.gcs_label, "azure": azure.azure_label}
_PLAIN: Final = {STR: str, INT: int, SECRET: str, PATH: str, CHOICE: str}


class QuickSecret:
    """A secret setting of a quick destination: shown as stars, like pydantic's ``SecretStr``."""

    __slots__ = ("_secret",)

    def __init__(self, secret: str) -> None:
        self._secret = secret

    def get_secret_value(self) -> str:
        """The secret itself (never print it)."""
        return self._secret

    def __repr__(self) -> str:
        return "QuickSecret('**********')"

    def __str__(self) -> str:
        return "**********"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, QuickSecret) and other._secret == self._secret

    def __hash__(self) -> int:
        return hash(self._secret)


class QuickDestination(DestinationBase):
    """A destination from the fast path: every setting an attribute, as on the settings class; immutable."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"a destination is frozen: {name} cannot be set")

    def __getattr__(self, name: str) -> Any:  # noqa: ANN401  (a setting; only called for unknown names)
        raise AttributeError(f"{type(self).__name__} has no setting {name!r}")

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={value!r}" for name, value in self.__dict__.items())
        return f"QuickDestination({shown})"

    def default_label(self) -> str:
        """The provider's label: ``s3://BUCKET/PREFIX``, ``gs://…`` or ``azure://ACCOUNT/CONTAINER/PREFIX``."""
        return _LABELS[self.provider](self)

    @property
    def blob_endpoint(self) -> str:
        """Azure: the account's blob endpoint, without a trailing slash."""
        return azure.blob_endpoint(self)


class _DeclinedError(Exception):
    """A value the fast path leaves to the settings class (never raised to callers)."""


def quick_destination(
    data: dict[str, Any], *, env: bool = True, env_file: str | Path | None = ".env", source: str = "config"
) -> QuickDestination | None:
    """Validate a destination as :func:`~byos.config.destination_from_dict` does; None: load that instead.

    Raises:
        ConfigError: A setting is missing or invalid: the error the settings class gives.
    """
    provider, raw = gather(data, env=env, env_file=env_file, source=source)
    values: dict[str, Any] = {}
    try:
        for name, setting in TABLES[provider].items():
            values[name] = _value(name, setting, raw.get(name, REQUIRED))
        destination = QuickDestination(values)
        for check in (check_common, remember_secrets, _CHECKS[provider]):
            _run(check, destination if check is not remember_secrets else values)
    except _DeclinedError:
        return None
    return destination


def load_quick(
    path: str | Path, *, env: bool = True, env_file: str | Path | None = ".env"
) -> QuickDestination | None:
    """Load a destination file as :func:`~byos.config.load_destination` does; None: load it that way instead.

    Raises:
        ConfigError: The file cannot be read, or a setting is missing or invalid.
    """
    data, source = file_values(path)
    return quick_destination(data, env=env, env_file=env_file, source=source)


def _value(name: str, setting: Setting, raw: object) -> object:
    """One setting's value: default, before-rule, plain type, rules (each item of a list)."""
    if raw is REQUIRED:
        if setting.default is REQUIRED:
            raise missing(name)
        raw = list(setting.default) if setting.kind == LIST else setting.default  # type: ignore[call-overload]
    if raw is None and setting.optional:
        return None
    if setting.before is not None:
        raw = _run(setting.before, raw, name)
    if setting.kind == LIST:
        if type(raw) is not list:
            raise _DeclinedError
        return [_checked(setting, item, f"{name}.{index}") for index, item in enumerate(raw)]
    if setting.kind == DURATION:
        if type(raw) is not timedelta:
            raise _DeclinedError  # an ISO 8601 duration, or a type pydantic decides about
        return _checked(setting, raw, name)
    if type(raw) is not _PLAIN[setting.kind] or (setting.kind == CHOICE and raw not in setting.choices):
        raise _DeclinedError
    value = _checked(setting, raw, name)
    if setting.kind == SECRET:
        return QuickSecret(value)
    return Path(value) if setting.kind == PATH else value


def _checked(setting: Setting, value: object, field: str) -> Any:  # noqa: ANN401  (what the rules keep)
    if setting.kind == LIST and type(value) is not str:
        raise _DeclinedError
    for rule in setting.rules:
        value = _run(rule, value, field)
    return value


def _run(rule: Any, value: object, field: str = "settings") -> Any:  # noqa: ANN401  (a rule and its result)
    try:
        return rule(value)
    except ValueError as exc:
        error = config_error(field, exc)
    except AssertionError:
        raise _DeclinedError from None
    raise error  # outside the handler: the chain would hold the value
