"""Azure SAS rules shared by the signer and block uploads: limits, name checks, key decoding, SAS times."""

from __future__ import annotations

import base64
import binascii
import contextlib
import re
from datetime import UTC, datetime, timedelta

from byos.errors import InvalidInputError

SAS_VERSION = "2026-10-06"
"""Signed version (``sv``): the default service version of azure-storage-blob 12.31.1 (``X_MS_VERSION``)."""

DEFAULT_START_BACKDATE = timedelta(minutes=5)
"""How far before ``now`` the SAS start time (``st``) lies, so a client whose clock is behind still works."""

MIN_EXPIRES = timedelta(seconds=1)
MAX_EXPIRES = timedelta(days=7)
MAX_BLOB_NAME_LENGTH = 1024
MAX_PATH_SEGMENTS = 254
MAX_POLICY_ID_LENGTH = 64

MIB = 1024 * 1024
MAX_BLOCK_SIZE = 4000 * MIB
"""Largest block Put Block accepts (service version 2019-12-12 and later)."""
MAX_BLOCKS = 50_000
"""Most committed blocks one block blob may have."""
MAX_BLOB_SIZE = MAX_BLOCK_SIZE * MAX_BLOCKS
DEFAULT_BLOCK_SIZE = 8 * MIB
"""Smallest block size of a block plan; it grows in whole MiB when a blob would need over 50,000 blocks."""
_BLOCK_ID_WIDTH = 6
_MAX_BLOCK_ID_BYTES = 64

_ACCOUNT_RE = re.compile(r"[a-z0-9]{3,24}")
_CONTAINER_RE = re.compile(r"(?=.{3,63}\Z)[a-z0-9]+(?:-[a-z0-9]+)*")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
_PATH_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~/")
_ASCII_PATH_QUOTES = {code: f"%{code:02X}" for code in range(128) if chr(code) not in _PATH_SAFE}
"""``str.translate`` table encoding an ASCII blob name exactly as ``quote(name, safe="~/")`` does, faster."""
_SERVICE_URL_SUFFIX = ".blob.core.windows.net"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ZERO = timedelta(0)


_MIN_YEAR, _MAX_YEAR = 1971, 9990

_Moment = tuple[str, str, str, datetime]
"""A SAS time: its text, its ``st=`` and ``se=`` query parameters, and the datetime."""
_MOMENTS: dict[int, _Moment] = {}
_MOMENTS_MAX = 4096


def _moment(epoch_seconds: int) -> _Moment:
    """Return the SAS forms of a whole-second UTC time, cached: URLs signed in one second share them."""
    cached = _MOMENTS.get(epoch_seconds)
    if cached is None:
        moment = _EPOCH + timedelta(seconds=epoch_seconds)
        text = _sas_time(moment)
        quoted = text.replace(":", "%3A")
        cached = (text, "st=" + quoted, "se=" + quoted, moment)
        if len(_MOMENTS) >= _MOMENTS_MAX:
            _MOMENTS.clear()
        _MOMENTS[epoch_seconds] = cached
    return cached


def _microseconds(delta: timedelta) -> int:
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _epoch_microseconds(now: datetime) -> int:
    """Return ``now`` as whole microseconds since 1970-01-01 UTC."""
    if not isinstance(now, datetime) or now.utcoffset() is None:
        raise _invalid("now", "must be a timezone-aware datetime", "pass datetime.now(UTC)")
    if not _MIN_YEAR <= now.year <= _MAX_YEAR:
        raise _invalid("now", "is not a plausible current time", "pass datetime.now(UTC)")
    return _microseconds(now - _EPOCH)


def _invalid(field_name: str, problem: str, fix: str) -> InvalidInputError:
    return InvalidInputError(field_name, problem, fix)


def _check_flags(**flags: object) -> None:
    """Refuse a flag that is not exactly True or False: ``"false"`` from a form must not grant write."""
    for name, value in flags.items():
        if value is not True and value is not False:
            raise _invalid(name, "must be True or False", "pass a bool")


