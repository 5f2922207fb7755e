"""The setup checker against real S3 servers: LocalStack (checks presigned signatures) and moto (IAM auth)."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
import requests

from byos import http
from byos.checker import check_setup
from byos.checker.common import probe_request
from byos.checker.context import CheckContext
from byos.config import S3Destination
from byos.models import Report, Status
from tests.s3_helpers import client, destination, new_bucket
from tests.servers import LocalStackServer, MotoServer

pytestmark = pytest.mark.emulator

ORIGIN = "https://app.example.com"
OTHER_ORIGIN = "https://evil.example.net"
DEADLINE = 20.0
# Checks that cannot mean anything without the bucket: the runner skips them when bucket.exists fails.
BUCKET_DEPENDENT = ("bucket.region", "upload", "write_once", "least_privilege", "cors", "encryption")
_SIGNATURE = re.compile(r"X-Amz-Signature=[0-9a-f]{16,}", re.IGNORECASE)


def run(dest: S3Destination, **options: Any) -> Report:
    """Run check_setup, assert it returned within its deadline and leaked no secret; return the report."""
    deadline = options.setdefault("deadline", DEADLINE)
    started = time.monotonic()
    report = check_setup(dest, **options)
    elapsed = time.monotonic() - started
    assert elapsed < deadline, f"check_setup took {elapsed:.1f} s, past its {deadline} s deadline"
    text = json.dumps(report.to_dict())
    assert dest.secret_access_key is not None
    secret = dest.secret_access_key.get_secret_value()
    if len(secret) >= 16:  # LocalStack's fixed secret "test" is part of every bucket name here
        assert secret not in text
    assert not _SIGNATURE.search(text)
    return report


def status(report: Report) -> dict[str, Status]:
    return {check.id: check.status for check in report.checks}


def result(report: Report, check_id: str) -> tuple[Status, str]:
    found = next(check for check in report.checks if check.id == check_id)
    return found.status, found.message


def signed_header_names(dest: S3Destination) -> list[str]:
    """The headers the checker's probe upload signs (and so a browser sends), as a CORS rule lists them."""
    ctx = CheckContext(destination=dest, origins=[], timeout=1.0, deadline=time.monotonic() + 5)
    return sorted(name.lower() for name in probe_request(ctx).headers)


def cors_rule(origin: str, headers: list[str], *, expose: list[str] | None = None) -> dict[str, Any]:
    rule: dict[str, Any] = {
        "AllowedOrigins": [origin],
        "AllowedMethods": ["PUT", "POST"],
        "AllowedHeaders": headers,
    }
    if expose is not None:
        rule["ExposeHeaders"] = expose
    return rule


def put_cors(server: Any, bucket: str, rule: dict[str, Any]) -> None:
    client(server).put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [rule]})


# --- LocalStack: presigned signatures are checked ---


