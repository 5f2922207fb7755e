"""The S3 setup: IAM and trust policies, the optional bucket policy, CORS rules and the ``aws`` commands."""

from __future__ import annotations

import re
from typing import Any

from byos.config import S3Destination
from byos.errors import InvalidInputError
from byos.policy.common import (
    BUCKET_POLICY,
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

S3_UPLOAD_ACTIONS = ("s3:PutObject",)
"""PutObject, POST form uploads, and CreateMultipartUpload / UploadPart / CompleteMultipartUpload."""
S3_MULTIPART_ACTIONS = ("s3:AbortMultipartUpload",)
KMS_UPLOAD_ACTIONS = ("kms:GenerateDataKey",)
KMS_MULTIPART_ACTIONS = ("kms:Decrypt",)
"""S3 decrypts the parts of an SSE-KMS multipart upload to complete it, as the requester."""
S3_CORS_METHODS = ("PUT", "POST")
S3_ABORT_METHODS = ("DELETE",)
"""A browser aborts a multipart upload with the plan's presigned ``DELETE ?uploadId=`` (only that: signed)."""
S3_SIGNED_HEADERS = ("content-type", "content-md5", "if-none-match", "x-amz-checksum-sha256", "x-amz-meta-*")
"""Besides ``x-amz-meta-*``, each metadata header byos sends is listed by name: S3 echoes the requested
headers in a preflight answer, but S3-compatible stores that answer with the rule's own list would hand
browsers a literal ``x-amz-meta-*``, which no browser treats as a wildcard."""
S3_SSE_HEADERS = ("x-amz-server-side-encryption", "x-amz-server-side-encryption-aws-kms-key-id")
S3_OWNER_HEADERS = ("x-amz-expected-bucket-owner",)
"""Signed on every request when the destination sets ``expected_bucket_owner``."""
S3_EXPOSED_HEADERS = ("ETag",)
UPLOADER_ARN_PLACEHOLDER = "UPLOADER_ARN"

_AWS_ACCOUNT = re.compile(r"\d{12}")
_AWS_PRINCIPAL = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:(root|(user|role)/[\w+=,.@/-]{1,512})")
_KMS_ARN = re.compile(r"arn:(aws[a-z-]*):kms:([a-z0-9-]+):(\d{12}):(key|alias)/(.+)")


def s3_policy(  # noqa: PLR0917  (one private builder per provider, called once)
    dest: S3Destination,
    origins: list[str] | None,
    principal: str | None,
    multipart: bool,
    metadata_names: list[str],
    ph: Placeholders,
) -> PolicyDocuments:
    """Build the S3 setup (role, policies, CORS) for ``dest``; ``build_policy`` has checked the inputs."""
    partition = _aws_partition(dest)
    resource = f"arn:{partition}:s3:::{dest.bucket}/{iam_literal(dest.prefix)}*"
    actions = [*S3_UPLOAD_ACTIONS, *(S3_MULTIPART_ACTIONS if multipart else ())]
    statements: list[dict[str, Any]] = [
        {"Sid": "ByosWriteOnlyUploads", "Effect": "Allow", "Action": actions, "Resource": resource}
    ]
    if dest.sse_kms_key_id is not None:
        statements.append(_kms_statement(dest, partition, multipart, ph))
    iam_policy = {"Version": "2012-10-17", "Statement": statements}

    external_id = dest.external_id or ph(
        "EXTERNAL_ID",
        "a random value unique to this customer (for example from `uuidgen`); set the same value as "
        "external_id in the destination",
    )
    trust_policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ByosImportServiceAssumesRole",
                "Effect": "Allow",
                "Principal": {"AWS": _aws_principal(principal, partition, ph)},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"sts:ExternalId": external_id}},
            }
        ],
    }

    headers = [
        *S3_SIGNED_HEADERS,
        *(f"x-amz-meta-{name}" for name in [ORIGINAL_FILENAME, *metadata_names]),
        *(S3_SSE_HEADERS if dest.sse_kms_key_id else ()),
        *(S3_OWNER_HEADERS if dest.expected_bucket_owner else ()),
    ]
    cors = {
        "CORSRules": [
            {
                "ID": "byos-browser-uploads",
                "AllowedOrigins": origins_or_placeholder(origins, ph),
                "AllowedMethods": [*S3_CORS_METHODS, *(S3_ABORT_METHODS if multipart else ())],
                "AllowedHeaders": sorted(headers),
                "ExposeHeaders": list(S3_EXPOSED_HEADERS),
                "MaxAgeSeconds": CORS_MAX_AGE_SECONDS,
            }
        ]
    }

    bucket_policy = _bucket_policy(dest, partition, resource, ph)

    role_name, role_path = _role_name(dest, ph)
    create_role = [
        "aws iam create-role",
        f"--role-name {shell_quote(role_name)}",
        *([f"--path {shell_quote(role_path)}"] if role_path != "/" else []),
        "--assume-role-policy-document file://trust-policy.json",
        "--max-session-duration 3600",
    ]
    put_role_policy = (
        f"aws iam put-role-policy --role-name {shell_quote(role_name)} --policy-name byos-write-only "
        "--policy-document file://iam-policy.json"
    )
    location = f" --region {shell_quote(dest.region)}"
    if dest.endpoint_url is not None:
        location += f" --endpoint-url {shell_quote(dest.endpoint_url)}"
    bucket = shell_quote(dest.bucket)

    trust_text = (
        "The customer's IAM role that the import service assumes. Only the import service's principal may "
        "assume it, and only when it presents this customer's external id (which stops another customer "
        "of the import service from using this role)."
    )
    iam_commands = [put_role_policy]
    if dest.role_arn is None:
        trust_text += (
            " The destination has no role_arn yet: create the role, then set role_arn and external_id in "
            "the destination instead of long-lived access keys."
        )
        if dest.access_key_id is not None:
            user = ph("UPLOADER_USER_NAME", "the IAM user that owns the destination's access key")
            iam_commands.append(
                f"aws iam put-user-policy --user-name {shell_quote(user)} --policy-name byos-write-only "
                "--policy-document file://iam-policy.json"
            )
    kms_text = (
        " It may also use the KMS key, only through S3, to encrypt what it uploads"
        + (" (and to decrypt the parts of a multipart upload to complete it)." if multipart else ".")
        if dest.sse_kms_key_id
        else ""
    )
    sections = (
        Section(
            "Trust policy (who may assume the role)",
            trust_text,
            ("trust-policy.json",),
            (" ".join(create_role),),
        ),
        Section(
            f"{IAM_POLICY} ({WRITE_PERMISSION})",
            f"Lets the uploader create new objects under {shown(dest.prefix)} in bucket {dest.bucket}"
            + (" and abort its own unfinished multipart uploads" if multipart else "")
            + ", and nothing else: no reading, listing, deleting or changing bucket settings."
            + kms_text,
            ("iam-policy.json",),
            tuple(iam_commands),
        ),
        Section(
            CORS_RULES,
            "Lets browsers on the listed origins send uploads (PUT, and POST forms) with the headers byos "
            "signs, and read the ETag header multipart uploads need. This replaces the bucket's CORS "
            "configuration: merge any existing rules into cors.json first.",
            ("cors.json",),
            (
                f"aws s3api put-bucket-cors --bucket {bucket} --cors-configuration file://cors.json{location}",
                f"aws s3api get-bucket-cors --bucket {bucket}{location}",
            ),
        ),
        Section(
            BUCKET_POLICY,
            "Optional hardening, for the bucket owner to decide. Denies every request to the bucket that is "
            "not sent over HTTPS, and denies the uploader any PutObject or CompleteMultipartUpload without "
            "If-None-Match (S3's s3:if-none-match condition key), so not even a link presigned with "
            "overwrite=True can replace an object. It also refuses POST form uploads, which cannot carry "
            "If-None-Match: leave the second statement out if the import service uses them. "
            "put-bucket-policy replaces the bucket's policy: merge any existing statements into "
            "bucket-policy.json first.",
            ("bucket-policy.json",),
            (
                f"aws s3api put-bucket-policy --bucket {bucket} --policy file://bucket-policy.json{location}",
                f"aws s3api get-bucket-policy --bucket {bucket}{location}",
            ),
        ),
    )
    steps = (
        "Send the customer this page, or go through it with the administrator of their AWS account.",
        (
            "Create the role the import service uses (Trust policy section). It names the import service's "
            "AWS principal and this customer's external id."
        ),
        (
            f"Attach the {IAM_POLICY} ({WRITE_PERMISSION}) to that role: it lets uploads add new files under "
            f"{shown(dest.prefix)} in bucket {dest.bucket}, and nothing else."
        ),
        "Add the CORS rules to the bucket so browsers on "
        + origin_list(origins)
        + " may upload. If the bucket already has CORS rules, add ours to them rather than replacing them.",
        (
            "Optionally apply the bucket policy (HTTPS only, write-once enforced by S3) if the customer "
            "wants that hardening and the import service does not use POST form uploads."
        ),
        (
            "Put the role's ARN and the external id in the destination's configuration (role_arn, "
            "external_id)."
        ),
        (
            "Set expected_bucket_owner to the customer's 12-digit AWS account id (recommended): every upload "
            "then names the bucket's owner, so S3 refuses it if the bucket ever belongs to another account."
            if dest.expected_bucket_owner is None
            else f"expected_bucket_owner is {dest.expected_bucket_owner}: every upload names the bucket's "
            "owner, so S3 refuses it if the bucket ever belongs to another account; confirm it is theirs."
        ),
        CHECK_STEP,
    )
    notes = common_notes(dest.prefix)
    if dest.endpoint_url is not None:
        notes.append(
            f"endpoint_url is {dest.endpoint_url}: an S3-compatible store may use its own permission model; "
            "the IAM documents are written for AWS."
        )
    return policy_documents(
        dest,
        documents={
            "trust-policy.json": trust_policy,
            "iam-policy.json": iam_policy,
            "cors.json": cors,
            "bucket-policy.json": bucket_policy,
        },
        sections=sections,
        steps=steps,
        ph=ph,
        notes=notes,
    )


