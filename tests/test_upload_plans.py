"""One upload plan for every provider and size, sent by a plain HTTP client playing the browser.

The same cases run on LocalStack (signatures checked), Azurite (SAS checked) and fake-gcs-server (which
checks no signature and stores XML resumable uploads under the empty name; see ../shared/EMULATORS.md) through
one interface: ``byos.presign_upload(...).to_dict()`` and tests/plan_client.py.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from azure.core.exceptions import ResourceNotFoundError
from botocore.exceptions import ClientError

import byos
from byos.config import Destination
from byos.plans import UploadPlan
from tests import azure_helpers, gcs_helpers, plan_client, s3_helpers

pytestmark = pytest.mark.emulator

MIB = 1024**2


@dataclass(frozen=True)
class Target:
    """A destination on a local server, how to read an object back, and a part size it accepts."""

    provider: str
    destination: Destination
    read: Callable[[str], bytes | None]
    part_size: int
    size: int
    digest: Callable[[str], str | None] | None = None

    def fingerprint(self, key: str) -> str | None:
        """SHA-256 of the stored object (hex); on fake-gcs-server its MD5 as the emulator lists it."""
        if self.digest is not None:
            return self.digest(key)
        stored = self.read(key)
        return None if stored is None else hashlib.sha256(stored).hexdigest()

    def expected(self, data: bytes) -> str:
        """The fingerprint ``data`` must have once stored."""
        if self.digest is not None:
            return base64.b64encode(hashlib.md5(data).digest()).decode()  # noqa: S324  (GCS lists MD5)
        return hashlib.sha256(data).hexdigest()


def _data(size: int) -> bytes:
    seed = hashlib.sha256(uuid.uuid4().bytes).digest()
    return (seed * (size // len(seed) + 1))[:size]


def _s3(localstack: Any) -> Target:
    bucket = s3_helpers.new_bucket(localstack)
    client = s3_helpers.client(localstack)

    def read(key: str) -> bytes | None:
        try:
            return bytes(client.get_object(Bucket=bucket, Key=key)["Body"].read())
        except ClientError:
            return None

    return Target("s3", s3_helpers.destination(localstack, bucket), read, 5 * MIB, 11 * MIB)


def _azure(azurite: Any) -> Target:
    container = azure_helpers.new_container(azurite)
    service = azure_helpers.service(azurite)

    def read(key: str) -> bytes | None:
        try:
            return bytes(service.get_blob_client(container, key).download_blob().readall())
        except ResourceNotFoundError:
            return None

    return Target("azure", azure_helpers.destination(azurite, container), read, 256 * 1024, MIB + 17)


def _gcs(fake_gcs: Any, directory: Path) -> Target:
    bucket = gcs_helpers.new_bucket(fake_gcs)
    client = gcs_helpers.client(fake_gcs)

    def read(key: str) -> bytes | None:
        blob = client.bucket(bucket).get_blob(key)
        return None if blob is None else bytes(blob.download_as_bytes())

    def digest(key: str) -> str | None:
        # fake-gcs-server stores an XML resumable upload under the empty name (Cloud Storage: under the key),
        # where no client can download it: the listing's MD5 stands in for reading it back.
        for blob in client.list_blobs(bucket):
            if blob.name in (key, ""):
                return str(blob.md5_hash)
        return None

    dest = gcs_helpers.destination(
        bucket=bucket,
        endpoint_url=fake_gcs.endpoint,
        service_account_file=gcs_helpers.write_key_file(directory),
    )
    return Target("gcs", dest, read, 256 * 1024, 600 * 1024 + 5, digest)


@pytest.fixture(params=["s3", "azure", "gcs"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Target:
    if request.param == "s3":
        return _s3(request.getfixturevalue("localstack"))
    if request.param == "azure":
        return _azure(request.getfixturevalue("azurite"))
    return _gcs(request.getfixturevalue("fake_gcs"), tmp_path)


def _plan(target: Target, size: int, **options: Any) -> UploadPlan:
    return byos.presign_upload(
        target.destination, "big report.csv", size=size, part_size=target.part_size, **options
    )


def test_parts_upload_lands_exactly(target: Target) -> None:
    data = _data(target.size)
    plan = _plan(target, len(data), content_type="text/csv")
    shape = plan.to_dict()
    assert shape["provider"] == target.provider
    assert shape["part_size"] == target.part_size
    assert shape["size"] == len(data)
    ranges = [part["range"] for part in shape["parts"] if part["body"] == "range"]
    assert ranges[0][0] == 0
    assert ranges[-1][1] == len(data)
    assert all(a[1] == b[0] for a, b in itertools.pairwise(ranges))
    assert len(ranges) == -(-len(data) // target.part_size) > 1
    plan_client.run(shape, data)
    assert target.fingerprint(plan.key) == target.expected(data)


PLAN_KEYS = {
    "provider",
    "kind",
    "key",
    "expires_at",
    "size",
    "part_size",
    "parallel",
    "parts",
    "complete",
    "abort",
}
STEP_KEYS = {
    "method",
    "url",
    "url_from",
    "headers",
    "fields",
    "body",
    "range",
    "part_number",
    "block_id",
    "expect",
    "collect",
}


def test_plan_shape_is_the_contract(target: Target) -> None:
    plan = _plan(target, target.size)
    shape = json.loads(json.dumps(plan.to_dict()))
    assert set(shape) == PLAN_KEYS
    steps = [*shape["parts"], *(s for s in (shape["complete"], shape["abort"]) if s is not None)]
    assert all(set(step) == STEP_KEYS for step in steps)
    assert shape["expires_at"].endswith("Z")
    assert shape["parallel"] is (target.provider != "gcs")
    assert all(step["method"] in ("PUT", "POST", "DELETE") for step in steps)
    assert all(step["url"] is not None or step["url_from"] == "session" for step in steps)
    assert "http" not in repr(plan)
    for step in plan.parts:
        if step.url is not None:
            assert step.url not in repr(step)
            assert "REDACTED" in repr(step)
    if target.provider == "azure":
        assert len({step["block_id"] for step in shape["parts"]}) == len(shape["parts"])
        assert len({len(step["block_id"]) for step in shape["parts"]}) == 1
        assert shape["abort"] is None
    if target.provider == "s3":
        plan_client.run(shape, b"", stop_after=0)  # abort what the plan created


def test_small_file_is_one_request_with_todays_fields(target: Target) -> None:
    data = b"id,name\n1,Ada\n"
    plan = _plan(target, len(data))
    shape = plan.to_dict()
    assert plan.single
    assert len(shape["parts"]) == 1
    assert shape["complete"] is None
    assert shape["abort"] is None
    assert shape["part_size"] is None
    for name in ("method", "url", "headers", "fields", "key", "expires_at"):
        assert name in shape
    assert shape["parts"][0]["url"] == shape["url"]
    plan_client.run(shape, data)
    assert target.read(plan.key) == data


def test_unknown_size_is_one_request(target: Target) -> None:
    plan = byos.presign_upload(target.destination, "a.csv")
    assert plan.size is None
    assert plan.single
    plan_client.run(plan.to_dict(), b"x,y\n")
    assert target.read(plan.key) == b"x,y\n"


def test_second_upload_of_the_same_key_is_refused(target: Target) -> None:
    if target.provider == "gcs":
        pytest.skip("fake-gcs-server ignores x-goog-if-generation-match on XML uploads (EMULATORS.md)")
    data = _data(target.size)
    first = _plan(target, len(data), upload_id=str(uuid.uuid4()))
    plan_client.run(first.to_dict(), data)
    again = _plan(target, len(data), upload_id=first.key.split("/")[1][:36])
    assert again.key == first.key
    with pytest.raises(plan_client.PlanFailedError) as refused:
        plan_client.run(again.to_dict(), _data(len(data)))
    assert refused.value.status in (409, 412)
    assert target.read(first.key) == data


def test_cancelled_upload_leaves_nothing(target: Target, request: pytest.FixtureRequest) -> None:
    data = _data(target.size)
    plan = _plan(target, len(data))
    plan_client.run(plan.to_dict(), data, stop_after=2)
    assert target.fingerprint(plan.key) is None
    if target.provider == "s3":
        client = s3_helpers.client(request.getfixturevalue("localstack"))
        bucket = target.destination.bucket  # type: ignore[union-attr]
        with pytest.raises(ClientError) as gone:
            client.list_parts(Bucket=bucket, Key=plan.key, UploadId=plan.upload_id)
        assert gone.value.response["Error"]["Code"] == "NoSuchUpload"


def test_result_upload_is_json_under_the_result_key(target: Target) -> None:
    body = b'{"rows": 2}'
    plan = byos.presign_upload(
        target.destination, "result.json", size=len(body), kind="result", import_id="imp-42"
    )
    assert plan.kind == "result"
    assert plan.key == "imports/imp-42.json"
    assert plan.to_dict()["kind"] == "result"
    headers = {name.lower(): value for name, value in plan.parts[0].headers.items()}
    assert "application/json" in (headers.get("content-type"), headers.get("x-ms-blob-content-type"))
    plan_client.run(plan.to_dict(), body)
    assert target.read(plan.key) == body
