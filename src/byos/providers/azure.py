"""Azure Blob Storage: signing modes, write-only SAS uploads (single PUT and block uploads), server calls.

Two ways to sign, chosen from the destination:

1. ``account_key``: a service SAS signed locally with the standard library; no SDK is imported. The account
   key is full control of the storage account, so the setup checker warns about it.
2. Otherwise a user delegation SAS (what Microsoft recommends): a Microsoft Entra token credential from
   azure-identity (``ClientSecretCredential`` when ``tenant_id``, ``client_id`` and ``client_secret`` are set,
   else ``DefaultAzureCredential``: environment, workload identity, managed identity, developer sign-in)
   authorises byos's own Get User Delegation Key request (``byos[azure]``). The key is valid for a day (longer
   when a URL asks for more, at most 7 days), cached per destination, refreshed when less than the requested
   lifetime plus five minutes remains, and every URL is signed locally with it. No URL outlives its key:
   ``expires_at`` is the true expiry.

Every URL is blob-scoped (``sr=b``) with create-only permission (``c``), so it can write one new blob and
nothing else: no read, list, delete or overwrite. ``overwrite=True`` signs ``cw``. A stored access policy
(``stored_access_policy``, account keys only) adds ``si`` so the customer can revoke every URL by deleting
the policy; create it with an identifier only (no permission, no expiry: byos signs those per URL).

What an Azure SAS cannot do, and what byos does about it:

- Azure has no browser form upload: ``method="POST"`` is refused; use PUT.
- A SAS does not sign headers, so it cannot lock the size: ``content_length``, ``min_bytes`` and ``max_bytes``
  are refused, and ``max_upload_bytes`` is checked only for block uploads (whose size is declared). Check the
  blob's size after the upload.
- Put Blob verifies ``Content-MD5`` (``content_md5`` is sent as that header; Azure answers 400 Md5Mismatch
  when the body differs) but not SHA-256: ``checksum_sha256`` is refused.
- Metadata names must be C# identifiers, so ``-`` in byos metadata names becomes ``_``: the original file
  name is stored as ``x-ms-meta-original_filename`` (percent-encoded ASCII, see
  :func:`byos.keys.metadata_filename`). A name starting with a digit is refused.

Write-once: a single PUT sends ``If-None-Match: *`` and its ``c`` permission cannot overwrite anyway. Block
uploads (:func:`start_block_upload`) need write permission (``cw``) for Put Block, so the same SAS could
replace an existing blob with a plain Put Blob; write-once then rests on the client sending the returned
``If-None-Match: *`` with Put Block List, and on the blob name being fresh (a new upload id). Keep
block-upload lifetimes short.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import parse_qsl, quote, urlsplit

from byos import http
from byos.bounded import SingleFlight, call_within
from byos.endpoints import is_loopback_host
from byos.errors import (
    ByosError,
    ConfigError,
    CredentialsError,
    InvalidInputError,
    MissingCredentialsError,
    ProviderError,
    ProviderTimeoutError,
)
from byos.models import UploadOptions, UploadRequest
from byos.option_types import destination_kind
from byos.providers import require
from byos.signing.sas import (
    DEFAULT_BLOCK_SIZE,
    BlobSasSigner,
    BlockPlan,
    UserDelegationKey,
    block_list_body,
    plan_blocks,
    put_block_list_url,
    put_block_url,
)
from byos.uploads import prepare

if TYPE_CHECKING:
    from byos.config import AzureDestination, Destination

NAME = "azure"
STORAGE_SCOPE: Final = "https://storage.azure.com/.default"
MANAGEMENT_ENDPOINT = "https://management.azure.com"
"""Azure Resource Manager; a module setting so tests (or a sovereign cloud) can point it elsewhere."""
MANAGEMENT_SCOPE = "https://management.azure.com/.default"
MANAGEMENT_API_VERSION: Final = "2023-05-01"
X_MS_VERSION: Final = "2024-08-04"
"""Service version of the few header-authorised Blob requests byos makes itself (the setup checker's)."""

KEY_LIFETIME = timedelta(days=1)
"""How long a fetched user delegation key is valid, unless a URL asks for longer."""
KEY_BACKDATE = timedelta(minutes=5)
"""A delegation key starts this long before now, so SAS start times may be backdated for clock skew."""
MAX_KEY_LIFETIME = timedelta(days=7) - KEY_BACKDATE
"""Azure limits a delegation key to 7 days from its start."""
KEY_REUSE = timedelta(hours=1)
"""A key is reused for at least this long, even when a URL asks for nearly the longest lifetime."""
REFRESH_MARGIN = timedelta(minutes=5)
SDK_TIMEOUT = 10.0
AZURE_BLOB_SUFFIXES = (
    ".blob.core.windows.net",
    ".blob.storage.azure.net",
    ".blob.core.chinacloudapi.cn",
    ".blob.core.usgovcloudapi.net",
)
"""Azure's own Blob endpoints: the only custom endpoints a Microsoft Entra token is sent to (and loopback)."""

_IDENTIFIER_START = frozenset("abcdefghijklmnopqrstuvwxyz_")
_MD5_BYTES = 16


# --- signing modes ---


@dataclass(frozen=True, slots=True)
class AzureSigning:
    """How a destination signs.

    Attributes:
        signer: The SAS signer (account key or user delegation key).
        mode: ``account key`` or ``user delegation``.
        identity: Who signs: the account key, a service principal, or the default credential chain.
        expires_at: When the user delegation key expires (None for an account key).
        delegation_key: The user delegation key (None for an account key); secret, never shown.
    """

    signer: BlobSasSigner = field(repr=False)
    mode: str
    identity: str
    expires_at: datetime | None
    delegation_key: UserDelegationKey | None = field(default=None, repr=False)

    def describe(self) -> str:
        """One line for reports, e.g. ``user delegation SAS as service principal 0000…``."""
        if self.expires_at is None:
            return "shared key: full control of the account (account key)"
        return f"user delegation SAS as {self.identity}"


_lock = threading.Lock()
_flights = SingleFlight()
_delegations: dict[tuple[Any, ...], AzureSigning] = {}
_credentials: dict[tuple[Any, ...], Any] = {}


def clear_caches() -> None:
    """Forget cached token credentials and user delegation keys (the next presign fetches new ones)."""
    with _lock:
        _delegations.clear()
        _credentials.clear()
    from byos import presigner_cache  # noqa: PLC0415  (compiled presigners hold signers too)

    presigner_cache.clear()


def _azure(destination: Destination) -> AzureDestination:
    from byos.config import AzureDestination  # noqa: PLC0415  (config is heavier than this module needs at load)

    if not isinstance(destination, AzureDestination):
        raise InvalidInputError(
            "destination", f"is {destination_kind(destination)}", "pass an Azure destination"
        )
    return destination


@lru_cache(maxsize=256)
def _key_signer(account_name: str, account_key: str, endpoint: str) -> BlobSasSigner:
    return BlobSasSigner(account_name, account_key=account_key, endpoint=endpoint)


def _identity(destination: AzureDestination, credential: Any) -> str:  # noqa: ANN401  (an SDK credential)
    if destination.client_secret is not None:
        return f"service principal {destination.client_id}"
    # DefaultAzureCredential remembers which of its sources gave the token (a private attribute: best effort).
    chosen = getattr(credential, "_successful_credential", None)
    via = f", via {type(chosen).__name__}" if chosen is not None else ""
    if destination.client_id is not None:
        return f"managed or workload identity {destination.client_id} (DefaultAzureCredential{via})"
    return f"the default Azure credential chain (DefaultAzureCredential{via})"


def _cache_key(destination: AzureDestination) -> tuple[Any, ...]:
    secret = destination.client_secret.get_secret_value() if destination.client_secret else None
    return (destination.tenant_id, destination.client_id, secret)


def token_credential(destination: Destination, *, timeout: float | None = None) -> Any:  # noqa: ANN401  (azure-identity ships no types here)
    """Return the Microsoft Entra token credential of ``destination``.

    ``ClientSecretCredential`` when ``tenant_id``, ``client_id`` and ``client_secret`` are set; otherwise
    ``DefaultAzureCredential`` (with ``client_id`` as the user-assigned managed identity, if set).

    Args:
        destination: An Azure destination.
        timeout: None gives the cached credential presigning uses (each call bounded by
            :data:`SDK_TIMEOUT`, one retry). A number gives a new credential whose every call (and every
            developer sign-in subprocess) is bounded by it and never retried: the setup checker's, whose
            calls must end before its deadline.

    Raises:
        MissingExtraError: ``byos[azure]`` is not installed.
        CredentialsError: The settings cannot make a credential.
    """
    azure = _azure(destination)
    key = _cache_key(azure)
    if timeout is None:
        with _lock:
            found = _credentials.get(key)
        if found is not None:
            return found
    credential = _new_credential(azure, SDK_TIMEOUT if timeout is None else timeout, retries=timeout is None)
    if timeout is not None:
        return credential
    with _lock:
        return _credentials.setdefault(key, credential)


def _new_credential(azure: AzureDestination, timeout: float, *, retries: bool) -> Any:  # noqa: ANN401  (an SDK credential)
    identity = require(
        "azure.identity", feature="Microsoft Entra sign-in (user delegation SAS)", extra="azure"
    )
    # azure-core pipeline settings: without them a token request waits 300 s and is retried three times.
    bounds: dict[str, Any] = {
        "connection_timeout": timeout,
        "read_timeout": timeout,
        "retry_total": 1 if retries else 0,
    }
    try:
        if azure.client_secret is not None:
            return identity.ClientSecretCredential(
                azure.tenant_id, azure.client_id, azure.client_secret.get_secret_value(), **bounds
            )
        options: dict[str, Any] = {**bounds, "process_timeout": timeout}  # az, azd and PowerShell sign-in
        if azure.client_id is not None:
            options["managed_identity_client_id"] = azure.client_id
        if azure.tenant_id is not None:
            options["workload_identity_tenant_id"] = azure.tenant_id
        return identity.DefaultAzureCredential(**options)
    except ValueError as exc:
        raise CredentialsError(
            f"tenant_id/client_id: azure-identity refused them ({type(exc).__name__}); check both are GUIDs"
        ) from exc


def _credential(azure: AzureDestination, timeout: float | None) -> Any:  # noqa: ANN401  (an SDK credential)
    """The cached credential for presigning, or a new one bounded by ``timeout`` (the setup checker's)."""
    return token_credential(azure) if timeout is None else token_credential(azure, timeout=timeout)


def access_token(
    destination: Destination, scope: str = STORAGE_SCOPE, *, timeout: float | None = None
) -> str:
    """Return a bearer token for ``scope`` from the destination's token credential.

    Args:
        destination: An Azure destination.
        scope: The token's scope (Blob Storage by default).
        timeout: Bound every call of the token fetch by this many seconds, without retries (see
            :func:`token_credential`); None uses the cached credential.

    Raises:
        CredentialsError: No token could be had.
        ProviderTimeoutError: Microsoft Entra ID did not answer in time.
        MissingExtraError: ``byos[azure]`` is not installed.
    """
    return _token(_credential(_azure(destination), timeout), scope, timeout)


def resolve_signing(
    destination: Destination,
    *,
    lifetime: timedelta | None = None,
    now: datetime | None = None,
    timeout: float | None = None,
    refresh: bool = False,
) -> AzureSigning:
    """Return how ``destination`` signs, fetching (or refreshing) a user delegation key when it has no key.

    Args:
        destination: An Azure destination.
        lifetime: The longest URL lifetime about to be signed (the destination's ``expires`` when None); a
            cached delegation key with less than this plus five minutes left is replaced.
        now: The signing time (UTC now when None).
        timeout: Total seconds for the token and key fetch together, without retries (the setup
            checker's bound); None gives :data:`SDK_TIMEOUT` and the cached token credential.
        refresh: Fetch a new delegation key even when the cached one would do (the setup checker's proof).

    Raises:
        ConfigError: A stored access policy, or an http endpoint, without an account key.
        CredentialsError: No token, or Azure refused the user delegation key.
        ProviderError: The blob endpoint could not be reached (ProviderTimeoutError: not in time).
        MissingExtraError: User delegation needs ``byos[azure]``.
    """
    azure = _azure(destination)
    if azure.account_key is not None:
        signer = _key_signer(azure.account_name, azure.account_key.get_secret_value(), azure.blob_endpoint)
        return AzureSigning(signer, "account key", "the storage account key", None)
    if azure.stored_access_policy is not None:
        raise ConfigError(
            "stored_access_policy",
            "Azure does not apply stored access policies to user delegation SAS",
            "remove it (revoke user delegation keys instead), or sign with account_key",
        )
    if not azure.blob_endpoint.startswith("https://"):
        raise ConfigError(
            "endpoint_url",
            "user delegation needs https (Microsoft Entra tokens are sent only over TLS)",
            "use an https endpoint, or account_key for a local http server",
        )
    refuse_service_identity(azure)
    moment = now or datetime.now(UTC)
    wanted = azure.expires if lifetime is None else lifetime
    needed = min(wanted + REFRESH_MARGIN, MAX_KEY_LIFETIME - KEY_REUSE)
    key = (azure.account_name, azure.blob_endpoint, *_cache_key(azure))
    cached = _fresh_delegation(key, moment, needed)
    if cached is not None and not refresh:
        return cached
    # Single-flight per destination: one fetch however many threads ask; others wait for its key.
    wait = SDK_TIMEOUT * 4 + 2 if timeout is None else max(timeout, 0.1)
    flight = _flights.lock(key)
    if not flight.acquire(timeout=wait):
        raise ProviderTimeoutError("another fetch of this user delegation key did not finish in time")
    try:
        cached = None if refresh else _fresh_delegation(key, moment, needed)
        if cached is not None:
            return cached
        real_now = datetime.now(UTC).replace(microsecond=0)
        validity = min(MAX_KEY_LIFETIME, max(KEY_LIFETIME, wanted + KEY_REUSE + REFRESH_MARGIN))
        credential = _credential(azure, timeout)
        delegation_key = fetch_delegation_key(
            azure,
            real_now - KEY_BACKDATE,
            real_now + validity,
            timeout=SDK_TIMEOUT if timeout is None else timeout,
            credential=credential,
        )
        signer = BlobSasSigner(
            azure.account_name, user_delegation_key=delegation_key, endpoint=azure.blob_endpoint
        )
        identity = _identity(azure, credential)
        fresh = AzureSigning(signer, "user delegation", identity, signer.key_expires_at, delegation_key)
        with _lock:
            _delegations[key] = fresh
        return fresh
    finally:
        flight.release()


def _fresh_delegation(key: tuple[Any, ...], moment: datetime, needed: timedelta) -> AzureSigning | None:
    with _lock:
        cached = _delegations.get(key)
    if cached is not None and cached.expires_at is not None and cached.expires_at - moment >= needed:
        return cached
    return None


def fetch_delegation_key(
    destination: AzureDestination,
    start: datetime,
    expiry: datetime,
    *,
    timeout: float = SDK_TIMEOUT,
    credential: Any = None,  # noqa: ANN401  (an azure-identity credential)
) -> UserDelegationKey:
    """Ask the Blob service for a user delegation key valid from ``start`` to ``expiry``.

    The request (``POST /?restype=service&comp=userdelegationkey``) is sent by byos itself through the
    bounded transport; only the Entra token comes from azure-identity. The identity needs
    ``Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action`` at the storage
    account (the built-in Storage Blob Delegator role).

    Args:
        destination: An Azure destination without an account key.
        start: When the key becomes valid.
        expiry: When the key expires.
        timeout: Total seconds for the token fetch and the key request together (never retried).
        credential: The token credential to authorise with (the destination's cached one when None).

    Raises:
        CredentialsError: No token, or the identity may not request a key.
        ProviderError: The blob endpoint could not be reached (ProviderTimeoutError: not in time).
    """
    refuse_service_identity(destination)
    if credential is None:
        credential = token_credential(destination)
    started = time.monotonic()
    token = _token(credential, STORAGE_SCOPE, timeout, "Get User Delegation Key")
    left = max(0.1, timeout - (time.monotonic() - started))  # the token and the key share one bound
    body = (
        '<?xml version="1.0" encoding="utf-8"?><KeyInfo>'
        f"<Start>{start.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}</Start>"
        f"<Expiry>{expiry.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}</Expiry></KeyInfo>"
    ).encode("ascii")
    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/xml",
        "x-ms-date": format_datetime(datetime.now(UTC), usegmt=True),
        "x-ms-version": X_MS_VERSION,
    }
    url = f"{destination.blob_endpoint}/?restype=service&comp=userdelegationkey"
    try:
        answer = http.send("POST", url, headers=headers, body=body, timeout=left)
    except ProviderTimeoutError:
        raise ProviderTimeoutError(
            f"Get User Delegation Key: the blob endpoint did not answer within {timeout:g} s"
        ) from None
    except ProviderError as exc:
        detail = str(exc).rsplit(": ", 1)[-1]  # what went wrong, without the URL
        raise ProviderError(
            f"Get User Delegation Key: the blob endpoint could not be reached ({detail}); check endpoint_url"
        ) from None
    if answer.status in (401, 403):
        raise CredentialsError(
            f"Get User Delegation Key: Azure refused the identity ({answer.error_code() or answer.status}); "
            "assign it the Storage Blob Delegator role on the storage account (see `byos policy`)"
        )
    fields = {
        name: http.xml_text(answer.body, tag)
        for name, tag in (
            ("signed_oid", "SignedOid"),
            ("signed_tid", "SignedTid"),
            ("signed_start", "SignedStart"),
            ("signed_expiry", "SignedExpiry"),
            ("signed_service", "SignedService"),
            ("signed_version", "SignedVersion"),
            ("value", "Value"),
        )
    }
    if answer.status != 200 or not all(fields.values()):
        raise ProviderError(
            f"Get User Delegation Key: Azure answered {answer.error_code() or f'HTTP {answer.status}'}"
        )
    delegated = http.xml_text(answer.body, "SignedDelegatedUserTid") or None
    return UserDelegationKey(**fields, signed_delegated_user_tid=delegated)


