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

The signer's parts live beside it: ``sas_delegation`` (the user delegation key), ``sas_window`` (start,
expiry and stored access policy checks), ``sas_url`` (endpoint, blob path, :class:`BlobSas`),
``sas_compiled`` (the per-container compiled PUT), ``sas_rules`` and ``sas_blocks``. Every name they held
here before stays importable from this module.
"""

from __future__ import annotations

from base64 import b64encode
from collections.abc import Callable
from datetime import datetime, timedelta
from urllib.parse import quote

from byos.redaction import redact_url as redact_url  # noqa: PLC0414 - still importable from here
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
from byos.signing.sas_compiled import compile_blob_put
from byos.signing.sas_delegation import UserDelegationKey, load_delegation_key
from byos.signing.sas_rules import (
    _ASCII_PATH_QUOTES,
    DEFAULT_BLOCK_SIZE,
    DEFAULT_START_BACKDATE,
    MAX_BLOB_NAME_LENGTH,
    MAX_BLOB_SIZE,
    MAX_BLOCK_SIZE,
    MAX_BLOCKS,
    MAX_EXPIRES,
    MIN_EXPIRES,
    SAS_VERSION,
    _check_flags,
    _decode_key,
    _epoch_microseconds,
    _invalid,
    _Moment,
    validate_account_name,
    validate_blob_name,
    validate_container_name,
)

# Re-exported, not used here: importable from this module as before its parts moved out.
from byos.signing.sas_rules import _EPOCH as _EPOCH  # noqa: PLC0414
from byos.signing.sas_rules import _SERVICE_URL_SUFFIX as _SERVICE_URL_SUFFIX  # noqa: PLC0414
from byos.signing.sas_rules import _ZERO as _ZERO  # noqa: PLC0414
from byos.signing.sas_rules import MAX_PATH_SEGMENTS as MAX_PATH_SEGMENTS  # noqa: PLC0414
from byos.signing.sas_rules import MAX_POLICY_ID_LENGTH as MAX_POLICY_ID_LENGTH  # noqa: PLC0414
from byos.signing.sas_rules import MIB as MIB  # noqa: PLC0414
from byos.signing.sas_rules import _microseconds as _microseconds  # noqa: PLC0414
from byos.signing.sas_rules import _moment as _moment  # noqa: PLC0414
from byos.signing.sas_rules import _parse_key_time as _parse_key_time  # noqa: PLC0414
from byos.signing.sas_url import BlobSas, blob_path, parse_blob_endpoint
from byos.signing.sas_window import check_policy_id, signing_window
from byos.signing.sigv4_templates import encode_key_path as encode_key_path  # noqa: PLC0414 - as before

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
        delegation = load_delegation_key(key)
        self._key_expiry = delegation.key_expiry
        self._key_start_epoch = delegation.key_start_epoch
        self._key_expiry_epoch = delegation.key_expiry_epoch
        self._delegation_sts = delegation.string_to_sign
        self._delegation_token = delegation.token
        return delegation.secret

    def _parse_endpoint(self, endpoint: str | None) -> str:
        return parse_blob_endpoint(endpoint, self._account_name)

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
        return f"{self._base_url}{container}/{blob_path(blob_name)}"

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

        start, expiry = signing_window(
            now_us, expires, start_backdate, policy_sets_expiry, self._key_start_epoch, self._key_expiry_epoch
        )
        permission = None if policy_sets_permission else ("cw" if overwrite or block_upload else "c")
        return self._sign(container, blob_name, permission, start, expiry, stored_access_policy)

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
        return compile_blob_put(
            self._mac.digest,
            base_url=self._base_url,
            canonical_prefix=self._canonical_prefix,
            protocol_sts=self._protocol_sts,
            protocol_token=self._protocol_token,
            container=container,
            permission="cw" if overwrite else "c",
            stored_access_policy=stored_access_policy,
            names_checked=names_checked,
        )

    def _check_policy_id(self, policy_id: str) -> None:
        check_policy_id(policy_id, user_delegation=self._key_expiry is not None)

    def _sign(  # noqa: PLR0917 - called once per URL, positional for speed
        self,
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
        # blob_path(blob_name), inlined on the per-URL path
        path = blob_name.translate(_ASCII_PATH_QUOTES) if blob_name.isascii() else quote(blob_name, safe="~/")
        return BlobSas(
            url=f"{self._base_url}{container}/{path}?{token}",
            token=token,
            permission=permission,
            starts_at=start[3] if start is not None else None,
            expires_at=expiry[3] if expiry is not None else None,
        )
