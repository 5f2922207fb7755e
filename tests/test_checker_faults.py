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
from byos.checker import CHECK_IDS, RUN_ORDER, check_setup
from byos.checker.context import BACKOFF_SECONDS, RETRIES
from byos.config import S3Destination, destination_from_dict
from byos.keys import KeyLayout
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
    report, _ = run(dest(stub.endpoint, origins=[STUB_ORIGIN], expected_bucket_owner="111122223333"))

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
        f"GET http://127.0.0.1:{port}/acme-imports?location=: connection refused",
    )
    state, message = check(report, "public_access")
    assert state is Status.FAIL
    assert message.endswith(": connection refused")
    assert check(report, "bucket.exists")[0] is Status.SKIP
    assert not report.ok


def test_refused_presigned_request_message_is_redacted(stub: StubS3) -> None:
    with refusing_port() as port:
        elsewhere = f"http://127.0.0.1:{port}"

        def refused(method: str, url: str, **options: Any) -> http.Response:
            if "X-Amz-Signature=" in url:  # presigned requests go nowhere; header-signed ones reach the stub
                url = url.replace(stub.endpoint, elsewhere)
            return http.send(method, url, **options)

        destination = dest(stub.endpoint)
        report, _ = run(destination, transport=refused)

    assert _SIGNATURE.search(presign_upload(destination, "x.csv").url)  # the scan would see a signature
    state, message = check(report, "bucket.exists")
    assert state is Status.FAIL
    assert "connection refused" in message
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


def test_silent_sts_endpoint_respects_the_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    clear_credential_cache()
    try:
        with SilentServer() as silent:
            monkeypatch.setenv("BYOS_STS_ENDPOINT_URL", silent.endpoint)
            destination = dest(
                silent.endpoint, role_arn="arn:aws:iam::123456789012:role/byos-uploader", external_id="e-7f3c"
            )
            report, elapsed = run(destination, deadline=3.0, timeout=1.0)
            assert silent.accepted >= 1  # AssumeRole went to the silent endpoint
    finally:
        clear_credential_cache()

    assert elapsed <= 3.0 + MARGIN
    assert check(report, "credentials") == (
        Status.FAIL,
        "AWS STS (assuming role_arn) did not answer within 1 s, so no credentials could be had",
    )
    assert check(report, "upload")[0] is Status.SKIP


def test_silent_microsoft_entra_sign_in_respects_the_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("azure.identity", reason="the Azure sign-in needs byos[azure]")
    from byos.providers import azure  # noqa: PLC0415  (only this test needs the Azure provider)

    deadline, timeout = 2.0, 1.0
    with SilentServer() as silent:
        monkeypatch.setenv("AZURE_AUTHORITY_HOST", f"https://127.0.0.1:{silent.port}")
        # An AD FS tenant: MSAL skips instance discovery (a call to login.microsoftonline.com) for it, so the
        # token request goes straight to the silent socket, with no network needed.
        destination = destination_from_dict(
            {
                "provider": "azure",
                "account_name": "acme",
                "container": "imports",
                "tenant_id": "adfs",
                "client_id": "33333333-3333-3333-3333-333333333333",
                "client_secret": SECRET,
            },
            env=False,
        )
        started = time.monotonic()
        try:
            report = check_setup(destination, deadline=deadline, timeout=timeout)
        finally:
            azure.clear_caches()
        elapsed = time.monotonic() - started
        assert silent.accepted >= 1  # the sign-in went to the silent endpoint

    assert elapsed <= deadline + MARGIN, f"check_setup took {elapsed:.2f} s for a {deadline} s deadline"
    assert_no_secrets(report)
    state, message = check(report, "credentials")
    assert state is Status.FAIL
    assert message.startswith("Get User Delegation Key: Microsoft Entra ID did not answer within 1 s"), (
        message
    )
    assert message.endswith(f"(waited {timeout:g} s per call)")
    assert check(report, "upload")[0] is Status.SKIP


# --- the order checks run in ---


def test_public_access_runs_before_least_privilege_and_the_report_keeps_its_order() -> None:
    assert sorted(RUN_ORDER) == sorted(CHECK_IDS)
    assert RUN_ORDER.index("upload") < RUN_ORDER.index("public_access") < RUN_ORDER.index("least_privilege")


def public_and_deletable(stub: StubS3, request: StubRequest) -> Reply | None:
    """Over-privileged keys (they may read and delete) on a bucket whose objects anyone may read."""
    if not request.is_object:
        return None
    if request.method == "DELETE" and request.signed:
        stub.objects.pop(request.path, None)
        return Reply(204)  # S3 answers 204 to a permitted delete, whether or not the key exists
    if request.method == "GET":  # with or without credentials: the objects are public
        body = stub.objects.get(request.path)
        return Reply(200, {"ETag": '"0123456789abcdef0123456789abcdef"'}, body) if body else None
    return None


def test_public_bucket_fails_public_access_even_when_the_keys_may_delete() -> None:
    with StubS3() as server:
        server.handler = lambda request: public_and_deletable(server, request)
        destination = dest(server.endpoint)
        report, _ = run(destination)
        probe = next(r.path for r in server.seen("PUT", presigned=True))
        deletes = [r.path for r in server.seen("DELETE")]
        anonymous_reads = [i for i, r in enumerate(server.requests) if r.method == "GET" and not r.signed]
        first_delete = next(i for i, r in enumerate(server.requests) if r.method == "DELETE")
        stored = dict(server.objects)

    assert check(report, "public_access") == (
        Status.FAIL,
        "anyone on the internet can read the bucket without credentials",
    )
    assert check(report, "least_privilege") == (
        Status.WARN,
        "the uploader's credentials can also read, delete; the customer was promised write-only",
    )
    assert max(anonymous_reads) < first_delete  # public_access ran first
    folder = f"/{BUCKET}/{KeyLayout.from_destination(destination).probe_folder}"
    assert len(deletes) == 1
    assert deletes[0].startswith(folder)
    assert deletes[0] != probe  # the delete trial aims at a key never written ...
    assert probe in stored  # ... so the probe stays


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

    assert check(report, "credentials") == (Status.FAIL, "unexpected RuntimeError")
    assert check(report, "bucket.exists") == (Status.SKIP, "skipped: the credentials did not work")
    assert check(report, "public_access") == (Status.FAIL, "unexpected RuntimeError")
    assert check(report, "clock")[0] is Status.SKIP  # no answer carried a Date header


# --- temporary credentials ---


@pytest.mark.emulator
def test_temporary_credentials_shorter_than_the_upload_lifetime_warn(
    moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BYOS_STS_ENDPOINT_URL", moto_server.endpoint)
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
