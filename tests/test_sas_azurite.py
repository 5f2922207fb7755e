"""byos SAS URLs against Azurite, which checks SAS signatures, permissions, time windows and protocol."""

from __future__ import annotations

import base64
import ipaddress
import json
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests
from azure.core.credentials import AccessToken
from azure.storage.blob import AccessPolicy, BlobServiceClient, ContainerClient
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from byos.signing.sas import BlobSas, BlobSasSigner, UserDelegationKey, block_id, block_list_body, plan_blocks
from tests.servers import AzuriteServer
from tests.servers.base import port_accepts

pytestmark = pytest.mark.emulator

BODY = b"id,name\n1,Ada\n2,Grace\n"
TIMEOUT = 10
PUT_HEADERS = {
    "x-ms-blob-type": "BlockBlob",
    "If-None-Match": "*",
    "x-ms-blob-content-type": "text/csv",
    "x-ms-meta-original_filename": "Q3 report.csv",
}
MINUTES = timedelta(minutes=5)


@pytest.fixture(scope="module")
def container(azurite: Any) -> Iterator[ContainerClient]:
    service = BlobServiceClient.from_connection_string(azurite.connection_string)
    client = service.create_container(f"sas-{uuid.uuid4().hex[:12]}")
    yield client
    client.delete_container()


@pytest.fixture(scope="module")
def signer(azurite: Any) -> BlobSasSigner:
    return BlobSasSigner(
        azurite.account_name, account_key=azurite.account_key, endpoint=azurite.blob_endpoint
    )


def sign(signer: BlobSasSigner, container: ContainerClient, blob: str, **kwargs: Any) -> BlobSas:
    options: dict[str, Any] = {"now": datetime.now(UTC), "expires": MINUTES}
    options.update(kwargs)
    return signer.sign(container.container_name, blob, **options)


def put(url: str, body: bytes = BODY, headers: dict[str, str] | None = None) -> requests.Response:
    return requests.put(url, data=body, headers=PUT_HEADERS if headers is None else headers, timeout=TIMEOUT)


def with_query_param(url: str, name: str, value: str) -> str:
    parts = urlsplit(url)
    pairs = [p if not p.startswith(name + "=") else f"{name}={value}" for p in parts.query.split("&")]
    return urlunsplit(parts._replace(query="&".join(pairs)))


def test_upload_is_created_and_nothing_else_is_allowed(
    azurite: Any, signer: BlobSasSigner, container: ContainerClient
) -> None:
    blob = f"raw/{uuid.uuid4().hex}/Q3 report +é😀.csv"
    sas = sign(signer, container, blob)
    answer = put(sas.url)
    assert answer.status_code == 201, answer.text
    stored = container.get_blob_client(blob)
    assert stored.download_blob().readall() == BODY
    properties = stored.get_blob_properties()
    assert properties.content_settings.content_type == "text/csv"
    assert properties.metadata == {"original_filename": "Q3 report.csv"}

    for method in ("GET", "HEAD", "DELETE"):
        assert requests.request(method, sas.url, timeout=TIMEOUT).status_code == 403, method
    listing = f"{azurite.blob_endpoint}/{container.container_name}?restype=container&comp=list&{sas.token}"
    assert requests.get(listing, timeout=TIMEOUT).status_code == 403
    assert stored.exists()


def test_create_only_sas_cannot_overwrite(signer: BlobSasSigner, container: ContainerClient) -> None:
    blob = f"once/{uuid.uuid4().hex}.csv"
    sas = sign(signer, container, blob)
    assert put(sas.url).status_code == 201
    assert put(sas.url, b"replaced", {"x-ms-blob-type": "BlockBlob"}).status_code == 403
    assert put(sas.url, b"replaced").status_code in {403, 409}
    assert container.get_blob_client(blob).download_blob().readall() == BODY


def test_overwrite_sas_replaces_unless_if_none_match(
    signer: BlobSasSigner, container: ContainerClient
) -> None:
    blob = f"again/{uuid.uuid4().hex}.csv"
    sas = sign(signer, container, blob, overwrite=True)
    assert put(sas.url).status_code == 201
    assert put(sas.url, b"second").status_code == 409
    assert put(sas.url, b"second", {"x-ms-blob-type": "BlockBlob"}).status_code == 201
    assert container.get_blob_client(blob).download_blob().readall() == b"second"


def test_missing_blob_type_is_refused(signer: BlobSasSigner, container: ContainerClient) -> None:
    sas = sign(signer, container, f"typeless/{uuid.uuid4().hex}")
    assert put(sas.url, headers={}).status_code == 400


