"""Azure checks: signing mode, container, account region and encryption, least privilege, anonymous URLs.

Data-plane calls are plain HTTP through the check context: Get Container Properties authorised with Shared
Key (account key) or a Microsoft Entra bearer token (user delegation). Azure does not name an account's region
in the data plane, so the region and the encryption keys come from the management API
(``Microsoft.Storage/storageAccounts`` read) when ``subscription_id`` and ``resource_group`` are set.

Least privilege is two facts: the upload SAS itself must be refused GET, HEAD, LIST and DELETE; and the
credentials must not grant more. An account key is full control of the account (warned). With user
delegation, SAS tokens carrying ``r``, ``l`` and ``d`` are signed with the delegation key and tried: Azure
authorises a user delegation SAS against the identity's roles when it is used, so refusals prove the identity
holds only the write role. Azurite does not enforce roles, so there they are allowed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from byos.checker.common import policy_hint, probe_request
from byos.checker.outcome import Outcome, failed, passed, skipped, warned
from byos.config import AzureDestination
from byos.errors import CredentialsError, ProviderTimeoutError
from byos.keys import KeyLayout
from byos.providers import azure as provider

if TYPE_CHECKING:
    from byos import http
    from byos.checker.context import CheckContext

AT_REST = "Azure Storage encrypts all data at rest (AES-256; it cannot be turned off)"
NO_REGION = (
    "Azure does not expose an account's region in the data plane; set subscription_id and resource_group"
)
DELEGATION_SECTION = "User delegation permission"
_CONTAINER_KEY = "azure_container"
_ACCOUNT_KEY = "azure_account"
_SIGNING_KEY = "azure_signing"
_KEY_SOURCES = {"microsoft.storage": "Microsoft-managed keys", "microsoft.keyvault": "a customer-managed key"}


def _dest(ctx: CheckContext) -> AzureDestination:
    assert isinstance(ctx.destination, AzureDestination)  # noqa: S101  (the runner picks this module by provider)
    return ctx.destination


def _code(answer: http.Response) -> str:
    return answer.error_code() or f"HTTP {answer.status}"


def credentials(ctx: CheckContext) -> Outcome:
    """Prove the credentials work: Shared Key on the container, or a fresh user delegation key."""
    dest = _dest(ctx)
    if dest.account_key is not None:
        ctx.state["credentials_expire_at"] = None
        answer = _container(ctx)
        if answer.status in (401, 403):
            return failed(
                f"Azure rejected the account key of {dest.account_name} ({_code(answer)})",
                "copy key1 or key2 from the storage account's Access keys into account_key",
            )
        if answer.status in (200, 404):
            return passed(f"Azure accepted the account key: shared key, full control of {dest.account_name}")
        return failed(
            f"Azure could not confirm the account key ({_code(answer)})",
            "retry later; check endpoint_url",
        )
    timeout = ctx.call_timeout()
    try:
        signing = provider.resolve_signing(dest, timeout=timeout, refresh=True)
    except CredentialsError as exc:
        ctx.state["credentials_expire_at"] = None
        return failed(str(exc), policy_hint(DELEGATION_SECTION))
    except ProviderTimeoutError as exc:
        ctx.state["credentials_expire_at"] = None
        return failed(
            f"{exc} (waited {timeout:g} s per call)",
            "check the network path to Microsoft Entra ID and to endpoint_url; retry later",
        )
    ctx.state[_SIGNING_KEY] = signing
    ctx.state["credentials_expire_at"] = signing.expires_at
    key = signing.delegation_key
    who = f" (object id {key.signed_oid})" if key is not None else ""
    expiry = signing.expires_at.strftime("%Y-%m-%d %H:%M UTC") if signing.expires_at else "never"
    return passed(f"Azure issued a user delegation key to {signing.identity}{who}, valid until {expiry}")


def bucket_exists(ctx: CheckContext) -> Outcome:
    """Get Container Properties: 200 means it exists, 404 that it does not."""
    dest = _dest(ctx)
    answer = _container(ctx)
    code = answer.error_code() or f"HTTP {answer.status}"
    if answer.status == 200:
        return passed(f"container {dest.container} exists in account {dest.account_name}")
    if answer.status == 404:
        return failed(
            f"container {dest.container} does not exist in account {dest.account_name} ({code})",
            "create the container, or fix container (and account_name, endpoint_url) in the destination",
        )
    if answer.status == 403 and dest.account_key is None:
        return skipped(
            f"the identity may not describe container {dest.container} ({code}), as a write-only identity "
            "should not; the upload check shows whether it exists"
        )
    if answer.status in (401, 403):
        return failed(f"Azure refused the credentials ({code})", "fix the credentials in the destination")
    return failed(f"container {dest.container} could not be reached ({code})", "check endpoint_url")


def bucket_region(ctx: CheckContext) -> Outcome:  # noqa: PLR0911  (one return per answer kind)
    """The storage account's location (management API) must equal the configured ``location``."""
    dest = _dest(ctx)
    if provider.account_resource_url(dest) is None:
        return skipped(NO_REGION)
    info = _account(ctx)
    if info.problem:
        return failed(info.problem, info.fix)
    if info.status in (401, 403):
        return skipped(
            f"the identity may not read storage account {dest.account_name} in the management API "
            f"({info.code}); grant it the Reader role on the account to compare regions"
        )
    if info.status == 404:
        return failed(
            f"the management API has no storage account {dest.account_name} in resource group "
            f"{dest.resource_group} of subscription {dest.subscription_id} ({info.code})",
            "fix subscription_id and resource_group (or account_name) in the destination",
        )
    location = str(info.body.get("location", "")) if info.status == 200 else ""
    if not location:
        return failed(f"the management API did not name the account's location ({info.code})", "retry later")
    ctx.state["bucket_region"] = location
    normal = location.lower().replace(" ", "")
    if dest.location is None:
        return skipped(
            f"storage account {dest.account_name} is in {normal}; set location to have it compared"
        )
    if normal != dest.location:
        return failed(
            f"storage account {dest.account_name} is in {normal}, not in the configured {dest.location}; "
            "importers refuse cross-region uploads",
            f"set location = {normal!r} in the destination (or use an account in {dest.location})",
        )
    return passed(f"storage account {dest.account_name} is in {normal}, as configured")


