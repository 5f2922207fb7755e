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

from collections.abc import Sequence

from byos.config import AzureDestination, Destination, GCSDestination, S3Destination
from byos.errors import InvalidInputError
from byos.policy.azure import (
    AZURE_CORS_METHODS,
    AZURE_DATA_ACTIONS,
    AZURE_DELEGATION_ACTION,
    AZURE_DELEGATOR_ROLE,
    AZURE_EXPOSED_HEADERS,
    AZURE_REQUEST_HEADERS,
    azure_policy,
)
from byos.policy.common import (
    BUCKET_POLICY,
    CORS_MAX_AGE_SECONDS,
    CORS_RULES,
    IAM_POLICY,
    WRITE_PERMISSION,
    Placeholders,
    check_metadata_names,
    check_origins,
)
from byos.policy.document import PolicyDocuments, Section
from byos.policy.gcs import (
    GCS_CORS_METHODS,
    GCS_EXPOSED_HEADERS,
    GCS_REQUEST_HEADERS,
    GCS_TOKEN_CREATOR_ROLE,
    GCS_UPLOAD_ROLE,
    cel_string,
    gcs_policy,
)
from byos.policy.s3 import (
    KMS_MULTIPART_ACTIONS,
    KMS_UPLOAD_ACTIONS,
    S3_ABORT_METHODS,
    S3_CORS_METHODS,
    S3_EXPOSED_HEADERS,
    S3_MULTIPART_ACTIONS,
    S3_OWNER_HEADERS,
    S3_SIGNED_HEADERS,
    S3_SSE_HEADERS,
    S3_UPLOAD_ACTIONS,
    UPLOADER_ARN_PLACEHOLDER,
    iam_literal,
    s3_policy,
)

__all__ = [
    "AZURE_CORS_METHODS",
    "AZURE_DATA_ACTIONS",
    "AZURE_DELEGATION_ACTION",
    "AZURE_DELEGATOR_ROLE",
    "AZURE_EXPOSED_HEADERS",
    "AZURE_REQUEST_HEADERS",
    "BUCKET_POLICY",
    "CORS_MAX_AGE_SECONDS",
    "CORS_RULES",
    "GCS_CORS_METHODS",
    "GCS_EXPOSED_HEADERS",
    "GCS_REQUEST_HEADERS",
    "GCS_TOKEN_CREATOR_ROLE",
    "GCS_UPLOAD_ROLE",
    "IAM_POLICY",
    "KMS_MULTIPART_ACTIONS",
    "KMS_UPLOAD_ACTIONS",
    "S3_ABORT_METHODS",
    "S3_CORS_METHODS",
    "S3_EXPOSED_HEADERS",
    "S3_MULTIPART_ACTIONS",
    "S3_OWNER_HEADERS",
    "S3_SIGNED_HEADERS",
    "S3_SSE_HEADERS",
    "S3_UPLOAD_ACTIONS",
    "UPLOADER_ARN_PLACEHOLDER",
    "WRITE_PERMISSION",
    "PolicyDocuments",
    "Section",
    "build_policy",
    "cel_string",
    "iam_literal",
]


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
    chosen = check_origins(destination.origins if origins is None else origins)
    names = check_metadata_names(metadata_names)
    placeholders = Placeholders()
    if isinstance(destination, S3Destination):
        return s3_policy(destination, chosen, import_service_principal, multipart, names, placeholders)
    if isinstance(destination, GCSDestination):
        return gcs_policy(destination, chosen, import_service_principal, names, placeholders)
    if isinstance(destination, AzureDestination):
        return azure_policy(destination, chosen, import_service_principal, placeholders)
    raise InvalidInputError(  # pragma: no cover - Destination is exhaustive
        "destination", f"provider {destination.provider!r} has no policy", "use s3, gcs or azure"
    )
