"""byos's header signing (checker S3 calls, STS AssumeRole) equals botocore's for the same inputs and clock.

botocore builds the real request of each operation (``get_bucket_location``, ``list_objects_v2``,
``get_object``, ``delete_object``, ``get_bucket_encryption``, ``sts.assume_role``); the request is caught
before it is sent, and byos signs the same method, URL, headers and body with the same frozen clock.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote, urlsplit

import boto3
import pytest
from botocore.config import Config
from hypothesis import given, settings
from hypothesis import strategies as st

from byos.signing.sigv4 import SigV4Signer
from tests.test_sigv4_equivalence import CREDENTIALS, SETTINGS, botocore_clock

EXAMPLES = 120
UNSIGNED_BY_BOTOCORE = frozenset(
    {"user-agent", "amz-sdk-invocation-id", "amz-sdk-request", "content-length", "expect"}
)
SET_BY_SIGNER = frozenset({"authorization", "x-amz-date", "x-amz-security-token", "x-amz-content-sha256"})


class CaughtError(Exception):
    """Carries the request botocore was about to send."""

    def __init__(self, request: Any) -> None:
        super().__init__("caught")
        self.request = request


def caught(client: Any, call: Callable[[Any], object], now: datetime) -> Any:
    """The request ``call(client)`` would send, signed by botocore at ``now``."""

    def stop(request: Any, **_: Any) -> None:
        raise CaughtError(request)

    client.meta.events.register("before-send", stop)
    try:
        with botocore_clock(now), pytest.raises(CaughtError) as raised:
            call(client)
    finally:
        client.meta.events.unregister("before-send", stop)
    return raised.value.request


def headers_of(request: Any) -> dict[str, str]:
    return {k: v.decode() if isinstance(v, bytes) else str(v) for k, v in request.headers.items()}


def byos_signed(request: Any, signer: SigV4Signer, now: datetime, *, payload_header: bool) -> dict[str, str]:
    """Sign botocore's request again with byos: same method, URL, caller headers and body."""
    parts = urlsplit(request.url)
    query = {}
    for pair in filter(None, parts.query.split("&")):
        name, _, value = pair.partition("=")
        query[unquote(name)] = unquote(value)
    given_headers = {
        k: v for k, v in headers_of(request).items() if k.lower() not in UNSIGNED_BY_BOTOCORE | SET_BY_SIGNER
    }
    body = request.body if isinstance(request.body, bytes) else (request.body or "").encode()
    _, signed = signer.sign_request(
        request.method,
        f"{parts.scheme}://{parts.netloc}{parts.path}",
        query=query,
        headers=given_headers,
        body=body,
        now=now,
        content_sha256_header=payload_header,
    )
    return signed


def assert_same_signature(botocore_headers: dict[str, str], byos_headers: dict[str, str]) -> None:
    for name in ("Authorization", "X-Amz-Date", "X-Amz-Security-Token", "X-Amz-Content-SHA256"):
        assert byos_headers.get(name) == botocore_headers.get(name), name


times = st.datetimes(
    min_value=datetime(2020, 1, 1),  # noqa: DTZ001 -- bounds of a naive strategy; UTC is added below
    max_value=datetime(2040, 12, 31),  # noqa: DTZ001
).map(lambda moment: moment.replace(tzinfo=UTC, microsecond=0))
keys = st.text(
    alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters="\\"),
    min_size=1,
    max_size=40,
).filter(lambda key: not key.startswith((".", "/")) and "/." not in key and "//" not in key)
OPERATIONS: dict[str, Callable[[str, str, str], Callable[[Any], object]]] = {
    "get_bucket_location": lambda bucket, _key, _prefix: lambda c: c.get_bucket_location(Bucket=bucket),
    "get_bucket_encryption": lambda bucket, _key, _prefix: lambda c: c.get_bucket_encryption(Bucket=bucket),
    "list_objects_v2": lambda bucket, _key, prefix: (
        lambda c: c.list_objects_v2(Bucket=bucket, Prefix=prefix, MaxKeys=1)
    ),
    "get_object": lambda bucket, key, _prefix: (
        lambda c: c.get_object(Bucket=bucket, Key=key, Range="bytes=0-0")
    ),
    "delete_object": lambda bucket, key, _prefix: lambda c: c.delete_object(Bucket=bucket, Key=key),
}


