"""Azure requests the setup checker authorises itself: Shared Key or bearer headers, management API, SAS."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import TYPE_CHECKING, Final
from urllib.parse import parse_qsl, quote, urlsplit

from byos.errors import InvalidInputError
from byos.providers import require
from byos.providers.azure_delegation import X_MS_VERSION, AzureSigning
from byos.providers.azure_entra import access_token, azure_destination, refuse_service_identity

if TYPE_CHECKING:
    from byos.config import Destination

MANAGEMENT_ENDPOINT = "https://management.azure.com"
"""Azure Resource Manager; a module setting so tests (or a sovereign cloud) can point it elsewhere."""
MANAGEMENT_SCOPE = "https://management.azure.com/.default"
MANAGEMENT_API_VERSION: Final = "2023-05-01"


def blob_url(destination: Destination, blob_name: str | None = None) -> str:
    """Return the unsigned URL of the container, or of one blob in it."""
    azure = azure_destination(destination)
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
    azure = azure_destination(destination)
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
    azure = azure_destination(destination)
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
    azure = azure_destination(destination)
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
