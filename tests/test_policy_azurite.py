"""The generated Azure CORS rules, applied to Azurite (which enforces origins, methods and headers).

A browser's preflight for a byos upload is allowed from the configured origin and refused from another, for
another method and for a header byos does not send; an actual upload answers with ``etag`` exposed.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from azure.storage.blob import BlobServiceClient, CorsRule

from byos.config import AzureDestination, destination_from_dict
from byos.models import CheckResult, Status
from byos.policy import PolicyDocuments, build_policy
from byos.uploads import presign_upload

pytestmark = pytest.mark.emulator

ORIGIN = "https://app.example.com"
OTHER_ORIGIN = "https://evil.example.com"
TIMEOUT = 10
BODY = b"id,name\n1,Ada\n"
MD5 = base64.b64encode(hashlib.md5(BODY, usedforsecurity=False).digest()).decode()


@pytest.fixture(scope="module")
def service(azurite: Any) -> BlobServiceClient:
    return BlobServiceClient.from_connection_string(azurite.connection_string)


@pytest.fixture(scope="module")
def dest(azurite: Any, service: BlobServiceClient) -> Iterator[AzureDestination]:
    container = service.create_container(f"policy-{uuid.uuid4().hex[:12]}")
    built = destination_from_dict(
        {
            "provider": "azure",
            "account_name": azurite.account_name,
            "container": container.container_name,
            "endpoint_url": azurite.blob_endpoint,
            "account_key": azurite.account_key,
            "prefix": "imports/acme/",
            "origins": [ORIGIN],
        },
        env=False,
    )
    assert isinstance(built, AzureDestination)
    yield built
    container.delete_container()


@pytest.fixture
def applied(service: BlobServiceClient, dest: AzureDestination) -> Iterator[PolicyDocuments]:
    """Apply the generated CORS rules to the account; put back what was there afterwards."""
    before = service.get_service_properties()["cors"]
    policy = build_policy(dest)
    rules = [
        CorsRule(
            rule["allowedOrigins"],
            rule["allowedMethods"],
            allowed_headers=rule["allowedHeaders"],
            exposed_headers=rule["exposedHeaders"],
            max_age_in_seconds=rule["maxAgeInSeconds"],
        )
        for rule in policy.document("cors-rules.json")["corsRules"]
    ]
    service.set_service_properties(cors=rules)
    try:
        yield policy
    finally:
        service.set_service_properties(cors=before)


def upload(dest: AzureDestination, filename: str = "Q3 report.csv") -> tuple[str, dict[str, str]]:
    """URL and headers of one browser upload, as byos presigns it."""
    request = presign_upload(dest, filename, content_type="text/csv", content_md5=MD5)
    return request.url, dict(request.headers)


def preflight(url: str, origin: str, method: str, headers: list[str]) -> requests.Response:
    return requests.options(
        url,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": ",".join(headers),
        },
        timeout=TIMEOUT,
    )


def listed(value: str | None) -> set[str]:
    return {part.strip().lower() for part in (value or "").split(",") if part.strip()}


@pytest.mark.usefixtures("applied")
def test_preflight_is_allowed_only_for_the_configured_origin_method_and_headers(
    dest: AzureDestination,
) -> None:
    url, headers = upload(dest)
    # a browser sending a typed File adds its Content-Type to the signed headers
    wanted = sorted({name.lower() for name in headers} | {"content-type"})
    assert {"x-ms-blob-type", "if-none-match", "x-ms-blob-content-type", "content-md5"} <= set(wanted)
    assert any(name.startswith("x-ms-meta-") for name in wanted)

    allowed = preflight(url, ORIGIN, "PUT", wanted)
    assert allowed.status_code == 200, allowed.text
    assert allowed.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "PUT" in {m.upper() for m in listed(allowed.headers.get("Access-Control-Allow-Methods"))}
    assert set(wanted) <= listed(allowed.headers.get("Access-Control-Allow-Headers"))

    assert preflight(url, OTHER_ORIGIN, "PUT", wanted).status_code == 403
    assert preflight(url, ORIGIN, "DELETE", wanted).status_code == 403
    assert preflight(url, ORIGIN, "PUT", [*wanted, "x-ms-blob-cache-control"]).status_code == 403


def test_preflight_is_refused_before_the_rules_are_applied(
    service: BlobServiceClient, dest: AzureDestination
) -> None:
    before = service.get_service_properties()["cors"]
    service.set_service_properties(cors=[])
    try:
        url, headers = upload(dest)
        answer = preflight(url, ORIGIN, "PUT", sorted(name.lower() for name in headers))
    finally:
        service.set_service_properties(cors=before)
    assert answer.status_code == 403


@pytest.mark.usefixtures("applied")
def test_an_actual_upload_exposes_etag_to_the_origin(dest: AzureDestination) -> None:
    url, headers = upload(dest)
    answer = requests.put(url, data=BODY, headers={**headers, "Origin": ORIGIN}, timeout=TIMEOUT)
    assert answer.status_code == 201, answer.text
    assert answer.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "etag" in listed(answer.headers.get("Access-Control-Expose-Headers"))
    assert answer.headers.get("ETag")


@pytest.mark.usefixtures("applied")
def test_cors_check_passes_for_the_origin_and_fails_for_another(dest: AzureDestination) -> None:
    from byos.checker import check_setup  # noqa: PLC0415

    def cors(origins: list[str]) -> CheckResult:
        (result,) = [r for r in check_setup(dest, origins).checks if r.id == "cors"]
        return result

    allowed, refused = cors([ORIGIN]), cors([OTHER_ORIGIN])
    assert allowed.status is Status.PASS, allowed.message
    assert refused.status is Status.FAIL
    assert "CORS rules" in refused.remediation