def refuse_service_identity(destination: AzureDestination) -> None:
    """Refuse Microsoft Entra tokens for a custom blob endpoint that is not Azure's or loopback.

    User delegation authorises with the import service's Entra identity (or one it holds), whose bearer
    token goes only to Azure's own endpoints.

    Raises:
        CredentialsError: ``endpoint_url`` is the tenant's host.
    """
    host = (urlsplit(destination.blob_endpoint).hostname or "").lower()
    if is_loopback_host(host) or host.endswith(AZURE_BLOB_SUFFIXES):
        return
    raise CredentialsError(
        f"endpoint_url: {host} is not an Azure Blob endpoint, and byos never sends a Microsoft Entra token "
        "to it (user delegation); sign with the destination's own account_key, or use the account's "
        "blob.core.windows.net endpoint"
    )


def _token(
    credential: Any,  # noqa: ANN401  (an SDK credential)
    scope: str,
    timeout: float | None,
    operation: str = "getting a Microsoft Entra token",
) -> str:
    """``credential.get_token(scope)``, abandoned after ``timeout`` (azure-identity cannot be cut short)."""
    wait = SDK_TIMEOUT * 2 + 1 if timeout is None else timeout
    try:
        token = call_within(lambda: credential.get_token(scope), wait, "Microsoft Entra ID")
    except ProviderTimeoutError:
        raise ProviderTimeoutError(
            f"{operation}: Microsoft Entra ID did not answer within {wait:g} s; check the network path to "
            "the sign-in endpoint"
        ) from None
    except Exception as exc:
        error = _translate(exc, operation)
        if type(credential).__name__ == "DefaultAzureCredential" and type(error) is CredentialsError:
            error = MissingCredentialsError("azure", f"{operation}: DefaultAzureCredential found none")
        raise error from exc
    return str(token.token)


