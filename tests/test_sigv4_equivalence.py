"""byos's SigV4 presigner equals botocore byte for byte: presigned PUT, part, GET URLs and POST policies."""

from __future__ import annotations

import base64
import functools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from unittest import mock

import boto3
import botocore.auth
import botocore.signers
import pytest
from botocore.config import Config
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from byos.signing.sigv4 import AddressingStyle, S3Endpoint, SigV4Signer

PUT_EXAMPLES = 800
PART_EXAMPLES = 250
GET_EXAMPLES = 100
POST_EXAMPLES = 250

SETTINGS = settings(
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

# (access key id, secret, session token): plain keys, temporary keys, the local servers' keys, odd bytes.
CREDENTIALS = (
    ("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", None),
    ("ASIAIOSFODNN7EXAMPLE", "secret+/=with~symbols", "IQoJb3JpZ2luX2VjE+/=//token~.-_%20=="),
    ("test", "test", None),
    ("AKID-unicode_secret", "sécret ünïcødé 🔑", "tok+en/with=odd&chars?#"),
)
REGIONS = (
    "us-east-1",
    "eu-west-1",
    "ap-southeast-2",
    "sa-east-1",
    "cn-north-1",
    "us-gov-west-1",
    "eusc-de-east-1",
    "us-iso-east-1",
)


@dataclass(frozen=True)
class Target:
    """An endpoint configuration given to byos and to botocore."""

    endpoint_url: str | None
    style: AddressingStyle


TARGETS = (
    Target(None, "auto"),
    Target(None, "virtual"),
    Target(None, "path"),
    Target("http://127.0.0.1:4566", "auto"),
    Target("http://127.0.0.1:4566", "virtual"),
    Target("http://localhost:9000", "path"),
    Target("http://localhost:9000", "virtual"),
    Target("https://storage.example.com", "virtual"),
    Target("https://storage.example.com", "auto"),
    Target("https://S3.Example.COM:8443", "path"),
    Target("https://minio.example.com:443/", "virtual"),
    Target("http://[::1]:9000", "path"),
)


def botocore_style(target: Target, bucket: str) -> str:
    """The botocore addressing style that gives byos's addressing.

    On AWS byos's default is regional virtual hosting (botocore ``virtual``, which like byos falls back to
    path style for dotted names); botocore's ``auto`` would pick the global host. On a custom endpoint a
    dotted bucket always uses path style in byos, while botocore ``virtual`` puts it in the host over http.
    """
    if target.endpoint_url is None:
        return "virtual" if target.style == "auto" else target.style
    if target.style == "virtual" and "." in bucket:
        return "path"
    return target.style


_SESSION = boto3.session.Session()


@functools.cache
def boto_client(credentials: int, region: str, endpoint_url: str | None, style: str) -> Any:
    key_id, secret, token = CREDENTIALS[credentials]
    return _SESSION.client(
        "s3",
        region_name=region,
        endpoint_url=endpoint_url,
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
        aws_session_token=token,
        config=Config(
            signature_version="s3v4",
            s3={"addressing_style": style, "us_east_1_regional_endpoint": "regional"},
        ),
    )


@functools.cache
def byos_signer(credentials: int, region: str) -> SigV4Signer:
    key_id, secret, token = CREDENTIALS[credentials]
    return SigV4Signer(key_id, secret, region, session_token=token)


@contextmanager
def botocore_clock(now: datetime) -> Iterator[None]:
    """Freeze the clock botocore signs with (query auth, POST auth and the POST policy expiration)."""
    naive_utc = now.astimezone(UTC).replace(tzinfo=None)
    with (
        mock.patch.object(botocore.auth, "get_current_datetime", return_value=naive_utc) as auth_clock,
        mock.patch.object(botocore.signers, "get_current_datetime", return_value=naive_utc),
    ):
        yield
    assert auth_clock.called, "botocore did not read the patched clock"


# -- strategies ---------------------------------------------------------------------------------------------

HOSTILE = st.sampled_from(
    [
        "+", "%", "=", "~", "?", "#", "&", " ", "  ", "/", "//", ":", "@", "!", "$", "'", "(", ")", "*", ",",
        ";", "[", "]", "{", "}", "\\", "^", "`", "|", '"', "<", ">", "%20", "%2F", "%%", "+%=~?#",
        "ü", "é", "日本語", "😀", "👩‍👩‍👧", "\u00a0", "\u200b", "\t", "\n", "\x7f", "\x01", ".", "..", "...",
        "a.", ".a", "..a", "~user", "${filename}", "*", "\ufeff", "\U0010fffd",
    ]
)  # fmt: skip
TEXT = st.text(st.characters(codec="utf-8"), min_size=1, max_size=24)


def has_dot_segment(key: str) -> bool:
    return any(segment in (".", "..") for segment in key.split("/"))


def without_dot_segments(key: str) -> str:
    return "/".join(segment + "_" if segment in (".", "..") else segment for segment in key.split("/"))


def fit_bytes(text: str, pad: str, size: int = 1024) -> str:
    """Cut ``text`` to at most ``size`` UTF-8 bytes, then pad it to exactly ``size`` bytes with ``pad``."""
    data = text.encode()[:size].decode(errors="ignore")
    missing = size - len(data.encode())
    width = len(pad.encode())
    return data + pad * (missing // width) + "k" * (missing % width)


# At most 10 pieces of at most 24 characters: always within 1024 UTF-8 bytes.
short_keys = st.lists(st.one_of(TEXT, HOSTILE), min_size=1, max_size=10).map("".join)
full_keys = st.one_of(
    st.builds(fit_bytes, short_keys.map(without_dot_segments), HOSTILE),
    st.sampled_from(["😀" * 256, "k" * 1024, "é" * 512, "日" * 341 + "k"]),
)
keys_any = st.one_of(short_keys, short_keys, short_keys, full_keys)
url_keys = st.one_of(short_keys.map(without_dot_segments), full_keys).filter(lambda k: not has_dot_segment(k))

# Valid general purpose names by construction: labels start with a letter other than x/s/a and end in "z",
# so no reserved prefix or suffix and nothing like an IP address.
_LABEL = st.builds(
    "{}{}z".format,
    st.sampled_from("bcdfghkmnpqrtuvw0123456789"),
    st.text("abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=18),
)
bucket_names = st.one_of(
    st.sampled_from(["my-bucket", "my.bucket", "a.b.c", "abc", "x" * 63, "bucket-2024", "1numbers1"]),
    _LABEL,
    st.lists(_LABEL, min_size=2, max_size=3).map(".".join),
)
ascii_values = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40)
content_types = st.one_of(
    st.sampled_from(
        ["text/csv", "application/octet-stream", "text/plain; charset=utf-8", "image/png", " text/csv  "]
    ),
    st.builds("{}{}".format, st.sampled_from(["text/", "application/", "x", "  a  b  "]), ascii_values),
)
meta_names = st.builds(
    "{}{}".format,
    st.sampled_from("aBz09"),
    st.text("abcdefghijklmnopqrstuvwxyzABCDEFXYZ0123456789_.-", max_size=15),
)
metadata = st.lists(
    st.tuples(meta_names, ascii_values), max_size=4, unique_by=lambda item: item[0].lower()
).map(dict)
md5s = st.binary(min_size=16, max_size=16).map(lambda b: base64.b64encode(b).decode())
sha256s = st.binary(min_size=32, max_size=32).map(lambda b: base64.b64encode(b).decode())
kms_keys = st.sampled_from(
    ["arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab", "alias/byos", "mrk-1"]
)
times = st.datetimes(
    min_value=datetime(2000, 1, 1),  # noqa: DTZ001 -- bounds of a naive strategy; timezones are added below
    max_value=datetime(2099, 12, 31),  # noqa: DTZ001
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8))]),
)
expiries = st.one_of(st.integers(1, 604800), st.sampled_from([1, 60, 900, 1800, 3600, 604800]))
targets = st.sampled_from(TARGETS)
regions = st.sampled_from(REGIONS)
credentials = st.integers(0, len(CREDENTIALS) - 1)


