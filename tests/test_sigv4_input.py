"""Bad input to the SigV4 presigner fails before signing, with a one-line InvalidInputError naming it."""

from __future__ import annotations

import base64
import hashlib
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from byos.errors import InvalidInputError
from byos.signing.sigv4 import (
    MAX_EXPIRES_SECONDS,
    MAX_UPLOAD_BYTES,
    PresignedPost,
    PresignedRequest,
    S3Endpoint,
    SigV4Signer,
    check_bucket_name,
    check_object_key,
)

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
TOKEN = "IQoJb3JpZ2luX2VjETOKEN"
NOW = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
SIGNER = SigV4Signer("AKIAIOSFODNN7EXAMPLE", SECRET, "eu-west-1", session_token=TOKEN)
SHA256 = base64.b64encode(hashlib.sha256(b"x").digest()).decode()
MD5 = base64.b64encode(hashlib.md5(b"x").digest()).decode()  # noqa: S324 -- Content-MD5 is what S3 asks for


def put(**changes: Any) -> PresignedRequest:
    arguments: dict[str, Any] = {"bucket": "my-bucket", "key": "uploads/a.csv", "expires": 60, "now": NOW}
    arguments.update(changes)
    return SIGNER.presign_put(arguments.pop("bucket"), arguments.pop("key"), **arguments)


def part(**changes: Any) -> PresignedRequest:
    arguments: dict[str, Any] = {
        "bucket": "my-bucket",
        "key": "uploads/big.bin",
        "upload_id": "abc",
        "part_number": 1,
        "expires": 60,
        "now": NOW,
    }
    arguments.update(changes)
    return SIGNER.presign_upload_part(arguments.pop("bucket"), arguments.pop("key"), **arguments)


def post(**changes: Any) -> PresignedPost:
    arguments: dict[str, Any] = {"bucket": "my-bucket", "key": "uploads/a.csv", "expires": 60, "now": NOW}
    arguments.update(changes)
    return SIGNER.presign_post(arguments.pop("bucket"), arguments.pop("key"), **arguments)


def url(**changes: Any) -> str:
    arguments: dict[str, Any] = {
        "method": "PUT",
        "url": "https://my-bucket.s3.eu-west-1.amazonaws.com/k",
        "expires": 60,
        "now": NOW,
    }
    arguments.update(changes)
    return SIGNER.presign_url(arguments.pop("method"), arguments.pop("url"), **arguments)


