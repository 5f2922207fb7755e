"""byos-upload.js in headless Chromium on Azurite, cross-origin, under the CORS rules ``byos policy`` prints.

Azurite checks the SAS (signature, permissions, expiry) and answers CORS preflights by the account's rules,
so a header the client adds or leaves out, or a rule the policy forgets, fails here as it would on Azure. The
page comes from ``http://localhost:PORT``, Azurite listens on ``http://127.0.0.1:PORT``.
"""

from __future__ import annotations

import base64
import os
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from azure.storage.blob import BlobServiceClient, CorsRule

from byos.config import AzureDestination
from byos.policy import build_policy
from byos.uploads import presign_upload
from tests import azure_helpers
from tests.browser import (
    SHAPES,
    BrowserPage,
    aborted_midway,
    assert_progress,
    fault_proxy,
    large_plan,
    refused_as_existing,
    sha256,
    single_upload,
    uploaded_after_one_failure,
)
from tests.browser_proxy import Fault, FaultProxy

pytestmark = pytest.mark.emulator

MIB = 1024 * 1024
SMALL = os.urandom(3 * MIB)


@pytest.fixture(scope="module")
def service(azurite: Any) -> BlobServiceClient:
    return azure_helpers.service(azurite)


@pytest.fixture(scope="module")
def container(azurite: Any) -> str:
    return azure_helpers.new_container(azurite)


@pytest.fixture(scope="module")
def cors(service: BlobServiceClient, page_server: Any, azurite: Any, container: str) -> Iterator[None]:
    """Apply the CORS rules ``byos policy`` prints for the page's origin; restore the old ones after."""
    before = service.get_service_properties()["cors"]
    dest = azure_helpers.destination(azurite, container, origins=[page_server.origin])
    rules = [
        CorsRule(
            rule["allowedOrigins"],
            rule["allowedMethods"],
            allowed_headers=rule["allowedHeaders"],
            exposed_headers=rule["exposedHeaders"],
            max_age_in_seconds=rule["maxAgeInSeconds"],
        )
        for rule in build_policy(dest).document("cors-rules.json")["corsRules"]
    ]
    service.set_service_properties(cors=rules)
    yield
    service.set_service_properties(cors=before)


@pytest.fixture
def proxy(azurite: Any) -> Iterator[FaultProxy]:
    with fault_proxy(azurite.endpoint) as server:
        yield server


def dest_on(azurite: Any, container: str, endpoint: str | None = None) -> AzureDestination:
    blob_endpoint = azurite.blob_endpoint if endpoint is None else f"{endpoint}/{azurite.account_name}"
    return azure_helpers.destination(azurite, container, endpoint_url=blob_endpoint)


def read_back(service: BlobServiceClient, container: str, key: str) -> bytes:
    return service.get_blob_client(container, key).download_blob().readall()


def exists(service: BlobServiceClient, container: str, key: str) -> bool:
    return bool(service.get_blob_client(container, key).exists())


@pytest.mark.usefixtures("cors")
@pytest.mark.parametrize("shape", SHAPES)
def test_single_request_upload_lands_byte_for_byte(
    browser: BrowserPage, azurite: Any, service: BlobServiceClient, container: str, shape: str
) -> None:
    plan = single_upload(shape, dest_on(azurite, container), "Q3 report.csv", len(SMALL))
    outcome = browser.upload(plan, SMALL, filename="Q3 report.csv", type="text/csv")
    assert outcome["ok"], outcome.get("error")
    assert sha256(read_back(service, container, plan["key"])) == sha256(SMALL)
    properties = service.get_blob_client(container, plan["key"]).get_blob_properties()
    assert outcome["result"] == {"key": plan["key"], "etag": properties.etag, "size": len(SMALL)}
    assert properties.metadata == {"original_filename": "Q3 report.csv"}
    assert_progress(outcome["events"], len(SMALL))


@pytest.mark.usefixtures("cors")
def test_second_upload_with_the_same_plan_is_refused_as_existing(
    browser: BrowserPage, azurite: Any, service: BlobServiceClient, container: str
) -> None:
    plan = presign_upload(dest_on(azurite, container), "once.csv").to_dict()
    refused_as_existing(browser, plan, 403)  # create-only SAS: AuthorizationPermissionMismatch
    assert read_back(service, container, plan["key"]) == b"first\n"