def endpoint_for(target: Target, region: str) -> S3Endpoint:
    return S3Endpoint(region, endpoint_url=target.endpoint_url, addressing_style=target.style)


# -- PUT ----------------------------------------------------------------------------------------------------


@st.composite
def put_options(draw: st.DrawFn) -> dict[str, Any]:
    options: dict[str, Any] = {}
    if draw(st.booleans()):
        options["content_type"] = draw(content_types)
    if draw(st.booleans()):
        options["content_length"] = draw(st.one_of(st.integers(0, 5 * 1024**3), st.sampled_from([0, 1])))
    if draw(st.booleans()):
        options["content_md5"] = draw(md5s)
    if draw(st.booleans()):
        options["checksum_sha256"] = draw(sha256s)
    options["if_none_match"] = draw(st.booleans())
    encryption = draw(st.sampled_from([None, "AES256", "aws:kms", "aws:kms+key", "key-only", "aws:kms:dsse"]))
    if encryption == "aws:kms+key":
        options["server_side_encryption"] = "aws:kms"
        options["sse_kms_key_id"] = draw(kms_keys)
    elif encryption == "key-only":
        options["sse_kms_key_id"] = draw(kms_keys)
    elif encryption is not None:
        options["server_side_encryption"] = encryption
    if draw(st.booleans()):
        options["metadata"] = draw(metadata)
    return options


