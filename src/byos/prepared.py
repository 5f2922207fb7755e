"""What every provider derives from an upload's options alike: key, metadata, lifetime and size limit.

Core, below the providers: each provider's presign calls :func:`prepare` first, so the rules on lifetimes,
sizes and metadata names are written once.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from byos.errors import CredentialsError, InvalidInputError
from byos.keys import KeyLayout, metadata_filename

if TYPE_CHECKING:
    from byos.config import Destination
    from byos.models import UploadOptions

MAX_LIFETIME = timedelta(days=7)
ORIGINAL_FILENAME = "original-filename"
_LOST_SPACES = re.compile(r"^ +| +$| {2,}")  # HTTP trims a header value's edges; signing folds runs
_METADATA_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-")


@dataclass(frozen=True, slots=True)
class Prepared:
    """What every provider derives from the options the same way.

    Attributes:
        key: The object key.
        metadata: Object metadata, the original file name first (lower-case names).
        now: Signing time (aware, UTC, whole seconds).
        seconds: The URL's lifetime in whole seconds.
        expires_at: ``now + seconds``.
        max_bytes: The size limit in force (options, else the destination's), or None.
    """

    key: str
    metadata: Mapping[str, str]
    now: datetime
    seconds: int
    expires_at: datetime
    max_bytes: int | None


def prepare(
    destination: Destination, options: UploadOptions, *, credentials_expire_at: datetime | None = None
) -> Prepared:
    """Validate the shared options and derive key, metadata and lifetime.

    The lifetime is min(requested, time left on the credentials, 7 days); asking for more than 7 days, or for
    less than a second, is an error.

    Raises:
        InvalidInputError: A bad option.
        CredentialsError: The credentials have expired or expire within a second.
    """
    if options.method not in ("PUT", "POST"):
        raise InvalidInputError("method", f"{options.method!r} is not supported", "use PUT or POST")
    now = _utc_now(options.now)
    requested = destination.expires if options.expires is None else options.expires
    if not timedelta(seconds=1) <= requested <= MAX_LIFETIME:
        raise InvalidInputError(
            "expires", "must be between 1 second and 7 days", "ask for a shorter lifetime"
        )
    seconds = int(requested.total_seconds())
    if credentials_expire_at is not None:
        left = math.floor((credentials_expire_at - now).total_seconds())
        if left < 1:
            raise CredentialsError(
                "the credentials have expired; refresh them (or re-assume the role) and retry"
            )
        seconds = min(seconds, left)
    _check_sizes(options)
    max_bytes = options.max_bytes if options.max_bytes is not None else destination.max_upload_bytes
    if options.content_length is not None and max_bytes is not None and options.content_length > max_bytes:
        raise InvalidInputError(
            "content_length",
            f"{options.content_length} is over the limit of {max_bytes} bytes",
            "split the file",
        )
    key = _key(destination, options, now)
    metadata = {ORIGINAL_FILENAME: metadata_filename(options.filename)}
    for name, value in options.metadata.items():
        lowered = name.lower()
        if not lowered or not set(lowered) <= _METADATA_NAME_CHARS or lowered == ORIGINAL_FILENAME:
            raise InvalidInputError(
                "metadata",
                f"name {name!r} is not allowed",
                "use letters, digits and '-' (not original-filename)",
            )
        if not isinstance(value, str) or not value.isascii() or not value.isprintable():
            raise InvalidInputError(
                "metadata", f"value of {name!r} is not printable ASCII", "percent-encode it"
            )
        if _LOST_SPACES.search(value):
            raise InvalidInputError(
                "metadata",
                f"value of {name!r} has leading, trailing or repeated spaces, which HTTP does not keep",
                "percent-encode them as %20",
            )
        metadata[lowered] = value
    return Prepared(key, metadata, now, seconds, now + timedelta(seconds=seconds), max_bytes)


def _key(destination: Destination, options: UploadOptions, now: datetime) -> str:
    """The key the options ask for: a probe, a cleaned result of ``import_id``, or a raw upload."""
    layout = KeyLayout.from_destination(destination)
    if options.probe:
        return layout.probe_key(options.upload_id)
    if options.kind == "result":
        if options.import_id is None:
            raise InvalidInputError(
                "import_id", "is required for a result upload", "pass the import's id (import_id=...)"
            )
        return layout.result_key(options.import_id, filename=options.filename, when=now)
    if options.kind != "raw":
        raise InvalidInputError("kind", f"{options.kind!r} is not a kind of upload", "use raw or result")
    return layout.raw_key(
        options.filename, upload_id=options.upload_id, import_id=options.import_id, when=now
    )


def _utc_now(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC).replace(microsecond=0)
    if now.tzinfo is None:
        raise InvalidInputError("now", "must be timezone-aware", "pass datetime.now(UTC)")
    return now.astimezone(UTC).replace(microsecond=0)


def _check_sizes(options: UploadOptions) -> None:
    for name in ("content_length", "min_bytes", "max_bytes"):
        value = getattr(options, name)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
            raise InvalidInputError(
                name, f"{value!r} is not a byte count", "pass a whole number of bytes, 0 or more"
            )
    if (
        options.min_bytes is not None
        and options.max_bytes is not None
        and options.min_bytes > options.max_bytes
    ):
        raise InvalidInputError("min_bytes", "is larger than max_bytes", "swap or fix the limits")
