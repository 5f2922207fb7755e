"""The rules every setting is checked by, as plain functions: durations, origins, endpoints, key layout.

The pydantic settings classes (:mod:`byos.config.settings`) and the presign fast path
(:mod:`byos.config.quick`) both call these, so a rule is written once. No pydantic here: importing this module
costs what the rules themselves need.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import timedelta
from urllib.parse import urlsplit

from byos import keys
from byos.display import clean, clip, shown
from byos.endpoint_policy import ALLOW_PRIVATE_ENDPOINTS_ENV, host_refusal, is_final, is_loopback_host
from byos.errors import ConfigError
from byos.redaction import redact_userinfo

MIN_EXPIRES = timedelta(seconds=1)
MAX_EXPIRES = timedelta(days=7)
DEFAULT_EXPIRES = timedelta(minutes=30)
MAX_CONFIG_BYTES = 1024 * 1024
MAX_KEY_FILE = 64 * 1024  # a service account key file is about 2.3 KiB

_DURATION_PART = re.compile(r"([0-9]+)\s*(d|h|m|s)")
_MAX_DURATION_DIGITS = 12
_TOO_LONG = 10**12  # seconds: far past 7 days, well inside what timedelta holds
_DURATION_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}


class ProblemError(ValueError):
    """A validator's failure, carrying the fix apart from the problem (and the field, for model checks)."""

    def __init__(self, problem: str, fix: str, field: str | None = None) -> None:
        super().__init__(f"{problem}; {fix}")
        self.problem = problem
        self.fix = fix
        self.field = field


# --- field validators ---