def botocore_put_params(bucket: str, key: str, options: dict[str, Any]) -> dict[str, Any]:
    params: dict[str, Any] = {"Bucket": bucket, "Key": key}
    names = {
        "content_type": "ContentType",
        "content_length": "ContentLength",
        "content_md5": "ContentMD5",
        "checksum_sha256": "ChecksumSHA256",
        "server_side_encryption": "ServerSideEncryption",
        "sse_kms_key_id": "SSEKMSKeyId",
        "metadata": "Metadata",
    }
    for option, param in names.items():
        if option in options:
            params[param] = options[option]
    if options.get("if_none_match"):
        params["IfNoneMatch"] = "*"
    if "sse_kms_key_id" in options and "server_side_encryption" not in options:
        params["ServerSideEncryption"] = "aws:kms"
    return params


@settings(SETTINGS, max_examples=PUT_EXAMPLES)
@given(
    creds=credentials,
    region=regions,
    target=targets,
    bucket=bucket_names,
    key=url_keys,
    options=put_options(),
    expires=expiries,
    now=times,
)
def test_presigned_put_equals_botocore(
    *,
    creds: int,
    region: str,
    target: Target,
    bucket: str,
    key: str,
    options: dict[str, Any],
    expires: int,
    now: datetime,
) -> None:
    ours = byos_signer(creds, region).presign_put(
        bucket, key, endpoint=endpoint_for(target, region), expires=expires, now=now, **options
    )
    client = boto_client(creds, region, target.endpoint_url, botocore_style(target, bucket))
    with botocore_clock(now):
        theirs = client.generate_presigned_url(
            "put_object", Params=botocore_put_params(bucket, key, options), ExpiresIn=expires
        )
    assert ours.url == theirs
    assert ours.expires_at == now.astimezone(UTC).replace(microsecond=0) + timedelta(seconds=expires)


# -- multipart parts ----------------------------------------------------------------------------------------

upload_ids = st.one_of(
    st.text(st.characters(codec="utf-8"), min_size=1, max_size=60),
    st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-", min_size=20, max_size=120),
    st.sampled_from(["2~iCw_lDY8VoNeVQNXaMJnkMyt3Pny0Ssi", "a+b/c=d%e"]),
)


