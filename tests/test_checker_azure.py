"""The setup checker on Azure: Azurite (checks SAS, permissions, CORS, public access), a management stub."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from azure.storage.blob import BlobServiceClient, CorsRule

from byos.checker import check_setup
from byos.checker.common import probe_request
from byos.checker.context import CheckContext
from byos.config import AzureDestination
from byos.models import Report, Status
from byos.providers import azure, azure_entra, azure_requests
from tests.azure_helpers import (
    ManagementStub,
    OAuthAzurite,
    UnsignedToken,
    destination,
    new_container,
    service,
    start_oauth_azurite,
)
from tests.servers import AzuriteServer

pytestmark = pytest.mark.emulator

ORIGIN = "https://app.example.com"
OTHER_ORIGIN = "https://evil.example.net"
DEADLINE = 20.0
SUBSCRIPTION = "00000000-0000-0000-0000-000000000001"
BUCKET_DEPENDENT = ("bucket.region", "upload", "write_once", "least_privilege", "cors", "encryption")
_SIGNATURE = re.compile(r"sig=(?!REDACTED)[A-Za-z0-9%+/=]{16,}")
KEY_WARNING = (
    "the account key grants full control of the storage account (read, list, delete, settings); the customer "
    "was promised write-only"
)


def run(dest: AzureDestination, **options: Any) -> Report:
    """Run check_setup, assert it returned within its deadline and leaked no secret; return the report."""
    deadline = options.setdefault("deadline", DEADLINE)
    started = time.monotonic()
    report = check_setup(dest, **options)
    elapsed = time.monotonic() - started
    assert elapsed < deadline, f"check_setup took {elapsed:.1f} s, past its {deadline} s deadline"
    text = json.dumps(report.to_dict())
    if dest.account_key is not None:
        assert dest.account_key.get_secret_value() not in text
    assert not _SIGNATURE.search(text)
    return report


def status(report: Report) -> dict[str, Status]:
    return {check.id: check.status for check in report.checks}


def result(report: Report, check_id: str) -> tuple[Status, str]:
    found = next(check for check in report.checks if check.id == check_id)
    return found.status, found.message


def signed_header_names(dest: AzureDestination) -> list[str]:
    """The headers the checker's probe upload sends, as a CORS rule lists them."""
    ctx = CheckContext(destination=dest, origins=[], timeout=1.0, deadline=time.monotonic() + 5)
    return sorted(name.lower() for name in probe_request(ctx).headers)


@pytest.fixture(autouse=True)
def _fresh_caches() -> Iterator[None]:
    azure.clear_caches()
    yield
    azure.clear_caches()


@pytest.fixture
def cors(azurite: AzuriteServer) -> Iterator[BlobServiceClient]:
    """The account's Blob service; its CORS rules are put back as they were afterwards."""
    client = service(azurite)
    before = client.get_service_properties()["cors"]
    yield client
    client.set_service_properties(cors=before)


def allow(client: BlobServiceClient, dest: AzureDestination, origin: str) -> None:
    rule = CorsRule(
        [origin],
        ["PUT", "OPTIONS"],
        allowed_headers=signed_header_names(dest),
        exposed_headers=["etag"],
        max_age_in_seconds=3600,
    )
    client.set_service_properties(cors=[rule])


def test_well_configured_container_passes(azurite: AzuriteServer, cors: BlobServiceClient) -> None:
    dest = destination(azurite, new_container(azurite), origins=[ORIGIN])
    allow(cors, dest, ORIGIN)

    report = run(dest)

    found = status(report)
    for check_id in (
        "config",
        "credentials",
        "bucket.exists",
        "upload",
        "cors",
        "public_access",
        "encryption",
    ):
        assert found[check_id] is Status.PASS, (check_id, result(report, check_id))
    assert found["clock"] is Status.PASS
    assert found["lifetime"] is Status.PASS
    assert result(report, "credentials")[1] == (
        f"Azure accepted the account key: shared key, full control of {dest.account_name}"
    )
    assert result(report, "bucket.region") == (
        Status.SKIP,
        "Azure does not expose an account's region in the data plane; set subscription_id and resource_group",
    )
    assert result(report, "least_privilege") == (Status.WARN, KEY_WARNING)
    remediation = next(c.remediation for c in report.checks if c.id == "least_privilege")
    assert remediation.startswith("use user delegation with the byos custom role")
    # The probe was written under the reserved folder and the second upload did not replace it.
    blobs = list(service(azurite).get_container_client(dest.container).list_blobs())
    assert blobs
    assert all(blob.name.startswith(f"{dest.prefix}{dest.probe_prefix}probe-") for blob in blobs)
    probe_key = re.search(r"PUT to (\S+) was accepted", result(report, "upload")[1])
    assert probe_key is not None
    probe = service(azurite).get_blob_client(dest.container, probe_key.group(1))
    assert probe.download_blob().readall().startswith(b"byos setup probe,")
    assert result(report, "write_once") == (
        Status.PASS,
        "a second upload to the same key was refused: the create-only link may not overwrite",
    )


