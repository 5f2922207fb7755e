"""The import service's own identity never reaches a tenant's endpoint: one recording server per provider.

Each test plants the service's identity where byos would find it (base AWS keys in the environment, Google
default credentials with a bearer token, a Microsoft Entra token credential), points a destination at a
recording HTTPS server under a tenant's host name (``storage.tenant.test``, resolved to 127.0.0.1 by the test
resolver), runs ``check_setup`` and a presign, and fails if any planted secret appears in anything the server
saw. A control destination with the tenant's own credentials reaches the same server, so the recorder is
shown to record.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from byos.checker import check_setup
from byos.config import Destination, S3Destination, destination_from_dict
from byos.errors import CredentialsError
from byos.models import Report, Status
from byos.providers import azure, azure_entra, gcs, gcs_signing
from byos.providers import s3 as s3_provider
from byos.uploads import presign_upload
from tests.conftest import FAKE_DNS
from tests.gcs_helpers import fake_iam, keyless
from tests.hostile_servers import RecordingServer, tls_certificate
from tests.servers import MotoServer

TENANT_HOST = "storage.tenant.test"
SERVICE_KEY_ID = "AKIASERVICEBASEKEY01"
SERVICE_SECRET = "service-base-secret-" + "7a1f0c9e3b5d"
SERVICE_ADC_TOKEN = "ya29.SERVICE-ADC-TOKEN-" + "4c2e8a"
SERVICE_ENTRA_TOKEN = "eyJ.SERVICE-ENTRA-TOKEN-" + "9d3b1f"
TENANT_SECRET = "tenant-own-secret-" + "1b2c3d"


@pytest.fixture
def recorder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[RecordingServer]:
    cert = tls_certificate(tmp_path, TENANT_HOST)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert[0]))
    FAKE_DNS[TENANT_HOST] = ["127.0.0.1"]
    with RecordingServer(cert) as server:
        yield server


def tenant_endpoint(server: RecordingServer) -> str:
    return f"https://{TENANT_HOST}:{server.port}"


def run_check(destination: Destination) -> Report:
    report = check_setup(destination, timeout=3, deadline=10)
    assert report.checks, report
    return report


def assert_never_seen(server: RecordingServer, *secrets: str) -> None:
    seen = server.everything()
    for secret in secrets:
        assert secret not in seen, f"{secret[:12]}… reached the tenant's endpoint"


def credentials_failure(report: Report) -> str:
    found = {c.id: c for c in report.checks}["credentials"]
    assert found.status is Status.FAIL, found
    return found.message


# --- S3 ---


@pytest.fixture
def service_aws_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """The import service's own base keys, where the default credential chain finds them."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", SERVICE_KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SERVICE_SECRET)
    s3_provider.clear_credential_cache()


def s3_destination(endpoint: str, **settings: Any) -> Destination:
    values = {"provider": "s3", "bucket": "acme-imports", "region": "eu-west-1", "endpoint_url": endpoint}
    return destination_from_dict({**values, **settings}, env=False)


@pytest.mark.usefixtures("service_aws_keys")
def test_s3_chain_credentials_never_go_to_a_tenant_endpoint(recorder: RecordingServer) -> None:
    destination = s3_destination(tenant_endpoint(recorder))

    report = run_check(destination)
    assert_never_seen(recorder, SERVICE_KEY_ID, SERVICE_SECRET)
    with pytest.raises(CredentialsError) as presigning:
        presign_upload(destination, "a.csv")

    expected = f"endpoint_url: {TENANT_HOST} is not an AWS endpoint, and byos never presents"
    assert credentials_failure(report).startswith(expected)
    assert str(presigning.value).startswith(expected)
    assert_never_seen(recorder, SERVICE_KEY_ID, SERVICE_SECRET)
    own = s3_destination(
        tenant_endpoint(recorder), access_key_id="AKIATENANTOWNKEY0001", secret_access_key=TENANT_SECRET
    )
    run_check(own)
    assert "AKIATENANTOWNKEY0001/" in recorder.everything()  # the tenant's own key does reach its endpoint
    assert_never_seen(recorder, SERVICE_KEY_ID, SERVICE_SECRET, TENANT_SECRET)


