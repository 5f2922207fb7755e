"""Least-privilege access and CORS setup each customer applies to their bucket, per provider, ready to paste.

:func:`build_policy` turns a destination into :class:`PolicyDocuments`: the JSON documents (IAM policy, trust
policy, IAM binding, custom role, CORS rules), the ``aws`` / ``gcloud`` / ``az`` commands that apply them, and
plain-language steps for onboarding staff. Nothing is sent anywhere.

What each provider gets:

- S3: an IAM policy allowing only ``s3:PutObject`` (and ``s3:AbortMultipartUpload`` for multipart uploads) on
  ``arn:aws:s3:::BUCKET/PREFIX*``, plus ``kms:GenerateDataKey`` (and ``kms:Decrypt``, which multipart uploads
  with SSE-KMS need) on the configured KMS key, through S3 only; a trust policy letting the import service
  assume the customer's role with an ``sts:ExternalId`` condition; the bucket CORS configuration.
- GCS: ``roles/storage.objectCreator`` (create only: no read, list, overwrite or delete) for the uploader's
  service account, with an IAM condition limiting it to the prefix; the bucket CORS JSON; for keyless signing
  (IAM ``signBlob``), ``roles/iam.serviceAccountTokenCreator`` on that service account.
- Azure: a custom role with only the blob ``write`` and ``add/action`` data actions, assigned at the
  container; the built-in Storage Blob Delegator role at the account (user-delegation SAS); the CORS rule.

CORS rules allow exactly the request headers byos signs, and expose ``ETag`` (multipart and block uploads
need it). Section titles use the wording the setup checker's remediation text points at: "write permission",
"IAM policy" and "CORS rules". Values that only the customer or the import service know appear as
placeholders such as ``<EXTERNAL_ID>``, listed in :attr:`PolicyDocuments.placeholders`.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from pydantic import TypeAdapter, ValidationError

from byos.config import AzureDestination, Destination, GCSDestination, Origin, S3Destination
from byos.errors import InvalidInputError
from byos.uploads import ORIGINAL_FILENAME

CORS_MAX_AGE_SECONDS = 3600
"""How long browsers may cache a preflight answer."""

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

WRITE_PERMISSION = "write permission"
IAM_POLICY = "IAM policy"
CORS_RULES = "CORS rules"
BUCKET_POLICY = "Bucket policy (optional: HTTPS only, write-once enforced)"
UPLOADER_ARN_PLACEHOLDER = "UPLOADER_ARN"
"""Wording of section titles that the setup checker's remediation text points at."""

_CHECK_STEP = (
    "Run `byos check --config <destination file>`: every check should pass. A failing check names the "
    "section of this page to apply again."
)

_AWS_ACCOUNT = re.compile(r"\d{12}")
_AWS_PRINCIPAL = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:(root|(user|role)/[\w+=,.@/-]{1,512})")
_GCP_MEMBER = re.compile(r"(serviceAccount|user|group):[^@\s]+@[A-Za-z0-9.-]+\.[a-z]+")
_EMAIL = re.compile(r"[^@\s:]+@[A-Za-z0-9.-]+\.[a-z]+")
_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_METADATA_NAME = re.compile(r"[a-z0-9-]{1,64}")
_KMS_ARN = re.compile(r"arn:(aws[a-z-]*):kms:([a-z0-9-]+):(\d{12}):(key|alias)/(.+)")
_ORIGINS = TypeAdapter(Origin)


# --- the result ---


