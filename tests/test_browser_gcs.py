"""byos-upload.js in headless Chromium on fake-gcs-server, cross-origin.

What fake-gcs-server checks and what it does not, and how each case here deals with it:

- CORS: it stores no bucket CORS; it answers every origin from one server-wide rule, whose allowed request
  headers the test server extends (``-cors-headers``) with exactly the headers byos's GCS CORS rules allow
  (tests/servers/fake_gcs.py). So the browser enforces those headers here; origins are not.
- Signatures: checked nowhere (tests/test_gcs_presign.py proves them with the verifier).
- Write-once: it ignores ``x-goog-if-generation-match: 0`` on XML-API uploads, so "a second upload is refused"
  has the fault proxy answer the 412 Cloud Storage sends (a fault this server cannot produce).
- Form POST: routed only at ``/BUCKET``, not at ``/BUCKET/`` (byos's URL, Cloud Storage's); the POST case
  sends the form to the URL without its trailing slash.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from byos.config import GCSDestination
from byos.uploads import presign_upload
from tests import gcs_helpers
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
PRECONDITION_FAILED = (
    b"<?xml version='1.0' encoding='UTF-8'?><Error><Code>PreconditionFailed</Code>"
    b"<Message>At least one of the pre-conditions you specified did not hold.</Message></Error>"
)


@pytest.fixture(scope="module")
def bucket(fake_gcs: Any) -> str:
    return gcs_helpers.new_bucket(fake_gcs)


@pytest.fixture(scope="module")
def key_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return gcs_helpers.write_key_file(tmp_path_factory.mktemp("gcs-browser"))


@pytest.fixture
def proxy(fake_gcs: Any) -> Iterator[FaultProxy]:
    # fake-gcs-server routes signed URLs by its own host name: the proxy sends that one upstream.
    with fault_proxy(fake_gcs.endpoint, host_header=f"127.0.0.1:{fake_gcs.port}") as server:
        yield server


def dest_on(fake_gcs: Any, bucket: str, key_file: Path, endpoint: str | None = None) -> GCSDestination:
    return gcs_helpers.destination(
        bucket=bucket, endpoint_url=endpoint or fake_gcs.endpoint, service_account_file=key_file
    )


def stored(fake_gcs: Any, bucket: str, key: str) -> Any:
    return gcs_helpers.client(fake_gcs).bucket(bucket).get_blob(key)


@pytest.mark.parametrize("shape", SHAPES)
def test_put_upload_lands_byte_for_byte(
    browser: BrowserPage, fake_gcs: Any, bucket: str, key_file: Path, shape: str
) -> None:
    dest = dest_on(fake_gcs, bucket, key_file)
    plan = single_upload(shape, dest, "Q3 report.csv", len(SMALL), content_type="text/csv")
    outcome = browser.upload(plan, SMALL, filename="Q3 report.csv", type="text/csv")
    assert outcome["ok"], outcome.get("error")
    blob = stored(fake_gcs, bucket, plan["key"])
    assert sha256(blob.download_as_bytes()) == sha256(SMALL)
    assert blob.content_type == "text/csv"
    assert blob.metadata == {"original-filename": "Q3 report.csv"}
    assert outcome["result"]["key"] == plan["key"]
    assert outcome["result"]["size"] == len(SMALL)
    assert_progress(outcome["events"], len(SMALL))


def test_form_post_upload_lands_byte_for_byte(
    browser: BrowserPage, fake_gcs: Any, bucket: str, key_file: Path
) -> None:
    plan = presign_upload(dest_on(fake_gcs, bucket, key_file), "form.csv", method="POST").to_dict()
    plan["url"] = plan["url"].rstrip("/")  # emulator routing, see the module docstring
    outcome = browser.upload(plan, SMALL, filename="form.csv")
    assert outcome["ok"], outcome.get("error")
    blob = stored(fake_gcs, bucket, plan["key"])
    assert sha256(blob.download_as_bytes()) == sha256(SMALL)
    assert blob.metadata == {"original-filename": "form.csv"}
    assert_progress(outcome["events"], len(SMALL))


def test_a_request_failing_once_is_retried(
    browser: BrowserPage, fake_gcs: Any, bucket: str, key_file: Path, proxy: FaultProxy
) -> None:
    plan = presign_upload(dest_on(fake_gcs, bucket, key_file, proxy.endpoint), "retry.csv").to_dict()
    uploaded_after_one_failure(browser, proxy, plan, SMALL)
    assert sha256(stored(fake_gcs, bucket, plan["key"]).download_as_bytes()) == sha256(SMALL)


def test_abort_midway_leaves_no_object(
    browser: BrowserPage, fake_gcs: Any, bucket: str, key_file: Path, proxy: FaultProxy
) -> None:
    plan = presign_upload(dest_on(fake_gcs, bucket, key_file, proxy.endpoint), "abort.csv").to_dict()
    aborted_midway(browser, proxy, plan, SMALL)
    assert stored(fake_gcs, bucket, plan["key"]) is None


def test_second_upload_refused_with_412_is_reported_as_existing(
    browser: BrowserPage, fake_gcs: Any, bucket: str, key_file: Path, proxy: FaultProxy
) -> None:
    plan = presign_upload(dest_on(fake_gcs, bucket, key_file, proxy.endpoint), "once.csv").to_dict()
    assert plan["headers"]["x-goog-if-generation-match"] == "0"
    # Between the two uploads the proxy is set to answer the 412 Cloud Storage sends.
    refused_as_existing(
        browser, plan, 412, lambda: proxy.faults.append(Fault("PUT", status=412, body=PRECONDITION_FAILED))
    )
    assert [s.outcome for s in proxy.seen("PUT")] == ["forwarded", "failed"]
    assert stored(fake_gcs, bucket, plan["key"]).download_as_bytes() == b"first\n"


# --- a 40 MiB file over a resumable session: the signed start, then 8 MiB chunks to the session URI ---

LARGE = os.urandom(40 * MIB)


def session_plan(dest: GCSDestination, filename: str = "big.csv", **options: Any) -> dict[str, Any]:
    return large_plan(dest, filename, len(LARGE), parts=6, parallel=False, **options)  # start, five chunks


def stored_md5(fake_gcs: Any, bucket: str, key: str) -> str | None:
    """MD5 of the object as the listing gives it.

    fake-gcs-server stores an XML-API resumable upload under the empty name (Cloud Storage: under the key),
    where no client can download it, so its listed MD5 stands in for reading it back.
    """
    for blob in gcs_helpers.client(fake_gcs).list_blobs(bucket):
        if blob.name in (key, ""):
            return str(blob.md5_hash)
    return None


def md5(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode()


def test_resumable_upload_lands_byte_for_byte(browser: BrowserPage, fake_gcs: Any, key_file: Path) -> None:
    bucket = gcs_helpers.new_bucket(fake_gcs)  # its own bucket: the object may sit under the empty name
    plan = session_plan(dest_on(fake_gcs, bucket, key_file), content_type="text/csv")
    outcome = browser.upload(plan, LARGE)
    assert outcome["ok"], outcome.get("error")
    assert stored_md5(fake_gcs, bucket, plan["key"]) == md5(LARGE)
    assert outcome["result"]["size"] == len(LARGE)
    assert_progress(outcome["events"], len(LARGE))
    assert outcome["events"][-1]["partsTotal"] == 5
    assert len({e["bytesSent"] for e in outcome["events"]}) > 5  # it rose part by part, at least


def test_a_chunk_failing_once_is_retried(
    browser: BrowserPage, fake_gcs: Any, key_file: Path, proxy: FaultProxy
) -> None:
    bucket = gcs_helpers.new_bucket(fake_gcs)
    plan = session_plan(dest_on(fake_gcs, bucket, key_file, proxy.endpoint))
    proxy.faults.append(Fault("PUT", lambda target: target.startswith("/upload/")))
    outcome = browser.upload(plan, LARGE, concurrency=4)
    assert outcome["ok"], outcome.get("error")
    assert [s.outcome for s in proxy.seen("PUT")] == ["failed"] + ["forwarded"] * 5
    assert proxy.max_in_flight["PUT"] == 1  # a resumable session takes its chunks one after another
    assert stored_md5(fake_gcs, bucket, plan["key"]) == md5(LARGE)
    assert_progress(outcome["events"], len(LARGE))


def test_abort_midway_cancels_the_session(
    browser: BrowserPage, fake_gcs: Any, key_file: Path, proxy: FaultProxy
) -> None:
    bucket = gcs_helpers.new_bucket(fake_gcs)
    plan = session_plan(dest_on(fake_gcs, bucket, key_file, proxy.endpoint))
    chunks = 0

    def third_chunk(target: str) -> bool:
        nonlocal chunks
        chunks += target.startswith("/upload/")
        return chunks == 3

    proxy.faults.append(Fault("PUT", third_chunk, action="stall"))
    outcome = browser.upload(plan, LARGE, abortAtParts=2)
    assert not outcome["ok"]
    assert outcome["error"]["code"] == "aborted"
    assert outcome["events"][-1]["partsDone"] == 2
    assert [s.outcome for s in proxy.seen("DELETE")] == ["forwarded"]
    assert stored_md5(fake_gcs, bucket, plan["key"]) is None


def test_start_refused_with_412_is_reported_as_existing_and_sends_nothing_more(
    browser: BrowserPage, fake_gcs: Any, key_file: Path, proxy: FaultProxy
) -> None:
    """Cloud Storage refuses the start (``x-goog-if-generation-match: 0``) when the object exists.

    fake-gcs-server ignores that header on the XML API, so the proxy answers as Cloud Storage does.
    """
    bucket = gcs_helpers.new_bucket(fake_gcs)
    plan = session_plan(dest_on(fake_gcs, bucket, key_file, proxy.endpoint))
    assert plan["parts"][0]["headers"]["x-goog-if-generation-match"] == "0"
    proxy.faults.append(Fault("POST", status=412, body=PRECONDITION_FAILED))
    outcome = browser.upload(plan, LARGE)
    assert not outcome["ok"]
    assert outcome["error"]["code"] == "exists"
    assert outcome["error"]["status"] == 412
    assert not proxy.seen("PUT")
    assert not proxy.seen("DELETE")  # no session to cancel


@pytest.mark.parametrize(
    "location",
    [
        "http://127.0.0.2:9/upload/storage/v1/b/x/o?uploadType=resumable&upload_id=stolen",  # another host
        "/upload/storage/v1/b/x/o?uploadType=resumable",  # the start's origin, but no upload_id
    ],
)
def test_a_session_off_the_start_origin_is_refused_and_sent_nothing(
    browser: BrowserPage, fake_gcs: Any, key_file: Path, proxy: FaultProxy, location: str
) -> None:
    """A start answered with a session on another host (or naming no upload) gets no chunk and no abort."""
    bucket = gcs_helpers.new_bucket(fake_gcs)
    plan = session_plan(dest_on(fake_gcs, bucket, key_file, proxy.endpoint))
    proxy.faults.append(Fault("POST", status=201, body=b"", headers=(("Location", location),)))
    outcome = browser.upload(plan, LARGE)
    assert not outcome["ok"]
    assert outcome["error"]["code"] == "plan"
    assert "resumable session" in outcome["error"]["message"]
    assert not proxy.seen("PUT")
    assert not proxy.seen("DELETE")
