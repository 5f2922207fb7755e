"""S3 presigning through the library: credentials, true expiry, options, bad input, no SDK on the hot path."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from byos.config import S3Destination, destination_from_dict
from byos.errors import CredentialsError, InvalidInputError, MissingExtraError, ProviderTimeoutError
from byos.models import UploadOptions
from byos.providers import s3
from byos.uploads import presign_upload
from tests.s3_helpers import destination
from tests.stub_servers import SilentServer, refusing_port

NOW = datetime(2026, 11, 2, 12, 0, 0, tzinfo=UTC)
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def dest(**settings: Any) -> S3Destination:
    values: dict[str, Any] = {
        "provider": "s3",
        "bucket": "acme-imports",
        "region": "eu-west-1",
        "prefix": "imports/",
        "access_key_id": "AKIAIOSFODNN7EXAMPLE",
        "secret_access_key": SECRET,
        **settings,
    }
    built = destination_from_dict(values, env=False)
    assert isinstance(built, S3Destination)
    return built


def query(url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query, keep_blank_values=True).items()}


@pytest.fixture(autouse=True)
def _fresh_credential_cache() -> None:
    s3.clear_credential_cache()


def test_regional_virtual_hosted_url_with_every_signed_header() -> None:
    request = presign_upload(dest(), "a.csv", content_type="text/csv", content_length=10, now=NOW)
    parts = urlsplit(request.url)
    assert parts.netloc == "acme-imports.s3.eu-west-1.amazonaws.com"
    assert query(request.url)["X-Amz-SignedHeaders"] == (
        "content-length;content-type;host;if-none-match;x-amz-meta-original-filename"
    )
    assert request.headers == {
        "Content-Type": "text/csv",
        "Content-Length": "10",
        "If-None-Match": "*",
        "x-amz-meta-original-filename": "a.csv",
    }
    assert request.expires_at == NOW + timedelta(minutes=30)
    assert query(request.url)["X-Amz-Expires"] == "1800"


def test_dotted_bucket_uses_path_style_on_the_regional_host() -> None:
    request = presign_upload(dest(bucket="acme.imports"), "a.csv", now=NOW)
    assert request.url.startswith("https://s3.eu-west-1.amazonaws.com/acme.imports/imports/")


def test_sse_kms_is_signed_when_configured() -> None:
    key_id = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    request = presign_upload(dest(sse_kms_key_id=key_id), "a.csv", now=NOW)
    assert request.headers["x-amz-server-side-encryption"] == "aws:kms"
    assert request.headers["x-amz-server-side-encryption-aws-kms-key-id"] == key_id
    assert "x-amz-server-side-encryption-aws-kms-key-id" in query(request.url)["X-Amz-SignedHeaders"]


def test_no_acl_is_ever_signed() -> None:
    request = presign_upload(dest(), "a.csv", metadata={"tenant": "acme"}, now=NOW)
    signed = query(request.url)["X-Amz-SignedHeaders"]
    assert "acl" not in signed
    assert "x-amz-meta-tenant" in signed
    post = presign_upload(dest(), "a.csv", method="POST", now=NOW)
    assert not any("acl" in name.lower() for name in post.fields)


def test_session_token_is_in_the_url_and_never_in_repr() -> None:
    request = presign_upload(dest(session_token="FwoGZXIvYXdzEXAMPLETOKEN"), "a.csv", now=NOW)
    assert query(request.url)["X-Amz-Security-Token"] == "FwoGZXIvYXdzEXAMPLETOKEN"
    shown = repr(request)
    assert "FwoGZXIvYXdzEXAMPLETOKEN" not in shown
    assert query(request.url)["X-Amz-Signature"] not in shown
    assert SECRET not in shown


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"expires": timedelta(days=8)}, "expires"),
        ({"expires": timedelta(0)}, "expires"),
        ({"content_length": -1}, "content_length"),
        ({"content_length": 6 * 1024**3}, "content_length"),
        ({"checksum_sha256": "not-base64"}, "checksum_sha256"),
        ({"checksum_sha256": "AAAA"}, "checksum_sha256"),
        ({"content_md5": "AAAA"}, "content_md5"),
        ({"max_bytes": 10}, "max_bytes"),
        ({"method": "POST", "content_length": 5}, "method"),
        ({"min_bytes": 10, "max_bytes": 5, "method": "POST"}, "min_bytes"),
        ({"metadata": {"bad name": "x"}}, "metadata"),
        ({"metadata": {"note": "caf\u00e9"}}, "metadata"),
        ({"metadata": {"note": " padded"}}, "metadata"),
        ({"metadata": {"note": "two  spaces"}}, "metadata"),
        ({"upload_id": "not-a-uuid"}, "upload_id"),
        ({"content_type": "text/csv\r\nx-evil: 1"}, "content_type"),
    ],
)
def test_bad_input_is_one_line_naming_the_field(arguments: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        presign_upload(dest(), "a.csv", now=NOW, **arguments)
    assert caught.value.field == field
    assert "\n" not in str(caught.value)


def test_a_size_limited_destination_needs_content_length_on_put() -> None:
    limited = dest(max_upload_bytes=1024)
    with pytest.raises(InvalidInputError) as caught:
        presign_upload(limited, "a.csv", now=NOW)
    assert str(caught.value) == (
        "content_length: is required: the destination limits uploads to 1024 bytes and a presigned PUT can "
        "lock only an exact size; pass content_length, or use method POST"
    )
    exact = presign_upload(limited, "a.csv", content_length=1024, now=NOW)
    assert exact.headers["Content-Length"] == "1024"
    assert "content-length" in query(exact.url)["X-Amz-SignedHeaders"].split(";")
    with pytest.raises(InvalidInputError, match=r"^content_length: 1025 is over the limit of 1024 bytes"):
        presign_upload(limited, "a.csv", content_length=1025, now=NOW)
    post = presign_upload(limited, "a.csv", method="POST", now=NOW)
    policy = json.loads(base64.b64decode(post.fields["policy"]))
    assert ["content-length-range", 0, 1024] in policy["conditions"]


def test_the_size_limit_is_checked_before_a_role_is_assumed() -> None:
    with refusing_port() as port:
        limited = dest(
            max_upload_bytes=1024,
            role_arn="arn:aws:iam::123456789012:role/byos-uploader",
            endpoint_url=f"http://127.0.0.1:{port}",
        )
        with pytest.raises(InvalidInputError, match=r"^content_length: is required"):
            presign_upload(limited, "a.csv", now=NOW)  # a CredentialsError had STS been called


def test_the_checkers_own_probe_may_put_under_a_size_limit() -> None:
    probe = s3.presign_upload(
        dest(max_upload_bytes=1024), UploadOptions(filename="p.csv", probe=True, now=NOW)
    )
    assert probe.method == "PUT"
    assert "Content-Length" not in probe.headers


def test_multipart_over_the_size_limit_is_refused_before_anything_is_sent() -> None:
    size = 10 * 1024**2 + 1
    with refusing_port() as port:
        limited = dest(max_upload_bytes=10 * 1024**2, endpoint_url=f"http://127.0.0.1:{port}")
        with pytest.raises(InvalidInputError) as caught:
            s3.start_multipart(limited, UploadOptions(filename="big.csv", now=NOW), size)
        assert str(caught.value) == f"size: {size} is over the limit of {10 * 1024**2} bytes; split the file"
        unlimited = dest(endpoint_url=f"http://127.0.0.1:{port}")
        with pytest.raises(InvalidInputError, match=r"^size: 101 is over the limit of 100 bytes"):
            s3.start_multipart(unlimited, UploadOptions(filename="big.csv", max_bytes=100, now=NOW), 101)


def test_a_silent_sts_does_not_hold_up_other_destinations(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIACHAINEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "chain-secret")
    chain = dest(access_key_id=None, secret_access_key=None)
    raised: list[type[BaseException]] = []
    took: list[float] = []

    def assume(slow: S3Destination) -> None:
        started = time.monotonic()
        try:
            s3.resolve_credentials(slow, timeout=1.5)
        except Exception as exc:  # noqa: BLE001  (the test records what was raised)
            raised.append(type(exc))
        took.append(time.monotonic() - started)

    with SilentServer() as silent:
        monkeypatch.setenv("BYOS_STS_ENDPOINT_URL", silent.endpoint)  # the deployment's STS, not the tenant's
        slow = dest(role_arn="arn:aws:iam::123456789012:role/byos-uploader")
        worker = threading.Thread(target=assume, args=(slow,))
        worker.start()
        waited = time.monotonic() + 5
        while silent.accepted == 0 and time.monotonic() < waited:
            time.sleep(0.02)
        assert silent.accepted >= 1  # AssumeRole is now waiting on the silent endpoint
        started = time.monotonic()
        found = s3.resolve_credentials(chain)
        quick = time.monotonic() - started
        worker.join(timeout=10)

    assert found.source == "chain"
    assert quick < 0.5, f"resolving other credentials waited {quick:.2f} s for the silent STS call"
    assert raised == [ProviderTimeoutError]
    assert took[0] < 1.5 + 1.0  # one attempt, bounded by the timeout


def test_part_plan_stays_within_s3_limits() -> None:
    assert s3.plan_parts(1) == (16 * 1024**2, 1)
    size, count = s3.plan_parts(50 * 10**9)
    assert count <= 10_000
    assert 5 * 1024**2 <= size <= 5 * 1024**3
    size, count = s3.plan_parts(5 * 1024**4)
    assert count <= 10_000
    assert size * count >= 5 * 1024**4
    with pytest.raises(InvalidInputError, match="size"):
        s3.plan_parts(5 * 1024**4 + 1)
    with pytest.raises(InvalidInputError, match="part_size"):
        s3.plan_parts(100, part_size=1024)
    with pytest.raises(InvalidInputError, match="over 10000"):
        s3.plan_parts(10**12, part_size=5 * 1024**2)


def test_static_keys_presign_without_importing_any_cloud_sdk() -> None:
    script = f"""
