"""Azure uploads made by the library and sent with plain HTTP to Azurite, which checks SAS and permissions.

The signer's own Azurite tests (tests/test_sas_azurite.py) cover every refusal in depth; these prove the
provider glue: headers, metadata names, write-once, block uploads and user delegation through azure-identity.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
import requests
from azure.storage.blob import BlobServiceClient, ContainerClient

from byos.models import UploadOptions
from byos.providers import azure, azure_entra
from byos.uploads import presign_upload
from tests.azure_helpers import (
    OAuthAzurite,
    UnsignedToken,
    destination,
    new_container,
    send,
    service,
    start_oauth_azurite,
)
from tests.servers import AzuriteServer

pytestmark = pytest.mark.emulator

BODY = b"id,name\n1,Ada\n2,Grace\n"
TIMEOUT = 10


@pytest.fixture(autouse=True)
def _fresh_caches() -> Iterator[None]:
    azure.clear_caches()
    yield
    azure.clear_caches()


@pytest.fixture(scope="module")
def container(azurite: AzuriteServer) -> Iterator[ContainerClient]:
    name = new_container(azurite)
    client = service(azurite).get_container_client(name)
    yield client
    client.delete_container()


def test_upload_is_created_with_type_and_original_name(
    azurite: AzuriteServer, container: ContainerClient
) -> None:
    dest = destination(azurite, container.container_name)
    request = presign_upload(
        dest, "Q3 report é+😀.csv", content_type="text/csv", metadata={"tenant-id": "acme"}
    )

    answer = send(request, BODY)

    assert answer.status_code == 201, answer.text
    stored = container.get_blob_client(request.key)
    assert stored.download_blob().readall() == BODY
    properties = stored.get_blob_properties()
    assert properties.content_settings.content_type == "text/csv"
    assert properties.metadata == {
        "original_filename": "Q3 report %C3%A9+%F0%9F%98%80.csv",
        "tenant_id": "acme",
    }
    assert unquote(properties.metadata["original_filename"]) == "Q3 report é+😀.csv"
    for method in ("GET", "HEAD", "DELETE"):
        assert requests.request(method, request.url, timeout=TIMEOUT).status_code == 403, method
    listing = (
        f"{dest.blob_endpoint}/{dest.container}?restype=container&comp=list&{urlsplit(request.url).query}"
    )
    assert requests.get(listing, timeout=TIMEOUT).status_code == 403
    assert stored.exists()


def test_hyphenated_metadata_names_are_what_azure_refuses(
    azurite: AzuriteServer, container: ContainerClient
) -> None:
    request = presign_upload(destination(azurite, container.container_name), "a.csv")
    headers = {**request.headers, "x-ms-meta-original-filename": "a.csv"}
    del headers["x-ms-meta-original_filename"]
    answer = send(request, BODY, headers=headers)
    assert answer.status_code == 400
    assert answer.headers["x-ms-error-code"] == "InvalidMetadata"


def test_content_md5_is_verified(azurite: AzuriteServer, container: ContainerClient) -> None:
    dest = destination(azurite, container.container_name)
    digest = base64.b64encode(hashlib.md5(BODY).digest()).decode()  # noqa: S324  (Azure's checksum)
    good = presign_upload(dest, "a.csv", content_md5=digest)
    assert send(good, BODY).status_code == 201
    bad = presign_upload(dest, "b.csv", content_md5=digest)
    answer = send(bad, BODY + b"tampered")
    assert answer.status_code == 400
    assert answer.headers["x-ms-error-code"] == "Md5Mismatch"
    assert not container.get_blob_client(bad.key).exists()


def test_write_once_refuses_an_overwrite(azurite: AzuriteServer, container: ContainerClient) -> None:
    dest = destination(azurite, container.container_name)
    request = presign_upload(dest, "once.csv")
    assert send(request, BODY).status_code == 201
    # Create-only (c) permission: Azurite refuses the overwrite on permission before the condition.
    again = send(request, b"replaced")
    assert (again.status_code, again.headers["x-ms-error-code"]) == (403, "AuthorizationPermissionMismatch")
    without_condition = {k: v for k, v in request.headers.items() if k != "If-None-Match"}
    assert send(request, b"replaced", headers=without_condition).status_code == 403
    # With write permission the condition itself refuses: 409 BlobAlreadyExists.
    writable = presign_upload(dest, "once.csv", overwrite=True, upload_id=_upload_id(request.key))
    assert writable.key == request.key
    conditional = send(writable, b"replaced", headers={**writable.headers, "If-None-Match": "*"})
    assert (conditional.status_code, conditional.headers["x-ms-error-code"]) == (409, "BlobAlreadyExists")
    assert container.get_blob_client(request.key).download_blob().readall() == BODY


def test_overwrite_replaces_when_asked(azurite: AzuriteServer, container: ContainerClient) -> None:
    dest = destination(azurite, container.container_name)
    request = presign_upload(dest, "again.csv", overwrite=True)
    assert send(request, BODY).status_code == 201
    assert send(request, b"second").status_code == 201
    assert container.get_blob_client(request.key).download_blob().readall() == b"second"


def test_tampered_expired_and_moved_urls_are_refused(
    azurite: AzuriteServer, container: ContainerClient
) -> None:
    dest = destination(azurite, container.container_name)
    request = presign_upload(dest, "t.csv")
    signature = urlsplit(request.url).query.rsplit("sig=", 1)[1]
    flipped = ("B" if signature[0] == "A" else "A") + signature[1:]
    tampered = request.url.replace(f"sig={signature}", f"sig={flipped}")
    assert (
        requests.put(tampered, data=BODY, headers=dict(request.headers), timeout=TIMEOUT).status_code == 403
    )
    moved = request.url.replace("-t.csv?", "-u.csv?")
    assert moved != request.url
    assert requests.put(moved, data=BODY, headers=dict(request.headers), timeout=TIMEOUT).status_code == 403
    expired = presign_upload(
        dest, "t.csv", expires=timedelta(minutes=5), now=datetime.now(UTC) - timedelta(hours=1)
    )
    assert send(expired, BODY).status_code == 403
    assert list(container.list_blobs(name_starts_with=request.key.rsplit("-", 1)[0])) == []


def test_block_upload_is_staged_then_committed_once(
    azurite: AzuriteServer, container: ContainerClient
) -> None:
    dest = destination(azurite, container.container_name)
    data = bytes(range(256)) * 10
    upload = azure.start_block_upload(
        dest,
        UploadOptions(filename="big file.bin", content_type="application/octet-stream"),
        len(data),
        min_block_size=1000,
    )
    assert upload.plan.count == 3
    for block, request in zip(upload.plan.blocks(), upload.blocks, strict=True):
        chunk = data[block.offset : block.offset + block.length]
        answer = requests.put(request.url, data=chunk, headers=dict(request.headers), timeout=TIMEOUT)
        assert answer.status_code == 201, answer.text
    stored = container.get_blob_client(upload.key)
    assert not stored.exists()

    commit = requests.put(
        upload.commit.url, data=upload.commit_body, headers=dict(upload.commit.headers), timeout=TIMEOUT
    )

    assert commit.status_code == 201, commit.text
    assert stored.download_blob().readall() == data
    properties = stored.get_blob_properties()
    assert properties.metadata == {"original_filename": "big file.bin"}
    assert properties.content_settings.content_type == "application/octet-stream"
    again = requests.put(
        upload.commit.url, data=upload.commit_body, headers=dict(upload.commit.headers), timeout=TIMEOUT
    )
    assert (again.status_code, again.headers["x-ms-error-code"]) == (409, "BlobAlreadyExists")
    # Why write-once of a block upload rests on If-None-Match: its cw SAS can replace the blob outright.
    sas_url = upload.commit.url.removesuffix("&comp=blocklist")
    replaced = requests.put(sas_url, data=b"x", headers={"x-ms-blob-type": "BlockBlob"}, timeout=TIMEOUT)
    assert replaced.status_code == 201
    assert requests.get(sas_url, timeout=TIMEOUT).status_code == 403


def _upload_id(key: str) -> str:
    return key.rsplit("/", 1)[-1][:36]


# --- user delegation through azure-identity's token credential protocol, on HTTPS Azurite ---


@pytest.fixture(scope="module")
def oauth_azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OAuthAzurite]:
    server = start_oauth_azurite(tmp_path_factory.mktemp("azurite-tls"))
    yield server
    server.stop()


@pytest.fixture
def delegated(oauth_azurite: OAuthAzurite, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A destination without an account key on HTTPS Azurite, signing with a delegation key fetched there."""
    monkeypatch.setattr(azure_entra, "token_credential", lambda _destination: UnsignedToken())
    monkeypatch.setenv("SSL_CERT_FILE", str(oauth_azurite.cert_path))  # byos's own key fetch trusts it
    client = BlobServiceClient(
        oauth_azurite.https_endpoint,
        credential=UnsignedToken(),
        connection_verify=str(oauth_azurite.cert_path),
    )
    name = f"byos-{uuid.uuid4().hex[:12]}"
    created = client.create_container(name)
    yield (
        destination(oauth_azurite, name, endpoint_url=oauth_azurite.https_endpoint, account_key=None),
        created,
    )
    created.delete_container()


def test_user_delegation_sas_uploads_and_never_outlives_its_key(
    oauth_azurite: OAuthAzurite, delegated: Any
) -> None:
    dest, container = delegated
    verify = str(oauth_azurite.cert_path)
    request = presign_upload(dest, "Q3 report.csv", content_type="text/csv", expires=timedelta(hours=2))
    signing = azure.resolve_signing(dest)

    answer = send(request, BODY, verify=verify)

    assert answer.status_code == 201, answer.text
    assert "skoid=11111111-1111-1111-1111-111111111111&" in request.url
    assert signing.expires_at is not None
    assert request.expires_at <= signing.expires_at
    assert signing.expires_at - datetime.now(UTC) > timedelta(hours=23)
    stored = container.get_blob_client(request.key)
    assert stored.download_blob().readall() == BODY
    assert stored.get_blob_properties().metadata == {"original_filename": "Q3 report.csv"}
    assert requests.get(request.url, timeout=TIMEOUT, verify=verify).status_code == 403
    again = send(request, b"replaced", verify=verify)
    assert again.status_code == 403
    later = presign_upload(dest, "b.csv")
    assert azure.resolve_signing(dest) is signing, "the delegation key is cached"
    assert send(later, BODY, verify=verify).status_code == 201