def _translate(exc: Exception, operation: str) -> ByosError:  # noqa: PLR0911  (one return per error kind)
    """Turn an azure-core / azure-identity exception into a one-line byos error (no secrets, no URLs)."""
    if isinstance(exc, ByosError):
        return exc
    errors = require("azure.core.exceptions", feature="Azure SDK calls", extra="azure")
    name = type(exc).__name__
    status = getattr(exc, "status_code", None)
    code = getattr(exc, "error_code", None) or (f"HTTP {status}" if status else name)
    timeouts = errors.ServiceRequestTimeoutError | errors.ServiceResponseTimeoutError
    if isinstance(exc, timeouts):
        return ProviderTimeoutError(f"{operation}: Azure did not answer in time ({name})")
    if isinstance(exc, errors.ClientAuthenticationError) and status is None:
        if isinstance(exc.__cause__ or exc.__context__, timeouts):  # azure-identity wraps the token fetch's
            return ProviderTimeoutError(
                f"{operation}: Microsoft Entra ID did not answer in time ({name}); check the network path "
                "to the sign-in endpoint"
            )
        return CredentialsError(
            f"{operation}: no Microsoft Entra token ({name}); check tenant_id, client_id and client_secret, "
            "or the managed identity or `az login` session (or use account_key)"
        )
    if status in (401, 403):
        return CredentialsError(
            f"{operation}: Azure refused the identity ({code}); assign it the Storage Blob Delegator role on "
            "the storage account (see `byos policy`)"
        )
    if isinstance(exc, errors.ServiceRequestError | errors.ServiceResponseError):
        return ProviderError(
            f"{operation}: the blob endpoint could not be reached ({name}); check endpoint_url"
        )
    if isinstance(exc, errors.HttpResponseError):
        return ProviderError(f"{operation}: Azure answered {code}")
    return ProviderError(f"{operation} failed ({name})")