@pytest.mark.usefixtures("cors")
def test_a_tampered_sas_is_refused_with_the_likely_causes_and_no_secret(
    browser: BrowserPage, azurite: Any, service: BlobServiceClient, container: str
) -> None:
    plan = presign_upload(dest_on(azurite, container), "tampered.csv").to_dict()
    signature = parse_qs(urlsplit(plan["url"]).query)["sig"][0]
    plan["url"] = plan["url"].replace("sig=", "sig=A", 1)
    outcome = browser.upload(plan, b"x\n", retries=0)
    assert not outcome["ok"]
    assert outcome["error"]["code"] == "forbidden", outcome["error"]
    assert outcome["error"]["status"] == 403
    message = outcome["error"]["message"]
    assert "(AuthorizationFailure)" in message  # Azurite's code for a bad SAS signature
    assert "Likely causes: a signed header was changed" in message
    assert signature not in message
    assert plan["url"] not in message
    assert not exists(service, container, plan["key"])


@pytest.mark.usefixtures("cors")
def test_a_request_failing_once_is_retried(
    browser: BrowserPage, azurite: Any, service: BlobServiceClient, container: str, proxy: FaultProxy
) -> None:
    plan = presign_upload(dest_on(azurite, container, proxy.endpoint), "retry.csv").to_dict()
    uploaded_after_one_failure(browser, proxy, plan, SMALL)
    assert sha256(read_back(service, container, plan["key"])) == sha256(SMALL)


@pytest.mark.usefixtures("cors")
def test_retries_are_bounded(
    browser: BrowserPage, azurite: Any, service: BlobServiceClient, container: str, proxy: FaultProxy
) -> None:
    plan = presign_upload(dest_on(azurite, container, proxy.endpoint), "busy.csv").to_dict()
    proxy.faults.append(Fault("PUT", times=3))
    outcome = browser.upload(plan, SMALL, retries=2)
    assert not outcome["ok"]
    assert outcome["error"]["code"] == "http"
    assert outcome["error"]["status"] == 503
    assert "(SlowDown)" in outcome["error"]["message"]
    assert [s.outcome for s in proxy.seen("PUT")] == ["failed"] * 3  # one try and two retries
    assert not exists(service, container, plan["key"])


@pytest.mark.usefixtures("cors")
def test_a_request_that_stalls_is_given_up_and_retried(
    browser: BrowserPage, azurite: Any, service: BlobServiceClient, container: str, proxy: FaultProxy
) -> None:
    plan = presign_upload(dest_on(azurite, container, proxy.endpoint), "stall.csv").to_dict()
    proxy.faults.append(Fault("PUT", action="stall"))
    outcome = browser.upload(plan, SMALL, stallTimeoutMs=1000)
    assert outcome["ok"], outcome.get("error")
    assert [s.outcome for s in proxy.seen("PUT")] == ["stalled", "forwarded"]
    assert sha256(read_back(service, container, plan["key"])) == sha256(SMALL)
    assert_progress(outcome["events"], len(SMALL))


@pytest.mark.usefixtures("cors")
def test_abort_midway_leaves_no_object(
    browser: BrowserPage, azurite: Any, service: BlobServiceClient, container: str, proxy: FaultProxy
) -> None:
    plan = presign_upload(dest_on(azurite, container, proxy.endpoint), "abort.csv").to_dict()
    outcome = aborted_midway(browser, proxy, plan, SMALL)
    assert outcome["error"]["name"] == "AbortError"
    assert not exists(service, container, plan["key"])


def test_without_cors_rules_the_browser_blocks_the_upload_and_says_cors(
    browser: BrowserPage, azurite: Any, service: BlobServiceClient
) -> None:
    container = azure_helpers.new_container(azurite)
    before = service.get_service_properties()["cors"]
    service.set_service_properties(cors=[])
    try:
        plan = presign_upload(dest_on(azurite, container), "blocked.csv").to_dict()
        outcome = browser.upload(plan, b"x", retries=0)
    finally:
        service.set_service_properties(cors=before)
    assert not outcome["ok"]
    assert outcome["error"]["code"] == "network"
    assert "CORS" in outcome["error"]["message"]
    assert not exists(service, container, plan["key"])


# --- a 40 MiB file in blocks: Put Block in parallel, then Put Block List from the block ids ---

LARGE = os.urandom(40 * MIB)


