"""Azure basics every part shares: the destination check, Microsoft Entra credentials and bearer tokens."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

from byos.bounded import call_within
from byos.endpoints import is_loopback_host
from byos.errors import (
    ByosError,
    CredentialsError,
    InvalidInputError,
    MissingCredentialsError,
    ProviderError,
    ProviderTimeoutError,
)
from byos.option_types import destination_kind
from byos.providers import require

if TYPE_CHECKING:
    from byos.config import AzureDestination, Destination

NAME = "azure"
STORAGE_SCOPE: Final = "https://storage.azure.com/.default"
SDK_TIMEOUT = 10.0
AZURE_BLOB_SUFFIXES = (
    ".blob.core.windows.net",
    ".blob.storage.azure.net",
    ".blob.core.chinacloudapi.cn",
    ".blob.core.usgovcloudapi.net",
)
"""Azure's own Blob endpoints: the only custom endpoints a Microsoft Entra token is sent to (and loopback)."""

_lock = threading.Lock()
_credentials: dict[tuple[Any, ...], Any] = {}


def clear_credentials() -> None:
    """Forget cached token credentials (the next one is made anew)."""
    with _lock:
        _credentials.clear()


def azure_destination(destination: Destination) -> AzureDestination:
    """Return ``destination`` as an Azure destination, or refuse it naming what it is."""
    from byos.config import AzureDestination  # noqa: PLC0415  (config is heavier than this module needs at load)

    if not isinstance(destination, AzureDestination):
        raise InvalidInputError(
            "destination", f"is {destination_kind(destination)}", "pass an Azure destination"
        )
    return destination


def credential_identity(destination: AzureDestination, credential: Any) -> str:  # noqa: ANN401  (an SDK credential)
    """Who a credential signs as, for reports: a service principal, a managed identity, the default chain."""
    if destination.client_secret is not None:
        return f"service principal {destination.client_id}"
    # DefaultAzureCredential remembers which of its sources gave the token (a private attribute: best effort).
    chosen = getattr(credential, "_successful_credential", None)
    via = f", via {type(chosen).__name__}" if chosen is not None else ""
    if destination.client_id is not None:
        return f"managed or workload identity {destination.client_id} (DefaultAzureCredential{via})"
    return f"the default Azure credential chain (DefaultAzureCredential{via})"


def credential_key(destination: AzureDestination) -> tuple[Any, ...]:
    """The settings that pick a token credential (cache key of credentials and delegation keys)."""
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
    azure = azure_destination(destination)
    key = credential_key(azure)
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


def credential_for(azure: AzureDestination, timeout: float | None) -> Any:  # noqa: ANN401  (an SDK credential)
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
    return bearer_token(credential_for(azure_destination(destination), timeout), scope, timeout)


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


def bearer_token(
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
