"""The generated S3 IAM policy and CORS rules, applied in moto: uploads work, nothing else does.

moto checks header-signed SDK calls against IAM policies when its auth is on, but answers presigned
requests with HTTP 500 while it is (see EMULATORS.md). So the checker's ``upload`` check cannot pass there
with auth on: the same write permission is proven with header-signed PutObject and multipart calls
instead, and the checker's ``credentials`` and ``least_privilege`` checks run with auth on.

moto matches CORS origins but not methods or headers; it answers a preflight with the rule's own header
list, so the ``cors`` check (run with auth off) also finds each header the probe sends named in the rule.
"""

from __future__ import annotations

import copy
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from byos.checker import check_setup, provider_checks
from byos.checker.context import CheckContext
from byos.config import S3Destination
from byos.keys import KeyLayout, metadata_filename
from byos.models import CheckResult, Status
from byos.policy import build_policy
from tests.s3_helpers import client, destination, new_bucket

pytestmark = pytest.mark.emulator

ORIGIN = "https://app.example.com"
OTHER_ORIGIN = "https://evil.example.com"
BODY = b"id,name\n1,Ada\n"


@dataclass(frozen=True)
class Uploader:
    """An IAM user of moto holding one policy, and a destination signing with its keys."""

    name: str
    destination: S3Destination
    s3: Any


def iam(server: Any) -> Any:
    return boto3.client(
        "iam",
        endpoint_url=server.endpoint,
        region_name=server.region,
        aws_access_key_id=server.access_key_id,
        aws_secret_access_key=server.secret_access_key,
    )


def uploader(server: Any, bucket: str, document: dict[str, Any]) -> Uploader:
    """Create a user with ``document`` as its only policy (auth must be off); return its keys' destination."""
    name = f"byos-uploader-{uuid.uuid4().hex[:10]}"
    admin = iam(server)
    admin.create_user(UserName=name)
    admin.put_user_policy(UserName=name, PolicyName="byos-write-only", PolicyDocument=json.dumps(document))
    key = admin.create_access_key(UserName=name)["AccessKey"]
    dest = destination(
        server,
        bucket,
        access_key_id=key["AccessKeyId"],
        secret_access_key=key["SecretAccessKey"],
        prefix="imports/acme/",
        origins=[ORIGIN],
    )
    s3 = boto3.client(
        "s3",
        endpoint_url=server.endpoint,
        region_name=server.region,
        aws_access_key_id=key["AccessKeyId"],
        aws_secret_access_key=key["SecretAccessKey"],
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
    )
    return Uploader(name, dest, s3)


def error_code(call: Callable[[], object]) -> str | None:
    """Run ``call``; None when it succeeded, else the S3 error code."""
    try:
        call()
    except ClientError as exc:
        return str(exc.response.get("Error", {}).get("Code"))
    return None


def put_like_a_presign(s3: Any, bucket: str, key: str) -> Callable[[], object]:
    """A header-signed PutObject carrying what a byos presign signs: type, write-once, original name."""
    return lambda: s3.put_object(
        Bucket=bucket,
        Key=key,
        Body=BODY,
        ContentType="text/csv",
        IfNoneMatch="*",
        Metadata={"original-filename": metadata_filename("Q3 report.csv")},
    )


def multipart_then(s3: Any, bucket: str, key: str, finish: str) -> Callable[[], object]:
    def run() -> object:
        upload_id = s3.create_multipart_upload(Bucket=bucket, Key=key, ContentType="text/csv")["UploadId"]
        part = s3.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=1, Body=BODY)
        if finish == "abort":
            return s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
        return s3.complete_multipart_upload(
            Bucket=bucket,
            Key=key,
            UploadId=upload_id,
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
        )

    return run


@pytest.fixture(scope="module")
def bucket(moto_server: Any) -> str:
    return new_bucket(moto_server)


@pytest.fixture(scope="module")
def generated(moto_server: Any, bucket: str) -> Uploader:
    """A user holding exactly the IAM policy `byos policy` prints for its destination."""
    template = destination(moto_server, bucket, prefix="imports/acme/", origins=[ORIGIN])
    return uploader(moto_server, bucket, build_policy(template).document("iam-policy.json"))