def test_tampered_sas_is_refused(signer: BlobSasSigner, container: ContainerClient) -> None:
    name = uuid.uuid4().hex
    blob = f"tamper/{name}.csv"
    sas = sign(signer, container, blob)
    signature = sas.token.rsplit("sig=", 1)[1]
    flipped = ("B" if signature[0] == "A" else "A") + signature[1:]
    assert put(with_query_param(sas.url, "sig", flipped)).status_code == 403
    assert put(with_query_param(sas.url, "sp", "cw")).status_code == 403
    later = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT%H%%3A%M%%3A%SZ")
    assert put(with_query_param(sas.url, "se", later)).status_code == 403
    other = sas.url.replace(f"/{name}.csv?", "/other.csv?")
    assert other != sas.url
    assert put(other).status_code == 403
    assert not container.get_blob_client(blob).exists()
    assert not container.get_blob_client("tamper/other.csv").exists()


def test_wrong_key_is_refused(azurite: Any, container: ContainerClient) -> None:
    wrong = BlobSasSigner(azurite.account_name, account_key="d3Jvbmcga2V5", endpoint=azurite.blob_endpoint)
    assert put(sign(wrong, container, f"wrong/{uuid.uuid4().hex}").url).status_code == 403


def test_sas_outside_its_window_is_refused(signer: BlobSasSigner, container: ContainerClient) -> None:
    now = datetime.now(UTC)
    expired = sign(
        signer, container, f"late/{uuid.uuid4().hex}", now=now - timedelta(hours=1), expires=MINUTES
    )
    assert put(expired.url).status_code == 403
    early = sign(
        signer,
        container,
        f"early/{uuid.uuid4().hex}",
        now=now + timedelta(hours=1),
        start_backdate=timedelta(0),
    )
    assert put(early.url).status_code == 403
    fresh = sign(signer, container, f"fresh/{uuid.uuid4().hex}", now=now + timedelta(minutes=2))
    assert put(fresh.url).status_code == 201, "the backdated start lets a client whose clock is behind upload"


def test_https_only_sas_is_refused_over_http(azurite: Any, container: ContainerClient) -> None:
    https_signer = BlobSasSigner(
        azurite.account_name,
        account_key=azurite.account_key,
        endpoint=azurite.blob_endpoint.replace("http://", "https://", 1),
    )
    sas = sign(https_signer, container, f"tls/{uuid.uuid4().hex}")
    assert "spr=https&" in sas.token
    assert put(sas.url.replace("https://", "http://", 1)).status_code == 403


def test_block_upload_is_staged_and_committed(signer: BlobSasSigner, container: ContainerClient) -> None:
    blob = f"blocks/{uuid.uuid4().hex}/big file.bin"
    data = bytes(range(256)) * 10
    plan = plan_blocks(len(data), min_block_size=1000)
    assert plan.count == 3
    sas = sign(signer, container, blob, block_upload=True)
    create_only = sign(signer, container, blob)
    assert requests.put(create_only.put_block_url(block_id(0)), data=b"x", timeout=TIMEOUT).status_code == 403
    for block in plan.blocks():
        chunk = data[block.offset : block.offset + block.length]
        answer = requests.put(sas.put_block_url(block.block_id), data=chunk, timeout=TIMEOUT)
        assert answer.status_code == 201, answer.text
    assert not container.get_blob_client(blob).exists()
    commit_headers = {
        "If-None-Match": "*",
        "x-ms-blob-content-type": "application/octet-stream",
        "x-ms-meta-original_filename": "big file.bin",
    }
    body = block_list_body(plan.block_ids())
    answer = requests.put(sas.put_block_list_url(), data=body, headers=commit_headers, timeout=TIMEOUT)
    assert answer.status_code == 201, answer.text
    stored = container.get_blob_client(blob)
    assert stored.download_blob().readall() == data
    assert stored.get_blob_properties().metadata == {"original_filename": "big file.bin"}
    again = requests.put(sas.put_block_list_url(), data=body, headers=commit_headers, timeout=TIMEOUT)
    assert again.status_code == 409
    assert requests.get(sas.url, timeout=TIMEOUT).status_code == 403


def test_stored_access_policy_sets_terms_and_revokes(
    signer: BlobSasSigner, container: ContainerClient
) -> None:
    expiry = datetime.now(UTC) + timedelta(minutes=10)
    container.set_container_access_policy(
        signed_identifiers={"byos-upload": AccessPolicy(permission="c", expiry=expiry)}
    )
    sas = sign(
        signer,
        container,
        f"policy/{uuid.uuid4().hex}.csv",
        expires=None,
        stored_access_policy="byos-upload",
        policy_sets_permission=True,
        policy_sets_expiry=True,
    )
    assert "sp=" not in sas.token
    assert "se=" not in sas.token
    assert put(sas.url).status_code == 201
    assert requests.get(sas.url, timeout=TIMEOUT).status_code == 403
    container.set_container_access_policy(signed_identifiers={})
    revoked = sas.url.replace(".csv?", "-2.csv?")
    assert put(revoked).status_code == 403


