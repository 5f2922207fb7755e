"""What all three providers allow in an object key, checked at once: keys, prefixes and tenant labels."""

from __future__ import annotations

import re
import unicodedata

from byos.errors import ConfigError, InvalidInputError

MAX_KEY_BYTES = 1024
MAX_KEY_CHARS = 1024
MAX_PREFIX_BYTES = 512
MAX_SEGMENTS = 254

# Categories removed outright: controls, format characters (bidi overrides, zero-width, BOM), surrogates,
# private use and unassigned code points.
REMOVED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})
SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}")
"""An import id (and the like): 1-128 letters, digits, ``_`` or ``-``, starting with a letter or digit."""
TENANT_LABEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")


def key_problems(key: str) -> list[str]:
    """Return every provider rule ``key`` breaks (empty when it is valid on S3, GCS and Azure alike)."""
    problems: list[str] = []
    if not key:
        problems.append("is empty")
    if len(key.encode("utf-8")) > MAX_KEY_BYTES:
        problems.append(f"is {len(key.encode('utf-8'))} UTF-8 bytes, over S3's and GCS's 1024")
    if len(key) > MAX_KEY_CHARS:
        problems.append(f"is {len(key)} characters, over Azure's 1024")
    if "\r" in key or "\n" in key:
        problems.append("contains CR or LF, which GCS refuses")
    if key.startswith(".well-known/acme-challenge/"):
        problems.append("is under .well-known/acme-challenge/, which GCS refuses")
    if key.endswith((".", "/")):
        problems.append("ends with a dot or slash, which Azure refuses")
    if key.count("/") + 1 > MAX_SEGMENTS:
        problems.append(f"has more than {MAX_SEGMENTS} path segments, which Azure refuses")
    segments = key.split("/")
    if any(segment in (".", "..") for segment in segments):
        problems.append("has a '.' or '..' segment")
    # str.isprintable() is False for every removed category, so a printable key needs no per-character look.
    if not key.isprintable() and any(unicodedata.category(char) in REMOVED_CATEGORIES for char in key):
        problems.append("contains control or invisible characters")
    return problems


def check_key(key: str, field: str = "key") -> str:
    """Return ``key`` if every provider accepts it, else raise :class:`InvalidInputError`."""
    problems = key_problems(key)
    if problems:
        raise InvalidInputError(field, problems[0], "shorten or rename it")
    return key


def check_prefix(prefix: str, field: str = "prefix") -> str:
    """Return ``prefix`` if keys may start with it, else raise :class:`ConfigError`."""
    fix = "use a relative folder path like imports/acme/"
    if prefix.startswith("/"):
        raise ConfigError(field, "starts with '/'", fix)
    if "//" in prefix or "\\" in prefix:
        raise ConfigError(field, "contains '//' or a backslash", fix)
    if len(prefix.encode("utf-8")) > MAX_PREFIX_BYTES:
        raise ConfigError(field, f"is over {MAX_PREFIX_BYTES} UTF-8 bytes", "shorten it")
    if any(part in (".", "..") for part in prefix.split("/")):
        raise ConfigError(field, "has a '.' or '..' segment", fix)
    if prefix.startswith(".well-known/acme-challenge"):
        raise ConfigError(field, "is under .well-known/acme-challenge/, which GCS refuses", fix)
    if any(unicodedata.category(char) in REMOVED_CATEGORIES or char in "\r\n" for char in prefix):
        raise ConfigError(field, "contains control or invisible characters", "remove them")
    return prefix


def check_tenant(tenant: str, field: str = "tenant") -> str:
    """Return ``tenant`` if it is a safe label, else raise :class:`ConfigError`."""
    if not TENANT_LABEL.fullmatch(tenant) or ".." in tenant:
        raise ConfigError(
            field, f"{tenant!r} is not a safe label", "use 1-63 letters, digits, '.', '_' or '-'"
        )
    return tenant
