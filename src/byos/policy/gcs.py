"""The GCS setup: the prefix-limited IAM binding, keyless signing's Token Creator grant, CORS, ``gcloud``."""

from __future__ import annotations

import json
import re
from typing import Any

from byos.config import GCSDestination
from byos.errors import InvalidInputError
from byos.policy.common import (
    CHECK_STEP,
    CORS_MAX_AGE_SECONDS,
    CORS_RULES,
    IAM_POLICY,
    ORIGINAL_FILENAME,
    WRITE_PERMISSION,
    Placeholders,
    common_notes,
    origin_list,
    origins_or_placeholder,
    policy_documents,
    shell_quote,
    shown,
)
from byos.policy.document import PolicyDocuments, Section

GCS_UPLOAD_ROLE = "roles/storage.objectCreator"
GCS_TOKEN_CREATOR_ROLE = "roles/iam.serviceAccountTokenCreator"  # noqa: S105  (a role name, not a secret)
GCS_CORS_METHODS = ("PUT", "POST", "DELETE")
"""``DELETE``: a browser cancels a resumable upload by deleting its session (the plan's ``abort``)."""
GCS_REQUEST_HEADERS = (
    "content-type",
    "content-md5",
    "x-goog-if-generation-match",
    "x-goog-content-length-range",
    "x-goog-resumable",
    "content-range",
)
"""Signed headers, plus ``Content-Range`` the browser sends with each chunk of a resumable upload."""
GCS_EXPOSED_HEADERS = ("ETag", "Location", "Range")
"""``Location`` carries a resumable upload's session URI; ``Range`` says how much of it arrived."""

_GCP_MEMBER = re.compile(r"(serviceAccount|user|group):[^@\s]+@[A-Za-z0-9.-]+\.[a-z]+")
_EMAIL = re.compile(r"[^@\s:]+@[A-Za-z0-9.-]+\.[a-z]+")


