"""Destinations compiled into presigners, so the library path costs what the signer costs.

:func:`byos.uploads.presign_upload` asks :func:`fast_request` first. For the common upload (a PUT of one
raw object, default key template fields, static S3 keys or an Azure account key, no extra metadata or
checksums) it answers from a :class:`Presigner` compiled once per destination: the signer and its cached
signing key, the endpoint, the key layout with its file-name budget, the lifetime and the headers that never
change. Per call that leaves a UUID, the sanitised file name, and the signer's one SHA-256 and one HMAC.
Anything else gets None and takes the general path, which is also where every error is raised: the fast
path only ever returns what the general path would, byte for byte (the tests compare the two).

Compiled presigners live in a bounded, thread-safe LRU (:data:`MAX_PRESIGNERS`) keyed by a SHA-256
fingerprint of every setting of the destination, secrets included, so rotated credentials (a destination
loaded with new keys) never meet a presigner compiled for the old ones; no secret is a key or appears in a
``repr``.
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final

from byos.keys import (
    DEFAULT_RAW_TEMPLATE,
    MAX_FILENAME_BYTES,
    MAX_KEY_BYTES,
    MAX_SEGMENTS,
    KeyLayout,
    check_key,
    key_problems,
    metadata_filename,
    sanitize_filename,
    split_extension,
    template_fields,
)
from byos.models import UploadRequest

if TYPE_CHECKING:
    from byos.config import Destination
    from byos.plans import Step, UploadPlan
    from byos.signing.sigv4 import PresignedRequest

__all__ = ["MAX_PRESIGNERS", "Presigner", "clear", "fast_metadata_filename", "fast_request", "fast_sanitize"]

MAX_PRESIGNERS: Final = 4096
"""Compiled presigners kept (least recently used dropped): one per tenant of a large fleet."""
_MAX_LIFETIME = timedelta(days=7)
_ONE_SECOND = timedelta(seconds=1)
_MAX_PUT_BYTES = 5 * 1024**3
_AZURE_YEARS = (1971, 9990)  # what the SAS signer takes as a plausible current time
_SINGLE_PART_BYTES = 8 * 1024**2  # byos.planner.DEFAULT_PART_BYTES: no larger file is one request
_HANDLED_FIELDS = frozenset({"prefix", "upload_id", "filename", "stem", "ext", "tenant"})

# ASCII characters sanitize_filename keeps as they are (letters, digits, space, - _ . ( )).
_NAME_SAFE: Final = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 -_.()")
# Printable ASCII metadata_filename keeps as it is (all but " % < > \ and the control characters).
_METADATA_KEPT: Final = frozenset(chr(c) for c in range(0x20, 0x7F)) - frozenset('"%<>\\')


def fast_sanitize(name: str, max_bytes: int) -> str:
    """Return ``sanitize_filename(name, max_bytes)``, without its work for a name that is already clean.

    A clean name is ASCII of letters, digits, spaces and ``- _ . ( )``, starts with a letter or digit, does
    not end with a space or dot, has no runs of spaces or underscores and fits ``max_bytes``: sanitising
    leaves it as it is. Any other name goes through :func:`byos.keys.sanitize_filename`.
    """
    return name if _is_clean(name, max_bytes) else sanitize_filename(name, max_bytes)


def _is_clean(name: str, max_bytes: int) -> bool:
    """Whether sanitising leaves ``name`` as it is (see :func:`fast_sanitize`)."""
    return (
        name.isascii()
        and 0 < len(name) <= max_bytes
        and name[0].isalnum()
        and name[-1] not in " ."
        and "  " not in name
        and "__" not in name
        and _NAME_SAFE.issuperset(name)
    )


def fast_metadata_filename(name: str) -> str:
    """Return ``metadata_filename(name)``; printable ASCII that needs no escape comes back as it is."""
    if (
        name.isascii()
        and len(name) <= MAX_FILENAME_BYTES
        and name[:1] != " "
        and name[-1:] != " "
        and "  " not in name
        and _METADATA_KEPT.issuperset(name)
    ):
        return name
    return metadata_filename(name)


_UUID_BATCH = 256
_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}
_upload_ids: list[str] = []


def _refill() -> None:
    text = os.urandom(16 * _UUID_BATCH).hex()
    _upload_ids.extend(
        f"{text[i : i + 8]}-{text[i + 8 : i + 12]}-4{text[i + 13 : i + 16]}-"
        f"{_VARIANT[text[i + 16]]}{text[i + 17 : i + 20]}-{text[i + 20 : i + 32]}"
        for i in range(0, 32 * _UUID_BATCH, 32)
    )


def new_upload_id() -> str:
    """A random (version 4) UUID in canonical form, as ``str(uuid.uuid4())`` gives.

    Drawn from a batch made by one ``os.urandom`` call (list ``pop`` is atomic, so threads share it; a forked
    child starts with an empty batch, never its parent's ids).
    """
    while True:
        try:
            return _upload_ids.pop()
        except IndexError:
            _refill()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_upload_ids.clear)


class Presigner:
    """One destination compiled for presigning its common upload (see the module docstring)."""

    __slots__ = (
        "_budget",
        "_default_seconds",
        "_layout",
        "_plain_template",
        "_prefix",
        "_sign",
        "_suffix_fields",
        "provider",
    )

    def __init__(
        self,
        provider: str,
        layout: KeyLayout,
        default_expires: timedelta,
        sign: Callable[[str, str, datetime, int, str | None, int | None, bool, str], UploadRequest],
    ) -> None:
        self.provider = provider
        self._layout = layout
        self._prefix = layout.prefix
        self._default_seconds = int(default_expires.total_seconds())
        self._sign = sign
        # The template with an empty file name, for the file name's byte budget (UUIDs have a fixed length).
        sample = layout.raw_template.format_map(
            {
                "prefix": layout.prefix,
                "upload_id": "0" * 8 + "-0000-4000-8000-" + "0" * 12,
                "tenant": layout.tenant or "",
                "filename": "",
                "stem": "",
                "ext": "",
            }
        )
        self._budget = min(MAX_FILENAME_BYTES, MAX_KEY_BYTES - len(sample.encode("utf-8")))
        self._suffix_fields = frozenset(template_fields(layout.raw_template))
        self._plain_template = (
            layout.raw_template == DEFAULT_RAW_TEMPLATE
            and not layout.prefix.startswith(".well-known/")
            and layout.prefix.count("/") + 1 < MAX_SEGMENTS
            and not key_problems(f"{layout.prefix}{'0' * 36}-a")
        )

    @staticmethod
    def covers(layout: KeyLayout) -> bool:
        """Whether the fast path renders this layout's raw keys (no date or import id fields)."""
        fields = frozenset(template_fields(layout.raw_template))
        return fields <= _HANDLED_FIELDS and ("tenant" not in fields or layout.tenant is not None)

    def __repr__(self) -> str:
        return f"Presigner(provider={self.provider!r}, prefix={self._prefix!r})"

    def key(self, filename: str) -> str:
        """The raw key of ``filename`` under a new upload id, as ``KeyLayout.raw_key`` renders it."""
        layout = self._layout
        if self._budget < 16:  # the general path reports it
            raise _Unsupported
        if self._plain_template and _is_clean(filename, self._budget):
            # prefix + UUID + "-" + a clean name: within the byte budget, one segment that is not "."/"..",
            # no control character, not ending in "." or "/", never in the probe folder: check_key passes.
            return f"{self._prefix}{new_upload_id()}-{filename}"
        name = fast_sanitize(filename, self._budget)
        stem, ext = split_extension(name) if self._suffix_fields & {"stem", "ext"} else ("", "")
        key = layout.raw_template.format_map(
            {
                "prefix": self._prefix,
                "upload_id": new_upload_id(),
                "tenant": layout.tenant or "",
                "filename": name,
                "stem": stem,
                "ext": ext,
            }
        )
        if not key.startswith(self._prefix) or key.startswith(layout.probe_folder):
            raise _Unsupported
        return check_key(key)

    def presign(
        self,
        filename: str,
        *,
        content_type: str | None,
        content_length: int | None,
        overwrite: bool,
        expires: object,
        now: object,
    ) -> UploadRequest:
        """Presign the upload of ``filename``; raise :class:`_Unsupported` for anything unusual."""
        if now is None:
            moment = _whole_second_now()
        elif isinstance(now, datetime) and now.__class__ is datetime and now.tzinfo is UTC:
            moment = now.replace(microsecond=0)
        else:
            raise _Unsupported
        if expires is None:
            seconds = self._default_seconds
        elif (
            isinstance(expires, timedelta)
            and expires.__class__ is timedelta
            and _ONE_SECOND <= expires <= _MAX_LIFETIME
        ):
            seconds = int(expires.total_seconds())
        else:
            raise _Unsupported
        return self._sign(
            self.key(filename),
            fast_metadata_filename(filename),
            moment,
            seconds,
            content_type,
            content_length,
            overwrite,
            self.provider,
        )


_clock: tuple[int, datetime] = (0, datetime(1970, 1, 1, tzinfo=UTC))


def _whole_second_now() -> datetime:
    """``datetime.now(UTC).replace(microsecond=0)``, one datetime per second (the same system clock)."""
    global _clock  # noqa: PLW0603 - one tuple, replaced whole: threads read a consistent pair
    second = int(time.time())
    clock = _clock
    if clock[0] != second:
        clock = _clock = (second, datetime.fromtimestamp(second, UTC))
    return clock[1]


_NO_FIELDS: Final[MappingProxyType[str, str]] = MappingProxyType({})


def _request(
    provider: str, url: str, headers: Mapping[str, str], key: str, expires_at: datetime
) -> UploadRequest:
    """``UploadRequest(provider, "PUT", url, headers, {}, key, expires_at)`` for headers nobody else holds.

    The constructor copies ``headers`` into a read-only view; a dict made for this request alone (or a
    read-only view of one, as the signers return) needs no copy, so the view wraps it directly: the result
    is equal to and as immutable as the constructor's.
    """
    request = object.__new__(UploadRequest)
    # A dict made for this request, or a signer's read-only view of one: no copy (anything else: a copy).
    if isinstance(headers, MappingProxyType):
        view: Mapping[str, str] = headers
    elif type(headers) is dict:
        view = MappingProxyType(headers)
    else:
        view = MappingProxyType(dict(headers))
    for name, value in (
        ("provider", provider),
        ("method", "PUT"),
        ("url", url),
        ("headers", view),
        ("fields", _NO_FIELDS),
        ("key", key),
        ("expires_at", expires_at),
    ):
        object.__setattr__(request, name, value)
    return request


class _Unsupported(Exception):  # noqa: N818 - a signal to take the general path, never raised to callers
    """The fast path does not cover this call; the general path takes it (and raises its errors)."""


def _s3_presigner(destination: Any) -> Presigner | None:  # noqa: ANN401 - an S3Destination
    from byos.providers import s3  # noqa: PLC0415

    if destination.role_arn is not None or destination.access_key_id is None:
        return None  # temporary credentials of a role or chain: resolved per call by the general path
    if destination.max_upload_bytes is not None:
        return None
    from byos.signing.sigv4 import encode_checked_key  # noqa: PLC0415

    credentials = s3.resolve_credentials(destination)
    signer, endpoint = s3.signer_for(destination, credentials)
    location = signer.object_location(destination.bucket, endpoint)
    # Headers after Content-Type and Content-Length, in presign_put's order: (display name, signed name).
    fixed: list[tuple[str, str, str]] = []
    kms = destination.sse_kms_key_id
    if kms is not None:
        fixed += [
            ("x-amz-server-side-encryption", "x-amz-server-side-encryption", "aws:kms"),
            (
                "x-amz-server-side-encryption-aws-kms-key-id",
                "x-amz-server-side-encryption-aws-kms-key-id",
                kms,
            ),
        ]
    owner = getattr(destination, "expected_bucket_owner", None)

    shapes: dict[tuple[bool, bool, bool], tuple[str, ...]] = {}

    def shape(has_type: bool, has_length: bool, overwrite: bool) -> tuple[str, ...]:
        """The signed header names of one combination of options, in presign_put's order."""
        names = (
            *(["content-type"] if has_type else []),
            *(["content-length"] if has_length else []),
            *([] if overwrite else ["if-none-match"]),
            *[name for _, name, _ in fixed],
            "x-amz-meta-original-filename",
            *(["x-amz-expected-bucket-owner"] if owner is not None else []),
        )
        shapes[(has_type, has_length, overwrite)] = names
        return names

    def sign(  # noqa: PLR0917 - the Presigner's signing hook, positional for speed
        key: str,
        original: str,
        now: datetime,
        seconds: int,
        content_type: str | None,
        content_length: int | None,
        overwrite: bool,
        provider: str,
    ) -> UploadRequest:
        sent: dict[str, str] = {}
        values: list[str] = []
        if content_type is not None:
            sent["Content-Type"] = content_type
            values.append(" ".join(content_type.split()))
        if content_length is not None:
            sent["Content-Length"] = length = str(content_length)
            values.append(length)
        if not overwrite:
            sent["If-None-Match"] = "*"
            values.append("*")
        for display, _, value in fixed:
            sent[display] = value
            values.append(" ".join(value.split()))
        sent["x-amz-meta-original-filename"] = original
        values.append(original)  # metadata_filename never leaves spaces at the edges or in runs
        if owner is not None:
            sent["x-amz-expected-bucket-owner"] = owner
            values.append(owner)
        names = shapes.get((content_type is not None, content_length is not None, overwrite))
        if names is None:
            names = shape(content_type is not None, content_length is not None, overwrite)
        url, expires_at = signer.sign_checked(
            location, encode_checked_key(key), names, values, expires=seconds, now=now
        )
        return _request(provider, url, sent, key, expires_at)

    return _compiled("s3", destination, sign)


def _azure_presigner(destination: Any) -> Presigner | None:  # noqa: ANN401 - an AzureDestination
    from byos.providers import azure  # noqa: PLC0415

    if destination.account_key is None or destination.max_upload_bytes is not None:
        return None  # a user delegation key is fetched and refreshed by the general path
    signer = azure.resolve_signing(destination).signer
    policy = destination.stored_access_policy
    compiled = {
        # Presigner.key's keys pass check_key, which covers Azure's blob name rules.
        overwrite: signer.compile_put(
            destination.container, overwrite=overwrite, stored_access_policy=policy, names_checked=True
        )
        for overwrite in (False, True)
    }

    def sign(  # noqa: PLR0917 - the Presigner's signing hook, positional for speed
        key: str,
        original: str,
        now: datetime,
        seconds: int,
        content_type: str | None,
        content_length: int | None,
        overwrite: bool,
        provider: str,
    ) -> UploadRequest:
        if content_length is not None or not _AZURE_YEARS[0] <= now.year <= _AZURE_YEARS[1]:
            raise _Unsupported
        headers = {"x-ms-blob-type": "BlockBlob"}
        if not overwrite:
            headers["If-None-Match"] = "*"
        if content_type is not None:
            headers["x-ms-blob-content-type"] = content_type
        headers["x-ms-meta-original_filename"] = original
        sas = compiled[overwrite](key, int(now.timestamp()), seconds)
        assert sas.expires_at is not None  # noqa: S101  (byos always signs the expiry itself)
        return _request(provider, sas.url, headers, key, sas.expires_at)

    return _compiled("azure", destination, sign)


def _compiled(provider: str, destination: Any, sign: Any) -> Presigner | None:  # noqa: ANN401
    layout = KeyLayout.from_destination(destination)
    return Presigner(provider, layout, destination.expires, sign) if Presigner.covers(layout) else None


def _gcs_presigner(destination: Any) -> Presigner | None:  # noqa: ANN401 - a GCSDestination
    from byos.providers import gcs  # noqa: PLC0415

    keyed = destination.hmac_access_id is not None or destination.service_account_file is not None
    if not keyed or destination.max_upload_bytes is not None:
        return None  # keyless signing (signBlob) goes through the general path
    from byos.signing.goog4_compiled import compile_put  # noqa: PLC0415

    signed_put = compile_put(
        gcs.resolve_signing(destination).signer, destination.bucket, gcs.endpoint_of(destination)
    )

    def sign(  # noqa: PLR0917 - the Presigner's signing hook, positional for speed
        key: str,
        original: str,
        now: datetime,
        seconds: int,
        content_type: str | None,
        content_length: int | None,
        overwrite: bool,
        provider: str,
    ) -> UploadRequest:
        headers: dict[str, str] = {}
        names: list[str] = []
        values: list[str] = []
        if content_type is not None:
            headers["Content-Type"] = content_type
            names.append("content-type")
            values.append(" ".join(content_type.split()))
        if not overwrite:
            headers["x-goog-if-generation-match"] = "0"
        if content_length is not None:
            headers["x-goog-content-length-range"] = length = f"{content_length},{content_length}"
            names.append("x-goog-content-length-range")
            values.append(length)
        if not overwrite:
            names.append("x-goog-if-generation-match")
            values.append("0")
        headers["x-goog-meta-original-filename"] = original
        names.append("x-goog-meta-original-filename")
        values.append(original)  # metadata_filename never leaves spaces at the edges or in runs
        url = signed_put(key, tuple(names), values, seconds, now)
        return _request(provider, url, headers, key, now + timedelta(seconds=seconds))

    return _compiled("gcs", destination, sign)


_COMPILERS: Final = {"s3": _s3_presigner, "azure": _azure_presigner, "gcs": _gcs_presigner}


def fingerprint(destination: Destination) -> str:
    """A SHA-256 of every setting of ``destination``, secrets included (the secrets are not recoverable)."""
    from byos.signing.hmac_sha256 import best_sha256  # noqa: PLC0415

    values = []
    for name, value in sorted(destination.__dict__.items()):
        secret = getattr(value, "get_secret_value", None)
        values.append(f"{name}={secret() if callable(secret) else value!r}")
    return best_sha256()("\x00".join(values).encode("utf-8", "surrogatepass")).hexdigest()


class _Cache:
    """The compiled presigners: an LRU by fingerprint, and a last-seen map by destination object."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._lru: OrderedDict[str, Presigner | None] = OrderedDict()
        self._seen: dict[int, tuple[Destination, Presigner | None]] = {}

    def __repr__(self) -> str:
        return f"<presigner cache: {len(self._lru)} of {self._size}>"

    def get(self, destination: Destination) -> Presigner | None:
        """Return the presigner of ``destination`` (None: the general path), compiling it at first use.

        Raises:
            InvalidInputError: ``destination`` is not a loaded destination.
        """
        seen = self._seen.get(id(destination))
        if seen is not None and seen[0] is destination:  # destinations are immutable
            return seen[1]
        from byos.option_types import require_destination  # noqa: PLC0415

        require_destination(destination)  # raises for anything but a loaded destination
        key = fingerprint(destination)
        with self._lock:
            found = key in self._lru
            presigner = self._lru.get(key)
            if found:
                self._lru.move_to_end(key)
        if not found:
            compiler = _COMPILERS.get(destination.provider)
            try:
                presigner = compiler(destination) if compiler is not None else None
            except Exception:  # noqa: BLE001 - whatever fails here, the general path reports it
                presigner = None
            with self._lock:
                self._lru[key] = presigner
                while len(self._lru) > self._size:
                    self._lru.popitem(last=False)
        with self._lock:
            if len(self._seen) >= self._size:
                self._seen.clear()
            self._seen[id(destination)] = (destination, presigner)
        return presigner

    def clear(self) -> None:
        with self._lock:
            self._lru.clear()
            self._seen.clear()


_CACHE = _Cache(MAX_PRESIGNERS)


def clear() -> None:
    """Forget every compiled presigner (tests; a process that wants its memory back)."""
    _CACHE.clear()


def fast_request(
    destination: Destination,
    filename: object,
    *,
    content_type: object = None,
    content_length: object = None,
    overwrite: object = False,
    expires: object = None,
    now: object = None,
    plain: bool,
) -> UploadRequest | None:
    """The upload request of the common case from a compiled presigner, or None for the general path.

    Args:
        destination: A loaded destination.
        filename: The untrusted file name.
        content_type: Content-Type to lock, or None.
        content_length: Exact size to lock, or None.
        overwrite: Allow replacing an existing object.
        expires: Lifetime, or None for the destination's.
        now: Signing time, or None for now.
        plain: The caller checked that no other option is set (method PUT, no checksums, sizes ranges,
            upload or import ids, metadata).
    """
    if not plain or (overwrite is not True and overwrite is not False):
        return None
    return _fast(destination, filename, content_type, content_length, overwrite, expires, now)


def _fast(  # noqa: PLR0917 - the shared body of fast_request and fast_plan, positional for speed
    destination: Destination,
    filename: object,
    content_type: object,
    content_length: object,
    overwrite: bool,
    expires: object,
    now: object,
) -> UploadRequest | None:
    if filename.__class__ is not str:
        return None
    if content_type is not None and (
        content_type.__class__ is not str
        or not content_type
        or not content_type.isascii()
        or not content_type.isprintable()
        or content_type.strip() != content_type
    ):
        return None
    if content_length is not None and (
        content_length.__class__ is not int or not 0 <= content_length <= _MAX_PUT_BYTES
    ):
        return None
    presigner = _CACHE.get(destination)
    if presigner is None:
        return None
    try:
        return presigner.presign(
            filename,
            content_type=content_type,
            content_length=content_length,
            overwrite=overwrite,
            expires=expires,
            now=now,
        )
    except _Unsupported:
        return None


def fast_plan(
    destination: Destination,
    filename: object,
    *,
    size: object,
    content_type: object,
    expires: object,
    now: object,
    plain: bool,
) -> UploadPlan | None:
    """The one-request upload plan of the common case from a compiled presigner, or None.

    What :func:`byos.planner.presign_upload` builds for a raw PUT of at most one part (``size`` None or up to
    the default part size): ``UploadPlan(..., parts=(single_step(request),), request=request)``, built
    without copying the request's read-only headers again.
    """
    if not plain:
        return None
    if size is not None and (size.__class__ is not int or not 0 <= size <= _SINGLE_PART_BYTES):
        return None
    length = None if getattr(destination, "provider", None) == "azure" else size
    request = _fast(destination, filename, content_type, length, False, expires, now)
    if request is None:
        return None
    plan_types = _PLAN_TYPES or _load_plan_types()
    step: Any = object.__new__(plan_types[1])
    plan: Any = object.__new__(plan_types[0])
    setter = object.__setattr__  # every field, as Step(...) and UploadPlan(...) set them
    setter(step, "method", "PUT")
    setter(step, "url", request.url)
    setter(step, "url_from", None)
    setter(step, "headers", request.headers)
    setter(step, "fields", None)
    setter(step, "body", "file")
    setter(step, "range", None)
    setter(step, "part_number", None)
    setter(step, "block_id", None)
    setter(step, "expect", _EXPECT_WHOLE)
    setter(step, "collect", None)
    setter(plan, "provider", request.provider)
    setter(plan, "kind", "raw")
    setter(plan, "key", request.key)
    setter(plan, "expires_at", request.expires_at)
    setter(plan, "size", size)
    setter(plan, "part_size", None)
    setter(plan, "parallel", False)
    setter(plan, "parts", (step,))
    setter(plan, "complete", None)
    setter(plan, "abort", None)
    setter(plan, "request", request)
    setter(plan, "upload_id", None)
    return plan  # type: ignore[no-any-return]


_EXPECT_WHOLE: Final = (200, 201)  # what byos.plans.single_step expects of a PUT
_PLAN_TYPES: list[type] = []


def _load_plan_types() -> list[type]:
    from byos.plans import Step, UploadPlan  # noqa: PLC0415  (plans import this module's callers)

    _PLAN_TYPES[:] = [UploadPlan, Step]
    return _PLAN_TYPES


def part_requests(provider: str, parts: Sequence[PresignedRequest], key: str) -> list[UploadRequest]:
    """The upload requests of presigned multipart parts, their read-only headers shared, not copied."""
    return [_request(provider, part.url, part.headers, key, part.expires_at) for part in parts]


def part_steps(parts: Sequence[UploadRequest], spans: Sequence[tuple[int, int]]) -> tuple[Step, ...]:
    """The plan steps of S3 parts (body ``range``, ETag collected), as ``Step(...)`` builds them.

    Each step shares its request's read-only headers instead of copying them.
    """
    from byos.plans import Step  # noqa: PLC0415

    steps = []
    setter = object.__setattr__
    for number, (request, span) in enumerate(zip(parts, spans, strict=True), start=1):
        step = object.__new__(Step)
        setter(step, "method", "PUT")
        setter(step, "url", request.url)
        setter(step, "url_from", None)
        setter(step, "headers", request.headers)
        setter(step, "fields", None)
        setter(step, "body", "range")
        setter(step, "range", span)
        setter(step, "part_number", number)
        setter(step, "block_id", None)
        setter(step, "expect", _EXPECT_OK)
        setter(step, "collect", "etag")
        steps.append(step)
    return tuple(steps)


_EXPECT_OK: Final = (200,)