@dataclass(frozen=True, slots=True)
class Section:
    """One titled part of the setup: why, which documents, which commands.

    Attributes:
        title: The heading; the checker's remediation text names it ("IAM policy", "CORS rules", …).
        text: What the section does, in plain words.
        documents: File names of the documents this section applies (keys of
            :attr:`PolicyDocuments.documents`).
        commands: Shell commands that apply them, run from the folder holding the documents.
    """

    title: str
    text: str
    documents: tuple[str, ...] = ()
    commands: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PolicyDocuments:
    """Everything a customer applies for one destination.

    Attributes:
        provider: ``s3``, ``gcs`` or ``azure``.
        destination: The destination's label.
        documents: JSON documents by file name (for example ``iam-policy.json``), in the order applied.
        sections: The titled parts of the setup, in the order to apply them.
        steps: Plain-language steps for onboarding staff.
        placeholders: Markers left in documents and commands (``<EXTERNAL_ID>``) and what to put there.
        notes: Caveats worth reading before applying.
    """

    provider: str
    destination: str
    documents: Mapping[str, Any]
    sections: tuple[Section, ...]
    steps: tuple[str, ...]
    placeholders: Mapping[str, str]
    notes: tuple[str, ...] = ()

    def document(self, name: str) -> Any:  # noqa: ANN401  (a JSON document: dict or list)
        """Return a copy of the document saved as ``name`` (a file name such as ``cors.json``)."""
        return json.loads(json.dumps(self.documents[name]))

    def section(self, wording: str) -> Section:
        """Return the first section whose title contains ``wording`` (e.g. ``"CORS rules"``).

        Raises:
            KeyError: No title contains it.
        """
        for section in self.sections:
            if wording in section.title:
                return section
        raise KeyError(wording)

    @property
    def commands(self) -> tuple[str, ...]:
        """Every command, in the order to run them."""
        return tuple(command for section in self.sections for command in section.commands)

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form: provider, destination, documents, sections, steps, placeholders, notes."""
        return {
            "provider": self.provider,
            "destination": self.destination,
            "documents": {name: self.document(name) for name in self.documents},
            "sections": [
                {
                    "title": section.title,
                    "text": section.text,
                    "documents": list(section.documents),
                    "commands": list(section.commands),
                }
                for section in self.sections
            ],
            "steps": list(self.steps),
            "placeholders": dict(self.placeholders),
            "notes": list(self.notes),
        }

    def to_text(self) -> str:
        """Return the whole setup as Markdown: sections with their documents and commands, then the steps."""
        lines = [f"# byos setup for {self.destination} ({self.provider})", ""]
        if self.placeholders:
            lines += ["**Replace before applying:**", ""]
            lines += [f"- `{marker}`: {meaning}" for marker, meaning in self.placeholders.items()]
            lines.append("")
        lines += [
            (
                "Save each document under its file name (or run `byos policy … --write DIR`), then run the "
                "commands from that folder."
            ),
            "",
        ]
        for section in self.sections:
            lines += [f"## {section.title}", "", section.text, ""]
            for name in section.documents:
                lines += [f"`{name}`:", "", "```json", _json(self.documents[name]), "```", ""]
            if section.commands:
                lines += ["```sh", *section.commands, "```", ""]
        lines += ["## Steps for onboarding staff", ""]
        lines += [f"{number}. {step}" for number, step in enumerate(self.steps, start=1)]
        if self.notes:
            lines += ["", "## Notes", ""]
            lines += [f"- {note}" for note in self.notes]
        return "\n".join(lines) + "\n"

    def write_files(self, directory: str | Path) -> list[Path]:
        """Write every document as ``DIRECTORY/<file name>`` (creating the folder); return the paths."""
        folder = Path(directory)
        folder.mkdir(parents=True, exist_ok=True)
        written = []
        for name, content in self.documents.items():
            path = folder / name
            path.write_text(_json(content) + "\n", encoding="utf-8")
            written.append(path)
        return written


# --- entry point ---


def build_policy(
    destination: Destination,
    *,
    origins: Sequence[str] | None = None,
    import_service_principal: str | None = None,
    multipart: bool = True,
    metadata_names: Sequence[str] = (),
) -> PolicyDocuments:
    """Build the least-privilege access and CORS setup the customer applies for ``destination``.

    Args:
        destination: The customer's bucket (or container), prefix and credentials settings.
        origins: Browser origins allowed to upload; the destination's ``origins`` when None (a placeholder
            when neither gives one).
        import_service_principal: Who acts for the import service. S3: the IAM role ARN (or 12-digit account
            id) allowed to assume the customer's role. GCS: the runtime identity that signs keyless (an email,
            or a ``serviceAccount:``/``user:``/``group:`` member); the uploader's service account itself
            when omitted. Azure: the uploader's Microsoft Entra object or client id; the destination's
            ``client_id`` when omitted. A placeholder when unknown.
        multipart: Grant what multipart (S3) uploads need beyond single uploads.
        metadata_names: Extra metadata names the import service passes to presigns (besides the original
            file name), so CORS rules name their ``x-amz-meta-*`` / ``x-goog-meta-*`` headers.

    Returns:
        The documents, commands and steps.

    Raises:
        InvalidInputError: An origin, principal or metadata name is malformed (nothing is built).
    """
    chosen = _check_origins(destination.origins if origins is None else origins)
    names = _check_metadata_names(metadata_names)
    placeholders = _Placeholders()
    if isinstance(destination, S3Destination):
        return _s3(destination, chosen, import_service_principal, multipart, names, placeholders)
    if isinstance(destination, GCSDestination):
        return _gcs(destination, chosen, import_service_principal, names, placeholders)
    if isinstance(destination, AzureDestination):
        return _azure(destination, chosen, import_service_principal, placeholders)
    raise InvalidInputError(  # pragma: no cover - Destination is exhaustive
        "destination", f"provider {destination.provider!r} has no policy", "use s3, gcs or azure"
    )


# --- S3 ---


def _s3(  # noqa: PLR0917  (one private builder per provider, called once)
    dest: S3Destination,
    origins: list[str] | None,
    principal: str | None,
    multipart: bool,
    metadata_names: list[str],
    ph: _Placeholders,
) -> PolicyDocuments:
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
                "AllowedOrigins": _origins_or_placeholder(origins, ph),
                "AllowedMethods": [*S3_CORS_METHODS, *(S3_ABORT_METHODS if multipart else ())],
                "AllowedHeaders": sorted(headers),
                "ExposeHeaders": list(S3_EXPOSED_HEADERS),
                "MaxAgeSeconds": CORS_MAX_AGE_SECONDS,
            }
        ]
    }

    bucket_policy = _s3_bucket_policy(dest, partition, resource, ph)

    role_name, role_path = _role_name(dest, ph)
    create_role = [
        "aws iam create-role",
        f"--role-name {_q(role_name)}",
        *([f"--path {_q(role_path)}"] if role_path != "/" else []),
        "--assume-role-policy-document file://trust-policy.json",
        "--max-session-duration 3600",
    ]
    put_role_policy = (
        f"aws iam put-role-policy --role-name {_q(role_name)} --policy-name byos-write-only "
        "--policy-document file://iam-policy.json"
    )
    location = f" --region {_q(dest.region)}"
    if dest.endpoint_url is not None:
        location += f" --endpoint-url {_q(dest.endpoint_url)}"
    bucket = _q(dest.bucket)

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
                f"aws iam put-user-policy --user-name {_q(user)} --policy-name byos-write-only "
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
            f"Lets the uploader create new objects under {_shown(dest.prefix)} in bucket {dest.bucket}"
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
            f"{_shown(dest.prefix)} in bucket {dest.bucket}, and nothing else."
        ),
        "Add the CORS rules to the bucket so browsers on "
        + _origin_list(origins)
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
        _CHECK_STEP,
    )
    notes = _common_notes(dest.prefix)
    if dest.endpoint_url is not None:
        notes.append(
            f"endpoint_url is {dest.endpoint_url}: an S3-compatible store may use its own permission model; "
            "the IAM documents are written for AWS."
        )
    return _result(
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


def _s3_bucket_policy(
    dest: S3Destination, partition: str, resource: str, ph: _Placeholders
) -> dict[str, Any]:
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


def _kms_statement(dest: S3Destination, partition: str, multipart: bool, ph: _Placeholders) -> dict[str, Any]:
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


def _role_name(dest: S3Destination, ph: _Placeholders) -> tuple[str, str]:
    if dest.role_arn is None:
        return ph("ROLE_NAME", "a name for the customer's role, for example byos-uploader"), "/"
    path_and_name = dest.role_arn.split(":role/", 1)[1]
    path, _, name = path_and_name.rpartition("/")
    return name, f"/{path}/" if path else "/"


def _aws_principal(principal: str | None, partition: str, ph: _Placeholders) -> str:
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


# --- GCS ---


def _gcs(
    dest: GCSDestination,
    origins: list[str] | None,
    principal: str | None,
    metadata_names: list[str],
    ph: _Placeholders,
) -> PolicyDocuments:
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
            "origin": _origins_or_placeholder(origins, ph),
            "method": list(GCS_CORS_METHODS),
            "responseHeader": sorted(dict.fromkeys(h.lower() for h in headers)) + list(GCS_EXPOSED_HEADERS),
            "maxAgeSeconds": CORS_MAX_AGE_SECONDS,
        }
    ]
    bucket = _q(f"gs://{dest.bucket}")
    documents: dict[str, Any] = {"iam-condition.json": condition, "iam-binding.json": binding}
    sections = [
        Section(
            f"{IAM_POLICY} binding ({WRITE_PERMISSION})",
            f"Grants {account} the Storage Object Creator role on bucket {dest.bucket}, limited by an IAM "
            f"condition to objects under {_shown(dest.prefix)}: it can create new objects there and nothing "
            "else (no reading, listing, overwriting or deleting). IAM conditions need uniform bucket-level "
            "access, which the first command turns on. iam-binding.json shows the binding the commands add.",
            ("iam-condition.json", "iam-binding.json"),
            (
                f"gcloud storage buckets update {bucket} --uniform-bucket-level-access",
                (
                    f"gcloud storage buckets add-iam-policy-binding {bucket} --member={_q(member)} "
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
        where = f" --project={_q(project)}" if project else ""
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
                        f"gcloud iam service-accounts add-iam-policy-binding {_q(account)} "
                        f"--member={_q(signer)} --role={GCS_TOKEN_CREATOR_ROLE}{where}"
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
            f"{_shown(dest.prefix)} in bucket {dest.bucket}, and nothing else. Uniform bucket-level access "
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
        + _origin_list(origins)
        + " may upload. If the bucket already has CORS rules, add ours to them rather than replacing them.",
        _CHECK_STEP,
    ]
    return _result(
        dest,
        documents=documents,
        sections=tuple(sections),
        steps=tuple(steps),
        ph=ph,
        notes=_common_notes(dest.prefix),
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


# --- Azure ---


def _azure(
    dest: AzureDestination, origins: list[str] | None, principal: str | None, ph: _Placeholders
) -> PolicyDocuments:
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
    origin_values = _origins_or_placeholder(origins, ph)
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
            f"--origins {' '.join(_q(o) for o in origin_values)}",
            f"--allowed-headers {' '.join(_q(h) for h in headers)}",
            f"--exposed-headers {' '.join(AZURE_EXPOSED_HEADERS)}",
            f"--max-age {CORS_MAX_AGE_SECONDS}",
            f"--account-name {_q(dest.account_name)}",
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
            f"{_shown(dest.prefix)}." + key_note,
            ("role-definition.json",),
            (
                "az role definition create --role-definition @role-definition.json",
                (
                    f"az role assignment create --assignee {_q(assignee)} --role {_q(role_name)} "
                    f"--scope {_q(container_scope)}"
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
                    f"az role assignment create --assignee {_q(assignee)} --role {_q(AZURE_DELEGATOR_ROLE)} "
                    f"--scope {_q(account_scope)}"
                ),
            ),
        ),
        Section(
            CORS_RULES,
            "Lets browsers on the listed origins send uploads (PUT) with the headers byos signs, and read "
            "the ETag header. Azure keeps up to five CORS rules per account; this adds one.",
            ("cors-rules.json",),
            (cors_add, f"az storage cors list --services b --account-name {_q(dest.account_name)}"),
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
        + _origin_list(origins)
        + " may upload.",
        _CHECK_STEP,
    )
    return _result(
        dest,
        documents={"role-definition.json": role, "cors-rules.json": cors},
        sections=sections,
        steps=steps,
        ph=ph,
        notes=[],
    )


def _azure_assignee(principal: str | None, ph: _Placeholders) -> str:
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


# --- shared helpers ---


class _Placeholders:
    """Hands out ``<NAME>`` markers and remembers what each one stands for."""

    def __init__(self) -> None:
        self.used: dict[str, str] = {}

    def __call__(self, name: str, meaning: str) -> str:
        marker = f"<{name}>"
        self.used[marker] = meaning
        return marker


def _check_origins(origins: Sequence[str]) -> list[str] | None:
    if isinstance(origins, str):
        origins = [origins]
    checked: list[str] = []
    for origin in origins:
        try:
            normal = _ORIGINS.validate_python(origin)
        except ValidationError as exc:
            error = exc.errors(include_url=False)[0]
            cause = error.get("ctx", {}).get("error")
            problem = getattr(cause, "problem", None) or f"{origin!r} is not an origin"
            fix = getattr(cause, "fix", None) or "write scheme://host[:port], like https://app.example.com"
            raise InvalidInputError("origins", problem, fix) from None
        if normal not in checked:
            checked.append(normal)
    return checked or None


def _check_metadata_names(names: Sequence[str]) -> list[str]:
    checked: list[str] = []
    for name in names:
        lowered = name.lower()
        if not _METADATA_NAME.fullmatch(lowered):
            raise InvalidInputError(
                "metadata_names", f"{name!r} is not a metadata name", "use letters, digits and '-'"
            )
        if lowered != ORIGINAL_FILENAME and lowered not in checked:
            checked.append(lowered)
    return checked


def _origins_or_placeholder(origins: list[str] | None, ph: _Placeholders) -> list[str]:
    if origins:
        return list(origins)
    return [
        ph(
            "BROWSER_ORIGIN",
            "the web app's origin, like https://app.example.com (or pass --origin, or set origins in the "
            "destination)",
        )
    ]


def _origin_list(origins: list[str] | None) -> str:
    return ", ".join(origins) if origins else "the web app's origin"


def _shown(prefix: str) -> str:
    return f"the prefix {prefix}" if prefix else "the whole bucket (no prefix is configured)"


def _common_notes(prefix: str) -> list[str]:
    if prefix:
        return []
    return [
        (
            "No prefix is configured, so the write permission covers the whole bucket; set prefix in the "
            "destination to confine uploads to one folder."
        )
    ]


def _q(value: str) -> str:
    return shlex.quote(value)


def _json(content: Any) -> str:  # noqa: ANN401  (any JSON document)
    return json.dumps(content, indent=2, ensure_ascii=False)


def _result(
    dest: Destination,
    *,
    documents: dict[str, Any],
    sections: tuple[Section, ...],
    steps: tuple[str, ...],
    ph: _Placeholders,
    notes: list[str],
) -> PolicyDocuments:
    return PolicyDocuments(
        provider=dest.provider,
        destination=dest.label,
        documents=MappingProxyType(documents),
        sections=sections,
        steps=steps,
        placeholders=MappingProxyType(dict(ph.used)),
        notes=tuple(notes),
    )