# --- single-shot uploads ---


def presign_upload(destination: Destination, options: UploadOptions) -> UploadRequest:
    """Presign a PUT (Put Blob) that creates exactly one new blob.

    The returned headers are what the client must send: ``x-ms-blob-type: BlockBlob``, ``If-None-Match: *``
    (unless ``overwrite``), ``x-ms-blob-content-type`` (with ``content_type``), ``Content-MD5`` (with
    ``content_md5``) and ``x-ms-meta-*`` (the original file name as ``x-ms-meta-original_filename``).

    Raises:
        InvalidInputError: POST, a size limit, a SHA-256 checksum or another bad option (nothing is sent).
        ConfigError: A stored access policy without an account key.
        CredentialsError: No delegation key could be had.
        MissingExtraError: User delegation needs ``byos[azure]``.
    """
    azure = _azure(destination)
    _check_options(options)
    if options.content_md5 is not None:
        _check_md5(options.content_md5)
    signing = _signing_for(azure, options)
    prepared = prepare(azure, options, credentials_expire_at=signing.expires_at)
    headers = {"x-ms-blob-type": "BlockBlob"}
    if not options.overwrite:
        headers["If-None-Match"] = "*"
    if options.content_type is not None:
        headers["x-ms-blob-content-type"] = options.content_type
    if options.content_md5 is not None:
        headers["Content-MD5"] = options.content_md5
    headers.update(metadata_headers(prepared.metadata))
    sas = signing.signer.sign(
        azure.container,
        prepared.key,
        now=prepared.now,
        expires=timedelta(seconds=prepared.seconds),
        overwrite=options.overwrite,
        stored_access_policy=azure.stored_access_policy,
    )
    assert sas.expires_at is not None  # noqa: S101  (byos always signs the expiry itself)
    return UploadRequest(NAME, "PUT", sas.url, headers, {}, prepared.key, sas.expires_at)