@settings(SETTINGS, max_examples=PART_EXAMPLES)
@given(
    creds=credentials,
    region=regions,
    target=targets,
    bucket=bucket_names,
    key=url_keys,
    upload_id=upload_ids,
    part_number=st.one_of(st.integers(1, 10000), st.sampled_from([1, 10000])),
    content_length=st.none() | st.integers(0, 5 * 1024**3),
    content_md5=st.none() | md5s,
    checksum_sha256=st.none() | sha256s,
    expires=expiries,
    now=times,
)
def test_presigned_upload_part_equals_botocore(
    *,
    creds: int,
    region: str,
    target: Target,
    bucket: str,
    key: str,
    upload_id: str,
    part_number: int,
    content_length: int | None,
    content_md5: str | None,
    checksum_sha256: str | None,
    expires: int,
    now: datetime,
) -> None:
    ours = byos_signer(creds, region).presign_upload_part(
        bucket,
        key,
        upload_id=upload_id,
        part_number=part_number,
        endpoint=endpoint_for(target, region),
        content_length=content_length,
        content_md5=content_md5,
        checksum_sha256=checksum_sha256,
        expires=expires,
        now=now,
    )
    body = {"ContentLength": content_length, "ContentMD5": content_md5, "ChecksumSHA256": checksum_sha256}
    params: dict[str, Any] = {"Bucket": bucket, "Key": key, "PartNumber": part_number, "UploadId": upload_id}
    params.update({name: value for name, value in body.items() if value is not None})
    client = boto_client(creds, region, target.endpoint_url, botocore_style(target, bucket))
    with botocore_clock(now):
        theirs = client.generate_presigned_url("upload_part", Params=params, ExpiresIn=expires)
    assert ours.url == theirs


# -- the general entry point: any method, any signed header -------------------------------------------------


@settings(SETTINGS, max_examples=GET_EXAMPLES)
@given(
    creds=credentials,
    region=regions,
    target=targets,
    bucket=bucket_names,
    key=url_keys,
    method=st.sampled_from(["GET", "HEAD", "DELETE"]),
    expires=expiries,
    now=times,
)
def test_presign_url_equals_botocore_for_other_methods(
    *,
    creds: int,
    region: str,
    target: Target,
    bucket: str,
    key: str,
    method: str,
    expires: int,
    now: datetime,
) -> None:
    endpoint = endpoint_for(target, region)
    ours = byos_signer(creds, region).presign_url(
        method, endpoint.object_url(bucket, key), expires=expires, now=now
    )
    client_method = {"GET": "get_object", "HEAD": "head_object", "DELETE": "delete_object"}[method]
    client = boto_client(creds, region, target.endpoint_url, botocore_style(target, bucket))
    with botocore_clock(now):
        theirs = client.generate_presigned_url(
            client_method, Params={"Bucket": bucket, "Key": key}, ExpiresIn=expires
        )
    assert ours == theirs


# -- POST ---------------------------------------------------------------------------------------------------

FORM_FIELD_NAMES = st.sampled_from(
    ["success_action_status", "Cache-Control", "Content-Disposition", "x-amz-storage-class", "Expires"]
)
form_values = st.text(st.characters(codec="utf-8", exclude_categories=["Cc"]), max_size=30)
post_keys = keys_any.map(lambda key: key.replace("${filename}", "${file}"))
post_prefixes = post_keys.map(lambda key: key.encode()[:1023].decode(errors="ignore"))


