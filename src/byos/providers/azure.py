"""Azure Blob Storage: signing modes, write-only SAS uploads (single PUT and block uploads), server calls.

Two ways to sign, chosen from the destination:

1. ``account_key``: a service SAS signed locally with the standard library; no SDK is imported. The account
   key is full control of the storage account, so the setup checker warns about it.
2. Otherwise a user delegation SAS (what Microsoft recommends): a Microsoft Entra token credential from
   azure-identity (``ClientSecretCredential`` when ``tenant_id``, ``client_id`` and ``client_secret`` are set,
   else ``DefaultAzureCredential``: environment, workload identity, managed identity, developer sign-in)
   authorises byos's own Get User Delegation Key request (``byos[azure]``). The key is valid for a day (longer
   when a URL asks for more, at most 7 days), cached per destination, refreshed when less than the requested
   lifetime plus five minutes remains, and every URL is signed locally with it. No URL outlives its key:
   ``expires_at`` is the true expiry.

Every URL is blob-scoped (``sr=b``) with create-only permission (``c``), so it can write one new blob and
nothing else: no read, list, delete or overwrite. ``overwrite=True`` signs ``cw``. A stored access policy
(``stored_access_policy``, account keys only) adds ``si`` so the customer can revoke every URL by deleting
the policy; create it with an identifier only (no permission, no expiry: byos signs those per URL).

What an Azure SAS cannot do, and what byos does about it:

- Azure has no browser form upload: ``method="POST"`` is refused; use PUT.
- A SAS does not sign headers, so it cannot lock the size: ``content_length``, ``min_bytes`` and ``max_bytes``
  are refused, and ``max_upload_bytes`` is checked only for block uploads (whose size is declared). Check the
  blob's size after the upload.
- Put Blob verifies ``Content-MD5`` (``content_md5`` is sent as that header; Azure answers 400 Md5Mismatch
  when the body differs) but not SHA-256: ``checksum_sha256`` is refused.
- Metadata names must be C# identifiers, so ``-`` in byos metadata names becomes ``_``: the original file
  name is stored as ``x-ms-meta-original_filename`` (percent-encoded ASCII, see
  :func:`byos.keys.metadata_filename`). A name starting with a digit is refused.

Write-once: a single PUT sends ``If-None-Match: *`` and its ``c`` permission cannot overwrite anyway. Block
uploads (:func:`start_block_upload`) need write permission (``cw``) for Put Block, so the same SAS could
replace an existing blob with a plain Put Blob; write-once then rests on the client sending the returned
``If-None-Match: *`` with Put Block List, and on the blob name being fresh (a new upload id). Keep
block-upload lifetimes short.

The parts: ``azure_entra`` (the destination check, Microsoft Entra credentials), ``azure_delegation``
(signing modes, delegation keys), ``azure_presign`` (Put Blob), ``azure_blocks`` (block uploads) and
``azure_requests`` (the setup checker's requests); this module names them all.
"""

from __future__ import annotations

from byos.providers.azure_blocks import BlockUpload, start_block_upload
from byos.providers.azure_delegation import (
    KEY_BACKDATE,
    KEY_LIFETIME,
    KEY_REUSE,
    MAX_KEY_LIFETIME,
    REFRESH_MARGIN,
    X_MS_VERSION,
    AzureSigning,
    clear_caches,
    fetch_delegation_key,
    resolve_signing,
)
from byos.providers.azure_entra import (
    AZURE_BLOB_SUFFIXES,
    NAME,
    SDK_TIMEOUT,
    STORAGE_SCOPE,
    access_token,
    refuse_service_identity,
    token_credential,
)
from byos.providers.azure_presign import metadata_headers, metadata_name, presign_upload
from byos.providers.azure_requests import (
    MANAGEMENT_API_VERSION,
    MANAGEMENT_ENDPOINT,
    MANAGEMENT_SCOPE,
    account_resource_url,
    authorization_headers,
    blob_url,
    delegation_sas,
)

__all__ = [
    "AZURE_BLOB_SUFFIXES",
    "KEY_BACKDATE",
    "KEY_LIFETIME",
    "KEY_REUSE",
    "MANAGEMENT_API_VERSION",
    "MANAGEMENT_ENDPOINT",
    "MANAGEMENT_SCOPE",
    "MAX_KEY_LIFETIME",
    "NAME",
    "REFRESH_MARGIN",
    "SDK_TIMEOUT",
    "STORAGE_SCOPE",
    "X_MS_VERSION",
    "AzureSigning",
    "BlockUpload",
    "access_token",
    "account_resource_url",
    "authorization_headers",
    "blob_url",
    "clear_caches",
    "delegation_sas",
    "fetch_delegation_key",
    "metadata_headers",
    "metadata_name",
    "presign_upload",
    "refuse_service_identity",
    "resolve_signing",
    "start_block_upload",
    "token_credential",
]