def _signing_for(azure: AzureDestination, options: UploadOptions) -> AzureSigning:
    if azure.account_key is None:
        prepare(azure, options)  # every option is checked before a delegation key is fetched
    lifetime = azure.expires if options.expires is None else options.expires
    return resolve_signing(azure, lifetime=lifetime, now=options.now)


def _check_options(options: UploadOptions) -> None:
    if options.method == "POST":
        raise InvalidInputError(
            "method", "Azure Blob Storage has no browser form (POST) upload", "use PUT (the default)"
        )
    for name in ("content_length", "min_bytes", "max_bytes"):
        if getattr(options, name) is not None:
            raise InvalidInputError(
                name,
                "an Azure SAS cannot limit the upload's size (it signs no headers)",
                "drop it and check the blob's size after the upload",
            )
    if options.checksum_sha256 is not None:
        raise InvalidInputError(
            "checksum_sha256",
            "Azure Put Blob does not verify SHA-256 checksums",
            "pass content_md5 instead (Azure verifies it)",
        )
    content_type = options.content_type
    if content_type is not None and (
        not content_type
        or not content_type.isascii()
        or not content_type.isprintable()
        or content_type.strip() != content_type
    ):
        raise InvalidInputError(
            "content_type",
            "must be printable ASCII without surrounding spaces",
            "pass a MIME type like text/csv",
        )