def validate_account_name(account_name: str) -> str:
    """Return ``account_name`` if it is a valid storage account name (3-24 lowercase letters and digits).

    Raises:
        InvalidInputError: The name breaks Azure's naming rules.
    """
    if not isinstance(account_name, str) or not _ACCOUNT_RE.fullmatch(account_name):
        raise _invalid(
            "account_name",
            "must be 3-24 characters of lowercase letters and digits",
            "use the storage account's name as shown in the Azure portal",
        )
    return account_name


def validate_container_name(container: str) -> str:
    """Return ``container`` if it is a valid container name.

    Container names are 3-63 characters of lowercase letters, digits and single hyphens, and start and
    end with a letter or digit.

    Raises:
        InvalidInputError: The name breaks Azure's naming rules.
    """
    if not isinstance(container, str) or not _CONTAINER_RE.fullmatch(container):
        raise _invalid(
            "container",
            "must be 3-63 lowercase letters and digits, with single hyphens only between them",
            "rename the container, for example 'uploads'",
        )
    return container


def validate_blob_name(blob_name: str) -> str:
    """Return ``blob_name`` if byos can sign it safely.

    A blob name is 1-1024 characters of at most 254 ``/``-separated segments, does not end with a dot or a
    slash, contains no control characters, no ``.`` or ``..`` segment (HTTP clients would rewrite the URL
    path, so the request would reach another blob) and no unpaired surrogate.

    Raises:
        InvalidInputError: The name cannot be uploaded to as given.
    """
    if not isinstance(blob_name, str) or not blob_name:
        raise _invalid("blob_name", "is empty", "pass the blob name (object key) to write")
    if len(blob_name) > MAX_BLOB_NAME_LENGTH:
        raise _invalid(
            "blob_name", f"is {len(blob_name)} characters long, over Azure's 1024", "use a shorter name"
        )
    if blob_name[-1] in "./":
        raise _invalid("blob_name", "ends with a dot or a slash", "remove the trailing dot or slash")
    if blob_name.count("/") >= MAX_PATH_SEGMENTS:
        raise _invalid("blob_name", "has more than 254 path segments", "use fewer '/' separators")
    if _CONTROL_RE.search(blob_name):
        raise _invalid("blob_name", "contains a control character", "remove control characters from the name")
    padded = f"/{blob_name}/"
    if "/./" in padded or "/../" in padded:
        raise _invalid("blob_name", "has a '.' or '..' path segment", "remove relative path segments")
    try:
        blob_name.encode()
    except UnicodeEncodeError:
        raise _invalid(
            "blob_name", "contains an unpaired surrogate and is not valid UTF-8", "pass a valid Unicode name"
        ) from None
    return blob_name


def _decode_key(value: str, field_name: str) -> bytes:
    if not isinstance(value, str) or not value.strip():
        raise _invalid(field_name, "is empty", "pass the base64 key from Azure")
    key = None
    with contextlib.suppress(binascii.Error, ValueError):  # raised below, outside a handler: no chain
        key = base64.b64decode(value.strip(), validate=True)
    if key is None:
        raise _invalid(field_name, "is not valid base64", "copy the key exactly as Azure shows it")
    if not key:
        raise _invalid(field_name, "is empty", "pass the base64 key from Azure")
    return key


def _parse_key_time(value: str, field_name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise _invalid(
            field_name, "is not an ISO 8601 time", "pass the value Get User Delegation Key returned"
        ) from None
    if moment.utcoffset() is None:
        raise _invalid(field_name, "has no time zone", "pass a UTC time such as 2024-01-01T00:00:00Z")
    return moment.astimezone(UTC)


def _sas_time(moment: datetime) -> str:
    """Format a whole-second UTC datetime as the SAS carries it: ``YYYY-MM-DDThh:mm:ssZ``."""
    return moment.isoformat()[:19] + "Z"
