"""AWS S3: credentials, write-only presigned uploads (PUT, POST, multipart) and the calls multipart needs.

Static keys (with or without a session token) sign without boto3. A profile or the default chain (SSO,
instance roles, environment) use botocore (``byos[s3]``), in a worker abandoned at the deadline; the
customer's role (with an ExternalId) is assumed by byos itself at the cloud's own STS
(:mod:`byos.providers.sts`), with the destination's keys or the chain's as the base. Temporary
credentials are cached, refreshed single-flight five minutes before they expire, and no URL outlives them.

Multipart uploads are created, completed and aborted server side with short-lived presigned requests sent
over plain HTTP: ``CreateMultipartUpload`` and ``CompleteMultipartUpload`` need only ``s3:PutObject``,
``AbortMultipartUpload`` needs ``s3:AbortMultipartUpload``.

The parts: ``s3_credentials`` (credentials and signers), ``s3_presign`` (PUT and POST) and
``s3_multipart`` (multipart uploads); this module names them all. ``s3_requests`` holds the setup checker's
header-signed calls.
"""

from __future__ import annotations

from byos.providers.s3_credentials import (
    AWS_ENDPOINT_SUFFIXES,
    NAME,
    REFRESH_MARGIN,
    ROLE_DURATION_SECONDS,
    STS_TIMEOUT,
    AwsCredentials,
    clear_credential_cache,
    owner_headers,
    refuse_service_identity,
    resolve_credentials,
    signer_for,
)
from byos.providers.s3_multipart import (
    DEFAULT_PART_BYTES,
    MAX_OBJECT_BYTES,
    MIN_PART_BYTES,
    SERVER_CALL_EXPIRES,
    MultipartUpload,
    abort_multipart,
    complete_body,
    complete_multipart,
    plan_parts,
    presign_abort,
    presign_complete,
    start_multipart,
)
from byos.providers.s3_presign import presign_upload

__all__ = [
    "AWS_ENDPOINT_SUFFIXES",
    "DEFAULT_PART_BYTES",
    "MAX_OBJECT_BYTES",
    "MIN_PART_BYTES",
    "NAME",
    "REFRESH_MARGIN",
    "ROLE_DURATION_SECONDS",
    "SERVER_CALL_EXPIRES",
    "STS_TIMEOUT",
    "AwsCredentials",
    "MultipartUpload",
    "abort_multipart",
    "clear_credential_cache",
    "complete_body",
    "complete_multipart",
    "owner_headers",
    "plan_parts",
    "presign_abort",
    "presign_complete",
    "presign_upload",
    "refuse_service_identity",
    "resolve_credentials",
    "signer_for",
    "start_multipart",
]