def _self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


class _OAuthAzurite(AzuriteServer):
    """Azurite over HTTPS with basic OAuth, so it serves user delegation keys and checks delegation SAS."""

    def __init__(self, cert_path: Path, key_path: Path) -> None:
        super().__init__(use_container=False)
        self.cert_path, self.key_path = cert_path, key_path

    def command(self) -> list[str]:
        oauth = ["--oauth", "basic", "--cert", str(self.cert_path), "--key", str(self.key_path)]
        return [*super().command(), *oauth]

    def is_ready(self) -> bool:
        return port_accepts(self.port)

    @property
    def https_endpoint(self) -> str:
        return self.blob_endpoint.replace("http://", "https://", 1)


class _UnsignedToken:
    """A token credential whose JWT Azurite's basic OAuth accepts (it checks claims, not the signature)."""

    def get_token(self, *_scopes: str, **_options: Any) -> AccessToken:
        now = int(time.time())
        claims = {
            "aud": "https://storage.azure.com",
            "iss": "https://sts.windows.net/22222222-2222-2222-2222-222222222222/",
            "iat": now - 60,
            "nbf": now - 60,
            "exp": now + 3600,
            "oid": "11111111-1111-1111-1111-111111111111",
            "tid": "22222222-2222-2222-2222-222222222222",
        }

        def part(value: dict[str, Any]) -> str:
            return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

        return AccessToken(f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(claims)}.c2ln", now + 3600)


@pytest.fixture(scope="module")
def oauth_azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_OAuthAzurite]:
    cert_path, key_path = _self_signed_certificate(tmp_path_factory.mktemp("azurite-tls"))
    server = _OAuthAzurite(cert_path, key_path).start()
    yield server
    server.stop()


def test_user_delegation_sas_round_trip(oauth_azurite: _OAuthAzurite) -> None:
    service = BlobServiceClient(
        oauth_azurite.https_endpoint,
        credential=_UnsignedToken(),
        connection_verify=str(oauth_azurite.cert_path),
    )
    container = service.create_container(f"ud-{uuid.uuid4().hex[:12]}")
    now = datetime.now(UTC)
    sdk_key = service.get_user_delegation_key(now - timedelta(minutes=1), now + timedelta(hours=1))
    key = UserDelegationKey.from_sdk(sdk_key)
    signer = BlobSasSigner(
        oauth_azurite.account_name, user_delegation_key=key, endpoint=oauth_azurite.https_endpoint
    )
    verify = str(oauth_azurite.cert_path)
    blob = f"raw/{uuid.uuid4().hex}/Q3 report +é😀.csv"
    sas = signer.sign(container.container_name, blob, now=now, expires=MINUTES)
    assert "skoid=11111111-1111-1111-1111-111111111111&" in sas.token
    assert (
        requests.put(sas.url, data=BODY, headers=PUT_HEADERS, timeout=TIMEOUT, verify=verify).status_code
        == 201
    )
    assert container.get_blob_client(blob).download_blob().readall() == BODY
    for method in ("GET", "HEAD", "DELETE"):
        assert requests.request(method, sas.url, timeout=TIMEOUT, verify=verify).status_code == 403, method
    overwrite = requests.put(
        sas.url, data=b"x", headers={"x-ms-blob-type": "BlockBlob"}, timeout=TIMEOUT, verify=verify
    )
    assert overwrite.status_code == 403
    signature = sas.token.rsplit("sig=", 1)[1]
    flipped = ("B" if signature[0] == "A" else "A") + signature[1:]
    other = sas.url.replace("Q3%20report", "Q4%20report")
    for refused in (with_query_param(sas.url, "sig", flipped), with_query_param(sas.url, "sp", "cw"), other):
        answer = requests.put(refused, data=BODY, headers=PUT_HEADERS, timeout=TIMEOUT, verify=verify)
        assert answer.status_code == 403
    wrong = BlobSasSigner(
        oauth_azurite.account_name,
        user_delegation_key=key._replace(value=base64.b64encode(b"w" * 32).decode()),
        endpoint=oauth_azurite.https_endpoint,
    )
    wrong_sas = wrong.sign(container.container_name, f"wrong/{uuid.uuid4().hex}", now=now, expires=MINUTES)
    assert (
        requests.put(
            wrong_sas.url, data=BODY, headers=PUT_HEADERS, timeout=TIMEOUT, verify=verify
        ).status_code
        == 403
    )
    container.delete_container()