@settings(SETTINGS, max_examples=EXAMPLES)
@given(
    credentials=st.sampled_from(range(len(CREDENTIALS))),
    region=st.sampled_from(("us-east-1", "eu-west-1", "ap-southeast-2")),
    endpoint=st.sampled_from((None, "http://127.0.0.1:4566", "https://storage.example.com:8443")),
    operation=st.sampled_from(sorted(OPERATIONS)),
    key=keys,
    prefix=st.sampled_from(("", "imports/", "tenant 7/ü")),
    now=times,
)
def test_s3_header_signing_equals_botocore(  # noqa: PLR0917  (hypothesis draws every argument)
    credentials: int, region: str, endpoint: str | None, operation: str, key: str, prefix: str, now: datetime
) -> None:
    key_id, secret, token = CREDENTIALS[credentials]
    client = boto3.client(
        "s3",
        region_name=region,
        endpoint_url=endpoint,
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
        aws_session_token=token,
        config=Config(
            signature_version="s3v4", s3={"addressing_style": "path"}, retries={"total_max_attempts": 1}
        ),
    )
    request = caught(client, OPERATIONS[operation]("acme-imports", key, prefix), now)
    signer = SigV4Signer(key_id, secret, region, session_token=token)

    assert_same_signature(headers_of(request), byos_signed(request, signer, now, payload_header=True))


@settings(SETTINGS, max_examples=40)
@given(
    credentials=st.sampled_from(range(len(CREDENTIALS))),
    region=st.sampled_from(("us-east-1", "eu-west-1", "cn-north-1")),
    external_id=st.one_of(st.none(), st.from_regex(r"[\w+=,.@:/-]{2,40}", fullmatch=True)),
    now=times,
)
def test_sts_assume_role_signing_and_body_equal_botocore(
    credentials: int, region: str, external_id: str | None, now: datetime
) -> None:
    from byos.providers import sts  # noqa: PLC0415

    key_id, secret, token = CREDENTIALS[credentials]
    client = boto3.client(
        "sts",
        region_name=region,
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
        aws_session_token=token,
        config=Config(retries={"total_max_attempts": 1}),
    )
    arguments: dict[str, Any] = {
        "RoleArn": "arn:aws:iam::123456789012:role/acme-uploader",
        "RoleSessionName": "byos",
        "DurationSeconds": 3600,
    }
    if external_id is not None:
        arguments["ExternalId"] = external_id
    request = caught(client, lambda c: c.assume_role(**arguments), now)
    assert request.url == sts.sts_endpoint(region) + "/"
    body = sts.assume_role_body(arguments["RoleArn"], "byos", 3600, external_id)
    assert body == (request.body if isinstance(request.body, bytes) else request.body.encode())
    signer = SigV4Signer(key_id, secret, region, session_token=token, service="sts")

    assert_same_signature(headers_of(request), byos_signed(request, signer, now, payload_header=False))


def test_the_signing_time_is_the_given_one() -> None:
    signer = SigV4Signer("AKIAIOSFODNN7EXAMPLE", "secret", "eu-west-1")
    now = datetime(2026, 12, 3, 7, 0, tzinfo=UTC)
    url, headers = signer.sign_request(
        "GET", "https://s3.eu-west-1.amazonaws.com/b", query={"location": ""}, now=now
    )
    assert url == "https://s3.eu-west-1.amazonaws.com/b?location="
    assert headers["X-Amz-Date"] == "20261203T070000Z"
    later = signer.sign_request(
        "GET", "https://s3.eu-west-1.amazonaws.com/b", now=now + timedelta(seconds=1)
    )[1]
    assert later["Authorization"] != headers["Authorization"]