@st.composite
def post_options(draw: st.DrawFn) -> dict[str, Any]:
    options: dict[str, Any] = {}
    if draw(st.booleans()):
        options["content_type"] = draw(content_types)
    sizes = draw(st.sampled_from(["none", "both", "min", "max"]))
    low = draw(st.integers(0, 1024**3))
    high = draw(st.integers(low, 5 * 1024**3))
    if sizes in ("both", "min"):
        options["min_bytes"] = low
    if sizes in ("both", "max"):
        options["max_bytes"] = high
    encryption = draw(st.sampled_from([None, "AES256", "aws:kms+key"]))
    if encryption == "aws:kms+key":
        options["server_side_encryption"] = "aws:kms"
        options["sse_kms_key_id"] = draw(kms_keys)
    elif encryption is not None:
        options["server_side_encryption"] = encryption
    if draw(st.booleans()):
        options["metadata"] = draw(metadata)
    if draw(st.booleans()):
        options["fields"] = draw(st.dictionaries(FORM_FIELD_NAMES, form_values, max_size=3))
    return options


def botocore_post_arguments(options: dict[str, Any]) -> tuple[dict[str, str], list[Any]]:
    fields: dict[str, str] = {}
    conditions: list[Any] = []
    if "min_bytes" in options or "max_bytes" in options:
        conditions.append(
            ["content-length-range", options.get("min_bytes", 0), options.get("max_bytes", 5 * 1024**3)]
        )
    if "content_type" in options:
        fields["Content-Type"] = options["content_type"]
    if "server_side_encryption" in options:
        fields["x-amz-server-side-encryption"] = options["server_side_encryption"]
    if "sse_kms_key_id" in options:
        fields["x-amz-server-side-encryption-aws-kms-key-id"] = options["sse_kms_key_id"]
    for name, value in options.get("metadata", {}).items():
        fields["x-amz-meta-" + name.lower()] = value
    fields.update(options.get("fields", {}))
    conditions.extend({name: value} for name, value in fields.items())
    return fields, conditions


@settings(SETTINGS, max_examples=POST_EXAMPLES)
@given(
    creds=credentials,
    region=regions,
    target=targets,
    bucket=bucket_names,
    exact=st.booleans(),
    key=post_keys,
    prefix=post_prefixes,
    options=post_options(),
    expires=expiries,
    now=times,
)
def test_presigned_post_equals_botocore(
    *,
    creds: int,
    region: str,
    target: Target,
    bucket: str,
    exact: bool,
    key: str,
    prefix: str,
    options: dict[str, Any],
    expires: int,
    now: datetime,
) -> None:
    signer = byos_signer(creds, region)
    endpoint = endpoint_for(target, region)
    if exact:
        ours = signer.presign_post(bucket, key, endpoint=endpoint, expires=expires, now=now, **options)
    else:
        ours = signer.presign_post(
            bucket, key_prefix=prefix, endpoint=endpoint, expires=expires, now=now, **options
        )
    fields, conditions = botocore_post_arguments(options)
    client = boto_client(creds, region, target.endpoint_url, botocore_style(target, bucket))
    with botocore_clock(now):
        theirs = client.generate_presigned_post(
            bucket,
            key if exact else prefix + "${filename}",
            Fields=fields,
            Conditions=conditions,
            ExpiresIn=expires,
        )
    assert ours.url == theirs["url"]
    assert list(ours.fields.items()) == list(theirs["fields"].items())


# -- named cases: each quirk once, readable ----------------------------------------------------------------

NOW = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)


@pytest.mark.parametrize(
    "key",
    [
        "a b/c+d%e=f~g?h#i",
        "uploads/😀 report (final).csv",
        "ü/日本語/файл.txt",
        "~tilde/~",
        "/leading/slash",
        "double//slash/",
        "trailing.dot.",
        "semi;colon,comma:colon@at!bang$dollar'quote*star",
        "percent%2Fencoded%20already",
        "é" * 512,
        "😀" * 256,
        "k" * 1024,
    ],
)
@pytest.mark.parametrize("target", [Target(None, "auto"), Target("http://127.0.0.1:4566", "auto")])
def test_hostile_keys_equal_botocore(key: str, target: Target) -> None:
    signer = byos_signer(1, "eu-west-1")
    options: dict[str, Any] = {
        "content_type": "text/csv",
        "content_length": 1234,
        "content_md5": "1B2M2Y8AsgTpgAmYEPhsfA==",
        "checksum_sha256": "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
        "if_none_match": True,
        "sse_kms_key_id": "alias/byos",
        "metadata": {"original-filename": "report (final).csv", "Tenant": "acme"},
    }
    ours = signer.presign_put(
        "my-bucket", key, endpoint=endpoint_for(target, "eu-west-1"), expires=1800, now=NOW, **options
    )
    client = boto_client(1, "eu-west-1", target.endpoint_url, botocore_style(target, "my-bucket"))
    with botocore_clock(NOW):
        theirs = client.generate_presigned_url(
            "put_object", Params=botocore_put_params("my-bucket", key, options), ExpiresIn=1800
        )
    assert ours.url == theirs