def parse_duration_value(value: object) -> object:
    """Accept ``90``, ``"90s"``, ``"30m"``, ``"1h30m"``, ``"7d"`` and ISO 8601 (``"PT30M"``) for durations."""
    if isinstance(value, bool):
        raise ProblemError("must be a duration", 'write it like "30m", "2h" or "1d"')
    if isinstance(value, int | float):
        return _duration(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text.isascii() and text.isdigit():
            return _duration(_number(text))
        if text and _DURATION_PART.sub("", text).strip() == "":
            return _duration(sum(_number(n) * _DURATION_UNITS[u] for n, u in _DURATION_PART.findall(text)))
        if text.startswith("p"):
            return value
        raise ProblemError(f"{shown(value)} is not a duration", 'write it like "30m", "2h" or "1d"')
    return value


def _number(digits: str) -> int:
    """A duration's number; more digits than any lifetime needs is out of range (and never parsed)."""
    return int(digits) if len(digits) <= _MAX_DURATION_DIGITS else _TOO_LONG


def _duration(seconds: float) -> timedelta:
    """``seconds`` as a timedelta, refusing what timedelta cannot hold (inf, nan, 1e300) as out of range."""
    if isinstance(seconds, float) and not math.isfinite(seconds):
        raise ProblemError(f"{seconds} is not a duration", 'write it like "30m", "2h" or "1d"')
    if abs(seconds) >= _TOO_LONG:
        raise ProblemError(
            f"{float(min(abs(seconds), 10**300)):.3g} seconds is out of range",
            "choose between 1s and 7d (presigned URLs live at most 7 days)",
        )
    return timedelta(seconds=seconds)


def parse_duration(text: str, *, field: str = "expires") -> timedelta:
    """Parse a duration as written in configuration (``"30m"``, ``"2h"``, ``"1d"``, ``"90"``) within 1 s..7 d.

    Raises:
        ConfigError: The text is not a duration or is out of range.
    """
    try:
        value = parse_duration_value(text)
        return check_expires(value if isinstance(value, timedelta) else _not_a_duration(text))
    except ProblemError as exc:
        error = ConfigError(field, exc.problem, exc.fix)
    raise error  # outside the handler: the chain would hold the input


def _not_a_duration(text: str) -> timedelta:
    raise ProblemError(f"{shown(text)} is not a duration", 'write it like "30m", "2h" or "1d"')


def check_expires(value: timedelta) -> timedelta:
    """A lifetime within 1 s..7 d (what a presigned URL may live)."""
    if not MIN_EXPIRES <= value <= MAX_EXPIRES:
        raise ProblemError(
            f"{human_duration(value)} is out of range",
            "choose between 1s and 7d (presigned URLs live at most 7 days)",
        )
    return value


def human_duration(value: timedelta) -> str:
    """A lifetime as it is written in configuration: ``30m``, ``2h``, ``7d``, ``90s``."""
    seconds = int(value.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{value.total_seconds():g}s"


def check_prefix(value: str) -> str:
    """A key prefix (see :func:`byos.keys.check_prefix`)."""
    keys.check_prefix(value)
    return value


def check_origin_value(value: str) -> str:
    """A browser origin, normalised to ``scheme://host[:port]``."""
    text = value.strip()
    if text == "*":
        raise ProblemError(
            "'*' allows every web site to upload", "list each origin, like https://app.example.com"
        )
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018  (raises ValueError for a port out of range)
    except ValueError:
        parts = urlsplit("")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ProblemError(
            f"{shown(redact_userinfo(value))} is not an origin",
            "write scheme://host[:port], like https://app.example.com",
        )
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username or parts.password:
        raise ProblemError(
            f"{shown(redact_userinfo(value))} has more than scheme, host and port",
            "drop the path, query and credentials",
        )
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        raise ProblemError(f"{shown(value)} is plain http", "browsers should upload from an https origin")
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    default_port = {"http": 80, "https": 443}[parts.scheme]
    port = "" if parts.port in (None, default_port) else f":{parts.port}"
    return f"{parts.scheme}://{host}{port}"


def check_endpoint(value: str | None) -> str | None:
    """A storage endpoint URL a tenant may name (None when empty), without a trailing slash."""
    if value is None or value.strip() == "":
        return None
    text = value.strip()
    fix = "write it like https://storage.example.com[:port]"
    if any(char.isspace() or not char.isprintable() for char in text):
        raise ProblemError("contains spaces or control characters", fix)
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise ProblemError("is not a valid URL (bad port or brackets)", fix) from None
    del port
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ProblemError("is not an http(s) URL with a host", fix)
    if "@" in parts.netloc:
        raise ProblemError("must not carry credentials (user:password@)", "give only scheme://host[:port]")
    if "?" in text or "#" in text:
        raise ProblemError("must not carry a query or fragment", "give only scheme://host[:port][/path]")
    host = parts.hostname
    if parts.scheme == "http" and not is_loopback_host(host):
        raise ProblemError(
            "is plain http to a host that is not loopback, which would send presigned URLs in clear text",
            "use https (plain http is allowed only for 127.0.0.1, ::1 and localhost)",
        )
    refusal = host_refusal(host)
    if refusal is not None and is_final(refusal):
        raise ProblemError(
            f"names {refusal}, where byos never connects", "use the storage service's own endpoint"
        )
    if refusal is not None:
        raise ProblemError(
            f"names {refusal}, which a tenant must not point byos at",
            f"use a public endpoint, or set {ALLOW_PRIVATE_ENDPOINTS_ENV}=1 to allow private networks",
        )
    return text.rstrip("/")


def no_path(endpoint_url: str | None, provider: str) -> None:
    """Refuse an endpoint with a path where the provider's endpoints have none."""
    if endpoint_url is not None and urlsplit(endpoint_url).path not in ("", "/"):
        raise ProblemError(
            f"has a path; {provider} endpoints are scheme://host[:port]", "remove the path", "endpoint_url"
        )


def check_origin(origin: str, *, field: str = "origins") -> str:
    """Return ``origin`` as ``scheme://host[:port]``, or raise :class:`ConfigError` naming ``field``."""
    try:
        return check_origin_value(origin)
    except ProblemError as exc:
        error = ConfigError(field, exc.problem, exc.fix)
    raise error  # outside the handler: the chain would hold the origin, credentials and all


def check_template(value: str) -> str:
    """A key template (see :func:`byos.keys.check_template`)."""
    keys.check_template(value)
    return value


def check_raw_template(value: str) -> str:
    """A raw upload's key template, which must make every key unique."""
    keys.check_template(value, raw=True)
    return value


def pattern(regex: str, what: str, fix: str) -> Callable[[str], str]:
    """A rule that ``value`` matches ``regex`` in full: "VALUE is not a valid WHAT; FIX" otherwise."""
    compiled = re.compile(regex)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise ProblemError(f"{shown(value)} is not a valid {what}", fix)
        return value

    return check


def config_error(field: str, cause: BaseException) -> ConfigError:
    """The one-line :class:`ConfigError` for a rule's failure at ``field`` (``"settings"``: a cross check).

    The problem and the fix are cleaned of control characters: a rule that quotes a raw value (a template's
    field name with a line break, say) still gives one line.
    """
    if isinstance(cause, ProblemError):
        field, problem, fix = cause.field or field, cause.problem, cause.fix
    elif isinstance(cause, ConfigError):
        field, problem, fix = field if field != "settings" else cause.field, cause.problem, cause.fix
    else:
        problem, fix = str(cause), "fix the value in the config file"
    return ConfigError(clean(field), clean(clip(problem)), clean(fix))
