"""``expected_bucket_owner``: every S3 request byos signs names the bucket's owner, signed.

Neither LocalStack 4 nor moto checks ``x-amz-expected-bucket-owner`` (measured: a PutObject, HeadBucket and
GetBucketLocation naming another account all succeed there), so S3's refusal of a wrong owner is played by
tests/stub_servers.py's StubS3 (S3 answers 403 AccessDenied); the signatures are checked by botocore equality
and the independent verifier, and the header reaches LocalStack signed.
"""

from __future__ import annotations

import io
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

import byos
from byos.checker import check_setup
from byos.config import destination_from_dict
from byos.errors import ConfigError, InvalidInputError
from byos.models import Status
from byos.policy import build_policy
from tests import gcs_helpers, plan_client, s3_helpers
from tests.sigv4_verifier import VerificationError, verify_presigned_url
from tests.stub_servers import STUB_ORIGIN, Reply, StubRequest, StubS3, s3_error
from tests.test_sigv4_equivalence import botocore_clock

OWNER = "111122223333"
OTHER = "444455556666"
NOW = datetime(2026, 11, 2, 12, 0, 0, tzinfo=UTC)
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
S3 = {
    "provider": "s3",
    "bucket": "acme-imports",
    "region": "eu-west-1",
    "access_key_id": "AKIAIOSFODNN7EXAMPLE",
    "secret_access_key": SECRET,
    "prefix": "imports/",
    "expected_bucket_owner": OWNER,
}


@pytest.mark.parametrize("value", ["12345678901", "1234567890123", "11112222333a", " 111122223333"])
def test_a_bad_account_id_is_refused_in_one_line(value: str) -> None:
    with pytest.raises(ConfigError) as refused:
        destination_from_dict({**S3, "expected_bucket_owner": value}, env=False)
    assert str(refused.value).startswith("expected_bucket_owner: ")
    assert "12-digit AWS account id" in str(refused.value)
    assert "\n" not in str(refused.value)


def test_put_signs_the_owner_and_equals_botocore() -> None:
    dest = destination_from_dict(S3, env=False)
    plan = byos.presign_upload(dest, "a.csv", size=10, now=NOW)
    request = plan.request
    assert request is not None
    assert request.headers["x-amz-expected-bucket-owner"] == OWNER
    client = boto3.client(
        "s3",
        region_name="eu-west-1",
        aws_access_key_id=S3["access_key_id"],
        aws_secret_access_key=SECRET,
        config=Config(signature_version="s3v4", s3={"addressing_style": "virtual"}),
    )
    params = {
        "Bucket": "acme-imports",
        "Key": plan.key,
        "ContentLength": 10,
        "IfNoneMatch": "*",
        "Metadata": {"original-filename": "a.csv"},
        "ExpectedBucketOwner": OWNER,
    }
    with botocore_clock(NOW):
        theirs = client.generate_presigned_url(
            "put_object", Params=params, ExpiresIn=int(dest.expires.total_seconds())
        )
    assert request.url == theirs
    verify_presigned_url("PUT", request.url, request.headers, secret_access_key=SECRET, now=NOW)
    dropped = {k: v for k, v in request.headers.items() if k != "x-amz-expected-bucket-owner"}
    with pytest.raises(VerificationError):
        verify_presigned_url("PUT", request.url, dropped, secret_access_key=SECRET, now=NOW)
    other = {**request.headers, "x-amz-expected-bucket-owner": OTHER}
    with pytest.raises(VerificationError):
        verify_presigned_url("PUT", request.url, other, secret_access_key=SECRET, now=NOW)


def test_post_forms_are_refused_when_the_owner_is_bound() -> None:
    dest = destination_from_dict(S3, env=False)
    with pytest.raises(
        InvalidInputError, match=r"^method: a POST form cannot carry x-amz-expected-bucket-owner"
    ):
        byos.presign_upload(dest, "a.csv", method="POST", now=NOW)