def gcs_policy(
    dest: GCSDestination,
    origins: list[str] | None,
    principal: str | None,
    metadata_names: list[str],
    ph: Placeholders,
) -> PolicyDocuments:
    """Build the GCS setup (IAM bindings, CORS) for ``dest``; ``build_policy`` has checked the inputs."""
    account = dest.service_account_email or _key_file_email(dest)
    if account is None:
        meaning = "the email of the service account byos signs uploads as"
        if dest.hmac_access_id is not None:
            meaning += " (the one that owns the HMAC key)"
        account = ph("SERVICE_ACCOUNT_EMAIL", meaning)
    member = f"serviceAccount:{account}"
    objects = f"projects/_/buckets/{dest.bucket}/objects/{dest.prefix}"
    condition = {
        "title": "byos uploads under the prefix",
        "description": f"byos write-only uploads: create objects under gs://{dest.bucket}/{dest.prefix} only",
        "expression": f'resource.name.startsWith("{cel_string(objects)}")',
    }
    binding = {"bindings": [{"role": GCS_UPLOAD_ROLE, "members": [member], "condition": condition}]}
    headers = [
        *GCS_REQUEST_HEADERS,
        *(f"x-goog-meta-{name}" for name in [ORIGINAL_FILENAME, *metadata_names]),
    ]
    cors = [
        {
            "origin": origins_or_placeholder(origins, ph),
            "method": list(GCS_CORS_METHODS),
            "responseHeader": sorted(dict.fromkeys(h.lower() for h in headers)) + list(GCS_EXPOSED_HEADERS),
            "maxAgeSeconds": CORS_MAX_AGE_SECONDS,
        }
    ]
    bucket = shell_quote(f"gs://{dest.bucket}")
    documents: dict[str, Any] = {"iam-condition.json": condition, "iam-binding.json": binding}
    sections = [
        Section(
            f"{IAM_POLICY} binding ({WRITE_PERMISSION})",
            f"Grants {account} the Storage Object Creator role on bucket {dest.bucket}, limited by an IAM "
            f"condition to objects under {shown(dest.prefix)}: it can create new objects there and nothing "
            "else (no reading, listing, overwriting or deleting). IAM conditions need uniform bucket-level "
            "access, which the first command turns on. iam-binding.json shows the binding the commands add.",
            ("iam-condition.json", "iam-binding.json"),
            (
                f"gcloud storage buckets update {bucket} --uniform-bucket-level-access",
                (
                    f"gcloud storage buckets add-iam-policy-binding {bucket} --member={shell_quote(member)} "
                    f"--role={GCS_UPLOAD_ROLE} --condition-from-file=iam-condition.json"
                ),
            ),
        )
    ]
    keyless = dest.service_account_file is None and dest.hmac_access_id is None
    if keyless:
        signer = _gcp_member(principal) if principal is not None else member
        documents["token-creator-binding.json"] = {
            "bindings": [{"role": GCS_TOKEN_CREATOR_ROLE, "members": [signer]}]
        }
        project = _service_account_project(account) or dest.project
        where = f" --project={shell_quote(project)}" if project else ""
        sections.append(
            Section(
                "Signing permission (keyless signing)",
                f"byos signs without a key file, through the IAM signBlob call, as {account}. The "
                f"identity the import service runs as ({signer.split(':', 1)[1]}) needs the Service "
                "Account Token Creator role on that service account. The owner of the service account's "
                "project applies it.",
                ("token-creator-binding.json",),
                (
                    (
                        f"gcloud iam service-accounts add-iam-policy-binding {shell_quote(account)} "
                        f"--member={shell_quote(signer)} --role={GCS_TOKEN_CREATOR_ROLE}{where}"
                    ),
                ),
            )
        )
    documents["cors.json"] = cors
    sections.append(
        Section(
            CORS_RULES,
            "Lets browsers on the listed origins send uploads (PUT, resumable and POST forms) with the "
            "headers byos signs, and read ETag, Location and Range. This replaces the bucket's CORS "
            "configuration: merge any existing rules into cors.json first.",
            ("cors.json",),
            (
                f"gcloud storage buckets update {bucket} --cors-file=cors.json",
                f"gcloud storage buckets describe {bucket} --format='default(cors_config)'",
            ),
        )
    )
    steps = [
        "Send the customer this page, or go through it with the administrator of their Google Cloud project.",
        (
            f"Apply the {IAM_POLICY} binding ({WRITE_PERMISSION}): it lets {account} add new files under "
            f"{shown(dest.prefix)} in bucket {dest.bucket}, and nothing else. Uniform bucket-level access "
            "must be on for the prefix condition."
        ),
    ]
    if keyless:
        steps.append(
            "Grant the Token Creator role on the service account (Signing permission section), so the import "
            "service can sign upload links without a key file."
        )
    steps += [
        "Add the CORS rules to the bucket so browsers on "
        + origin_list(origins)
        + " may upload. If the bucket already has CORS rules, add ours to them rather than replacing them.",
        CHECK_STEP,
    ]
    return policy_documents(
        dest,
        documents=documents,
        sections=tuple(sections),
        steps=tuple(steps),
        ph=ph,
        notes=common_notes(dest.prefix),
    )


def cel_string(text: str) -> str:
    """Escape ``text`` for a double-quoted CEL string literal (IAM condition expressions)."""
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _key_file_email(dest: GCSDestination) -> str | None:
    if dest.service_account_file is None:
        return None
    try:
        data = json.loads(dest.service_account_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    email = data.get("client_email") if isinstance(data, dict) else None
    return email if isinstance(email, str) and _EMAIL.fullmatch(email) else None


def _service_account_project(email: str) -> str | None:
    match = re.fullmatch(r"[^@]+@([a-z][a-z0-9-]{4,28}[a-z0-9])\.iam\.gserviceaccount\.com", email)
    return match.group(1) if match else None


def _gcp_member(principal: str) -> str:
    text = principal.strip()
    if _GCP_MEMBER.fullmatch(text):
        return text
    if _EMAIL.fullmatch(text):
        return f"serviceAccount:{text}"
    raise InvalidInputError(
        "import_service_principal",
        f"{principal!r} is not a Google identity",
        "give the email of the service account the import service runs as",
    )
