"""GOOG4 signing's shared rules: constants and the checks of bucket, object name, endpoint, clock, expiry."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import lru_cache
from typing import Final
from urllib.parse import urlsplit

from byos.errors import ConfigError, InvalidInputError

DEFAULT_ENDPOINT: Final = "https://storage.googleapis.com"
MAX_EXPIRES: Final = 7 * 24 * 60 * 60
RSA_ALGORITHM: Final = "GOOG4-RSA-SHA256"
HMAC_ALGORITHM: Final = "GOOG4-HMAC-SHA256"
_LOCATION: Final = "auto"
_UNSIGNED_PAYLOAD: Final = "UNSIGNED-PAYLOAD"
_METHODS: Final = frozenset({"GET", "HEAD", "PUT", "POST", "DELETE"})

_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_HEADER_VALUE = re.compile(r"[\x20-\x7e]*")
_DIGITS = re.compile(r"[0-9]{1,19}")
_LENGTH_RANGE = re.compile(r"([0-9]{1,19}),([0-9]{1,19})")
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
_BUCKET = re.compile(r"[a-z0-9](?:[a-z0-9._-]*[a-z0-9])?")
_IPV4 = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,3}){3}")
_GOOGLE_LOOKALIKE = re.compile(r"g[o0]{2}g[l1]e")
_DOT_SEGMENT = re.compile(r"(?:^|/)\.{1,2}(?:/|$)")
_IDENTITY = re.compile(r"[\x21-\x7e]+")


def _identity(field: str, value: object, error: type[ConfigError] | type[InvalidInputError]) -> str:
    if not isinstance(value, str) or _IDENTITY.fullmatch(value) is None or "/" in value:
        raise error(field, "must be non-empty printable ASCII without '/' or spaces", "check the credentials")
    return value


def _method(method: str) -> str:
    if method in _METHODS:
        return method
    verb = method.upper() if isinstance(method, str) else ""
    if verb not in _METHODS:
        raise InvalidInputError(
            "method", f"{method!r} is not supported", "use PUT, POST, GET, HEAD or DELETE"
        )
    return verb


def _check_bucket(bucket: object) -> None:
    """Raise InvalidInputError unless ``bucket`` follows Cloud Storage's naming rules."""
    if not isinstance(bucket, str):
        raise InvalidInputError("bucket", "is not text", "pass the bucket name")
    _check_bucket_name(bucket)


@lru_cache(maxsize=256)
def _check_bucket_name(bucket: str) -> None:
    if not 3 <= len(bucket) <= 222:
        raise InvalidInputError("bucket", f"has {len(bucket)} characters", "use 3 to 63 (222 with dots)")
    if _BUCKET.fullmatch(bucket) is None:
        raise InvalidInputError(
            "bucket",
            "may hold only a-z, 0-9, '-', '_' and '.', and must start and end with a letter or digit",
            "rename the bucket",
        )
    labels = bucket.split(".")
    if len(labels) == 1 and len(bucket) > 63:
        raise InvalidInputError("bucket", f"has {len(bucket)} characters", "use at most 63 without dots")
    if any(not 1 <= len(label) <= 63 for label in labels):
        raise InvalidInputError("bucket", "has an empty or over-63-character dot-separated part", "rename it")
    if _IPV4.fullmatch(bucket) is not None:
        raise InvalidInputError("bucket", "looks like an IP address", "rename the bucket")
    if bucket.startswith("goog") or _GOOGLE_LOOKALIKE.search(bucket) is not None:
        raise InvalidInputError(
            "bucket", "may not start with 'goog' or contain 'google'", "rename the bucket"
        )


def _check_object_name(key: str) -> None:
    """Raise InvalidInputError unless ``key`` is a valid object name that HTTP clients keep as is."""
    if not isinstance(key, str):
        raise InvalidInputError("key", "is not text", "pass the object name as a string")
    size = len(key) if key.isascii() else len(key.encode("utf-8", "surrogatepass"))
    if not 1 <= size <= 1024:
        raise InvalidInputError("key", f"is {size} bytes in UTF-8", "use 1 to 1024 bytes")
    if size != len(key):
        _check_unicode("key", key)
    if "\r" in key or "\n" in key:
        raise InvalidInputError("key", "contains a carriage return or line feed", "remove them")
    if key.startswith(".well-known/acme-challenge/"):
        raise InvalidInputError("key", "is under .well-known/acme-challenge/", "use another prefix")
    if _DOT_SEGMENT.search(key) is not None:
        raise InvalidInputError(
            "key", "has a '.' or '..' path segment, which HTTP clients rewrite", "remove the dot segment"
        )


def _check_unicode(field: str, text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInputError(field, "contains an unpaired surrogate", "pass valid Unicode text") from None


def _check_expires(expires: int) -> None:
    if type(expires) is not int:
        raise InvalidInputError("expires", "is not a whole number of seconds", "pass an int such as 1800")
    if not 1 <= expires <= MAX_EXPIRES:
        raise InvalidInputError("expires", f"is {expires} s", f"use 1 to {MAX_EXPIRES} seconds (7 days)")


_ENDPOINT_FIX: Final = "use scheme://host[:port], e.g. https://storage.googleapis.com"


def _endpoint(endpoint: object) -> tuple[str, str]:
    """Return ``(base URL, Host header)`` for ``scheme://host[:port]``, as a browser would send Host."""
    if not isinstance(endpoint, str):
        raise InvalidInputError("endpoint", "is not text", _ENDPOINT_FIX)
    return _parse_endpoint(endpoint)


@lru_cache(maxsize=32)
def _parse_endpoint(endpoint: str) -> tuple[str, str]:
    fix = _ENDPOINT_FIX
    try:
        parts = urlsplit(endpoint)
        port = parts.port
    except ValueError:
        raise InvalidInputError("endpoint", "is not a valid URL", fix) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInputError("endpoint", "needs an http or https scheme and a host", fix)
    if parts.username is not None or parts.password is not None or parts.query or parts.fragment:
        raise InvalidInputError("endpoint", "may not hold credentials, a query or a fragment", fix)
    if parts.path not in ("", "/"):
        raise InvalidInputError("endpoint", "may not have a path (URLs are path style)", fix)
    host = parts.hostname
    if not host.isascii() or any(c in host for c in " \t\\%"):
        raise InvalidInputError("endpoint", "has an invalid host", fix)
    if ":" in host:
        host = f"[{host}]"
    if port is not None and port != (443 if parts.scheme == "https" else 80):
        host = f"{host}:{port}"
    return f"{parts.scheme}://{host}", host


def _utc(now: datetime | None) -> datetime:
    """Return ``now`` in UTC (the current time when None)."""
    if now is None:
        return datetime.now(UTC)
    if now.__class__ is datetime and now.tzinfo is UTC:
        return now
    if not isinstance(now, datetime) or now.utcoffset() is None:
        raise InvalidInputError("now", "is not a timezone-aware datetime", "pass e.g. datetime.now(UTC)")
    return now.astimezone(UTC)


def _timestamp(moment: datetime) -> str:
    """Return ``YYYYMMDDTHHMMSSZ`` of a UTC datetime (fractions of a second dropped, as the SDK does)."""
    iso = moment.isoformat(timespec="seconds")
    return f"{iso[0:4]}{iso[5:7]}{iso[8:10]}T{iso[11:13]}{iso[14:16]}{iso[17:19]}Z"
