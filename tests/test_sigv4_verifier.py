"""The independent SigV4 verifier accepts byos and botocore presigned requests and refuses every deviation."""

from __future__ import annotations

import base64
import functools
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock
from urllib.parse import urlsplit, urlunsplit

import boto3
import botocore.auth
import botocore.signers
import pytest
from botocore.config import Config
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from byos.signing.sigv4 import PresignedPost, PresignedRequest, S3Endpoint, SigV4Signer
from tests.sigv4_verifier import (
    VerificationError,
    signing_key,
    uri_encode,
    verify_presigned_post,
    verify_presigned_url,
)

URL_EXAMPLES = 300
BOTOCORE_EXAMPLES = 100
POST_EXAMPLES = 150

SETTINGS = settings(
    deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow]
)

KEY_ID = "AKIAIOSFODNN7EXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
TOKEN = "IQoJb3JpZ2luX2VjE+/=token"
NOW = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
SHA256 = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
MD5 = "1B2M2Y8AsgTpgAmYEPhsfA=="


# -- the verifier against AWS's own published examples ------------------------------------------------------


def test_signing_key_matches_the_documented_example() -> None:
    # "Examples of how to derive a signing key for Signature Version 4" (AWS General Reference).
    key = signing_key("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20120215", "us-east-1", "iam")
    assert key.hex() == "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"


def test_accepts_the_documented_presigned_get() -> None:
    # "Authenticating Requests: Using Query Parameters (AWS Signature Version 4)", example GET of test.txt.
    url = (
        "https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256"
        "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
        "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
        "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
    )
    now = datetime(2013, 5, 24, 12, tzinfo=UTC)
    verified = verify_presigned_url("GET", url, {}, secret_access_key=SECRET, now=now)
    assert verified.path == "/test.txt"
    with pytest.raises(VerificationError, match="signature does not match"):
        verify_presigned_url("PUT", url, {}, secret_access_key=SECRET, now=now)


def test_uri_encode_follows_the_specification() -> None:
    assert uri_encode("a b+c%d/é~_.-".encode(), keep_slash=True) == "a%20b%2Bc%25d/%C3%A9~_.-"
    assert uri_encode(b"a/b", keep_slash=False) == "a%2Fb"


# -- byos URLs are accepted ---------------------------------------------------------------------------------

keys = st.text(st.characters(codec="utf-8"), min_size=1, max_size=60).filter(
    lambda key: not any(segment in (".", "..") for segment in key.split("/"))
)
endpoints = st.sampled_from(
    [
        S3Endpoint("eu-west-1"),
        S3Endpoint("eu-west-1", addressing_style="path"),
        S3Endpoint("eu-west-1", "http://127.0.0.1:4566"),
        S3Endpoint("eu-west-1", "https://S3.Example.com:8443", "virtual"),
    ]
)
buckets = st.sampled_from(["my-bucket", "my.bucket", "b00"])
ascii_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=30)


@functools.cache
def signer(token: bool) -> SigV4Signer:
    return SigV4Signer(KEY_ID, SECRET, "eu-west-1", session_token=TOKEN if token else None)


@st.composite
def put_options(draw: st.DrawFn) -> dict[str, Any]:
    options: dict[str, Any] = {"if_none_match": draw(st.booleans())}
    if draw(st.booleans()):
        options["content_type"] = draw(st.sampled_from(["text/csv", "  text/plain;  charset=utf-8 "]))
    if draw(st.booleans()):
        options["content_length"] = draw(st.integers(0, 5 * 1024**3))
    if draw(st.booleans()):
        options["content_md5"] = MD5
    if draw(st.booleans()):
        options["checksum_sha256"] = SHA256
    if draw(st.booleans()):
        options["sse_kms_key_id"] = "alias/byos"
    if draw(st.booleans()):
        options["metadata"] = {"original-filename": draw(ascii_text), "Tenant": "acme"}
    return options


def expected_path(endpoint: S3Endpoint, bucket: str, key: str) -> str:
    return ("/" if endpoint.uses_virtual_host(bucket) else f"/{bucket}/") + key


