"""The Azure setup: a container-scoped custom role, the delegator role, the CORS rule, ``az`` commands."""

from __future__ import annotations

import re

from byos.config import AzureDestination
from byos.errors import InvalidInputError
from byos.policy.common import (
    CHECK_STEP,
    CORS_MAX_AGE_SECONDS,
    CORS_RULES,
    IAM_POLICY,
    WRITE_PERMISSION,
    Placeholders,
    origin_list,
    origins_or_placeholder,
    policy_documents,
    shell_quote,
    shown,
)
from byos.policy.document import PolicyDocuments, Section

AZURE_DATA_ACTIONS = (
    "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write",
    "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/add/action",
)
AZURE_DELEGATION_ACTION = "Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action"
AZURE_DELEGATOR_ROLE = "Storage Blob Delegator"
"""Built-in role holding only :data:`AZURE_DELEGATION_ACTION`; Azure honours that action only when it is
assigned at the storage account (or above), never at a container."""
AZURE_CORS_METHODS = ("PUT", "OPTIONS")
AZURE_REQUEST_HEADERS = (
    "content-md5",
    "content-type",
    "if-none-match",
    "x-ms-blob-content-type",
    "x-ms-blob-type",
    "x-ms-meta-*",
)
"""What Put Blob, Put Block and Put Block List send, plus the Content-Type a browser adds for a typed file."""
AZURE_EXPOSED_HEADERS = ("etag",)

_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def azure_policy(
    dest: AzureDestination, origins: list[str] | None, principal: str | None, ph: Placeholders
) -> PolicyDocuments:
    """Build the Azure setup (roles, CORS rule) for ``dest``; ``build_policy`` has checked the inputs."""
    subscription = dest.subscription_id or ph(
        "SUBSCRIPTION_ID", "the id of the storage account's subscription"
    )
    group = dest.resource_group or ph("RESOURCE_GROUP", "the storage account's resource group")
    group_scope = f"/subscriptions/{subscription}/resourceGroups/{group}"
    account_scope = f"{group_scope}/providers/Microsoft.Storage/storageAccounts/{dest.account_name}"
    container_scope = f"{account_scope}/blobServices/default/containers/{dest.container}"
    assignee = _azure_assignee(principal if principal is not None else dest.client_id, ph)
    role_name = f"byos uploader {dest.account_name}-{dest.container}"
    role = {
        "Name": role_name,
        "IsCustom": True,
        "Description": (
            f"Create blobs in container {dest.container} of storage account {dest.account_name} "
            "(byos write-only uploads); no read, list or delete."
        ),
        "Actions": [],
        "NotActions": [],
        "DataActions": list(AZURE_DATA_ACTIONS),
        "NotDataActions": [],
        "AssignableScopes": [group_scope],
    }
    origin_values = origins_or_placeholder(origins, ph)
    headers = sorted(AZURE_REQUEST_HEADERS)
    cors = {
        "corsRules": [
            {
                "allowedOrigins": origin_values,
                "allowedMethods": list(AZURE_CORS_METHODS),
                "allowedHeaders": headers,
                "exposedHeaders": list(AZURE_EXPOSED_HEADERS),
                "maxAgeInSeconds": CORS_MAX_AGE_SECONDS,
            }
        ]
    }
    cors_add = " ".join(
        [
            "az storage cors add --services b",
            f"--methods {' '.join(AZURE_CORS_METHODS)}",
            f"--origins {' '.join(shell_quote(o) for o in origin_values)}",
            f"--allowed-headers {' '.join(shell_quote(h) for h in headers)}",
            f"--exposed-headers {' '.join(AZURE_EXPOSED_HEADERS)}",
            f"--max-age {CORS_MAX_AGE_SECONDS}",
            f"--account-name {shell_quote(dest.account_name)}",
        ]
    )
    key_note = (
        " The destination signs with the account key today, which bypasses these roles and can do anything "
        "in the account: remove account_key and give byos this identity's credentials (tenant_id, client_id, "
        "client_secret, or a managed identity) to use user-delegation SAS."
        if dest.account_key is not None
        else ""
    )
    sections = (
        Section(
            f"{IAM_POLICY}: custom role and assignment ({WRITE_PERMISSION})",
            "A custom role with only the blob write and add data actions, assigned to the uploader's "
            f"identity on container {dest.container} alone: it can create blobs there and nothing else (no "
            f"reading, listing or deleting). byos signs each upload link for one blob under "
            f"{shown(dest.prefix)}." + key_note,
            ("role-definition.json",),
            (
                "az role definition create --role-definition @role-definition.json",
                (
                    f"az role assignment create --assignee {shell_quote(assignee)} "
                    f"--role {shell_quote(role_name)} --scope {shell_quote(container_scope)}"
                ),
            ),
        ),
        Section(
            "User delegation permission (signing without the account key)",
            f"The built-in {AZURE_DELEGATOR_ROLE} role ({AZURE_DELEGATION_ACTION} only) lets the uploader's "
            "identity fetch the user delegation key byos signs upload links with. Azure honours it only at "
            "the storage account (or above); the key grants nothing the container role does not.",
            (),
            (
                (
                    f"az role assignment create --assignee {shell_quote(assignee)} "
                    f"--role {shell_quote(AZURE_DELEGATOR_ROLE)} --scope {shell_quote(account_scope)}"
                ),
            ),
        ),
        Section(
            CORS_RULES,
            "Lets browsers on the listed origins send uploads (PUT) with the headers byos signs, and read "
            "the ETag header. Azure keeps up to five CORS rules per account; this adds one.",
            ("cors-rules.json",),
            (cors_add, f"az storage cors list --services b --account-name {shell_quote(dest.account_name)}"),
        ),
    )
    steps = (
        "Send the customer this page, or go through it with the administrator of their Azure subscription.",
        (
            "Create the custom role and assign it to the uploader's identity on the container only: this is "
            f"the {IAM_POLICY} ({WRITE_PERMISSION}). It lets uploads add new files, and nothing else."
        ),
        (
            f"Assign the built-in {AZURE_DELEGATOR_ROLE} role to the same identity on the storage account, "
            "so byos can sign upload links without the account key."
        ),
        "Add the CORS rules to the storage account's Blob service so browsers on "
        + origin_list(origins)
        + " may upload.",
        CHECK_STEP,
    )
    return policy_documents(
        dest,
        documents={"role-definition.json": role, "cors-rules.json": cors},
        sections=sections,
        steps=steps,
        ph=ph,
        notes=[],
    )


def _azure_assignee(principal: str | None, ph: Placeholders) -> str:
    if principal is None:
        return ph(
            "UPLOADER_PRINCIPAL_ID",
            "the object id (or client id) of the Microsoft Entra identity byos runs as",
        )
    text = principal.strip()
    if not _GUID.fullmatch(text):
        raise InvalidInputError(
            "import_service_principal",
            f"{principal!r} is not a Microsoft Entra object or client id",
            "give the identity's GUID, like 00000000-0000-0000-0000-000000000000",
        )
    return text.lower()
