"""Azure Blob service SAS and user-delegation SAS for one blob, signed with the standard library alone.

A signer holds one storage account's credential (an account key, or a user delegation key fetched with
Microsoft Entra credentials) and makes blob-scoped (``sr=b``) write-only URLs::

    signer = BlobSasSigner("myaccount", account_key=key)
    sas = signer.sign("uploads", "raw/2024/report.csv", now=now, expires=timedelta(minutes=30))
    sas.url  # https://myaccount.blob.core.windows.net/uploads/raw/2024/report.csv?st=…&sig=…

The token and the URL equal, byte for byte, what azure-storage-blob 12.31.1 makes with
``generate_blob_sas(...)`` and ``BlobClient(account_url, container, blob).url`` for the same inputs.

Permissions are create-only (``c``) by default, so an upload can never replace an existing blob; ``cw``
when the caller allows overwriting or stages blocks (Put Block and Put Block List are write operations).
Write-once block uploads then rely on the client sending ``If-None-Match: *`` with Put Block List.

Headers the client must send with a single-shot upload (Put Blob): ``x-ms-blob-type: BlockBlob``,
``If-None-Match: *`` for write-once, ``x-ms-blob-content-type`` and any ``x-ms-meta-*`` metadata. With a
block upload: Put Block needs no extra header; Put Block List takes ``If-None-Match: *``,
``x-ms-blob-content-type`` and ``x-ms-meta-*``.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import re
from base64 import b64encode
from binascii import b2a_base64
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import quote, urlsplit

from byos.errors import InvalidInputError
from byos.redaction import redact_url
from byos.signing.hmac_sha256 import HmacSha256, best_sha256
from byos.signing.sigv4_templates import encode_key_path

if TYPE_CHECKING:
    pass

__all__ = [
    "DEFAULT_BLOCK_SIZE",
    "DEFAULT_START_BACKDATE",
    "MAX_BLOB_NAME_LENGTH",
    "MAX_BLOB_SIZE",
    "MAX_BLOCKS",
    "MAX_BLOCK_SIZE",
    "MAX_EXPIRES",
    "MIN_EXPIRES",
    "SAS_VERSION",
    "BlobSas",
    "BlobSasSigner",
    "Block",
    "BlockPlan",
    "UserDelegationKey",
    "block_id",
    "block_list_body",
    "plan_blocks",
    "put_block_list_url",
    "put_block_url",
    "validate_account_name",
    "validate_blob_name",
    "validate_container_name",
]

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


class UserDelegationKey(NamedTuple):
    """A user delegation key, as Get User Delegation Key returns it.

    Attributes:
        signed_oid: Object ID of the Entra principal that requested the key (``skoid``).
        signed_tid: Entra tenant ID (``sktid``).
        signed_start: Start of the key's validity, ``YYYY-MM-DDThh:mm:ssZ`` (``skt``).
        signed_expiry: End of the key's validity (``ske``).
        signed_service: Service the key is for, ``b`` (``sks``).
        signed_version: Service version that issued the key (``skv``).
        value: The key itself, base64. Secret: never shown in ``repr``.
        signed_delegated_user_tid: Tenant of a delegated user (``skdutid``), if the key was made for one.
    """

    signed_oid: str
    signed_tid: str
    signed_start: str
    signed_expiry: str
    signed_service: str
    signed_version: str
    value: str
    signed_delegated_user_tid: str | None = None

    def __repr__(self) -> str:
        return (
            f"UserDelegationKey(signed_oid={self.signed_oid!r}, signed_tid={self.signed_tid!r}, "
            f"signed_start={self.signed_start!r}, signed_expiry={self.signed_expiry!r}, "
            f"signed_service={self.signed_service!r}, signed_version={self.signed_version!r}, "
            f"signed_delegated_user_tid={self.signed_delegated_user_tid!r})"
        )

    @classmethod
    def from_sdk(cls, key: Any) -> UserDelegationKey:  # noqa: ANN401 - duck-typed SDK object, no SDK import
        """Copy the fields of azure-storage-blob's ``UserDelegationKey`` (from ``get_user_delegation_key``).

        Raises:
            InvalidInputError: A required field is missing.
        """
        values: dict[str, str | None] = {}
        for name in (
            "signed_oid",
            "signed_tid",
            "signed_start",
            "signed_expiry",
            "signed_service",
            "signed_version",
            "value",
        ):
            value = getattr(key, name, None)
            if not isinstance(value, str) or not value:
                raise _invalid(
                    f"user_delegation_key.{name}",
                    "is missing",
                    "pass the key get_user_delegation_key returned",
                )
            values[name] = value
        delegated = getattr(key, "signed_delegated_user_tid", None)
        return cls(
            signed_oid=str(values["signed_oid"]),
            signed_tid=str(values["signed_tid"]),
            signed_start=str(values["signed_start"]),
            signed_expiry=str(values["signed_expiry"]),
            signed_service=str(values["signed_service"]),
            signed_version=str(values["signed_version"]),
            value=str(values["value"]),
            signed_delegated_user_tid=delegated if isinstance(delegated, str) and delegated else None,
        )


class BlobSas(NamedTuple):
    """A signed URL for one blob.

    Attributes:
        url: The blob URL with the SAS token as its query. A bearer token: ``repr`` shows it redacted.
        token: The SAS token alone (no leading ``?``).
        permission: The signed permission (``c`` or ``cw``), or None when the stored access policy sets it.
        starts_at: When the SAS starts to work (``st``), or None when it works at once.
        expires_at: When the SAS stops working (``se``), or None when the stored access policy sets it.
    """

    url: str
    token: str
    permission: str | None
    starts_at: datetime | None
    expires_at: datetime | None

    def __repr__(self) -> str:
        return (
            f"BlobSas(url={redact_url(self.url)!r}, permission={self.permission!r}, "
            f"starts_at={self.starts_at!r}, expires_at={self.expires_at!r})"
        )

    def put_block_url(self, block_id_value: str) -> str:
        """Return the Put Block URL (``comp=block&blockid=…``) for this blob under the same SAS."""
        return put_block_url(self.url, block_id_value)

    def put_block_list_url(self) -> str:
        """Return the Put Block List URL (``comp=blocklist``) for this blob under the same SAS."""
        return put_block_list_url(self.url)


class BlobSasSigner:
    """Signs blob-scoped SAS URLs for one storage account.

    The account key (or user delegation key) is decoded once, held privately and never shown.

    Args:
        account_name: Storage account name (3-24 lowercase letters and digits).
        account_key: Base64 account key, for a service SAS. Exactly one of ``account_key`` and
            ``user_delegation_key`` is required.
        user_delegation_key: A user delegation key, for a user delegation SAS (no account key needed).
        endpoint: Blob service URL; default ``https://ACCOUNT.blob.core.windows.net``. For a local server,
            for example Azurite, ``http://127.0.0.1:10000/devstoreaccount1``.

    Raises:
        InvalidInputError: An argument is invalid.
    """

    __slots__ = (
        "_account_name",
        "_base_url",
        "_canonical_prefix",
        "_delegation_sts",
        "_delegation_token",
        "_endpoint",
        "_key_expiry",
        "_key_expiry_epoch",
        "_key_start_epoch",
        "_mac",
        "_protocol_sts",
        "_protocol_token",
    )

    def __init__(
        self,
        account_name: str,
        *,
        account_key: str | None = None,
        user_delegation_key: UserDelegationKey | None = None,
        endpoint: str | None = None,
    ) -> None:
        self._account_name = validate_account_name(account_name)
        if (account_key is None) == (user_delegation_key is None):
            raise _invalid(
                "account_key",
                "exactly one of account_key and user_delegation_key is required",
                "pass the account key or a user delegation key, not both",
            )
        self._endpoint = self._parse_endpoint(endpoint)
        self._base_url = self._endpoint + "/"
        self._canonical_prefix = f"/blob/{account_name}/"
        https = self._endpoint.startswith("https://")
        self._protocol_sts = "https" if https else "https,http"
        self._protocol_token = f"spr={quote(self._protocol_sts)}&sv={SAS_VERSION}"
        self._key_expiry: datetime | None = None
        self._key_start_epoch: int | None = None
        self._key_expiry_epoch: int | None = None
        self._delegation_sts = ""
        self._delegation_token = ""
        if user_delegation_key is not None:
            self._mac = HmacSha256(self._load_delegation_key(user_delegation_key), best_sha256())
        else:
            self._mac = HmacSha256(_decode_key(account_key or "", "account_key"), best_sha256())

    def _load_delegation_key(self, key: UserDelegationKey) -> bytes:
        if not isinstance(key, UserDelegationKey):
            raise _invalid(
                "user_delegation_key",
                "is not a byos UserDelegationKey",
                "wrap it: UserDelegationKey.from_sdk(key)",
            )
        for name in ("signed_oid", "signed_tid", "signed_service", "signed_version"):
            if not getattr(key, name):
                raise _invalid(
                    f"user_delegation_key.{name}", "is empty", "pass the key get_user_delegation_key returned"
                )
        key_start = _parse_key_time(key.signed_start, "user_delegation_key.signed_start")
        key_expiry = _parse_key_time(key.signed_expiry, "user_delegation_key.signed_expiry")
        if key_expiry <= key_start:
            raise _invalid(
                "user_delegation_key.signed_expiry",
                "is not after signed_start",
                "request a new delegation key",
            )
        self._key_expiry = key_expiry
        # Whole seconds: a SAS may start no earlier than the key, and end no later.
        self._key_start_epoch = -(-_microseconds(key_start - _EPOCH) // 1_000_000)
        self._key_expiry_epoch = _microseconds(key_expiry - _EPOCH) // 1_000_000
        delegated_tid = key.signed_delegated_user_tid or ""
        # skoid, sktid, skt, ske, sks, skv, saoid, suoid, scid, skdutid, sduoid: the byos SAS sets no
        # authorized/unauthorized object ID, correlation ID or delegated user object ID.
        self._delegation_sts = "\n".join(
            (
                key.signed_oid,
                key.signed_tid,
                key.signed_start,
                key.signed_expiry,
                key.signed_service,
                key.signed_version,
                "",
                "",
                "",
                delegated_tid,
                "",
            )
        )
        pairs = [
            ("skoid", key.signed_oid),
            ("sktid", key.signed_tid),
            ("skt", key.signed_start),
            ("ske", key.signed_expiry),
            ("sks", key.signed_service),
            ("skv", key.signed_version),
            ("skdutid", delegated_tid),
        ]
        self._delegation_token = "&".join(f"{name}={quote(value)}" for name, value in pairs if value)
        return _decode_key(key.value, "user_delegation_key.value")

    def _parse_endpoint(self, endpoint: str | None) -> str:
        if endpoint is None:
            return f"https://{self._account_name}{_SERVICE_URL_SUFFIX}"
        fix = "use https://ACCOUNT.blob.core.windows.net, or http://127.0.0.1:PORT/ACCOUNT for a local server"
        if not isinstance(endpoint, str):
            raise _invalid("endpoint", "must be a URL string", fix)
        try:
            parts = urlsplit(endpoint.strip())
        except ValueError:
            raise _invalid("endpoint", "is not a valid URL", fix) from None
        scheme = parts.scheme.lower()
        if scheme not in {"http", "https"} or not parts.netloc:
            raise _invalid("endpoint", "must be an http:// or https:// URL with a host", fix)
        if parts.query or parts.fragment or "@" in parts.netloc:
            raise _invalid("endpoint", "must not contain a query, fragment or user name", fix)
        path = parts.path.rstrip("/")
        if path and ".blob.core." in parts.netloc:
            raise _invalid("endpoint", "an Azure blob service URL takes no path", fix)
        return f"{scheme}://{parts.netloc}{path}"

    @property
    def account_name(self) -> str:
        """The storage account name."""
        return self._account_name

    @property
    def endpoint(self) -> str:
        """The blob service URL, without a trailing slash."""
        return self._endpoint

    @property
    def user_delegation(self) -> bool:
        """True when this signer makes user delegation SAS (signed with a user delegation key)."""
        return self._key_expiry is not None

    @property
    def key_expires_at(self) -> datetime | None:
        """When the user delegation key expires, or None for an account key."""
        return self._key_expiry

    def __repr__(self) -> str:
        kind = "user-delegation" if self.user_delegation else "account-key"
        return (
            f"BlobSasSigner(account_name={self._account_name!r}, endpoint={self._endpoint!r}, auth={kind!r})"
        )

    def blob_url(self, container: str, blob_name: str) -> str:
        """Return the unsigned URL of a blob, encoded as ``BlobClient(...).url`` encodes it.

        Raises:
            InvalidInputError: The container or blob name is invalid.
        """
        validate_container_name(container)
        validate_blob_name(blob_name)
        path = blob_name.translate(_ASCII_PATH_QUOTES) if blob_name.isascii() else quote(blob_name, safe="~/")
        return f"{self._base_url}{container}/{path}"

    def sign(
        self,
        container: str,
        blob_name: str,
        *,
        now: datetime,
        expires: timedelta | None,
        overwrite: bool = False,
        block_upload: bool = False,
        start_backdate: timedelta | None = DEFAULT_START_BACKDATE,
        stored_access_policy: str | None = None,
        policy_sets_permission: bool = False,
        policy_sets_expiry: bool = False,
    ) -> BlobSas:
        """Sign a write-only SAS URL for one blob.

        Args:
            container: Container name.
            blob_name: Blob name (object key), unencoded.
            now: The current time (timezone-aware); injected so callers can freeze the clock.
            expires: How long the SAS works, 1 second to 7 days (for a user delegation key: not past the
                key's expiry). None only when ``policy_sets_expiry``.
            overwrite: Allow replacing an existing blob (permission ``cw`` instead of ``c``).
            block_upload: The SAS is for Put Block and Put Block List, which need write permission
                (``cw``). Send ``If-None-Match: *`` with Put Block List to keep the upload write-once.
            start_backdate: Start the SAS this long before ``now``; None omits the start time (``st``),
                for example when the stored access policy sets it. A user delegation SAS never starts
                before its key.
            stored_access_policy: Identifier of a stored access policy on the container (``si``), so the
                SAS can be revoked by changing the policy. Account keys only: Azure does not support stored
                access policies for user delegation SAS.
            policy_sets_permission: The stored access policy sets the permission, so ``sp`` is omitted.
            policy_sets_expiry: The stored access policy sets the expiry, so ``se`` is omitted.

        Returns:
            The signed URL, token, permission and validity window (times truncated to whole seconds, as
            the SAS carries them).

        Raises:
            InvalidInputError: An argument is invalid; nothing was signed.
        """
        validate_container_name(container)
        validate_blob_name(blob_name)
        _check_flags(
            overwrite=overwrite,
            block_upload=block_upload,
            policy_sets_permission=policy_sets_permission,
            policy_sets_expiry=policy_sets_expiry,
        )
        now_us = _epoch_microseconds(now)

        if stored_access_policy is not None:
            self._check_policy_id(stored_access_policy)
        elif policy_sets_permission or policy_sets_expiry:
            raise _invalid(
                "stored_access_policy",
                "is required when the policy sets the permission or expiry",
                "pass the policy identifier",
            )

        if policy_sets_expiry:
            if expires is not None:
                raise _invalid(
                    "expires",
                    "must be None when the stored access policy sets the expiry",
                    "pass expires=None or drop policy_sets_expiry",
                )
            expiry = None
        else:
            if not isinstance(expires, timedelta) or not MIN_EXPIRES <= expires <= MAX_EXPIRES:
                raise _invalid(
                    "expires", "must be between 1 second and 7 days", "pass a lifetime such as 30 minutes"
                )
            expiry_epoch = (now_us + _microseconds(expires)) // 1_000_000
            if self._key_expiry_epoch is not None and expiry_epoch > self._key_expiry_epoch:
                raise _invalid(
                    "expires",
                    "reaches past the user delegation key's expiry",
                    "use a shorter lifetime or request a fresh delegation key",
                )
            expiry = _moment(expiry_epoch)

        if start_backdate is None:
            start = None
        else:
            if not isinstance(start_backdate, timedelta) or not _ZERO <= start_backdate <= MAX_EXPIRES:
                raise _invalid("start_backdate", "must be between 0 and 7 days", "pass for example 5 minutes")
            start_epoch = (now_us - _microseconds(start_backdate)) // 1_000_000
            if self._key_start_epoch is not None and start_epoch < self._key_start_epoch:
                start_epoch = self._key_start_epoch
            start = _moment(start_epoch)

        permission = None if policy_sets_permission else ("cw" if overwrite or block_upload else "c")
        return self._sign(
            container=container,
            blob_name=blob_name,
            permission=permission,
            start=start,
            expiry=expiry,
            policy_id=stored_access_policy,
        )

    def compile_put(
        self,
        container: str,
        *,
        overwrite: bool = False,
        stored_access_policy: str | None = None,
        names_checked: bool = False,
    ) -> Callable[[str, int, int], BlobSas]:
        """Return ``sign(blob_name, now_epoch_seconds, seconds)``: :meth:`sign` with these options, compiled.

        The result equals ``sign(container, blob_name, now=<that second>, expires=timedelta(seconds=...),
        overwrite=overwrite, stored_access_policy=stored_access_policy)`` (start five minutes back); the
        caller checks the lifetime (1 s to 7 days) and that the second is a plausible time. Account keys
        only. ``names_checked``: every blob name will have passed :func:`byos.keys.check_key` (whose rules
        include Azure's), so :func:`validate_blob_name` is not run again.

        Raises:
            InvalidInputError: A bad container, flag or policy, or a user delegation signer.
        """
        validate_container_name(container)
        _check_flags(overwrite=overwrite)
        if self._key_expiry_epoch is not None:
            raise _invalid("user_delegation_key", "cannot be compiled", "call sign() for each URL")
        if stored_access_policy is not None:
            self._check_policy_id(stored_access_policy)
        permission = "cw" if overwrite else "c"
        policy_token = "&si=" + quote(stored_access_policy) if stored_access_policy else ""
        token_middle = f"&sp={permission}&{self._protocol_token}{policy_token}&sr=b&sig="
        sts_path = f"\n{self._canonical_prefix}{container}/"
        sts_tail = f"\n{stored_access_policy or ''}\n\n{self._protocol_sts}\n{SAS_VERSION}\nb\n\n\n\n\n\n\n"
        url_head = f"{self._base_url}{container}/"
        backdate = _microseconds(DEFAULT_START_BACKDATE) // 1_000_000
        digest = self._mac.digest
        encode = encode_key_path

        def sign(blob_name: str, now: int, seconds: int) -> BlobSas:
            if not names_checked:
                validate_blob_name(blob_name)
            start = _moment(now - backdate)
            expiry = _moment(now + seconds)
            signature = b2a_base64(
                digest(f"{permission}\n{start[0]}\n{expiry[0]}{sts_path}{blob_name}{sts_tail}".encode()),
                newline=False,
            ).decode()
            token = f"{start[1]}&{expiry[2]}{token_middle}" + signature.replace("+", "%2B").replace(
                "=", "%3D"
            )
            return BlobSas(f"{url_head}{encode(blob_name)}?{token}", token, permission, start[3], expiry[3])

        return sign

    def _check_policy_id(self, policy_id: str) -> None:
        if self.user_delegation:
            raise _invalid(
                "stored_access_policy",
                "is not supported with a user delegation key",
                "sign with the account key or drop the policy",
            )
        if not isinstance(policy_id, str) or not 1 <= len(policy_id) <= MAX_POLICY_ID_LENGTH:
            raise _invalid("stored_access_policy", "must be 1-64 characters", "use the policy's identifier")
        try:
            policy_id.encode()
        except UnicodeEncodeError:
            raise _invalid(
                "stored_access_policy", "is not valid UTF-8", "use the policy's identifier"
            ) from None

    def _sign(
        self,
        *,
        container: str,
        blob_name: str,
        permission: str | None,
        start: _Moment | None,
        expiry: _Moment | None,
        policy_id: str | None,
    ) -> BlobSas:
        parts = []
        if start is not None:
            start_text = start[0]
            parts.append(start[1])
        else:
            start_text = ""
        if expiry is not None:
            expiry_text = expiry[0]
            parts.append(expiry[2])
        else:
            expiry_text = ""
        if permission:
            parts.append("sp=" + permission)
        parts.append(self._protocol_token)
        if self._key_expiry_epoch is not None:
            middle = self._delegation_sts
            tail = "\n\n\n\n\n\n\n\n\n"  # snapshot, ses, srh, srq, rscc, rscd, rsce, rscl, rsct
        else:
            middle = policy_id or ""
            tail = "\n\n\n\n\n\n\n"  # snapshot, ses, rscc, rscd, rsce, rscl, rsct
            if policy_id:
                parts.append("si=" + quote(policy_id))
        parts.append("sr=b")
        if self._delegation_token:
            parts.append(self._delegation_token)
        string_to_sign = (
            f"{permission or ''}\n{start_text}\n{expiry_text}\n"
            f"{self._canonical_prefix}{container}/{blob_name}\n"
            f"{middle}\n\n{self._protocol_sts}\n{SAS_VERSION}\nb{tail}"
        )
        signature = b64encode(self._mac.digest(string_to_sign.encode())).decode()
        parts.append("sig=" + signature.replace("+", "%2B").replace("=", "%3D"))
        token = "&".join(parts)
        path = blob_name.translate(_ASCII_PATH_QUOTES) if blob_name.isascii() else quote(blob_name, safe="~/")
        return BlobSas(
            url=f"{self._base_url}{container}/{path}?{token}",
            token=token,
            permission=permission,
            starts_at=start[3] if start is not None else None,
            expires_at=expiry[3] if expiry is not None else None,
        )


def put_block_url(sas_url: str, block_id_value: str) -> str:
    """Return the Put Block URL for a blob SAS URL: ``…?SAS&comp=block&blockid=ID`` (ID percent-encoded).

    Raises:
        InvalidInputError: The block ID is not base64 of at most 64 bytes.
    """
    _check_block_id(block_id_value)
    return f"{sas_url}&comp=block&blockid={quote(block_id_value, safe='')}"


def put_block_list_url(sas_url: str) -> str:
    """Return the Put Block List URL for a blob SAS URL: ``…?SAS&comp=blocklist``."""
    return f"{sas_url}&comp=blocklist"


def _check_block_id(value: str) -> None:
    if not isinstance(value, str) or not value:
        raise _invalid("block_id", "is empty", "use block_id(index)")
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise _invalid("block_id", "is not base64", "use block_id(index)") from None
    if not raw or len(raw) > _MAX_BLOCK_ID_BYTES:
        raise _invalid("block_id", "must encode 1-64 bytes", "use block_id(index)")


def block_id(index: int) -> str:
    """Return the block ID of block ``index``: base64 of a zero-padded 6-digit counter.

    Every ID has the same length (8 characters), as Azure requires within one blob.

    Raises:
        InvalidInputError: ``index`` is not in 0..49,999.
    """
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < MAX_BLOCKS:
        raise _invalid("index", "must be an integer from 0 to 49999", "number blocks from 0")
    return base64.b64encode(f"{index:0{_BLOCK_ID_WIDTH}d}".encode()).decode()


def block_list_body(block_ids: Iterable[str]) -> bytes:
    """Return the Put Block List request body committing ``block_ids`` in order (``<Latest>`` each).

    Raises:
        InvalidInputError: A block ID is invalid, the IDs differ in length, or there are over 50,000.
    """
    ids = list(block_ids)
    if len(ids) > MAX_BLOCKS:
        raise _invalid("block_ids", "lists more than 50,000 blocks", "use larger blocks")
    for value in ids:
        _check_block_id(value)
    if len({len(value) for value in ids}) > 1:
        raise _invalid("block_ids", "differ in length", "use block_id(index) for every block")
    latest = "".join(f"<Latest>{value}</Latest>" for value in ids)
    return f'<?xml version="1.0" encoding="utf-8"?><BlockList>{latest}</BlockList>'.encode()


class Block:
    """One block of a block plan: its ID and the byte range of the file it carries (immutable)."""

    __slots__ = ("block_id", "index", "length", "offset")
    index: int
    block_id: str
    offset: int
    length: int

    def __init__(self, index: int, block_id: str, offset: int, length: int) -> None:
        for name, value in (("index", index), ("block_id", block_id), ("offset", offset), ("length", length)):
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Block is immutable; cannot set {name}")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Block):
            return NotImplemented
        return (self.index, self.block_id, self.offset, self.length) == (
            other.index,
            other.block_id,
            other.offset,
            other.length,
        )

    def __hash__(self) -> int:
        return hash((self.index, self.block_id, self.offset, self.length))

    def __repr__(self) -> str:
        fields = f"index={self.index}, block_id={self.block_id!r}, offset={self.offset}, length={self.length}"
        return f"Block({fields})"


class BlockPlan:
    """How to split a file of ``size`` bytes into blocks.

    Attributes:
        size: File size in bytes.
        block_size: Size of every block but the last.
        count: Number of blocks (0 for an empty file: commit an empty block list).
    """

    __slots__ = ("block_size", "count", "size")
    size: int
    block_size: int
    count: int

    def __init__(self, size: int, block_size: int, count: int) -> None:
        for name, value in (("size", size), ("block_size", block_size), ("count", count)):
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"BlockPlan is immutable; cannot set {name}")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, BlockPlan):
            return NotImplemented
        return (self.size, self.block_size, self.count) == (other.size, other.block_size, other.count)

    def __hash__(self) -> int:
        return hash((self.size, self.block_size, self.count))

    def __repr__(self) -> str:
        return f"BlockPlan(size={self.size}, block_size={self.block_size}, count={self.count})"

    def blocks(self) -> Iterator[Block]:
        """Yield every block in order."""
        for index in range(self.count):
            offset = index * self.block_size
            yield Block(index, block_id(index), offset, min(self.block_size, self.size - offset))

    def block_ids(self) -> list[str]:
        """Return the IDs of every block in order (the Put Block List order)."""
        return [block_id(index) for index in range(self.count)]


def plan_blocks(size: int, *, min_block_size: int = DEFAULT_BLOCK_SIZE) -> BlockPlan:
    """Plan a block upload of ``size`` bytes within Azure's limits.

    Blocks are ``min_block_size`` bytes (8 MiB by default), grown in whole MiB when the file would
    otherwise need more than 50,000 blocks; no block exceeds 4000 MiB.

    Raises:
        InvalidInputError: ``size`` is negative or over 50,000 x 4000 MiB, or ``min_block_size`` is out
            of range.
    """
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise _invalid("size", "must be a non-negative integer", "pass the file size in bytes")
    if size > MAX_BLOB_SIZE:
        raise _invalid(
            "size", "exceeds Azure's block blob limit of 50,000 blocks of 4000 MiB", "split the file"
        )
    if (
        isinstance(min_block_size, bool)
        or not isinstance(min_block_size, int)
        or not 1 <= min_block_size <= MAX_BLOCK_SIZE
    ):
        raise _invalid("min_block_size", "must be 1 byte to 4000 MiB", "pass for example 8 MiB")
    needed = -(-size // MAX_BLOCKS)
    block_size = min_block_size if needed <= min_block_size else min(-(-needed // MIB) * MIB, MAX_BLOCK_SIZE)
    return BlockPlan(size=size, block_size=block_size, count=-(-size // block_size))