def blocks_plan(dest: AzureDestination, filename: str = "big.csv", **options: Any) -> dict[str, Any]:
    plan = large_plan(dest, filename, len(LARGE), parts=5, parallel=True, **options)
    assert plan["abort"] is None  # uncommitted blocks expire on their own
    return plan


def is_block(target: str) -> bool:
    return "comp=block&" in target or target.endswith("comp=block")


def is_block_list(target: str) -> bool:
    return "comp=blocklist" in target


@pytest.mark.usefixtures("cors")
def test_blocks_upload_in_parallel_lands_byte_for_byte(
    browser: BrowserPage, azurite: Any, service: BlobServiceClient, container: str
) -> None:
    plan = blocks_plan(dest_on(azurite, container), content_type="text/csv")
    outcome = browser.upload(plan, LARGE, concurrency=3)
    assert outcome["ok"], outcome.get("error")
    assert sha256(read_back(service, container, plan["key"])) == sha256(LARGE)
    blob = service.get_blob_client(container, plan["key"])
    properties = blob.get_blob_properties()
    assert properties.content_settings.content_type == "text/csv"
    assert properties.metadata == {"original_filename": "big.csv"}
    assert outcome["result"] == {"key": plan["key"], "etag": properties.etag, "size": len(LARGE)}
    committed, _ = blob.get_block_list("committed")
    assert [b.id for b in committed] == [base64.b64decode(p["block_id"]).decode() for p in plan["parts"]]
    assert_progress(outcome["events"], len(LARGE))
    assert outcome["events"][-1]["partsTotal"] == 5
    assert len({e["bytesSent"] for e in outcome["events"]}) > 5  # it rose part by part, at least


@pytest.mark.usefixtures("cors")
def test_a_block_failing_once_is_retried(
    browser: BrowserPage, azurite: Any, service: BlobServiceClient, container: str, proxy: FaultProxy
) -> None:
    plan = blocks_plan(dest_on(azurite, container, proxy.endpoint))
    second = plan["parts"][1]["url"].split("?", 1)[1]
    proxy.faults.append(Fault("PUT", lambda target: target.endswith(second)))
    outcome = browser.upload(plan, LARGE, concurrency=2)
    assert outcome["ok"], outcome.get("error")
    assert proxy.max_in_flight["PUT"] == 2  # blocks ran in parallel, within the bound asked for
    assert [s.outcome for s in proxy.seen("PUT", lambda target: target.endswith(second))] == [
        "failed",
        "forwarded",
    ]
    assert len(proxy.seen("PUT", is_block)) == 6
    assert len(proxy.seen("PUT", is_block_list)) == 1
    assert sha256(read_back(service, container, plan["key"])) == sha256(LARGE)
    assert_progress(outcome["events"], len(LARGE))


@pytest.mark.usefixtures("cors")
def test_abort_midway_commits_nothing(
    browser: BrowserPage, azurite: Any, service: BlobServiceClient, container: str, proxy: FaultProxy
) -> None:
    plan = blocks_plan(dest_on(azurite, container, proxy.endpoint))
    third = plan["parts"][2]["url"].split("?", 1)[1]
    proxy.faults.append(Fault("PUT", lambda target: target.endswith(third), action="stall"))
    outcome = browser.upload(plan, LARGE, concurrency=2, abortAtParts=1)
    assert not outcome["ok"]
    assert outcome["error"]["code"] == "aborted"
    assert outcome["events"][-1]["partsDone"] < 5
    assert not proxy.seen("PUT", is_block_list)
    assert not exists(service, container, plan["key"])


@pytest.mark.usefixtures("cors")
def test_second_blocks_upload_of_the_same_key_is_refused(
    browser: BrowserPage, azurite: Any, service: BlobServiceClient, container: str
) -> None:
    dest = dest_on(azurite, container)
    first = blocks_plan(dest, upload_id=str(uuid.uuid4()))
    assert browser.upload(first, LARGE)["ok"]
    again = blocks_plan(dest, upload_id=first["key"].split("/")[1][:36])
    assert again["key"] == first["key"]
    outcome = browser.upload(again, LARGE[::-1])
    assert not outcome["ok"]
    assert outcome["error"]["code"] == "exists", outcome["error"]
    assert "already exists" in outcome["error"]["message"]
    assert sha256(read_back(service, container, first["key"])) == sha256(LARGE)