def test_write_once_passes_when_the_create_only_sas_refuses(azurite: AzuriteServer) -> None:
    dest = destination(azurite, new_container(azurite))
    report = run(dest)
    assert result(report, "write_once")[0] is Status.PASS, result(report, "write_once")


def test_wrong_account_key_fails_credentials(azurite: AzuriteServer) -> None:
    wrong = "d3Jvbmcga2V5IHdyb25nIGtleSB3cm9uZyBrZXk="
    dest = destination(azurite, new_container(azurite), account_key=wrong)

    report = run(dest)

    check, message = result(report, "credentials")
    assert check is Status.FAIL
    assert message == f"Azure rejected the account key of {dest.account_name} (AuthorizationFailure)"
    assert status(report)["upload"] is Status.SKIP


def test_missing_container_fails_and_dependent_checks_skip(azurite: AzuriteServer) -> None:
    dest = destination(azurite, f"byos-missing-{uuid.uuid4().hex[:12]}", origins=[ORIGIN])

    report = run(dest)

    check, message = result(report, "bucket.exists")
    assert check is Status.FAIL
    assert message == (
        f"container {dest.container} does not exist in account {dest.account_name} (ContainerNotFound)"
    )
    found = status(report)
    assert {check_id: found[check_id] for check_id in BUCKET_DEPENDENT} == dict.fromkeys(
        BUCKET_DEPENDENT, Status.SKIP
    )
    assert found["credentials"] is Status.PASS
    assert not report.ok


def test_cors_missing_fails(azurite: AzuriteServer, cors: BlobServiceClient) -> None:
    dest = destination(azurite, new_container(azurite), origins=[ORIGIN])
    cors.set_service_properties(cors=[])

    report = run(dest)

    check, message = result(report, "cors")
    assert check is Status.FAIL
    assert message == f"browsers cannot upload from {ORIGIN}: the preflight was refused (HTTP 403)"
    assert "CORS rules" in next(c.remediation for c in report.checks if c.id == "cors")
    assert status(report)["upload"] is Status.PASS


def test_cors_for_another_origin_fails(azurite: AzuriteServer, cors: BlobServiceClient) -> None:
    dest = destination(azurite, new_container(azurite), origins=[ORIGIN])
    allow(cors, dest, OTHER_ORIGIN)

    report = run(dest)

    assert result(report, "cors") == (
        Status.FAIL,
        f"browsers cannot upload from {ORIGIN}: the preflight was refused (HTTP 403)",
    )
    assert result(run(dest, origins=[OTHER_ORIGIN]), "cors")[0] is Status.PASS


def test_anonymously_readable_container_fails_public_access(azurite: AzuriteServer) -> None:
    dest = destination(azurite, new_container(azurite, public_access="container"))

    report = run(dest)

    assert result(report, "public_access") == (
        Status.FAIL,
        "anyone on the internet can list and read the bucket without credentials",
    )
    assert status(report)["upload"] is Status.PASS


# --- the management API (region and encryption keys), played by a local stub ---


@pytest.fixture
def management(monkeypatch: pytest.MonkeyPatch) -> Iterator[ManagementStub]:
    stub = ManagementStub(accounts={})
    with stub.running():
        monkeypatch.setattr(azure_requests, "MANAGEMENT_ENDPOINT", stub.endpoint)
        monkeypatch.setattr(azure_entra, "token_credential", lambda _destination, **_options: UnsignedToken())
        yield stub


def account(location: str, *, key_source: str = "Microsoft.Storage") -> dict[str, Any]:
    encryption: dict[str, Any] = {"keySource": key_source, "services": {"blob": {"enabled": True}}}
    if key_source == "Microsoft.Keyvault":
        encryption["keyvaultproperties"] = {"keyname": "byos-cmk"}
    return {"name": "devstoreaccount1", "location": location, "properties": {"encryption": encryption}}