@settings(SETTINGS, max_examples=URL_EXAMPLES)
@given(
    token=st.booleans(),
    endpoint=endpoints,
    bucket=buckets,
    key=keys,
    options=put_options(),
    part=st.none() | st.integers(1, 10000),
    expires=st.integers(1, 604800),
    age=st.floats(0, 1),
)
def test_accepts_byos_urls(
    *,
    token: bool,
    endpoint: S3Endpoint,
    bucket: str,
    key: str,
    options: dict[str, Any],
    part: int | None,
    expires: int,
    age: float,
) -> None:
    if part is None:
        request = signer(token).presign_put(
            bucket, key, endpoint=endpoint, expires=expires, now=NOW, **options
        )
    else:
        body = {k: v for k, v in options.items() if k in ("content_length", "content_md5", "checksum_sha256")}
        request = signer(token).presign_upload_part(
            bucket,
            key,
            upload_id="up+id/=",
            part_number=part,
            endpoint=endpoint,
            expires=expires,
            now=NOW,
            **body,
        )
    now = NOW + timedelta(seconds=int(expires * age))
    verified = verify_presigned_url(
        "PUT", request.url, request.headers, secret_access_key=SECRET, now=now, access_key_id=KEY_ID
    )
    assert verified.path == expected_path(endpoint, bucket, key)
    assert verified.expires_at == request.expires_at
    assert set(verified.signed_headers) == {"host"} | {name.lower() for name in request.headers}


# -- botocore URLs are accepted too (the verifier does not merely mirror byos) ------------------------------


@functools.cache
def boto_client(token: bool, style: str, endpoint_url: str | None) -> Any:
    return boto3.session.Session().client(
        "s3",
        region_name="eu-west-1",
        endpoint_url=endpoint_url,
        aws_access_key_id=KEY_ID,
        aws_secret_access_key=SECRET,
        aws_session_token=TOKEN if token else None,
        config=Config(signature_version="s3v4", s3={"addressing_style": style}),
    )


@contextmanager
def botocore_clock(now: datetime) -> Iterator[None]:
    naive = now.astimezone(UTC).replace(tzinfo=None)
    with (
        mock.patch.object(botocore.auth, "get_current_datetime", return_value=naive),
        mock.patch.object(botocore.signers, "get_current_datetime", return_value=naive),
    ):
        yield


@settings(SETTINGS, max_examples=BOTOCORE_EXAMPLES)
@given(
    token=st.booleans(),
    style=st.sampled_from(["auto", "virtual", "path"]),
    endpoint_url=st.sampled_from([None, "http://127.0.0.1:4566"]),
    key=keys,
    content_type=st.none() | st.sampled_from(["text/csv", "application/json"]),
    content_length=st.none() | st.integers(0, 10**9),
    checksum=st.booleans(),
    if_none_match=st.booleans(),
    meta=st.none() | ascii_text,
)
def test_accepts_botocore_urls(
    *,
    token: bool,
    style: str,
    endpoint_url: str | None,
    key: str,
    content_type: str | None,
    content_length: int | None,
    checksum: bool,
    if_none_match: bool,
    meta: str | None,
) -> None:
    params: dict[str, Any] = {"Bucket": "my-bucket", "Key": key}
    headers: dict[str, str] = {}
    if content_type is not None:
        params["ContentType"] = headers["Content-Type"] = content_type
    if content_length is not None:
        params["ContentLength"] = content_length
        headers["Content-Length"] = str(content_length)
    if checksum:
        params["ChecksumSHA256"] = headers["x-amz-checksum-sha256"] = SHA256
    if if_none_match:
        params["IfNoneMatch"] = headers["If-None-Match"] = "*"
    if meta is not None:
        params["Metadata"] = {"original-filename": meta}
        headers["x-amz-meta-original-filename"] = meta
    with botocore_clock(NOW):
        url = boto_client(token, style, endpoint_url).generate_presigned_url(
            "put_object", Params=params, ExpiresIn=900
        )
    verified = verify_presigned_url(
        "PUT", url, headers, secret_access_key=SECRET, now=NOW + timedelta(seconds=900)
    )
    assert verified.path.endswith("/" + key)
    with pytest.raises(VerificationError):
        verify_presigned_url("PUT", url, headers, secret_access_key=SECRET, now=NOW + timedelta(seconds=901))