def _check_md5(value: str) -> None:
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError, TypeError):
        raw = b""
    if len(raw) != _MD5_BYTES:
        raise InvalidInputError(
            "content_md5", "is not the base64 of a 16-byte MD5 digest", "pass base64(md5(body).digest())"
        )


def metadata_name(name: str) -> str:
    """Return the Azure form of a byos metadata name: ``-`` becomes ``_`` (Azure wants C# identifiers).

    Raises:
        InvalidInputError: The name cannot become an identifier (it starts with a digit).
    """
    converted = name.lower().replace("-", "_")
    if not converted or converted[0] not in _IDENTIFIER_START:
        raise InvalidInputError(
            "metadata", f"name {name!r} starts with a digit, which Azure refuses", "start it with a letter"
        )
    return converted


def metadata_headers(metadata: Mapping[str, str]) -> dict[str, str]:
    """Return ``x-ms-meta-*`` headers for byos metadata (names through :func:`metadata_name`)."""
    return {f"x-ms-meta-{metadata_name(name)}": value for name, value in metadata.items()}


# --- block uploads ---


@dataclass(frozen=True, slots=True)
class BlockUpload:
    """A block upload of one blob: a PUT per block, then one Put Block List that commits them.

    The browser sends block ``i`` (bytes ``plan.block_size * i`` onwards) to ``blocks[i]`` (any order, in
    parallel), then ``commit`` with ``commit_body``. The blob appears only when the commit succeeds; blocks
    never committed are discarded by Azure after a week.

    Write-once rests on ``commit`` carrying ``If-None-Match: *`` (Azure answers 409 when the blob exists):
    the SAS needs write permission (``cw``) for Put Block, so it could also replace a blob with a plain Put
    Blob until it expires.

    Attributes:
        key: The blob name.
        plan: Block size and count.
        blocks: One PUT (Put Block) per block, in order; no headers beyond Content-Length.
        commit: The Put Block List request: URL and the headers to send.
        commit_body: The Put Block List body (XML naming every block in order).
        expires_at: When every URL expires.
    """

    key: str
    plan: BlockPlan
    blocks: tuple[UploadRequest, ...] = field(repr=False)
    commit: UploadRequest
    commit_body: bytes = field(repr=False)
    expires_at: datetime