CASES: list[tuple[str, Callable[[], object]]] = [
    # expiry
    ("expires", lambda: put(expires=0)),
    ("expires", lambda: put(expires=-1)),
    ("expires", lambda: put(expires=MAX_EXPIRES_SECONDS + 1)),
    ("expires", lambda: put(expires=60.0)),
    ("expires", lambda: put(expires=True)),
    ("expires", lambda: put(expires="60")),
    ("expires", lambda: part(expires=0)),
    ("expires", lambda: post(expires=MAX_EXPIRES_SECONDS + 1)),
    ("expires", lambda: url(expires=0)),
    # clock
    ("now", lambda: put(now=datetime(2024, 5, 6))),  # noqa: DTZ001 -- the naive time is the bad input
    ("now", lambda: put(now="2024-05-06T07:08:09Z")),
    ("now", lambda: post(now=datetime(2024, 5, 6))),  # noqa: DTZ001
    # keys
    ("key", lambda: put(key="")),
    ("key", lambda: put(key="k" * 1025)),
    ("key", lambda: put(key="😀" * 256 + "k")),
    ("key", lambda: put(key="bad\ud800surrogate")),
    ("key", lambda: put(key="../escape")),
    ("key", lambda: put(key="a/./b")),
    ("key", lambda: put(key="a/..")),
    ("key", lambda: put(key=".")),
    ("key", lambda: put(key=None)),
    ("key", lambda: part(key="")),
    ("key", lambda: post(key="k" * 1025)),
    ("key", lambda: post(key="uploads/${filename}")),
    ("key", lambda: post(key=None)),
    ("key", lambda: SIGNER.presign_post("my-bucket", "a", key_prefix="b", expires=60, now=NOW)),
    ("key_prefix", lambda: SIGNER.presign_post("my-bucket", key_prefix="", expires=60, now=NOW)),
    ("key_prefix", lambda: SIGNER.presign_post("my-bucket", key_prefix="p" * 1024, expires=60, now=NOW)),
    ("key", lambda: check_object_key("a/../b")),
    # buckets
    ("bucket", lambda: put(bucket="ab")),
    ("bucket", lambda: put(bucket="a" * 64)),
    ("bucket", lambda: put(bucket="My-Bucket")),
    ("bucket", lambda: put(bucket="my_bucket")),
    ("bucket", lambda: put(bucket="-bucket")),
    ("bucket", lambda: put(bucket="bucket-")),
    ("bucket", lambda: put(bucket="my..bucket")),
    ("bucket", lambda: put(bucket="192.168.1.1")),
    ("bucket", lambda: put(bucket="xn--bucket")),
    ("bucket", lambda: put(bucket="sthree-bucket")),
    ("bucket", lambda: put(bucket="bucket-s3alias")),
    ("bucket", lambda: put(bucket="bucket--x-s3")),
    ("bucket", lambda: put(bucket="bucket--ol-s3")),
    ("bucket", lambda: put(bucket="bucket.mrap")),
    ("bucket", lambda: put(bucket="my bucket")),
    ("bucket", lambda: put(bucket=["my-bucket"])),
    ("bucket", lambda: part(bucket="ab")),
    ("bucket", lambda: post(bucket="My-Bucket")),
    ("bucket", lambda: check_bucket_name("")),
    ("bucket", lambda: S3Endpoint("eu-west-1").object_url("UPPER", "k")),
    ("bucket", lambda: S3Endpoint("eu-west-1").post_url("a")),
    # sizes
    ("content_length", lambda: put(content_length=-1)),
    ("content_length", lambda: put(content_length=MAX_UPLOAD_BYTES + 1)),
    ("content_length", lambda: put(content_length=5 * 1024**4)),
    ("content_length", lambda: put(content_length=True)),
    ("content_length", lambda: put(content_length="12")),
    ("content_length", lambda: put(content_length=1.5)),
    ("content_length", lambda: part(content_length=-5)),
    ("min_bytes", lambda: post(min_bytes=-1, max_bytes=10)),
    ("min_bytes", lambda: post(min_bytes=11, max_bytes=10)),
    ("max_bytes", lambda: post(max_bytes=MAX_UPLOAD_BYTES + 1)),
    ("max_bytes", lambda: post(max_bytes=-1)),
    # checksums
    ("checksum_sha256", lambda: put(checksum_sha256="not base64!")),
    ("checksum_sha256", lambda: put(checksum_sha256=hashlib.sha256(b"x").hexdigest())),
    ("checksum_sha256", lambda: put(checksum_sha256=base64.b64encode(b"x" * 31).decode())),
    ("checksum_sha256", lambda: put(checksum_sha256=base64.b64encode(b"x" * 33).decode())),
    ("checksum_sha256", lambda: put(checksum_sha256=MD5)),
    ("checksum_sha256", lambda: put(checksum_sha256=SHA256.rstrip("="))),
    ("checksum_sha256", lambda: put(checksum_sha256=SHA256 + "\n")),
    ("checksum_sha256", lambda: put(checksum_sha256=b"x" * 32)),
    ("checksum_sha256", lambda: part(checksum_sha256="")),
    ("content_md5", lambda: put(content_md5=SHA256)),
    ("content_md5", lambda: put(content_md5=hashlib.md5(b"x").hexdigest())),  # noqa: S324 -- the bad input
    ("content_md5", lambda: put(content_md5="é" * 24)),
    ("content_md5", lambda: part(content_md5="AAAA")),
    # multipart
    ("part_number", lambda: part(part_number=0)),
    ("part_number", lambda: part(part_number=10001)),
    ("part_number", lambda: part(part_number=-1)),
    ("part_number", lambda: part(part_number=True)),
    ("part_number", lambda: part(part_number="1")),
    ("upload_id", lambda: part(upload_id="")),
    ("upload_id", lambda: part(upload_id=None)),
    ("upload_id", lambda: part(upload_id="bad\udc80")),
    # headers and metadata
    ("content_type", lambda: put(content_type="")),
    ("content_type", lambda: put(content_type="text/csv\r\nx-amz-acl: public-read")),
    ("content_type", lambda: put(content_type="text/plain; charset=ü")),
    ("content_type", lambda: post(content_type="a\nb")),
    ("metadata", lambda: put(metadata={"bad name": "v"})),
    ("metadata", lambda: put(metadata={"": "v"})),
    ("metadata", lambda: put(metadata={"x-amz-meta-name": "v"})),
    ("metadata", lambda: put(metadata={"name": "line\nbreak"})),
    ("metadata", lambda: put(metadata={"name": "naïve"})),
    ("metadata", lambda: put(metadata={"Name": "a", "name": "b"})),
    ("metadata", lambda: put(metadata={"name": "v" * 2045})),
    ("metadata", lambda: post(metadata={"name": "\x00"})),
    ("server_side_encryption", lambda: put(server_side_encryption="aes256")),
    ("server_side_encryption", lambda: post(server_side_encryption="kms")),
    ("sse_kms_key_id", lambda: put(server_side_encryption="AES256", sse_kms_key_id="alias/k")),
    ("sse_kms_key_id", lambda: put(sse_kms_key_id="")),
    ("fields", lambda: post(fields={"policy": "x"})),
    ("fields", lambda: post(fields={"acl": "public-read"})),
    ("fields", lambda: post(fields={"ACL": "public-read"})),
    ("fields", lambda: post(fields={"x-amz-grant-read": "uri=x"})),
    ("fields", lambda: post(fields={"key": "other"})),
    ("fields", lambda: post(fields={"x-amz-signature": "0"})),
    ("fields", lambda: post(fields={"bad name": "v"})),
    ("fields", lambda: post(fields={"Cache-Control": "a\nb"})),
    ("fields", lambda: post(content_type="text/csv", fields={"content-type": "text/html"})),
    ("fields", lambda: post(metadata={"a": "b"}, fields={"X-Amz-Meta-A": "c"})),
    # the general entry point
    ("method", lambda: url(method="put")),
    ("method", lambda: url(method="")),
    ("url", lambda: url(url="ftp://host/k")),
    ("url", lambda: url(url="https:///k")),
    ("url", lambda: url(url="https://host/k?partNumber=1")),
    ("url", lambda: url(url="https://host/k#frag")),
    ("url", lambda: url(url="https://host/raw space")),
    ("url", lambda: url(url="https://host/100%")),
    ("url", lambda: url(url="https://user:pw@host/k")),
    ("url", lambda: url(url="https://host:99999/k")),
    ("url", lambda: url(url="https://host")),
    ("signed_headers", lambda: url(signed_headers={"Host": "evil.example"})),
    ("signed_headers", lambda: url(signed_headers={"x-amz-acl": "public-read"})),
    ("signed_headers", lambda: url(signed_headers={"X-Amz-Grant-Read": "x"})),
    ("signed_headers", lambda: url(signed_headers={"Content-Type": "a", "content-type": "b"})),
    ("signed_headers", lambda: url(signed_headers={"bad header": "v"})),
    ("signed_headers", lambda: url(signed_headers={"content-type": "a\r\nb"})),
    ("query", lambda: url(query={"X-Amz-Expires": "1"})),
    ("query", lambda: url(query={"": "1"})),
    ("query", lambda: url(query=[("a", 1)])),
    # configuration of the signer and the endpoint
    ("access_key_id", lambda: SigV4Signer("", SECRET, "eu-west-1")),
    ("access_key_id", lambda: SigV4Signer("AKID/SLASH", SECRET, "eu-west-1")),
    ("access_key_id", lambda: SigV4Signer("AKID SPACE", SECRET, "eu-west-1")),
    ("secret_access_key", lambda: SigV4Signer("AKID", "", "eu-west-1")),
    ("secret_access_key", lambda: SigV4Signer("AKID", "bad\ud800", "eu-west-1")),
    ("session_token", lambda: SigV4Signer("AKID", SECRET, "eu-west-1", session_token="")),
    ("session_token", lambda: SigV4Signer("AKID", SECRET, "eu-west-1", session_token="has space")),
    ("region", lambda: SigV4Signer("AKID", SECRET, "")),
    ("region", lambda: SigV4Signer("AKID", SECRET, "EU-WEST-1")),
    ("region", lambda: SigV4Signer("AKID", SECRET, "eu west 1")),
    ("service", lambda: SigV4Signer("AKID", SECRET, "eu-west-1", service="S3")),
    ("region", lambda: S3Endpoint("auto")),
    ("region", lambda: S3Endpoint("eu-west-1/evil")),
    ("endpoint", lambda: put(endpoint=S3Endpoint("us-east-1"))),
    ("endpoint", lambda: put(endpoint="https://s3.example.com")),
    ("endpoint_url", lambda: S3Endpoint("eu-west-1", "ftp://127.0.0.1:4566")),
    ("endpoint_url", lambda: S3Endpoint("eu-west-1", "127.0.0.1:4566")),
    ("endpoint_url", lambda: S3Endpoint("eu-west-1", "http://127.0.0.1:4566/prefix")),
    ("endpoint_url", lambda: S3Endpoint("eu-west-1", "http://127.0.0.1:4566?x=1")),
    ("endpoint_url", lambda: S3Endpoint("eu-west-1", "http://user:pw@127.0.0.1:4566")),
    ("endpoint_url", lambda: S3Endpoint("eu-west-1", "http://127.0.0.1:99999")),
    ("endpoint_url", lambda: S3Endpoint("eu-west-1", "http://ho st:1")),
    ("addressing_style", lambda: S3Endpoint("eu-west-1", addressing_style="dns")),  # type: ignore[arg-type]
]