@pytest.mark.emulator
@pytest.mark.usefixtures("service_aws_keys")
def test_s3_role_is_assumed_at_the_deployments_sts_not_at_the_tenant_endpoint(
    recorder: RecordingServer, moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BYOS_STS_ENDPOINT_URL", moto_server.endpoint)
    destination = s3_destination(
        tenant_endpoint(recorder),
        role_arn="arn:aws:iam::123456789012:role/acme-uploader",
        external_id="acme-1",
    )

    report = run_check(destination)
    assert isinstance(destination, S3Destination)
    assumed = s3_provider.resolve_credentials(destination)  # cached by the check: what it signed with

    assert {c.id: c.status for c in report.checks}["credentials"] is Status.PASS
    assert assumed.source == "role"
    assert assumed.access_key_id != SERVICE_KEY_ID
    seen = recorder.everything()
    assert f"Credential={assumed.access_key_id}/" in seen  # the role's session is the destination's own
    assert "Action=AssumeRole" not in seen
    assert_never_seen(recorder, SERVICE_KEY_ID, SERVICE_SECRET)
    s3_provider.clear_credential_cache()


# --- GCS ---


@dataclass
class ServiceAdc:
    """Google default credentials of the import service, with a valid bearer token."""

    token: str = SERVICE_ADC_TOKEN
    valid: bool = True
    service_account_email: str = "importer@service-project.iam.gserviceaccount.com"

    def refresh(self, request: Any) -> None:
        """Never needed: the token is valid."""

    def sign_bytes(self, _message: bytes) -> bytes:
        return b"service-signature"


@pytest.fixture
def service_adc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gcs_signing, "_default_credentials", lambda **_: ServiceAdc())
    gcs.clear_signer_cache()


def gcs_destination(endpoint: str, **settings: Any) -> Destination:
    values = {"provider": "gcs", "bucket": "acme-imports", "location": "EU", "endpoint_url": endpoint}
    return destination_from_dict({**values, **settings}, env=False)


def check_gcs_refusal(recorder: RecordingServer, destination: Destination, token: str) -> None:
    report = run_check(destination)
    assert_never_seen(recorder, token, "Bearer ", "service-signature")
    with pytest.raises(CredentialsError) as presigning:
        presign_upload(destination, "a.csv")

    expected = f"endpoint_url: {TENANT_HOST} is not a Google endpoint, and byos never presents"
    assert credentials_failure(report).startswith(expected)
    assert str(presigning.value).startswith(expected)
    assert_never_seen(recorder, token, "Bearer ", "service-signature")
    own = gcs_destination(
        tenant_endpoint(recorder), hmac_access_id="GOOG1ETENANTOWN", hmac_secret=TENANT_SECRET
    )
    run_check(own)
    assert "GOOG1ETENANTOWN" in recorder.everything()
    assert_never_seen(recorder, token, "Bearer ", TENANT_SECRET)
    gcs.clear_signer_cache()


def test_gcs_keyless_signing_never_sends_the_adc_token_to_a_tenant_endpoint(
    recorder: RecordingServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gcs.clear_signer_cache()
    with fake_iam() as iam:  # ADC and signBlob that work: only the endpoint policy stands in the way
        keyed = keyless(monkeypatch, tmp_path, iam)
        destination = gcs_destination(
            tenant_endpoint(recorder), service_account_email=keyed.service_account_email
        )
        check_gcs_refusal(recorder, destination, iam.token)
    assert iam.sign_calls == []  # not even signed: refused before anything was sent


@pytest.mark.usefixtures("service_adc")
def test_gcs_default_credentials_never_go_to_a_tenant_endpoint(recorder: RecordingServer) -> None:
    check_gcs_refusal(recorder, gcs_destination(tenant_endpoint(recorder)), SERVICE_ADC_TOKEN)


# --- Azure ---


class ServiceEntraToken:
    """The import service's Microsoft Entra token credential."""

    def get_token(self, *_scopes: str, **_options: Any) -> Any:
        return type("Token", (), {"token": SERVICE_ENTRA_TOKEN, "expires_on": 2**31})()


def test_azure_entra_tokens_never_go_to_a_tenant_endpoint(
    recorder: RecordingServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(azure_entra, "token_credential", lambda *_a, **_k: ServiceEntraToken())
    azure.clear_caches()
    values = {
        "provider": "azure",
        "account_name": "acme",
        "container": "imports",
        "endpoint_url": f"{tenant_endpoint(recorder)}/acme",
        "tenant_id": "22222222-2222-2222-2222-222222222222",
        "client_id": "33333333-3333-3333-3333-333333333333",
        "client_secret": TENANT_SECRET,
    }
    destination = destination_from_dict(values, env=False)

    report = run_check(destination)
    assert_never_seen(recorder, SERVICE_ENTRA_TOKEN, "Bearer ")
    with pytest.raises(CredentialsError) as presigning:
        presign_upload(destination, "a.csv")

    expected = f"endpoint_url: {TENANT_HOST} is not an Azure Blob endpoint, and byos never sends"
    assert credentials_failure(report).startswith(expected)
    assert str(presigning.value).startswith(expected)
    assert_never_seen(recorder, SERVICE_ENTRA_TOKEN, "Bearer ")
    key = "dGVuYW50LW93bi1hY2NvdW50LWtleS0wMTIzNDU2Nzg5"
    values = {k: v for k, v in values.items() if k not in ("tenant_id", "client_id", "client_secret")}
    run_check(destination_from_dict({**values, "account_key": key}, env=False))
    assert "SharedKey acme:" in recorder.everything()
    assert_never_seen(recorder, SERVICE_ENTRA_TOKEN, "Bearer ", key)
    azure.clear_caches()
    assert json.dumps(report.to_dict()).count(SERVICE_ENTRA_TOKEN) == 0
