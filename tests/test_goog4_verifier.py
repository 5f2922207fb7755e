"""The independent GCS V4 verifier accepts what byos and google-cloud-storage sign, and refuses deviations."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from unittest import mock

import google.cloud.storage._signing as sdk_signing
import pytest
from google.cloud import storage
from google.oauth2 import service_account

from byos.signing import goog4
from tests.goog4_verifier import (
    VerificationError,
    public_key_of,
    service_account_info,
    verify_post_policy,
    verify_signed_url,
)

NOW = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
BUCKET = "byos-verify"
KEY = "tenant/raw/3b1f-report ü+.csv"
HEADERS = {
    "Content-Type": "text/csv",
    "x-goog-if-generation-match": "0",
    "x-goog-content-length-range": "0,1048576",
    "x-goog-meta-original-filename": "report.csv",
}
SECRET = "hmac-secret-for-tests/0123456789abcdefABCDEF"


@pytest.fixture(scope="module")
def info() -> dict[str, str]:
    return service_account_info(seed=2)


@pytest.fixture(scope="module")
def signer(info: dict[str, str]) -> goog4.ServiceAccountSigner:
    return goog4.ServiceAccountSigner.from_service_account_info(info)


@pytest.fixture(scope="module")
def url(signer: goog4.ServiceAccountSigner) -> str:
    return goog4.presign_url(signer, "PUT", BUCKET, KEY, signed_headers=HEADERS, expires=900, now=NOW)


@pytest.fixture(scope="module")
def sdk_url(info: dict[str, str]) -> Iterator[str]:
    credentials = service_account.Credentials.from_service_account_info(info)  # type: ignore[no-untyped-call]
    client = storage.Client(project="byos-test", credentials=credentials)
    with mock.patch.object(sdk_signing, "_NOW", return_value=NOW):  # freeze the SDK's clock
        yield (
            client.bucket(BUCKET)
            .blob(KEY)
            .generate_signed_url(
                version="v4", method="PUT", expiration=timedelta(seconds=900), headers=dict(HEADERS)
            )
        )


def check(url: str, info: dict[str, str], **changes: object) -> None:
    request: dict[str, object] = {
        "method": "PUT",
        "headers": HEADERS,
        "now": NOW + timedelta(seconds=60),
        "public_key": public_key_of(info),
    }
    request.update(changes)
    verify_signed_url(url, **request)  # type: ignore[arg-type]


def test_accepts_byos_and_sdk_urls(url: str, sdk_url: str, info: dict[str, str]) -> None:
    assert url == sdk_url
    verified = verify_signed_url(
        url, method="PUT", headers=HEADERS, now=NOW + timedelta(seconds=900), public_key=public_key_of(info)
    )
    assert (verified.bucket, verified.object_name, verified.client_id) == (BUCKET, KEY, info["client_email"])
    assert verified.expires_at == NOW + timedelta(seconds=900)
    assert verified.signed_headers == (
        "content-type",
        "host",
        "x-goog-content-length-range",
        "x-goog-if-generation-match",
        "x-goog-meta-original-filename",
    )


def test_accepts_headers_sent_in_any_case_and_spacing(url: str, info: dict[str, str]) -> None:
    sent = {name.upper(): f"  {value}  " for name, value in HEADERS.items()}
    check(url, info, headers=sent)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"public_key": "another service account's key"}, "signature does not match"),
        ({"method": "GET"}, "signature does not match"),
        ({"method": "POST"}, "signature does not match"),
        ({"headers": {**HEADERS, "Content-Type": "text/html"}}, "signature does not match"),
        ({"headers": {**HEADERS, "x-goog-if-generation-match": "7"}}, "signature does not match"),
        (
            {"headers": {k: v for k, v in HEADERS.items() if k != "Content-Type"}},
            "'content-type' is not sent",
        ),
        (
            {"headers": {k: v for k, v in HEADERS.items() if not k.startswith("x-goog-if")}},
            "'x-goog-if-generation-match' is not sent",
        ),
        ({"now": NOW + timedelta(seconds=901)}, "expired"),
        ({"now": NOW - timedelta(seconds=1)}, "not valid yet"),
        ({"public_key": None, "hmac_secret": SECRET}, "needs the public key"),
    ],
)
def test_rejects_deviations(url: str, info: dict[str, str], change: dict[str, object], reason: str) -> None:
    if isinstance(change.get("public_key"), str):
        change = {"public_key": public_key_of(service_account_info(seed=3))}
    with pytest.raises(VerificationError, match=reason):
        check(url, info, **change)


def test_rejects_tampered_url(url: str, info: dict[str, str]) -> None:
    signature = url.rsplit("=", 1)[1]
    flipped = f"{int(signature[-1], 16) ^ 1:x}"
    tampered = {
        "signature": url[:-1] + flipped,
        "other object": url.replace("/tenant/raw/", "/tenant/other/"),
        "other bucket": url.replace(f"/{BUCKET}/", "/byos-other/"),
        "other host": url.replace("storage.googleapis.com", "evil.example.com"),
        "longer expiry": url.replace("X-Goog-Expires=900", "X-Goog-Expires=901"),
        "other date": url.replace("X-Goog-Date=20260304T050607Z", "X-Goog-Date=20260304T050608Z"),
        "header dropped from list": url.replace("content-type%3B", ""),
    }
    for what, changed in tampered.items():
        assert changed != url, what
        with pytest.raises(VerificationError):
            check(changed, info)


def test_hmac_url_checks_the_secret() -> None:
    hmac_signer = goog4.HmacSigner("GOOG1EVERIFIERTEST", SECRET)
    url = goog4.presign_url(hmac_signer, "PUT", BUCKET, KEY, signed_headers=HEADERS, expires=60, now=NOW)
    verified = verify_signed_url(url, method="PUT", headers=HEADERS, now=NOW, hmac_secret=SECRET)
    assert verified.algorithm == "GOOG4-HMAC-SHA256"
    with pytest.raises(VerificationError, match="does not match"):
        verify_signed_url(url, method="PUT", headers=HEADERS, now=NOW, hmac_secret=SECRET + "x")
    with pytest.raises(VerificationError, match="does not match"):
        verify_signed_url(url, method="GET", headers=HEADERS, now=NOW, hmac_secret=SECRET)


# ------------------------------------------------------------------------------------------ POST policy


@pytest.fixture(scope="module")
def post(signer: goog4.ServiceAccountSigner) -> tuple[str, dict[str, str]]:
    return goog4.presign_post(
        signer,
        BUCKET,
        KEY,
        conditions=[goog4.content_length_range(1, 1000), goog4.starts_with("key", "tenant/raw/")],
        fields={"Content-Type": "text/csv", "x-goog-meta-original-filename": "report ü.csv"},
        expires=300,
        now=NOW,
    )


def check_post(
    post: tuple[str, dict[str, str]],
    info: dict[str, str],
    form: dict[str, str] | None = None,
    size: int = 1000,
) -> None:
    url, fields = post
    verify_post_policy(
        url,
        {**fields, **(form or {})},
        size=size,
        now=NOW + timedelta(seconds=299),
        public_key=public_key_of(info),
    )


def test_post_policy_accepts_the_upload(post: tuple[str, dict[str, str]], info: dict[str, str]) -> None:
    url, fields = post
    verified = verify_post_policy(url, fields, size=1, now=NOW, public_key=public_key_of(info))
    assert (verified.bucket, verified.key, verified.expires_at) == (BUCKET, KEY, NOW + timedelta(seconds=300))
    check_post(post, info, size=1000)
    check_post(post, info, {"x-ignore-note": "browsers may add ignored fields"})


def test_post_policy_rejects_deviations(post: tuple[str, dict[str, str]], info: dict[str, str]) -> None:
    url, fields = post
    document = json.loads(base64.b64decode(fields["policy"]))
    document["conditions"][0] = ["content-length-range", 1, 10**12]
    forged = base64.b64encode(json.dumps(document, separators=(",", ":")).encode()).decode()
    cases: dict[str, tuple[dict[str, str], int, str]] = {
        "tampered policy": ({"policy": forged}, 10**9, "signature does not match"),
        "too large": ({}, 1001, "outside 1..1000"),
        "empty": ({}, 0, "outside 1..1000"),
        "other key": ({"key": "tenant/raw/other.csv"}, 10, "'key' does not equal"),
        "other Content-Type": ({"Content-Type": "text/html"}, 10, "'Content-Type' does not equal"),
        "extra field": ({"acl": "public-read"}, 10, "'acl' is not in the policy"),
        "tampered signature": ({"x-goog-signature": "00" * 256}, 10, "signature does not match"),
    }
    for form, size, reason in cases.values():
        with pytest.raises(VerificationError, match=reason):
            check_post(post, info, form, size=size)
    with pytest.raises(VerificationError, match="expired"):
        verify_post_policy(
            url, fields, size=1, now=NOW + timedelta(seconds=301), public_key=public_key_of(info)
        )
    other = public_key_of(service_account_info(seed=3))
    with pytest.raises(VerificationError, match="signature does not match"):
        verify_post_policy(url, fields, size=1, now=NOW, public_key=other)


def test_hmac_post_policy_checks_the_secret() -> None:
    hmac_signer = goog4.HmacSigner("GOOG1EVERIFIERTEST", SECRET)
    url, fields = goog4.presign_post(hmac_signer, BUCKET, KEY, expires=60, now=NOW)
    assert verify_post_policy(url, fields, size=5, now=NOW, hmac_secret=SECRET).key == KEY
    with pytest.raises(VerificationError, match="does not match"):
        verify_post_policy(url, fields, size=5, now=NOW, hmac_secret="other")
