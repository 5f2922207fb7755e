"""Azure settings: account, container and region rules, the table of every setting and their cross check."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from byos.config.base import CHOICE, COMMON, SECRET, STR, Setting
from byos.config.rules import ProblemError, check_endpoint, pattern

check_account_name = pattern(
    r"[a-z0-9]{3,24}", "storage account name", "use 3-24 lowercase letters and digits"
)
check_container = pattern(
    r"(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]",
    "container name",
    "use 3-63 lowercase letters, digits and single hyphens, starting and ending with a letter or digit",
)
check_azure_location = pattern(r"[a-z]+[a-z0-9]*", "Azure region", "write it like westeurope or eastus2")


def lower_location(value: object) -> object:
    """An Azure region as Azure writes it (``West Europe`` is ``westeurope``); other types: the type check."""
    return value.strip().lower().replace(" ", "") if isinstance(value, str) else value


AZURE_SETTINGS: Final[Mapping[str, Setting]] = {
    **COMMON,
    "provider": Setting(CHOICE, "azure", choices=("azure",)),
    "account_name": Setting(STR, rules=(check_account_name,)),
    "container": Setting(STR, rules=(check_container,)),
    "endpoint_url": Setting(STR, None, optional=True, rules=(check_endpoint,)),
    "account_key": Setting(SECRET, None, optional=True),
    "tenant_id": Setting(STR, None, optional=True),
    "client_id": Setting(STR, None, optional=True),
    "client_secret": Setting(SECRET, None, optional=True),
    "stored_access_policy": Setting(STR, None, optional=True),
    "location": Setting(STR, None, optional=True, before=lower_location, rules=(check_azure_location,)),
    "subscription_id": Setting(STR, None, optional=True),
    "resource_group": Setting(STR, None, optional=True),
}
"""Every Azure setting, in the order :class:`~byos.config.AzureDestination` declares them."""


def check_azure(destination: Any) -> None:  # noqa: ANN401  (a settings class or a quick destination)
    """The cross checks of an Azure destination: the account key, service principal, policy, region source.

    Raises:
        ProblemError: A check fails (naming the setting).
    """
    if destination.account_key is not None:
        check_base64_key(destination.account_key.get_secret_value())
    if destination.client_secret is not None and (
        destination.tenant_id is None or destination.client_id is None
    ):
        raise ProblemError(
            "needs tenant_id and client_id", "set all three for a service principal", "client_secret"
        )
    if destination.stored_access_policy is not None and not 1 <= len(destination.stored_access_policy) <= 64:
        raise ProblemError("must be 1-64 characters", "use the policy's identifier", "stored_access_policy")
    if (destination.subscription_id is None) != (destination.resource_group is None):
        raise ProblemError(
            "must be given together with subscription_id",
            "set both to let the checker read the account's region",
            "resource_group",
        )


def check_base64_key(value: str) -> None:
    """Refuse an account key that is not base64."""
    import base64  # noqa: PLC0415  (only Azure keys need it)
    import binascii  # noqa: PLC0415

    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ProblemError(
            "is not base64", "copy the key from the storage account's Access keys", "account_key"
        ) from None


def blob_endpoint(destination: Any) -> str:  # noqa: ANN401
    """The account's blob endpoint, without a trailing slash."""
    return destination.endpoint_url or f"https://{destination.account_name}.blob.core.windows.net"


def azure_label(destination: Any) -> str:  # noqa: ANN401
    """``azure://ACCOUNT/CONTAINER/PREFIX``."""
    return f"azure://{destination.account_name}/{destination.container}/{destination.prefix}"
