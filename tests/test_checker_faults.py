"""The setup checker under faults no real server produces: refusal, silence, throttling, skew, odd answers."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from byos import http
from byos.checker import CHECK_IDS, check_setup
from byos.checker.context import BACKOFF_SECONDS, RETRIES
from byos.config import S3Destination, destination_from_dict
from byos.models import Report, Status
from byos.providers.s3 import clear_credential_cache
from byos.uploads import presign_upload
from tests.servers import MotoServer
from tests.stub_servers import (
    SLOW_DOWN,
    STUB_ORIGIN,
    Reply,
    SilentServer,
    StubRequest,
    StubS3,
    refusing_port,
)

SECRET = "stub-secret-" + "9f3c1a7e5b2d4c6f8a0b"
BUCKET = "acme-imports"
MARGIN = 0.75  # seconds past the deadline that bookkeeping may take
_SIGNATURE = re.compile(r"X-Amz-Signature=[0-9a-f]{16,}", re.IGNORECASE)


def dest(endpoint: str, **settings: Any) -> S3Destination:
    values: dict[str, Any] = {
        "provider": "s3",
        "bucket": BUCKET,
        "region": "us-east-1",
        "endpoint_url": endpoint,
        "access_key_id": "AKIDSTUBEXAMPLE",
        "secret_access_key": SECRET,
        "prefix": "imports/",
        **settings,
    }
    built = destination_from_dict(values, env=False)
    assert isinstance(built, S3Destination)
    return built


def run(destination: S3Destination, *, deadline: float = 10.0, **options: Any) -> tuple[Report, float]:
    """Run check_setup; assert it returned within its deadline, in order, leaking nothing; give the time."""
    started = time.monotonic()
    report = check_setup(destination, deadline=deadline, **options)
    elapsed = time.monotonic() - started
    assert elapsed <= deadline + MARGIN, f"check_setup took {elapsed:.2f} s for a {deadline} s deadline"
    assert tuple(check.id for check in report.checks) == CHECK_IDS
    assert_no_secrets(report)
    return report, elapsed


def assert_no_secrets(report: Report) -> None:
    text = json.dumps(report.to_dict())
    assert SECRET not in text
    assert not _SIGNATURE.search(text), _SIGNATURE.search(text)


def check(report: Report, check_id: str) -> tuple[Status, str]:
    found = next(c for c in report.checks if c.id == check_id)
    return found.status, found.message


def statuses(report: Report) -> dict[str, Status]:
    return {c.id: c.status for c in report.checks}


def faking(answer: Callable[[str, str], http.Response | None]) -> Callable[..., http.Response]:
    """A transport that lets ``answer(method, url)`` fake a response, else really sends the request."""

    def transport(method: str, url: str, **options: Any) -> http.Response:
        return answer(method, url) or http.send(method, url, **options)

    return transport


@pytest.fixture
def stub() -> Iterator[StubS3]:
    with StubS3() as server:
        yield server


# --- the stub is a fair baseline ---


def test_stub_write_only_bucket_passes_everything(stub: StubS3) -> None:
    report, _ = run(dest(stub.endpoint, origins=[STUB_ORIGIN]))

    found = statuses(report)
    assert found.pop("encryption") is Status.SKIP  # write-only keys may not read the encryption settings
    assert found == dict.fromkeys(found, Status.PASS)
    assert report.ok
    assert report.strict_ok


# --- connections ---


def test_refused_connections_fail_fast_with_a_clear_message() -> None:
    with refusing_port() as port:
        report, elapsed = run(dest(f"http://127.0.0.1:{port}"))

    assert elapsed < 3.0
    assert check(report, "credentials") == (
        Status.FAIL,
        "S3 could not be reached (EndpointConnectionError)",
    )
    state, message = check(report, "public_access")
    assert state is Status.FAIL
    assert "ConnectionRefusedError" in message
    assert check(report, "bucket.exists")[0] is Status.SKIP
    assert not report.ok


def test_refused_presigned_request_message_is_redacted(stub: StubS3) -> None:
    with refusing_port() as port:
        elsewhere = f"http://127.0.0.1:{port}"

        def refused(method: str, url: str, **options: Any) -> http.Response:
            return http.send(method, url.replace(stub.endpoint, elsewhere), **options)

        destination = dest(stub.endpoint)
        report, _ = run(destination, transport=refused)

    assert _SIGNATURE.search(presign_upload(destination, "x.csv").url)  # the scan would see a signature
    state, message = check(report, "bucket.exists")
    assert state is Status.FAIL
    assert "ConnectionRefusedError" in message
    assert "X-Amz-Signature=REDACTED" in message  # the presigned HEAD is named, its signature is not


@pytest.mark.parametrize(("deadline", "timeout"), [(3.0, 1.0), (1.5, 1.0)])
def test_silent_endpoint_respects_the_deadline(deadline: float, timeout: float) -> None:
    with SilentServer() as silent:
        report, elapsed = run(dest(silent.endpoint), deadline=deadline, timeout=timeout)
        assert silent.accepted >= 1

    assert elapsed <= deadline + MARGIN
    assert check(report, "credentials") == (
        Status.FAIL,
        f"the storage service did not answer within {timeout:g} s",
    )
    assert check(report, "public_access")[0] is Status.FAIL
    failures = [c for c in report.checks if c.status is Status.FAIL]
    for failure in failures:
        assert "did not answer" in failure.message or "deadline" in failure.message, failure
    if deadline < 2 * timeout:
        # Two calls of `timeout` each would take 2 s: the second one was cut to the time left.
        assert elapsed < 2 * timeout


# --- throttling ---


def test_endless_throttling_is_retried_then_reported() -> None:
    with StubS3(lambda _: SLOW_DOWN) as throttled:
        report, _ = run(dest(throttled.endpoint), timeout=2.0)
        anonymous_list = [r for r in throttled.seen("GET", presigned=False) if "list-type" in r.query]

    state, message = check(report, "credentials")
    assert state is Status.FAIL
    assert "SlowDown" in message
    assert "throttling" in message
    state, message = check(report, "public_access")
    assert state is Status.FAIL
    assert "(the service kept throttling, HTTP 429/503)" in message
    assert len(anonymous_list) == RETRIES
    public_access_ms = next(c.duration_ms for c in report.checks if c.id == "public_access")
    backoff = sum(BACKOFF_SECONDS * 2**n for n in range(RETRIES - 1))
    assert public_access_ms >= 2 * backoff * 1000  # two URLs, each retried with the full backoff
    assert not report.ok


def test_throttled_probe_upload_succeeds_after_retries() -> None:
    throttle_left = [2]

    def handler(request: StubRequest) -> Reply | None:
        if request.method == "PUT" and request.presigned and throttle_left[0] > 0:
            throttle_left[0] -= 1
            return SLOW_DOWN
        return None

    with StubS3(handler) as server:
        report, _ = run(dest(server.endpoint))
        puts = [
            status
            for request, status in zip(server.requests, server.replies, strict=True)
            if request.method == "PUT" and request.presigned
        ]

    state, message = check(report, "upload")
    assert state is Status.PASS
    assert "throttl" not in message
    assert puts[:3] == [503, 503, 200]  # the upload: throttled twice, then accepted
    assert puts[3:] == [412]  # write_once's attempt to overwrite
    assert check(report, "write_once")[0] is Status.PASS


# --- answers no local server gives ---


def test_301_from_another_region_fails_bucket_region(stub: StubS3) -> None:
    def wrong_region(method: str, url: str) -> http.Response | None:
        if method == "HEAD" and url.split("?", maxsplit=1)[0] == f"{stub.endpoint}/{BUCKET}":
            body = b"<Error><Code>PermanentRedirect</Code></Error>"
            return http.Response(301, {"x-amz-bucket-region": "eu-central-1"}, body)
        return None

    report, _ = run(dest(stub.endpoint), transport=faking(wrong_region))

    assert check(report, "bucket.exists")[0] is Status.PASS
    state, message = check(report, "bucket.region")
    assert state is Status.FAIL
    assert f"bucket {BUCKET} is in eu-central-1, not in the configured us-east-1" in message
    remediation = next(c.remediation for c in report.checks if c.id == "bucket.region")
    assert "region = 'eu-central-1'" in remediation


@pytest.mark.parametrize(
    ("skew", "expected"),
    [
        (timedelta(0), Status.PASS),
        (timedelta(minutes=7), Status.WARN),
        (-timedelta(minutes=7), Status.WARN),
        (timedelta(minutes=20), Status.FAIL),
    ],
)
def test_clock_skew(stub: StubS3, skew: timedelta, expected: Status) -> None:
    report, _ = run(dest(stub.endpoint), clock=lambda: datetime.now(UTC) + skew)

    state, message = check(report, "clock")
    assert state is expected, message
    shown = int(re.findall(r"(\d+) s", message)[0])
    assert abs(shown - abs(skew.total_seconds())) <= 2


def test_etag_not_exposed_warns() -> None:
    with StubS3(expose_etag=False) as hidden:
        report, _ = run(dest(hidden.endpoint, origins=[STUB_ORIGIN]))
    state, message = check(report, "cors")
    assert state is Status.WARN
    assert "the ETag header is not exposed" in message
    assert report.ok
    assert not report.strict_ok


def test_unexpected_exception_fails_one_check_and_the_rest_run(stub: StubS3) -> None:
    def explode(method: str, url: str) -> http.Response | None:
        if method == "PUT":
            raise RuntimeError(f"transport broke while sending {url}")  # the URL must not reach the report
        return None

    report, _ = run(dest(stub.endpoint), transport=faking(explode))

    state, message = check(report, "upload")
    assert state is Status.FAIL
    assert message == "unexpected RuntimeError"
    assert check(report, "write_once")[0] is Status.SKIP
    for check_id in ("bucket.exists", "bucket.region", "least_privilege", "public_access", "clock"):
        assert check(report, check_id)[0] is Status.PASS, check(report, check_id)


def test_check_setup_never_raises_when_every_request_throws() -> None:
    def broken(method: str, url: str, **_: Any) -> http.Response:
        raise RuntimeError(f"{method} {url}")

    with StubS3() as server:
        report, _ = run(dest(server.endpoint), transport=broken)

    assert check(report, "bucket.exists") == (Status.FAIL, "unexpected RuntimeError")
    assert check(report, "public_access") == (Status.SKIP, "skipped: the bucket is missing or unreachable")
    assert check(report, "clock")[0] is Status.SKIP  # no answer carried a Date header
    assert check(report, "credentials")[0] is Status.PASS  # an SDK call, not through the transport


# --- temporary credentials ---


@pytest.mark.emulator
def test_temporary_credentials_shorter_than_the_upload_lifetime_warn(moto_server: MotoServer) -> None:
    import boto3  # noqa: PLC0415  (only this test needs IAM)

    iam = boto3.client(
        "iam",
        endpoint_url=moto_server.endpoint,
        region_name=moto_server.region,
        aws_access_key_id=moto_server.access_key_id,
        aws_secret_access_key=moto_server.secret_access_key,
    )
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}],
    }
    role = iam.create_role(
        RoleName=f"byos-{uuid.uuid4().hex[:10]}", AssumeRolePolicyDocument=json.dumps(trust)
    )
    destination = dest(
        moto_server.endpoint,
        access_key_id=moto_server.access_key_id,
        secret_access_key=SECRET,
        role_arn=role["Role"]["Arn"],
        expires="2h",
    )
    clear_credential_cache()
    try:
        report, _ = run(destination)
    finally:
        clear_credential_cache()

    state, message = check(report, "credentials")
    assert state is Status.PASS
    assert f"role {destination.role_arn}" in message
    state, message = check(report, "lifetime")
    assert state is Status.WARN
    minutes = int(re.findall(r"expire in (\d+) min", message)[0])
    assert 55 <= minutes <= 60  # moto's sessions last the 1 h byos asks for
    assert "before the 120 min upload lifetime" in message