def start_block_upload(
    destination: Destination,
    options: UploadOptions,
    size: int,
    *,
    min_block_size: int = DEFAULT_BLOCK_SIZE,
) -> BlockUpload:
    """Presign a block upload of ``size`` bytes: every Put Block URL and the Put Block List request.

    Nothing is sent to Azure: a block upload needs no server-side start.

    Args:
        destination: An Azure destination.
        options: As for :func:`presign_upload` (PUT only; no size limits, checksums or MD5).
        size: The file's size in bytes; blocks are planned within Azure's limits.
        min_block_size: Smallest block (8 MiB by default); grown when the file needs over 50,000 blocks.

    Raises:
        InvalidInputError: A bad option or size (nothing is sent).
        CredentialsError: No delegation key could be had.
    """
    azure = _azure(destination)
    _check_options(options)
    if options.content_md5 is not None:
        raise InvalidInputError(
            "content_md5",
            "Azure cannot verify a whole-file MD5 of a block upload",
            "drop it, or send Content-MD5 with each block",
        )
    plan = plan_blocks(size, min_block_size=min_block_size)
    if azure.max_upload_bytes is not None and size > azure.max_upload_bytes:
        raise InvalidInputError(
            "size", f"{size} is over the limit of {azure.max_upload_bytes} bytes", "split the file"
        )
    signing = _signing_for(azure, options)
    prepared = prepare(azure, options, credentials_expire_at=signing.expires_at)
    sas = signing.signer.sign(
        azure.container,
        prepared.key,
        now=prepared.now,
        expires=timedelta(seconds=prepared.seconds),
        overwrite=options.overwrite,
        block_upload=True,
        stored_access_policy=azure.stored_access_policy,
    )
    assert sas.expires_at is not None  # noqa: S101  (byos always signs the expiry itself)
    expires_at = sas.expires_at
    blocks = tuple(
        UploadRequest(NAME, "PUT", put_block_url(sas.url, block.block_id), {}, {}, prepared.key, expires_at)
        for block in plan.blocks()
    )
    headers: dict[str, str] = {}
    if not options.overwrite:
        headers["If-None-Match"] = "*"
    if options.content_type is not None:
        headers["x-ms-blob-content-type"] = options.content_type
    headers.update(metadata_headers(prepared.metadata))
    commit = UploadRequest(NAME, "PUT", put_block_list_url(sas.url), headers, {}, prepared.key, expires_at)
    return BlockUpload(prepared.key, plan, blocks, commit, block_list_body(plan.block_ids()), expires_at)


# --- header-authorised requests and the management API (used by the setup checker) ---


