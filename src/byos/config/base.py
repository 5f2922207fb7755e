"""The shared base of every destination: the rule table's row type, the common settings and their checks.

A provider's settings are a table (:class:`Setting` per name, in the order the settings class declares them)
plus one cross check (a plain function of the loaded values). The pydantic classes in
:mod:`byos.config.settings` declare the same fields with the same rule functions, and a test holds the two
equal, so the presign fast path (:mod:`byos.config.quick`) validates exactly what the classes validate.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Final, Protocol, TypeGuard

from byos import keys
from byos.config.rules import (
    DEFAULT_EXPIRES,
    ProblemError,
    check_expires,
    check_origin_value,
    check_prefix,
    check_raw_template,
    check_template,
    parse_duration_value,
)
from byos.display import shown
from byos.log_redaction import remember

REQUIRED: Final = object()
"""The default of a setting that has none: it must be given."""

STR, INT, LIST, SECRET, PATH, DURATION, CHOICE = "str", "int", "list", "secret", "path", "duration", "choice"


@dataclass(frozen=True, slots=True)
class Setting:
    """One row of the rule table: a setting's type, default and the rules its value passes, in order.

    Attributes:
        kind: ``str``, ``int``, ``list`` (of str), ``secret`` (a str kept secret), ``path``, ``duration`` or
            ``choice`` (one of ``choices``).
        default: The value when it is not given (:data:`REQUIRED`: none); a ``list`` setting's, a tuple.
        optional: None is a value (and skips the rules).
        before: Applied to the raw value before its type is checked (durations, case folding).
        rules: Applied in order to the typed value (each item of a list); each returns the value it keeps.
        choices: The values of a ``choice``.
    """

    kind: str
    default: object = REQUIRED
    optional: bool = False
    before: Callable[[Any], Any] | None = None
    rules: tuple[Callable[[Any], Any], ...] = ()
    choices: tuple[str, ...] = ()


class Secret(Protocol):
    """A secret value: pydantic's ``SecretStr`` or the fast path's :class:`~byos.config.quick.QuickSecret`."""

    def get_secret_value(self) -> str:
        """The secret itself (never print it)."""
        ...


COMMON: Final[Mapping[str, Setting]] = {
    "provider": Setting(STR),
    "name": Setting(STR, None, optional=True),
    "prefix": Setting(STR, "", rules=(check_prefix,)),
    "tenant": Setting(STR, None, optional=True),
    "expires": Setting(DURATION, DEFAULT_EXPIRES, before=parse_duration_value, rules=(check_expires,)),
    "origins": Setting(LIST, (), rules=(check_origin_value,)),
    "raw_key_template": Setting(STR, keys.DEFAULT_RAW_TEMPLATE, rules=(check_raw_template,)),
    "result_key_template": Setting(STR, keys.DEFAULT_RESULT_TEMPLATE, rules=(check_template,)),
    "probe_prefix": Setting(STR, keys.DEFAULT_PROBE_PREFIX, rules=(check_prefix,)),
    "max_upload_bytes": Setting(INT, None, optional=True),
}
"""The settings every destination has, whatever its provider."""


def check_common(destination: Any) -> None:  # noqa: ANN401  (a settings class or a quick destination)
    """The cross checks of the common settings (tenant, upload size, key layout, probe folder).

    Raises:
        ProblemError: A check fails (naming the setting).
        ConfigError: The key layout is invalid.
    """
    if destination.tenant is not None:
        keys.check_tenant(destination.tenant)
    if destination.max_upload_bytes is not None and not 1 <= destination.max_upload_bytes <= 5 * 1024**4:
        raise ProblemError(
            f"{shown(destination.max_upload_bytes)} is out of range",
            "choose between 1 byte and 5 TiB",
            "max_upload_bytes",
        )
    keys.KeyLayout.from_destination(destination)
    if not destination.probe_prefix:
        raise ProblemError("is empty", "keep the default byos-probes/ or name another folder", "probe_prefix")
    if not destination.probe_prefix.endswith("/"):
        raise ProblemError("must end with '/'", f"write {destination.probe_prefix + '/'!r}", "probe_prefix")


def remember_secrets(values: Mapping[str, object]) -> None:
    """Register every secret setting for redaction from SDK logs (see :mod:`byos.log_redaction`)."""
    remember(*(value.get_secret_value() for value in values.values() if _is_secret(value)))


def _is_secret(value: object) -> TypeGuard[Secret]:
    return callable(getattr(value, "get_secret_value", None))


class DestinationBase(ABC):
    """What every loaded destination is, whichever way it was loaded (no pydantic here).

    The settings classes (:class:`~byos.config.S3Destination`, …) and the presign fast path's destinations
    derive from it; :func:`isinstance` with it tells a loaded destination from anything else.
    """

    PROVIDER: ClassVar[str] = ""
    if TYPE_CHECKING:  # declared by each kind of destination (not fields here: pydantic would collect them)
        provider: str
        name: str | None

    @property
    def label(self) -> str:
        """The name shown in reports."""
        return self.name or self.default_label()

    @abstractmethod
    def default_label(self) -> str:
        """The label used when no ``name`` is configured."""