def test_generated_policy_lets_uploads_in_and_nothing_else(
    moto_server: Any, bucket: str, generated: Uploader
) -> None:
    layout = KeyLayout.from_destination(generated.destination)
    raw, probe = layout.raw_key("Q3 report.csv"), layout.probe_key()
    outside = "imports/other/" + raw.rsplit("/", 1)[1]
    s3 = generated.s3
    with moto_server.auth():
        allowed = {
            "put raw key": error_code(put_like_a_presign(s3, bucket, raw)),
            "put probe key": error_code(put_like_a_presign(s3, bucket, probe)),
            "multipart complete": error_code(
                multipart_then(s3, bucket, layout.raw_key("big.csv"), "complete")
            ),
            "multipart abort": error_code(multipart_then(s3, bucket, layout.raw_key("big.csv"), "abort")),
        }
        denied = {
            "put outside the prefix": error_code(put_like_a_presign(s3, bucket, outside)),
            "multipart outside the prefix": error_code(multipart_then(s3, bucket, outside, "abort")),
            "get": error_code(lambda: s3.get_object(Bucket=bucket, Key=raw)),
            "head": error_code(lambda: s3.head_object(Bucket=bucket, Key=raw)),
            "list": error_code(lambda: s3.list_objects_v2(Bucket=bucket, Prefix="imports/acme/")),
            "delete": error_code(lambda: s3.delete_object(Bucket=bucket, Key=raw)),
            "read bucket CORS": error_code(lambda: s3.get_bucket_cors(Bucket=bucket)),
            "change bucket policy": error_code(
                lambda: s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17"}))
            ),
        }
    assert allowed == dict.fromkeys(allowed)
    assert {name: code in ("AccessDenied", "403") for name, code in denied.items()} == dict.fromkeys(
        denied, True
    )
    stored = client(moto_server).get_object(Bucket=bucket, Key=raw)
    assert stored["Body"].read() == BODY
    assert stored["Metadata"] == {"original-filename": "Q3 report.csv"}


def without(moto_server: Any, bucket: str, action: str) -> Uploader:
    """A user holding the generated policy minus ``action``."""
    template = destination(moto_server, bucket, prefix="imports/acme/")
    document = copy.deepcopy(build_policy(template).document("iam-policy.json"))
    (statement,) = document["Statement"]
    assert action in statement["Action"]
    statement["Action"] = [a for a in statement["Action"] if a != action]
    return uploader(moto_server, bucket, document)


def test_nothing_less_works_without_put_object(moto_server: Any, bucket: str) -> None:
    reduced = without(moto_server, bucket, "s3:PutObject")
    layout = KeyLayout.from_destination(reduced.destination)
    with moto_server.auth():
        put = error_code(put_like_a_presign(reduced.s3, bucket, layout.raw_key("a.csv")))
        create = error_code(lambda: reduced.s3.create_multipart_upload(Bucket=bucket, Key=layout.probe_key()))
    assert (put, create) == ("AccessDenied", "AccessDenied")


def test_nothing_less_works_without_abort_multipart_upload(moto_server: Any, bucket: str) -> None:
    reduced = without(moto_server, bucket, "s3:AbortMultipartUpload")
    key = KeyLayout.from_destination(reduced.destination).raw_key("big.csv")
    s3 = reduced.s3
    with moto_server.auth():
        upload_id = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
        s3.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=1, Body=BODY)
        abort = error_code(lambda: s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id))
    assert abort == "AccessDenied"


def run_checks(moto_server: Any, dest: S3Destination, *check_ids: str) -> dict[str, Any]:
    """Run some of the S3 checker's checks with moto's auth on, as check_setup would, and return outcomes.

    check_setup itself cannot run them with auth on: its bucket.exists check uses a presigned HEAD, which moto
    answers with HTTP 500 while auth is on, so every check needing the bucket would be skipped.
    """
    checks = provider_checks("s3")
    ctx = CheckContext(destination=dest, origins=[], timeout=10.0, deadline=time.monotonic() + 30)
    with moto_server.auth():
        return {check_id: getattr(checks, check_id)(ctx) for check_id in check_ids}


def test_checker_finds_the_generated_policy_least_privileged(moto_server: Any, generated: Uploader) -> None:
    outcomes = run_checks(moto_server, generated.destination, "credentials", "least_privilege")
    assert outcomes["credentials"].status is Status.PASS, outcomes["credentials"].message
    assert outcomes["least_privilege"].status is Status.PASS, outcomes["least_privilege"].message


def test_checker_flags_a_broader_policy_on_the_same_server(moto_server: Any, bucket: str) -> None:
    broad = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "s3:*",
                "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
            }
        ],
    }
    outcome = run_checks(moto_server, uploader(moto_server, bucket, broad).destination, "least_privilege")
    assert outcome["least_privilege"].status is Status.WARN
    assert "IAM policy" in outcome["least_privilege"].remediation


def cors_result(dest: S3Destination, origins: list[str]) -> CheckResult:
    (result,) = [r for r in check_setup(dest, origins).checks if r.id == "cors"]
    return result


def test_generated_cors_rules_pass_the_cors_check_for_the_origin_only(moto_server: Any) -> None:
    bucket = new_bucket(moto_server)
    dest = destination(moto_server, bucket, prefix="imports/acme/", origins=[ORIGIN])
    before = cors_result(dest, [ORIGIN])
    client(moto_server).put_bucket_cors(
        Bucket=bucket, CORSConfiguration=build_policy(dest).document("cors.json")
    )
    allowed = cors_result(dest, [ORIGIN])
    refused = cors_result(dest, [OTHER_ORIGIN])
    both = cors_result(dest, [ORIGIN, OTHER_ORIGIN])
    assert before.status is Status.FAIL
    assert allowed.status is Status.PASS, allowed.message
    assert refused.status is Status.FAIL
    assert OTHER_ORIGIN in refused.message
    assert "CORS rules" in refused.remediation
    assert both.status is Status.FAIL
    assert ORIGIN + ":" not in both.message