@pytest.mark.parametrize("allowed_headers", ["signed", "*"])
def test_well_configured_bucket_passes(localstack: LocalStackServer, allowed_headers: str) -> None:
    bucket = new_bucket(localstack)
    dest = destination(localstack, bucket, origins=[ORIGIN])
    headers = signed_header_names(dest) if allowed_headers == "signed" else ["*"]
    put_cors(localstack, bucket, cors_rule(ORIGIN, headers, expose=["ETag"]))

    report = run(dest)

    found = status(report)
    for check_id in (
        "config",
        "credentials",
        "bucket.exists",
        "bucket.region",
        "upload",
        "write_once",
        "cors",
        "encryption",
        "clock",
        "lifetime",
    ):
        assert found[check_id] is Status.PASS, (check_id, result(report, check_id))
    # LocalStack enforces no IAM policy on header-signed calls, so the keys can read, list and delete: warn.
    # It also has no anonymous-access control (no Block Public Access, no bucket policy evaluation): an
    # anonymous ListObjectsV2 answers 200, so public_access fails. Both are LocalStack's, not byos bugs:
    # moto with IAM auth proves least_privilege below, and the stub tests prove public_access passes.
    assert result(report, "least_privilege") == (
        Status.WARN,
        "the uploader's credentials can also read, list, delete; the customer was promised write-only",
    )
    assert found["public_access"] is Status.FAIL
    assert "list" in result(report, "public_access")[1]
    assert anonymous_list_status(localstack, bucket) == 200
    # The probe went to the reserved probe folder, and least_privilege's delete trial left it there.
    assert f"PUT to {dest.prefix}{dest.probe_prefix}probe-" in result(report, "upload")[1]
    keys = [o["Key"] for o in client(localstack).list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert keys
    assert all(key.startswith(f"{dest.prefix}{dest.probe_prefix}probe-") for key in keys)


def anonymous_list_status(server: Any, bucket: str) -> int:
    return requests.get(f"{server.endpoint}/{bucket}/?list-type=2", timeout=10).status_code


def test_missing_bucket_fails_and_dependent_checks_skip(localstack: LocalStackServer) -> None:
    dest = destination(localstack, f"byos-missing-{uuid.uuid4().hex[:12]}", origins=[ORIGIN])

    report = run(dest)

    check, message = result(report, "bucket.exists")
    assert check is Status.FAIL
    assert f"bucket {dest.bucket} does not exist" in message
    found = status(report)
    assert {check_id: found[check_id] for check_id in BUCKET_DEPENDENT} == dict.fromkeys(
        BUCKET_DEPENDENT, Status.SKIP
    )
    assert found["credentials"] is Status.PASS
    assert not report.ok


@pytest.mark.parametrize(
    ("bucket_region", "configured"), [("eu-west-2", "us-east-1"), ("us-east-1", "eu-west-2")]
)
def test_region_mismatch_fails_naming_the_real_region(
    localstack: LocalStackServer, bucket_region: str, configured: str
) -> None:
    bucket = new_bucket(localstack, bucket_region)
    dest = destination(localstack, bucket, region=configured)

    report = run(dest)

    check, message = result(report, "bucket.region")
    assert check is Status.FAIL
    assert f"is in {bucket_region}, not in the configured {configured}" in message
    remediation = next(c.remediation for c in report.checks if c.id == "bucket.region")
    assert f"region = {bucket_region!r}" in remediation
    assert status(report)["bucket.exists"] is Status.PASS


def test_wrong_secret_fails_the_upload(localstack: LocalStackServer) -> None:
    bucket = new_bucket(localstack)
    dest = destination(localstack, bucket, secret_access_key="not-the-secret-" + uuid.uuid4().hex)

    report = run(dest)

    check, message = result(report, "upload")
    assert check is Status.FAIL
    assert "SignatureDoesNotMatch" in message
    assert status(report)["write_once"] is Status.SKIP
    # LocalStack checks no signature on header-signed SDK calls, so the credentials check (an SDK call)
    # cannot see the wrong secret there; the presigned upload is what exposes it.
    assert client(localstack).list_objects_v2(Bucket=bucket).get("KeyCount") == 0


@pytest.mark.parametrize("rule_origin", [None, OTHER_ORIGIN], ids=["no-rules", "other-origin"])
def test_cors_missing_or_for_another_origin_fails(
    localstack: LocalStackServer, rule_origin: str | None
) -> None:
    bucket = new_bucket(localstack)
    dest = destination(localstack, bucket, origins=[ORIGIN])
    if rule_origin is not None:
        put_cors(localstack, bucket, cors_rule(rule_origin, ["*"], expose=["ETag"]))

    report = run(dest)

    check, message = result(report, "cors")
    assert check is Status.FAIL
    assert message.startswith(f"browsers cannot upload from {ORIGIN}: the preflight was refused (HTTP 403)")
    assert status(report)["upload"] is Status.PASS


def test_etag_not_exposed_is_invisible_through_localstack(localstack: LocalStackServer) -> None:
    """LocalStack answers Access-Control-Expose-Headers, but refuses the checker's ETag probe.

    The checker learns whether ETag is exposed from a probe PUT sent with an ``Origin`` header, as a browser
    sends it. LocalStack refuses that PUT with SignatureDoesNotMatch: it decides which request headers were
    signed with a substring test on ``X-Amz-SignedHeaders``, and ``origin`` is a substring of the signed
    ``x-amz-meta-original-filename``, so it puts ``origin`` into the canonical request. The checker then
    cannot tell and keeps ``cors`` at pass; the warn itself is proven against a stub in
    tests/test_checker_faults.py. Real S3 signs only the listed headers.
    """
    bucket = new_bucket(localstack)
    dest = destination(localstack, bucket, origins=[ORIGIN])
    headers = signed_header_names(dest)
    preflight = {
        "Origin": ORIGIN,
        "Access-Control-Request-Method": "PUT",
        "Access-Control-Request-Headers": ",".join(headers),
    }
    ctx = CheckContext(destination=dest, origins=[ORIGIN], timeout=5.0, deadline=time.monotonic() + 10)

    put_cors(localstack, bucket, cors_rule(ORIGIN, headers, expose=["ETag"]))
    exposed = http.send("OPTIONS", probe_request(ctx).url, headers=preflight)
    assert exposed.status == 200
    assert exposed.header("access-control-expose-headers") == "ETag"

    put_cors(localstack, bucket, cors_rule(ORIGIN, headers))
    hidden = http.send("OPTIONS", probe_request(ctx).url, headers=preflight)
    assert hidden.status == 200
    assert hidden.header("access-control-expose-headers") == ""

    probe = probe_request(ctx)
    with_origin = http.send("PUT", probe.url, headers={**probe.headers, "Origin": ORIGIN}, body=b"probe\n")
    assert with_origin.status == 403
    assert b"<Code>SignatureDoesNotMatch</Code>" in with_origin.body
    assert b"content-type;host;if-none-match;origin;x-amz-meta-original-filename" in with_origin.body
    without_origin = http.send("PUT", probe.url, headers=probe.headers, body=b"probe\n")
    assert without_origin.status == 200

    report = run(dest)
    check, message = result(report, "cors")
    assert check is Status.PASS
    assert f"allowed from {ORIGIN}" in message
    assert message.endswith("(ETag exposure could not be verified: the probe upload was refused)")


# --- moto with IAM auth: permissions of header-signed calls are checked ---


def _iam(server: MotoServer) -> Any:
    import boto3  # noqa: PLC0415  (only these tests need IAM)

    return boto3.client(
        "iam",
        endpoint_url=server.endpoint,
        region_name=server.region,
        aws_access_key_id=server.access_key_id,
        aws_secret_access_key=server.secret_access_key,
    )


def iam_user(server: MotoServer, statement: dict[str, Any]) -> tuple[str, str]:
    """Create (with auth off) an IAM user with one inline policy statement; return its access key."""
    iam = _iam(server)
    name = f"byos-{uuid.uuid4().hex[:10]}"
    iam.create_user(UserName=name)
    document = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", **statement}]}
    iam.put_user_policy(UserName=name, PolicyName="byos", PolicyDocument=json.dumps(document))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return str(key["AccessKeyId"]), str(key["SecretAccessKey"])


def auth_off_while_sending(server: MotoServer) -> Callable[..., http.Response]:
    """A transport that turns moto's IAM auth off for each presigned or anonymous request, and on again after.

    With auth on, moto answers every presigned or anonymous request with HTTP 500 (a moto bug, see
    EMULATORS.md), which would fail bucket.exists and skip least_privilege. The checker runs its checks one
    after the other, so its header-signed requests (``Authorization``) still meet IAM auth.
    """

    def transport(method: str, url: str, **options: Any) -> http.Response:
        if any(name.lower() == "authorization" for name in options.get("headers") or {}):
            return http.send(method, url, **options)
        server.reset_auth(False)
        try:
            return http.send(method, url, **options)
        finally:
            server.reset_auth(True)

    return transport


@pytest.mark.parametrize("role", ["put-only", "admin"])
def test_least_privilege_with_iam_auth(moto_server: MotoServer, role: str) -> None:
    bucket = new_bucket(moto_server)
    prefix = "imports/"
    if role == "put-only":
        statement = {"Action": ["s3:PutObject"], "Resource": [f"arn:aws:s3:::{bucket}/{prefix}*"]}
    else:
        statement = {"Action": ["s3:*"], "Resource": ["*"]}
    access_key_id, secret = iam_user(moto_server, statement)
    dest = destination(
        moto_server, bucket, access_key_id=access_key_id, secret_access_key=secret, prefix=prefix
    )

    with moto_server.auth():
        report = run(dest, transport=auth_off_while_sending(moto_server))
        # IAM auth really is on for SDK calls here: the put-only user may not list the bucket.
        listing = _listing_status(moto_server, bucket, access_key_id, secret)

    check, message = result(report, "least_privilege")
    assert status(report)["credentials"] is Status.PASS
    if role == "put-only":
        assert listing == 403
        assert (check, message) == (
            Status.PASS,
            "reading, listing and deleting with the uploader's credentials were refused",
        )
    else:
        assert listing == 200
        assert check is Status.WARN
        assert "can also read, list, delete" in message


def _listing_status(server: MotoServer, bucket: str, access_key_id: str, secret: str) -> int:
    import boto3  # noqa: PLC0415
    from botocore.exceptions import ClientError  # noqa: PLC0415

    s3 = boto3.client(
        "s3",
        endpoint_url=server.endpoint,
        region_name=server.region,
        aws_access_key_id=access_key_id,
        aws_secret_access_key=secret,
    )
    try:
        s3.list_objects_v2(Bucket=bucket)
    except ClientError as exc:
        return int(exc.response["ResponseMetadata"]["HTTPStatusCode"])
    return 200
