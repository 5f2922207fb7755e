"""Google Cloud Storage: signing modes, write-only V4 signed uploads (PUT, POST form, resumable) and URLs.

Three ways to sign, chosen from the destination (first match wins):

1. ``hmac_access_id`` + ``hmac_secret``: ``GOOG4-HMAC-SHA256``, no SDK.
2. ``service_account_file``: the service account's RSA key (``GOOG4-RSA-SHA256``), parsed once, no SDK.
3. ``service_account_email``: keyless. Application Default Credentials (``byos[gcs]``) get a bearer token and
   the IAM Credentials API's ``signBlob`` signs as that service account (Cloud Run, GKE workload identity).
   The caller needs ``roles/iam.serviceAccountTokenCreator`` on it.

With none of them, the default credentials sign themselves when they are a service-account key, else through
``signBlob`` as their own service account; a user account cannot sign and is refused with the fix.

Signers are cached per destination settings: a key file is read once, not per URL.

Resumable uploads (large files): :func:`start_resumable` signs ``POST`` with ``x-goog-resumable: start``.
The browser sends that POST (empty body, the returned headers); Cloud Storage answers ``201`` with the session
URI in ``Location``; the browser then sends the file there with ``PUT`` in chunks (multiples of 256 KiB but
the last), each with ``Content-Range: bytes FIRST-LAST/TOTAL`` (``*`` for an unknown total), getting ``308``
until the last chunk (``200``/``201``). The session URI needs no signature, works for one week and writes
only that one object: treat it as a secret.

The parts: ``gcs_signing`` (signing modes), ``gcs_sign_blob`` (access tokens, ``signBlob``), ``gcs_urls``
(endpoints, the setup checker's signed URLs) and ``gcs_presign`` (uploads); this module names them all.
"""

from __future__ import annotations

from byos.providers.gcs_presign import MAX_OBJECT_BYTES, NAME, presign_upload, start_resumable
from byos.providers.gcs_sign_blob import (
    CLOUD_PLATFORM_SCOPE,
    IAM_CREDENTIALS_ENDPOINT,
    SIGN_BLOB_TIMEOUT,
    TOKEN_CREATOR_ROLE,
    access_token,
    sign_blob,
)
from byos.providers.gcs_signing import (
    GcsSigning,
    SigningMode,
    clear_signer_cache,
    refuse_service_identity,
    resolve_signing,
)
from byos.providers.gcs_urls import (
    DEFAULT_ENDPOINT,
    SERVER_CALL_EXPIRES,
    bucket_url,
    endpoint_of,
    is_local,
    object_url,
    presign_bucket_url,
    presign_object_url,
)

__all__ = [
    "CLOUD_PLATFORM_SCOPE",
    "DEFAULT_ENDPOINT",
    "IAM_CREDENTIALS_ENDPOINT",
    "MAX_OBJECT_BYTES",
    "NAME",
    "SERVER_CALL_EXPIRES",
    "SIGN_BLOB_TIMEOUT",
    "TOKEN_CREATOR_ROLE",
    "GcsSigning",
    "SigningMode",
    "access_token",
    "bucket_url",
    "clear_signer_cache",
    "endpoint_of",
    "is_local",
    "object_url",
    "presign_bucket_url",
    "presign_object_url",
    "presign_upload",
    "refuse_service_identity",
    "resolve_signing",
    "sign_blob",
    "start_resumable",
]
