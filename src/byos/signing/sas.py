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

from base64 import b64encode
from binascii import b2a_base64
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import quote, urlsplit

from byos.redaction import redact_url
from byos.signing.hmac_sha256 import HmacSha256, best_sha256
from byos.signing.sas_blocks import (
    Block,
    BlockPlan,
    block_id,
    block_list_body,
    plan_blocks,
    put_block_list_url,
    put_block_url,
)
from byos.signing.sas_rules import (
    _ASCII_PATH_QUOTES,
    _EPOCH,
    _SERVICE_URL_SUFFIX,
    _ZERO,
    DEFAULT_BLOCK_SIZE,
    DEFAULT_START_BACKDATE,
    MAX_BLOB_NAME_LENGTH,
    MAX_BLOB_SIZE,
    MAX_BLOCK_SIZE,
    MAX_BLOCKS,
    MAX_EXPIRES,
    MAX_POLICY_ID_LENGTH,
    MIN_EXPIRES,
    SAS_VERSION,
    _check_flags,
    _decode_key,
    _epoch_microseconds,
    _invalid,
    _microseconds,
    _Moment,
    _moment,
    _parse_key_time,
    validate_account_name,
    validate_blob_name,
    validate_container_name,
)
from byos.signing.sas_rules import (
    MAX_PATH_SEGMENTS as MAX_PATH_SEGMENTS,  # noqa: PLC0414 - still importable from here
)
from byos.signing.sas_rules import (
    MIB as MIB,  # noqa: PLC0414 - still importable from here
)
from byos.signing.sigv4_templates import encode_key_path

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

if TYPE_CHECKING:
    pass


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