def least_privilege(ctx: CheckContext) -> Outcome:
    """The upload SAS must be refused GET, HEAD, LIST and DELETE; the credentials must grant only writing."""
    dest = _dest(ctx)
    probe = ctx.state.get("probe") or probe_request(ctx)
    token = urlsplit(probe.url).query
    listing = f"{provider.blob_url(dest)}?restype=container&comp=list&{token}"
    sas_trials = (("GET", probe.url), ("HEAD", probe.url), ("LIST", listing), ("DELETE", probe.url))
    sas_allowed = [name for name, url in sas_trials if _allowed(ctx.send(_method(name), url))]
    problems = []
    if sas_allowed:
        problems.append(f"the upload link itself can also {', '.join(sas_allowed)}")
    if dest.account_key is not None:
        problems.append(
            "the account key grants full control of the storage account (read, list, delete, settings)"
        )
        remediation = (
            "use user delegation with the byos custom role: remove account_key and give byos the uploader "
            "identity (tenant_id, client_id, client_secret, or a managed identity); "
            + policy_hint("IAM policy")
        )
    else:
        identity_allowed = _identity_trials(ctx, dest, probe.key)
        if identity_allowed:
            problems.append(
                f"the identity's user delegation SAS can also {', '.join(identity_allowed)} (its roles allow "
                "more than writing)"
            )
        remediation = "give the identity only the byos custom role; " + policy_hint("IAM policy")
    if problems:
        return warned("; ".join(problems) + "; the customer was promised write-only", remediation)
    return passed(
        "the upload link was refused GET, HEAD, LIST and DELETE, and the identity's roles refused reading, "
        "listing and deleting through user delegation SAS"
    )


def anonymous_urls(ctx: CheckContext) -> dict[str, str]:
    """The container listing and the probe blob, without credentials."""
    dest = _dest(ctx)
    probe = ctx.state.get("probe")
    key = probe.key if probe is not None else f"{dest.prefix}{dest.probe_prefix}absent.txt"
    return {
        "list": f"{provider.blob_url(dest)}?restype=container&comp=list",
        "read": provider.blob_url(dest, key),
    }