def blob_url(destination: Destination, blob_name: str | None = None) -> str:
    """Return the unsigned URL of the container, or of one blob in it."""
    azure = _azure(destination)
    base = f"{azure.blob_endpoint}/{azure.container}"
    return base if blob_name is None else f"{base}/{quote(blob_name, safe='~/')}"


def authorization_headers(
    destination: Destination,
    method: str,
    url: str,
    *,
    now: datetime | None = None,
    timeout: float | None = None,
) -> dict[str, str]:
    """Headers that authorise one Blob request without a SAS: Shared Key, or a Microsoft Entra bearer token.

    ``timeout`` bounds the bearer token's fetch (see :func:`access_token`).

    Raises:
        CredentialsError: No bearer token could be had.
        ProviderTimeoutError: Microsoft Entra ID did not answer in time.
        MissingExtraError: A bearer token needs ``byos[azure]``.
    """
    azure = _azure(destination)
    headers = {
        "x-ms-date": format_datetime((now or datetime.now(UTC)).astimezone(UTC), usegmt=True),
        "x-ms-version": X_MS_VERSION,
    }
    if azure.account_key is None:
        refuse_service_identity(azure)
        headers["Authorization"] = f"Bearer {access_token(azure, timeout=timeout)}"
        return headers
    parts = urlsplit(url)
    canonical_headers = "".join(f"{name}:{headers[name]}\n" for name in sorted(headers))
    resource = f"/{azure.account_name}{parts.path}"
    query: dict[str, list[str]] = {}
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        query.setdefault(name.lower(), []).append(value)
    resource += "".join(f"\n{name}:{','.join(sorted(query[name]))}" for name in sorted(query))
    string_to_sign = f"{method.upper()}\n" + "\n" * 11 + canonical_headers + resource
    key = base64.b64decode(azure.account_key.get_secret_value())
    signature = base64.b64encode(hmac.new(key, string_to_sign.encode(), hashlib.sha256).digest()).decode()
    headers["Authorization"] = f"SharedKey {azure.account_name}:{signature}"
    return headers


def account_resource_url(destination: Destination) -> str | None:
    """The storage account's management API URL; None without ``subscription_id`` and ``resource_group``."""
    azure = _azure(destination)
    if azure.subscription_id is None or azure.resource_group is None:
        return None
    return (
        f"{MANAGEMENT_ENDPOINT.rstrip('/')}/subscriptions/{quote(azure.subscription_id, safe='')}"
        f"/resourceGroups/{quote(azure.resource_group, safe='')}/providers/Microsoft.Storage/storageAccounts/"
        f"{azure.account_name}?api-version={MANAGEMENT_API_VERSION}"
    )


def delegation_sas(
    signing: AzureSigning,
    destination: Destination,
    permission: str,
    blob_name: str | None = None,
    *,
    now: datetime,
    lifetime: timedelta = timedelta(minutes=5),
) -> str:
    """Return a user delegation SAS token with any ``permission``, for the container or one blob.

    The setup checker uses it to try reading, listing and deleting: Azure authorises such a SAS against the
    identity's roles when it is used, so a refusal proves the identity cannot do it.

    Raises:
        InvalidInputError: ``signing`` has no user delegation key.
        MissingExtraError: ``byos[azure]`` is not installed.
    """
    azure = _azure(destination)
    key = signing.delegation_key
    if key is None or signing.expires_at is None:
        raise InvalidInputError(
            "signing", "has no user delegation key", "use a destination without account_key"
        )
    blob = require("azure.storage.blob", feature="user delegation SAS", extra="azure")
    sdk_key = blob.UserDelegationKey()
    for name in (
        "signed_oid",
        "signed_tid",
        "signed_start",
        "signed_expiry",
        "signed_service",
        "signed_version",
        "value",
        "signed_delegated_user_tid",
    ):
        setattr(sdk_key, name, getattr(key, name))
    expiry = min(now + lifetime, signing.expires_at)
    if blob_name is None:
        return str(
            blob.generate_container_sas(
                azure.account_name,
                azure.container,
                user_delegation_key=sdk_key,
                permission=permission,
                expiry=expiry,
            )
        )
    return str(
        blob.generate_blob_sas(
            azure.account_name,
            azure.container,
            blob_name,
            user_delegation_key=sdk_key,
            permission=permission,
            expiry=expiry,
        )
    )