# -- deviations are refused ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def full_put() -> PresignedRequest:
    return signer(True).presign_put(
        "my-bucket",
        "uploads/ü 😀+report.csv",
        content_type="text/csv",
        content_length=1234,
        content_md5=MD5,
        checksum_sha256=SHA256,
        if_none_match=True,
        sse_kms_key_id="alias/byos",
        metadata={"original-filename": "report.csv"},
        expires=1800,
        now=NOW,
    )


def check(request: PresignedRequest, *, method: str = "PUT", url: str | None = None, **changes: Any) -> None:
    headers = dict(request.headers)
    for name, value in changes.get("headers", {}).items():
        if value is None:
            headers.pop(name, None)
        else:
            headers[name] = value
    verify_presigned_url(
        method,
        request.url if url is None else url,
        headers,
        secret_access_key=changes.get("secret", SECRET),
        now=changes.get("now", NOW + timedelta(seconds=60)),
    )


def replace_param(url: str, name: str, value: str) -> str:
    parts = urlsplit(url)
    query = "&".join(
        f"{name}={value}" if pair.split("=", 1)[0] == name else pair for pair in parts.query.split("&")
    )
    return urlunsplit(parts._replace(query=query))


def test_accepts_the_unchanged_request(full_put: PresignedRequest) -> None:
    check(full_put)
    check(full_put, now=full_put.expires_at)
    check(full_put, headers={"Content-Type": "text/csv"})  # header names are case-insensitive


def test_refuses_wrong_secret(full_put: PresignedRequest) -> None:
    with pytest.raises(VerificationError, match="signature does not match"):
        check(full_put, secret=SECRET[:-1] + "X")


def test_refuses_tampered_signature(full_put: PresignedRequest) -> None:
    signature = full_put.url.rsplit("=", 1)[1]
    flipped = ("0" if signature[0] != "0" else "1") + signature[1:]
    with pytest.raises(VerificationError, match="signature does not match"):
        check(full_put, url=replace_param(full_put.url, "X-Amz-Signature", flipped))


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("X-Amz-Expires", "604800"),
        ("X-Amz-Date", "20240506T070810Z"),
        ("X-Amz-Security-Token", "other"),
        ("X-Amz-SignedHeaders", "host"),
    ],
)
def test_refuses_tampered_parameters(full_put: PresignedRequest, param: str, value: str) -> None:
    with pytest.raises(VerificationError):
        check(full_put, url=replace_param(full_put.url, param, value))


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE", "HEAD"])
def test_refuses_other_method(full_put: PresignedRequest, method: str) -> None:
    with pytest.raises(VerificationError, match="signature does not match"):
        check(full_put, method=method)


@pytest.mark.parametrize(
    "other_key", ["uploads/other.csv", "uploads/ü 😀+report.cs", "Uploads/ü 😀+report.csv"]
)
def test_refuses_other_key(full_put: PresignedRequest, other_key: str) -> None:
    other = signer(True).presign_put("my-bucket", other_key, expires=1800, now=NOW).url
    swapped = urlunsplit(urlsplit(full_put.url)._replace(path=urlsplit(other).path))
    with pytest.raises(VerificationError, match="signature does not match"):
        check(full_put, url=swapped)


def test_refuses_other_bucket(full_put: PresignedRequest) -> None:
    moved = full_put.url.replace("https://my-bucket.", "https://my-bucket2.", 1)
    with pytest.raises(VerificationError, match="signature does not match"):
        check(full_put, url=moved)


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("Content-Type", "text/html"),
        ("Content-Length", "1235"),
        ("Content-MD5", "XrY7u+Ae7tCTyyK7j1rNww=="),
        ("x-amz-checksum-sha256", "LCa0a2j/xo/5m0U8HTBBNBNCLXBkg7+g+YpeiGJm564="),
        ("If-None-Match", '"etag"'),
        ("x-amz-server-side-encryption-aws-kms-key-id", "alias/other"),
        ("x-amz-meta-original-filename", "other.csv"),
    ],
)
def test_refuses_other_header_values(full_put: PresignedRequest, header: str, value: str) -> None:
    with pytest.raises(VerificationError, match="signature does not match"):
        check(full_put, headers={header: value})