@pytest.mark.parametrize(
    ("region", "target", "bucket", "expected"),
    [
        ("us-east-1", Target(None, "auto"), "my-bucket", "https://my-bucket.s3.us-east-1.amazonaws.com/k"),
        ("eu-west-1", Target(None, "auto"), "my-bucket", "https://my-bucket.s3.eu-west-1.amazonaws.com/k"),
        ("eu-west-1", Target(None, "auto"), "my.bucket", "https://s3.eu-west-1.amazonaws.com/my.bucket/k"),
        ("eu-west-1", Target(None, "path"), "my-bucket", "https://s3.eu-west-1.amazonaws.com/my-bucket/k"),
        ("cn-north-1", Target(None, "auto"), "my-bucket", "https://my-bucket.s3.cn-north-1.amazonaws.com.cn/k"),
        ("us-east-1", Target("http://127.0.0.1:4566", "auto"), "my-bucket", "http://127.0.0.1:4566/my-bucket/k"),
        ("us-east-1", Target("http://127.0.0.1:4566", "virtual"), "my-bucket", "http://127.0.0.1:4566/my-bucket/k"),
        ("us-east-1", Target("http://localhost:9000", "virtual"), "my.bucket", "http://localhost:9000/my.bucket/k"),
        ("us-east-1", Target("https://s3.example.com", "auto"), "my-bucket", "https://s3.example.com/my-bucket/k"),
        ("us-east-1", Target("https://s3.example.com", "virtual"), "my-bucket", "https://my-bucket.s3.example.com/k"),
    ],
)  # fmt: skip
def test_addressing(region: str, target: Target, bucket: str, expected: str) -> None:
    url = (
        byos_signer(2, region)
        .presign_put(bucket, "k", endpoint=endpoint_for(target, region), expires=60, now=NOW)
        .url
    )
    assert url.split("?")[0] == expected
    assert ".s3.amazonaws.com" not in url
    assert endpoint_for(target, region).object_url(bucket, "k") == expected


def test_default_endpoint_is_regional_virtual_host() -> None:
    signer = byos_signer(0, "us-east-1")
    default = signer.presign_put("my-bucket", "k", expires=60, now=NOW).url
    explicit = signer.presign_put("my-bucket", "k", endpoint=S3Endpoint("us-east-1"), expires=60, now=NOW).url
    assert default == explicit
    assert default.startswith("https://my-bucket.s3.us-east-1.amazonaws.com/k?")


def test_post_urls() -> None:
    signer = byos_signer(2, "eu-west-1")
    virtual = signer.presign_post("my-bucket", "k", expires=60, now=NOW)
    dotted = signer.presign_post("my.bucket", "k", expires=60, now=NOW)
    local = signer.presign_post(
        "my-bucket", "k", endpoint=S3Endpoint("eu-west-1", "http://127.0.0.1:4566"), expires=60, now=NOW
    )
    assert virtual.url == "https://my-bucket.s3.eu-west-1.amazonaws.com/"
    assert dotted.url == "https://s3.eu-west-1.amazonaws.com/my.bucket"
    assert local.url == "http://127.0.0.1:4566/my-bucket"