def _bucket_policy(dest: S3Destination, partition: str, resource: str, ph: Placeholders) -> dict[str, Any]:
    """The optional bucket policy: HTTPS only for everyone, If-None-Match on every upload by the uploader."""
    bucket_arn = f"arn:{partition}:s3:::{dest.bucket}"
    uploader = dest.role_arn or ph(
        UPLOADER_ARN_PLACEHOLDER,
        "the ARN of the uploader: the role created above (arn:aws:iam::ACCOUNT:role/NAME), or the IAM user "
        "that owns the destination's access key",
    )
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ByosDenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [bucket_arn, f"{bucket_arn}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
            {
                "Sid": "ByosRequireWriteOnce",
                "Effect": "Deny",
                "Principal": {"AWS": uploader},
                "Action": "s3:PutObject",
                "Resource": resource,
                # CreateMultipartUpload and UploadPart take no conditional header: ObjectCreationOperation
                # is false for them, true for PutObject and CompleteMultipartUpload.
                "Condition": {
                    "Null": {"s3:if-none-match": "true"},
                    "Bool": {"s3:ObjectCreationOperation": "true"},
                },
            },
        ],
    }


def _kms_statement(dest: S3Destination, partition: str, multipart: bool, ph: Placeholders) -> dict[str, Any]:
    key = dest.sse_kms_key_id or ""
    suffix = "amazonaws.com.cn" if partition == "aws-cn" else "amazonaws.com"
    condition: dict[str, Any] = {"StringEquals": {"kms:ViaService": f"s3.{dest.region}.{suffix}"}}
    match = _KMS_ARN.fullmatch(key)
    if match and match.group(4) == "key":
        resource = key
    elif match:  # an alias ARN: grant the key the alias names
        key_partition, region, owner, _, alias = match.groups()
        resource = f"arn:{key_partition}:kms:{region}:{owner}:key/*"
        condition["ForAnyValue:StringEquals"] = {"kms:ResourceAliases": f"alias/{alias}"}
    else:
        account = _role_account(dest) or ph(
            "AWS_ACCOUNT_ID", "the 12-digit id of the AWS account that owns the KMS key"
        )
        if key.startswith("alias/"):
            resource = f"arn:{partition}:kms:{dest.region}:{account}:key/*"
            condition["ForAnyValue:StringEquals"] = {"kms:ResourceAliases": key}
        else:
            resource = f"arn:{partition}:kms:{dest.region}:{account}:key/{key}"
    return {
        "Sid": "ByosEncryptUploadsWithKms",
        "Effect": "Allow",
        "Action": [*KMS_UPLOAD_ACTIONS, *(KMS_MULTIPART_ACTIONS if multipart else ())],
        "Resource": resource,
        "Condition": condition,
    }