def test_refuses_each_missing_signed_header(full_put: PresignedRequest) -> None:
    assert len(full_put.headers) == 8
    for header in full_put.headers:
        with pytest.raises(VerificationError, match=f"signed header {header.lower()} was not sent"):
            check(full_put, headers={header: None})


def test_refuses_unsigned_amz_header(full_put: PresignedRequest) -> None:
    with pytest.raises(VerificationError, match="was sent but not signed"):
        check(full_put, headers={"x-amz-acl": "public-read"})


def test_refuses_expired_and_early(full_put: PresignedRequest) -> None:
    with pytest.raises(VerificationError, match="expired"):
        check(full_put, now=full_put.expires_at + timedelta(seconds=1))
    with pytest.raises(VerificationError, match="not valid yet"):
        check(full_put, now=NOW - timedelta(minutes=16))


def test_refuses_part_url_for_other_part() -> None:
    part = signer(False).presign_upload_part(
        "my-bucket",
        "big.bin",
        upload_id="abc",
        part_number=1,
        content_length=5 * 1024**2,
        expires=60,
        now=NOW,
    )
    check(part)
    with pytest.raises(VerificationError, match="signature does not match"):
        check(part, url=replace_param(part.url, "partNumber", "2"))
    with pytest.raises(VerificationError, match="signature does not match"):
        check(part, url=replace_param(part.url, "uploadId", "abd"))
    with pytest.raises(VerificationError, match="signature does not match"):
        check(part, headers={"Content-Length": str(5 * 1024**2 + 1)})


# -- POST ---------------------------------------------------------------------------------------------------


@st.composite
def post_cases(draw: st.DrawFn) -> tuple[PresignedPost, str, int, str]:
    low = draw(st.integers(0, 10**6))
    high = draw(st.integers(low, 5 * 1024**3))
    exact = draw(st.booleans())
    key = draw(keys.filter(lambda k: "${filename}" not in k))
    filename = draw(st.text(st.characters(codec="utf-8"), min_size=1, max_size=20))
    post = signer(draw(st.booleans())).presign_post(
        draw(buckets),
        key if exact else None,
        key_prefix=None if exact else key,
        endpoint=draw(endpoints),
        content_type=draw(st.none() | st.sampled_from(["text/csv", "image/png"])),
        min_bytes=low,
        max_bytes=high,
        metadata=draw(st.none() | st.just({"original-filename": "x.csv"})),
        fields=draw(st.none() | st.just({"success_action_status": "201"})),
        expires=draw(st.integers(1, 604800)),
        now=NOW,
    )
    expected_key = key if exact else key + filename
    return post, filename, draw(st.integers(low, high)), expected_key


@settings(SETTINGS, max_examples=POST_EXAMPLES)
@given(case=post_cases())
def test_accepts_byos_posts(case: tuple[PresignedPost, str, int, str]) -> None:
    post, filename, size, expected_key = case
    verified = verify_presigned_post(
        post.url, post.fields, filename=filename, size=size, secret_access_key=SECRET, now=NOW
    )
    assert verified.key == expected_key
    assert verified.expires_at == post.expires_at


def test_accepts_botocore_posts() -> None:
    client = boto_client(True, "virtual", None)
    with botocore_clock(NOW):
        theirs = client.generate_presigned_post(
            "my-bucket",
            "uploads/${filename}",
            Fields={"Content-Type": "text/csv"},
            Conditions=[["content-length-range", 1, 100], {"Content-Type": "text/csv"}],
            ExpiresIn=600,
        )
    verified = verify_presigned_post(
        theirs["url"], theirs["fields"], filename="a.csv", size=100, secret_access_key=SECRET, now=NOW
    )
    assert (verified.bucket, verified.key) == ("my-bucket", "uploads/a.csv")
    with pytest.raises(VerificationError, match="larger"):
        verify_presigned_post(
            theirs["url"], theirs["fields"], filename="a.csv", size=101, secret_access_key=SECRET, now=NOW
        )