def test_cors_allows_the_owner_header_only_when_set() -> None:
    bound = build_policy(destination_from_dict(S3, env=False), origins=[STUB_ORIGIN])
    rule = bound.document("cors.json")["CORSRules"][0]
    assert "x-amz-expected-bucket-owner" in rule["AllowedHeaders"]
    free = build_policy(destination_from_dict({**S3, "expected_bucket_owner": None}, env=False))
    assert "x-amz-expected-bucket-owner" not in free.document("cors.json")["CORSRules"][0]["AllowedHeaders"]
    assert any(step.startswith("Set expected_bucket_owner to the customer's") for step in free.steps)
    assert any(step.startswith(f"expected_bucket_owner is {OWNER}") for step in bound.steps)


@pytest.mark.emulator
def test_every_plan_request_carries_the_owner_signed(localstack: Any) -> None:
    bucket = s3_helpers.new_bucket(localstack)
    dest = s3_helpers.destination(localstack, bucket, expected_bucket_owner="000000000000")
    now = datetime.now(UTC).replace(microsecond=0)
    plan = byos.presign_upload(dest, "big.csv", size=11 * 1024**2, part_size=5 * 1024**2, now=now)
    assert plan.complete is not None
    assert plan.abort is not None
    for step in (*plan.parts, plan.complete, plan.abort):
        assert step.headers["x-amz-expected-bucket-owner"] == "000000000000"
        assert step.url is not None
        assert "x-amz-expected-bucket-owner" in step.url.split("X-Amz-SignedHeaders=")[1].split("&")[0]
        verify_presigned_url(
            step.method, step.url, step.headers, secret_access_key=localstack.secret_access_key, now=now
        )
    data = os.urandom(11 * 1024**2)
    plan_client.run(plan.to_dict(), data)  # LocalStack accepts every step with the owner header signed
    client = s3_helpers.client(localstack)
    assert client.get_object(Bucket=bucket, Key=plan.key)["Body"].read() == data
    result = byos.upload_file(dest, io.BytesIO(b"x" * 100), filename="small.csv")
    assert client.get_object(Bucket=bucket, Key=result.key)["Body"].read() == b"x" * 100


def _owner_checking(request: StubRequest) -> Reply | None:
    """S3's rule: a request naming another account as the bucket's owner is refused with 403."""
    named = request.headers.get("x-amz-expected-bucket-owner")
    if named is not None and named != OWNER:
        return s3_error(403, "AccessDenied", "Access Denied")
    return None


def _check(endpoint: str, **settings: Any) -> dict[str, tuple[Status, str]]:
    values = {**S3, "region": "us-east-1", "endpoint_url": endpoint, **settings}
    report = check_setup(destination_from_dict(values, env=False), [STUB_ORIGIN], timeout=5, deadline=20)
    return {result.id: (result.status, result.message) for result in report.checks}


def test_check_reports_the_owner() -> None:
    with StubS3(_owner_checking) as stub:
        right = _check(stub.endpoint)
        wrong = _check(stub.endpoint, expected_bucket_owner=OTHER)
        unset = _check(stub.endpoint, expected_bucket_owner=None)
        sent = [r.headers.get("x-amz-expected-bucket-owner") for r in stub.requests if r.method != "OPTIONS"]
    assert right["bucket.owner"][0] is Status.PASS
    assert OWNER in right["bucket.owner"][1]
    assert wrong["bucket.owner"][0] is Status.FAIL
    assert "belongs to another account" in wrong["bucket.owner"][1]
    assert wrong["upload"][0] is Status.FAIL
    assert unset["bucket.owner"][0] is Status.SKIP
    assert unset["bucket.owner"][1].startswith("expected_bucket_owner is not set")
    assert OWNER in sent
    assert OTHER in sent


@pytest.mark.emulator
def test_check_skips_the_owner_off_s3(fake_gcs: Any, tmp_path: Path) -> None:
    dest = gcs_helpers.destination(
        bucket=gcs_helpers.new_bucket(fake_gcs),
        endpoint_url=fake_gcs.endpoint,
        service_account_file=gcs_helpers.write_key_file(tmp_path),
    )
    report = check_setup(dest, timeout=5, deadline=20)
    owner = next(result for result in report.checks if result.id == "bucket.owner")
    assert owner.status is Status.SKIP
    assert owner.message.startswith("S3 only: ")