@pytest.mark.parametrize(
    ("field", "call"), CASES, ids=[f"{i:03d}-{field}" for i, (field, _) in enumerate(CASES)]
)
def test_bad_input_names_the_field_in_one_line(field: str, call: Callable[[], object]) -> None:
    with pytest.raises(InvalidInputError) as caught:
        call()
    error = caught.value
    message = str(error)
    assert error.field == field
    assert message.startswith(f"{field}: ")
    assert "\n" not in message
    assert "\r" not in message
    assert "; " in message  # "field: problem; fix"
    assert SECRET not in message
    assert TOKEN not in message
    assert isinstance(error, ValueError)


def test_limits_themselves_are_accepted() -> None:
    put(expires=1)
    put(expires=MAX_EXPIRES_SECONDS)
    put(key="k" * 1024)
    put(key="😀" * 256)
    put(key="..a/a../...")
    put(bucket="abc")
    put(bucket="a" * 63)
    put(bucket="my.dotted.bucket")
    put(content_length=0)
    put(content_length=MAX_UPLOAD_BYTES)
    put(checksum_sha256=SHA256, content_md5=MD5)
    put(metadata={"name": "v" * 2044})
    part(part_number=1)
    part(part_number=10000)
    post(min_bytes=0, max_bytes=MAX_UPLOAD_BYTES)
    post(min_bytes=5, max_bytes=5)
    SIGNER.presign_post("my-bucket", key_prefix="p" * 1023, expires=60, now=NOW)
    put(now=datetime(2024, 5, 6, 12, 38, 9, tzinfo=timezone(timedelta(hours=5, minutes=30))))


def test_an_offset_clock_signs_the_same_instant() -> None:
    india = NOW.astimezone(timezone(timedelta(hours=5, minutes=30)))
    assert put(now=india).url == put(now=NOW).url
    assert put(now=india).expires_at == NOW + timedelta(seconds=60)


def test_secrets_stay_out_of_reprs() -> None:
    text = repr(SIGNER)
    assert "AKIAIOSFODNN7EXAMPLE" in text
    assert "eu-west-1" in text
    assert SECRET not in text
    assert TOKEN not in text
    request = put()
    signature = request.url.rsplit("X-Amz-Signature=", 1)[1]
    assert signature not in repr(request)
    assert TOKEN not in repr(request)
    form = post()
    assert form.fields["x-amz-signature"] not in repr(form)
    assert TOKEN not in repr(form)
    assert not hasattr(SIGNER, "__dict__")


def test_the_signer_module_imports_no_sdk() -> None:
    code = (
        "import sys, byos.signing.sigv4 as m; "
        "bad = [n for n in sys.modules if n.split('.')[0] in ('boto3', 'botocore', 'google', 'azure')]; "
        "print(bad); assert not bad, bad"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