import sys, json
from datetime import datetime, timezone
from byos.config import destination_from_dict
from byos.uploads import presign_upload
d = destination_from_dict({{"provider": "s3", "bucket": "acme-imports", "region": "eu-west-1",
    "access_key_id": "AKIAIOSFODNN7EXAMPLE", "secret_access_key": "{SECRET}"}}, env=False)
presign_upload(d, "a.csv")
sdks = ("boto3", "botocore", "google", "azure")
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in sdks)))
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert json.loads(result.stdout) == []


def test_missing_boto3_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "boto3", None)
    with pytest.raises(MissingExtraError, match=r"pip install 'byos\[s3\]'"):
        presign_upload(dest(access_key_id=None, secret_access_key=None), "a.csv")


def test_default_chain_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIACHAINEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "chain-secret")
    credentials = s3.resolve_credentials(dest(access_key_id=None, secret_access_key=None))
    assert (credentials.access_key_id, credentials.source) == ("AKIACHAINEXAMPLE", "chain")
    assert "chain-secret" not in repr(credentials)


def test_no_credentials_at_all_is_a_clear_error() -> None:
    with pytest.raises(CredentialsError, match="no AWS credentials found"):
        presign_upload(dest(access_key_id=None, secret_access_key=None), "a.csv")


@pytest.mark.emulator
def test_assumed_role_credentials_cap_the_url_lifetime(
    moto_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BYOS_STS_ENDPOINT_URL", moto_server.endpoint)
    role = "arn:aws:iam::123456789012:role/byos-uploader"
    configured = destination(moto_server, "acme-imports", role_arn=role, external_id="acme-7f3c")
    request = presign_upload(configured, "a.csv", expires=timedelta(hours=6))
    credentials = s3.resolve_credentials(configured)
    assert credentials.source == "role"
    assert credentials.expires_at is not None
    assert request.expires_at <= credentials.expires_at
    assert request.expires_at < datetime.now(UTC) + timedelta(hours=1, minutes=1)
    found = query(request.url)
    assert found["X-Amz-Credential"].startswith(credentials.access_key_id + "/")
    assert found["X-Amz-Security-Token"] == credentials.session_token
    assert int(found["X-Amz-Expires"]) <= 3600
    assert s3.resolve_credentials(configured) is credentials  # cached until five minutes before expiry


@pytest.mark.emulator
def test_refused_role_is_a_credentials_error(moto_server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BYOS_STS_ENDPOINT_URL", moto_server.endpoint)
    configured = destination(
        moto_server, "acme-imports", role_arn="arn:aws:iam::123456789012:role/x", external_id="e1"
    )
    with moto_server.auth(), pytest.raises(CredentialsError, match=r"role_arn: assuming .* was refused"):
        presign_upload(configured, "a.csv")