def encryption(ctx: CheckContext) -> Outcome:
    """Azure always encrypts at rest; the management API tells which keys, when configured."""
    dest = _dest(ctx)
    if provider.account_resource_url(dest) is None:
        return passed(
            f"{AT_REST}; set subscription_id and resource_group to see which keys this account uses"
        )
    info = _account(ctx)
    if info.status != 200:
        return passed(
            f"{AT_REST}; the account's key settings could not be read ({info.code or info.problem})"
        )
    properties = info.body.get("properties") or {}
    settings = properties.get("encryption") or {}
    source = str(settings.get("keySource", "Microsoft.Storage"))
    described = _KEY_SOURCES.get(source.lower(), source)
    vault = settings.get("keyvaultproperties") or settings.get("keyVaultProperties") or {}
    if vault.get("keyname"):
        described += f" ({vault['keyname']})"
    if settings.get("requireInfrastructureEncryption"):
        described += ", with infrastructure (double) encryption"
    return passed(f"{AT_REST}; account {dest.account_name} uses {described}")


# --- plumbing ---


def _method(name: str) -> str:
    return "GET" if name == "LIST" else name


def _allowed(answer: http.Response) -> bool:
    """Authorised: it worked, or only the resource was missing (a 403 is the refusal we want)."""
    return 200 <= answer.status < 300 or answer.status == 404


def _identity_trials(ctx: CheckContext, dest: AzureDestination, probe_key: str) -> list[str]:
    signing = ctx.state.get(_SIGNING_KEY) or provider.resolve_signing(dest, timeout=ctx.call_timeout())
    now = ctx.clock()
    absent = KeyLayout.from_destination(dest).probe_key()  # never written: deleting it harms nothing
    trials = (
        ("read", "GET", provider.blob_url(dest, probe_key), "r", probe_key),
        ("list", "GET", f"{provider.blob_url(dest)}?restype=container&comp=list", "l", None),
        ("delete", "DELETE", provider.blob_url(dest, absent), "d", absent),
    )
    allowed = []
    for name, method, url, permission, blob in trials:
        token = provider.delegation_sas(signing, dest, permission, blob, now=now)
        joined = f"{url}{'&' if '?' in url else '?'}{token}"
        if _allowed(ctx.send(method, joined)):
            allowed.append(name)
    return allowed


def _container(ctx: CheckContext) -> http.Response:
    """Get Container Properties with Shared Key or a bearer token (cached for the run)."""
    found: http.Response | None = ctx.state.get(_CONTAINER_KEY)
    if found is not None:
        return found
    dest = _dest(ctx)
    url = f"{provider.blob_url(dest)}?restype=container"
    headers = provider.authorization_headers(dest, "GET", url, now=ctx.clock(), timeout=ctx.call_timeout())
    answer = ctx.send("GET", url, headers=headers)
    ctx.state[_CONTAINER_KEY] = answer
    return answer


@dataclass(frozen=True, slots=True)
class AccountInfo:
    """What the management API said about the storage account.

    Attributes:
        status: HTTP status (0 when no request could be made).
        body: The parsed JSON answer (empty when not JSON).
        code: The error code, or ``HTTP <status>``.
        problem: Why no request could be made (no management token), else empty.
        fix: What to do about ``problem``.
    """

    status: int
    body: dict[str, Any]
    code: str = ""
    problem: str = ""
    fix: str = ""


def _account(ctx: CheckContext) -> AccountInfo:
    found: AccountInfo | None = ctx.state.get(_ACCOUNT_KEY)
    if found is not None:
        return found
    dest = _dest(ctx)
    url = provider.account_resource_url(dest)
    assert url is not None  # noqa: S101  (callers check subscription_id and resource_group first)
    timeout = ctx.call_timeout()
    try:
        token = provider.access_token(dest, provider.MANAGEMENT_SCOPE, timeout=timeout)
    except (CredentialsError, ProviderTimeoutError) as exc:
        info = AccountInfo(
            0,
            {},
            problem=f"no token for the management API: {exc}",
            fix="give byos Microsoft Entra credentials that may read the storage account (Reader), or unset "
            "subscription_id and resource_group",
        )
    else:
        answer = ctx.send(
            "GET", url, headers={"Authorization": f"Bearer {token}", "Accept": "application/json"}
        )
        try:
            body = json.loads(answer.body or b"{}")
        except ValueError:
            body = {}
        body = body if isinstance(body, dict) else {}
        error = body.get("error")
        error = error if isinstance(error, dict) else {}
        code = str(error.get("code") or f"HTTP {answer.status}")
        info = AccountInfo(answer.status, body, code)
    ctx.state[_ACCOUNT_KEY] = info
    return info