@pytest.fixture(scope="module")
def exact_post() -> PresignedPost:
    return signer(True).presign_post(
        "my-bucket",
        "uploads/0b9f-report.csv",
        content_type="text/csv",
        min_bytes=10,
        max_bytes=1000,
        metadata={"original-filename": "report.csv"},
        expires=600,
        now=NOW,
    )


@pytest.fixture(scope="module")
def prefix_post() -> PresignedPost:
    return signer(False).presign_post(
        "my-bucket", key_prefix="uploads/tenant-1/", max_bytes=1000, expires=600, now=NOW
    )


def post_check(post: PresignedPost, **changes: Any) -> None:
    fields = dict(post.fields)
    for name, value in changes.get("fields", {}).items():
        if value is None:
            fields.pop(name, None)
        else:
            fields[name] = value
    verify_presigned_post(
        changes.get("url", post.url),
        fields,
        filename=changes.get("filename", "report.csv"),
        size=changes.get("size", 500),
        secret_access_key=changes.get("secret", SECRET),
        now=changes.get("now", NOW + timedelta(seconds=60)),
    )


def test_post_accepts_the_unchanged_form(exact_post: PresignedPost, prefix_post: PresignedPost) -> None:
    post_check(exact_post)
    post_check(exact_post, size=10)
    post_check(exact_post, size=1000)
    post_check(prefix_post, filename="anything.bin", size=0)


def test_post_refuses_tampered_policy(exact_post: PresignedPost) -> None:
    policy = json.loads(base64.b64decode(exact_post.fields["policy"]))
    policy["conditions"][0] = ["content-length-range", 0, 10**12]
    tampered = base64.b64encode(json.dumps(policy).encode()).decode()
    with pytest.raises(VerificationError, match="policy signature does not match"):
        post_check(exact_post, fields={"policy": tampered}, size=10**9)


def test_post_refuses_wrong_secret(exact_post: PresignedPost) -> None:
    with pytest.raises(VerificationError, match="policy signature does not match"):
        post_check(exact_post, secret="not-the-secret")


def test_post_refuses_sizes_outside_the_range(exact_post: PresignedPost) -> None:
    with pytest.raises(VerificationError, match="larger"):
        post_check(exact_post, size=1001)
    with pytest.raises(VerificationError, match="smaller"):
        post_check(exact_post, size=9)


def test_post_refuses_other_key(exact_post: PresignedPost, prefix_post: PresignedPost) -> None:
    with pytest.raises(VerificationError, match="field key does not match"):
        post_check(exact_post, fields={"key": "uploads/other.csv"})
    with pytest.raises(VerificationError, match="does not start with"):
        post_check(prefix_post, fields={"key": "uploads/tenant-2/${filename}"})


def test_post_refuses_other_bucket(exact_post: PresignedPost) -> None:
    with pytest.raises(VerificationError, match="field bucket does not match"):
        post_check(exact_post, url="https://other-bucket.s3.eu-west-1.amazonaws.com/")


def test_post_refuses_other_content_type(exact_post: PresignedPost) -> None:
    with pytest.raises(VerificationError, match="field content-type does not match"):
        post_check(exact_post, fields={"Content-Type": "text/html"})
    with pytest.raises(VerificationError, match="no such field"):
        post_check(exact_post, fields={"Content-Type": None})


def test_post_refuses_missing_or_extra_fields(exact_post: PresignedPost) -> None:
    with pytest.raises(VerificationError, match="no such field"):
        post_check(exact_post, fields={"x-amz-meta-original-filename": None})
    with pytest.raises(VerificationError, match="not allowed by the policy"):
        post_check(exact_post, fields={"acl": "public-read"})
    post_check(exact_post, fields={"x-ignore-note": "anything"})


def test_post_refuses_expired(exact_post: PresignedPost) -> None:
    post_check(exact_post, now=exact_post.expires_at - timedelta(seconds=1))
    with pytest.raises(VerificationError, match="expired"):
        post_check(exact_post, now=exact_post.expires_at)