def iam_literal(text: str) -> str:
    """Escape IAM wildcard characters so ``text`` matches only itself inside a resource ARN.

    ``*``, ``?`` and ``$`` become the IAM policy variables ``${*}``, ``${?}`` and ``${$}``.
    """
    return "".join("${" + char + "}" if char in "*?$" else char for char in text)


def _aws_partition(dest: S3Destination) -> str:
    if dest.role_arn is not None:
        return dest.role_arn.split(":", 2)[1]
    for start, partition in (
        ("cn-", "aws-cn"),
        ("us-gov-", "aws-us-gov"),
        ("us-isob-", "aws-iso-b"),
        ("us-iso-", "aws-iso"),
    ):
        if dest.region.startswith(start):
            return partition
    return "aws"


def _role_account(dest: S3Destination) -> str | None:
    return dest.role_arn.split(":")[4] if dest.role_arn is not None else None


def _role_name(dest: S3Destination, ph: Placeholders) -> tuple[str, str]:
    if dest.role_arn is None:
        return ph("ROLE_NAME", "a name for the customer's role, for example byos-uploader"), "/"
    path_and_name = dest.role_arn.split(":role/", 1)[1]
    path, _, name = path_and_name.rpartition("/")
    return name, f"/{path}/" if path else "/"


def _aws_principal(principal: str | None, partition: str, ph: Placeholders) -> str:
    if principal is None:
        return ph(
            "IMPORT_SERVICE_PRINCIPAL",
            "the ARN of the import service's IAM role (or its 12-digit AWS account id), "
            "from the import service",
        )
    text = principal.strip()
    if _AWS_ACCOUNT.fullmatch(text):
        return f"arn:{partition}:iam::{text}:root"
    if _AWS_PRINCIPAL.fullmatch(text):
        return text
    raise InvalidInputError(
        "import_service_principal",
        f"{principal!r} is not an AWS principal",
        "give an IAM role or user ARN (arn:aws:iam::123456789012:role/importer) or a 12-digit account id",
    )
