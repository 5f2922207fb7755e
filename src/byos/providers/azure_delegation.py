"""Azure signing modes: the account key, or a user delegation key fetched, cached and refreshed."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Final

from byos import http
from byos.bounded import SingleFlight
from byos.errors import ConfigError, CredentialsError, ProviderError, ProviderTimeoutError
from byos.providers import azure_entra
from byos.providers.azure_entra import (
    SDK_TIMEOUT,
    STORAGE_SCOPE,
    azure_destination,
    bearer_token,
    credential_for,
    credential_identity,
    credential_key,
    refuse_service_identity,
)
from byos.signing.sas import BlobSasSigner, UserDelegationKey

if TYPE_CHECKING:
    from byos.config import AzureDestination, Destination

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


def clear_caches() -> None:
    """Forget cached token credentials and user delegation keys (the next presign fetches new ones)."""
    with _lock:
        _delegations.clear()
    azure_entra.clear_credentials()
    from byos import presigner_cache  # noqa: PLC0415  (compiled presigners hold signers too)

    presigner_cache.clear()


@lru_cache(maxsize=256)
def _key_signer(account_name: str, account_key: str, endpoint: str) -> BlobSasSigner:
    return BlobSasSigner(account_name, account_key=account_key, endpoint=endpoint)


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
    azure = azure_destination(destination)
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
    key = (azure.account_name, azure.blob_endpoint, *credential_key(azure))
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
        credential = credential_for(azure, timeout)
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
        identity = credential_identity(azure, credential)
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
        credential = azure_entra.token_credential(destination)  # looked up when called (tests replace it)
    started = time.monotonic()
    token = bearer_token(credential, STORAGE_SCOPE, timeout, "Get User Delegation Key")
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