def test_region_mismatch_fails(azurite: AzuriteServer, management: ManagementStub) -> None:
    management.accounts[azurite.account_name] = account("westeurope", key_source="Microsoft.Keyvault")
    dest = destination(
        azurite,
        new_container(azurite),
        location="eastus",
        subscription_id=SUBSCRIPTION,
        resource_group="rg-data",
    )

    report = run(dest)

    check, message = result(report, "bucket.region")
    assert check is Status.FAIL
    assert message == (
        "storage account devstoreaccount1 is in westeurope, not in the configured eastus; importers refuse "
        "cross-region uploads"
    )
    assert result(report, "encryption") == (
        Status.PASS,
        (
            "Azure Storage encrypts all data at rest (AES-256; it cannot be turned off); account "
            "devstoreaccount1 uses a customer-managed key (byos-cmk)"
        ),
    )
    assert len(management.seen) == 1, "region and encryption share one management call"
    path, query, authorization = management.seen[0]
    assert path == (
        f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-data/providers/Microsoft.Storage/storageAccounts/"
        "devstoreaccount1"
    )
    assert query == "api-version=2023-05-01"
    assert authorization.startswith("Bearer ey")


def test_region_match_passes(azurite: AzuriteServer, management: ManagementStub) -> None:
    management.accounts[azurite.account_name] = account("West Europe")
    dest = destination(
        azurite,
        new_container(azurite),
        location="westeurope",
        subscription_id=SUBSCRIPTION,
        resource_group="rg",
    )

    report = run(dest)

    assert result(report, "bucket.region") == (
        Status.PASS,
        "storage account devstoreaccount1 is in westeurope, as configured",
    )
    assert result(report, "encryption")[1].endswith("account devstoreaccount1 uses Microsoft-managed keys")


def test_account_in_another_resource_group_fails(azurite: AzuriteServer, management: ManagementStub) -> None:
    dest = destination(
        azurite,
        new_container(azurite),
        location="westeurope",
        subscription_id=SUBSCRIPTION,
        resource_group="rg",
    )

    report = run(dest)

    check, message = result(report, "bucket.region")
    assert check is Status.FAIL
    assert message.startswith(
        "the management API has no storage account devstoreaccount1 in resource group rg"
    )
    management.status = 403
    azure.clear_caches()
    assert result(run(dest), "bucket.region")[0] is Status.SKIP


# --- user delegation on HTTPS Azurite (which does not enforce Azure RBAC) ---


@pytest.fixture(scope="module")
def oauth_azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OAuthAzurite]:
    server = start_oauth_azurite(tmp_path_factory.mktemp("azurite-tls"))
    yield server
    server.stop()


def test_user_delegation_is_proven_and_roles_are_tried(
    oauth_azurite: OAuthAzurite, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(azure_entra, "token_credential", lambda _destination, **_options: UnsignedToken())
    monkeypatch.setenv("SSL_CERT_FILE", str(oauth_azurite.cert_path))  # the checker's own HTTPS calls
    name = f"byos-{uuid.uuid4().hex[:12]}"
    BlobServiceClient(
        oauth_azurite.https_endpoint,
        credential=UnsignedToken(),
        connection_verify=str(oauth_azurite.cert_path),
    ).create_container(name)
    dest = destination(oauth_azurite, name, endpoint_url=oauth_azurite.https_endpoint, account_key=None)

    report = run(dest)

    found = status(report)
    for check_id in ("credentials", "bucket.exists", "upload", "public_access", "encryption", "lifetime"):
        assert found[check_id] is Status.PASS, (check_id, result(report, check_id))
    message = result(report, "credentials")[1]
    assert message.startswith(
        "Azure issued a user delegation key to the default Azure credential chain (DefaultAzureCredential) "
        "(object id 11111111-1111-1111-1111-111111111111), valid until "
    )
    # Azurite checks the delegation SAS's signature and permission letters but not the identity's roles, so
    # r, l and d signed with the delegation key all work here; on Azure the byos custom role refuses them.
    # The upload link itself (sp=c) is refused GET, HEAD, LIST and DELETE.
    assert result(report, "least_privilege") == (
        Status.WARN,
        (
            "the identity's user delegation SAS can also read, list, delete (its roles allow more than "
            "writing); the customer was promised write-only"
        ),
    )
