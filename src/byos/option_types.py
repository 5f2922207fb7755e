"""Type checks for every public upload option, run before anything is derived from it.

A web form passes ``"false"``, a JSON body passes ``1.0``: such values are refused by type, never read as
truthy or falsy, so a type mistake can never turn a write-once upload into an overwritable one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from byos.display import shown
from byos.errors import InvalidInputError

if TYPE_CHECKING:
    from byos.models import UploadOptions

_TEXT = ("filename", "content_type", "checksum_sha256", "content_md5", "upload_id", "import_id")
_SIZES = ("content_length", "min_bytes", "max_bytes")
_FLAGS = ("overwrite", "probe")
METHODS = ("PUT", "POST")


def type_name(value: object) -> str:
    """Name the type of ``value`` for a message (the value itself is never quoted: it may be a secret)."""
    return "None" if value is None else type(value).__name__


def destination_kind(value: object) -> str:
    """Describe what was passed as a destination: ``"a gcs destination"``, ``"a dict, not a destination"``."""
    from byos.config import DestinationBase  # noqa: PLC0415  (loaded already whenever a destination exists)

    if isinstance(value, DestinationBase):
        return f"a {value.provider} destination"
    return f"a {type_name(value)}, not a destination"


def require_destination(value: object) -> None:
    """Refuse anything but a loaded destination (from :mod:`byos.config`).

    Raises:
        InvalidInputError: ``value`` is None, a dict, a path or anything else.
    """
    from byos.config import DestinationBase  # noqa: PLC0415

    if not isinstance(value, DestinationBase):
        raise InvalidInputError(
            "destination", f"is {destination_kind(value)}", "pass one from byos.config.load_destination"
        )


def require_bool(field: str, value: object) -> bool:
    """Return ``value`` if it is exactly ``True`` or ``False``.

    Raises:
        InvalidInputError: Anything else, including the strings ``"false"``/``"true"`` and ``0``/``1``.
    """
    if value is True or value is False:
        return value
    raise InvalidInputError(
        field,
        f"must be True or False, not a {type_name(value)}",
        "pass a bool (a string like 'false' is refused)",
    )


def require_int(field: str, value: object, *, optional: bool = False) -> int | None:
    """Return ``value`` if it is an ``int`` (``bool`` is not one here) of 0 or more, or None when optional.

    Raises:
        InvalidInputError: A float, a string, a bool or a negative number.
    """
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInputError(
            field, f"must be a whole number of bytes, not a {type_name(value)}", "pass an int, 0 or more"
        )
    if value < 0:
        raise InvalidInputError(field, "is negative", "pass a whole number of bytes, 0 or more")
    return value


def require_text(field: str, value: object, *, optional: bool = False) -> str | None:
    """Return ``value`` if it is a ``str``, or None when optional.

    Raises:
        InvalidInputError: Bytes, numbers or anything else.
    """
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise InvalidInputError(field, f"must be a string, not a {type_name(value)}", "pass a str")
    return value


def check_upload_options(options: UploadOptions) -> dict[str, Any]:
    """Check the type of every field of ``options``; return the fields to replace (a copy of metadata).

    Raises:
        InvalidInputError: The first field of the wrong type, by name.
    """
    require_text("filename", options.filename)
    for name in _TEXT[1:]:
        require_text(name, getattr(options, name), optional=True)
    for name in _SIZES:
        require_int(name, getattr(options, name), optional=True)
    for name in _FLAGS:
        require_bool(name, getattr(options, name))
    if not isinstance(options.method, str):
        raise InvalidInputError(
            "method", f"must be a string, not a {type_name(options.method)}", "use PUT or POST"
        )
    if options.method not in METHODS:
        raise InvalidInputError("method", f"{shown(options.method)} is not supported", "use PUT or POST")
    if options.expires is not None and not isinstance(options.expires, timedelta):
        raise InvalidInputError(
            "expires",
            f"must be a timedelta, not a {type_name(options.expires)}",
            "pass timedelta(minutes=30)",
        )
    check_now(options.now)
    return {"metadata": _checked_metadata(options.metadata)}


def check_now(now: object) -> None:
    """Refuse a signing time that is not a timezone-aware ``datetime`` (None means now).

    Raises:
        InvalidInputError: A naive datetime, a date, a timestamp number or a string.
    """
    if now is None:
        return
    if not isinstance(now, datetime):
        raise InvalidInputError(
            "now", f"must be a datetime, not a {type_name(now)}", "pass datetime.now(UTC)"
        )
    if now.tzinfo is None or now.utcoffset() is None:
        raise InvalidInputError("now", "must be timezone-aware", "pass datetime.now(UTC)")


def _checked_metadata(metadata: object) -> dict[str, str]:
    if not isinstance(metadata, Mapping):
        raise InvalidInputError(
            "metadata", f"must be a mapping of str to str, not a {type_name(metadata)}", "pass a dict"
        )
    copied: dict[str, str] = {}
    for name, value in metadata.items():
        if not isinstance(name, str):
            raise InvalidInputError("metadata", f"has a {type_name(name)} name", "use str names")
        if not isinstance(value, str):
            raise InvalidInputError(
                "metadata", f"value of {name!r} is a {type_name(value)}", "use str values"
            )
        copied[name] = value
    return copied


def require_seconds(field: str, value: object) -> float:
    """Return ``value`` if it is a finite number of seconds above 0 (``bool`` is not a number here).

    Raises:
        InvalidInputError: A string, a bool, zero, a negative number, ``inf`` or ``nan``.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInputError(
            field, f"must be a number of seconds, not a {type_name(value)}", "pass e.g. 10"
        )
    if not 0 < value < _MAX_SECONDS:  # nan fails too
        raise InvalidInputError(field, "must be more than 0 and finite", "pass e.g. 10")
    return float(value)


def require_origins(value: object) -> list[str] | None:
    """Return ``value`` as a list of origin strings, or None; a single string is refused, not split up.

    Raises:
        InvalidInputError: A string, a mapping, or an item that is not a string.
    """
    if value is None:
        return None
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Iterable):
        raise InvalidInputError(
            "origins",
            f"must be a list of origins, not a {type_name(value)}",
            'pass ["https://app.example.com"]',
        )
    origins = list(value)
    for origin in origins:
        require_text("origins", origin)
    return origins


def check_run_options(
    destination: object, origins: object, *, timeout: object, deadline: object, concurrency: object = 1
) -> None:
    """Type-check the options of a setup check (or a fleet's, with ``destination`` None).

    Raises:
        InvalidInputError: The first option of the wrong type, by name.
    """
    if destination is not None:
        require_destination(destination)
    require_origins(origins)
    require_seconds("timeout", timeout)
    require_seconds("deadline", deadline)
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise InvalidInputError("concurrency", "must be a whole number, 1 or more", "pass e.g. 8")


_MAX_SECONDS = 7 * 86400.0  # a week: any longer bound is no bound
