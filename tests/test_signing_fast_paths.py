"""The signers' fast paths give exactly what the plain ways give: key encoding, SHA-256, templates."""

from __future__ import annotations

import hmac
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from byos.errors import InvalidInputError
from byos.signing import hmac_sha256
from byos.signing.sigv4 import S3Endpoint, SigV4Signer
from byos.signing.sigv4_templates import QueryTemplate, encode_key_path

NOW = datetime(2026, 3, 14, 15, 9, 26, tzinfo=UTC)


@settings(max_examples=500, deadline=None, derandomize=True, database=None)
@given(st.text(min_size=1, max_size=80))
def test_key_encoding_equals_urllib_quote(key: str) -> None:
    try:
        expected = quote(key, safe="/~")
    except UnicodeEncodeError:
        with pytest.raises(UnicodeEncodeError):
            encode_key_path(key)
        return
    assert encode_key_path(key) == expected


@pytest.mark.parametrize("key", ["a b(c).csv", "x/ü/é.txt", "%41+=?#&", "plain/key-1_2.~txt", "\x7f\x00"])
def test_key_encoding_examples(key: str) -> None:
    assert encode_key_path(key) == quote(key, safe="/~")


def test_both_sha256_backends_give_the_same_hmac() -> None:
    import _hashlib  # noqa: PLC0415 - OpenSSL, which the fast path picks when loaded

    assert hmac_sha256.best_sha256() is _hashlib.openssl_sha256
    key, message = b"k" * 40, b"AWS4-HMAC-SHA256\n20260314T150926Z\n..." * 3
    expected = hmac.new(key, message, "sha256").hexdigest()
    assert hmac_sha256.HmacSha256(key).hexdigest(message) == expected
    assert hmac_sha256.HmacSha256(key, _hashlib.openssl_sha256).hexdigest(message) == expected


def test_template_refuses_query_names_that_sort_before_the_auth_parameters() -> None:
    with pytest.raises(ValueError, match="lower-case"):
        QueryTemplate(
            method="PUT",
            credential="AKID/20260314/eu-west-1/s3/aws4_request",
            scope="20260314/eu-west-1/s3/aws4_request",
            signing_key=b"k" * 32,
            expires=60,
            header_names=(),
            token_encoded=None,
            query_names=("UploadId",),
        )


def test_a_warm_signer_signs_like_a_fresh_one() -> None:
    """Cached templates, locations and clock never leak between header sets, lifetimes, buckets or days."""
    warm = SigV4Signer("AKIDEXAMPLE", "secret", "eu-west-1", session_token="tok/en+")
    path_style = S3Endpoint("eu-west-1", addressing_style="path")
    calls = [
        {"bucket": "b-one", "key": "k 1", "expires": 60, "content_type": "text/csv"},
        {"bucket": "b-one", "key": "k 1", "expires": 61, "content_type": "text/csv"},
        {"bucket": "b-two", "key": "k/2", "expires": 60, "content_length": 5, "if_none_match": True},
        {"bucket": "b-two", "key": "k/2", "expires": 60, "metadata": {"A": "x  y", "b": " z "}},
        {"bucket": "b.dots", "key": "ü", "expires": 60, "endpoint": path_style},
        {"bucket": "b-one", "key": "k", "expires": 60, "now": NOW + timedelta(days=1)},
        {"bucket": "b-one", "key": "k", "expires": 60, "now": NOW + timedelta(microseconds=7)},
    ]
    for call in calls + calls:
        options = {"now": NOW, **call}
        fresh = SigV4Signer("AKIDEXAMPLE", "secret", "eu-west-1", session_token="tok/en+")
        assert warm.presign_put(**options) == fresh.presign_put(**options)  # type: ignore[arg-type]


def test_a_warm_signer_still_refuses_what_a_fresh_one_refuses() -> None:
    signer = SigV4Signer("AKIDEXAMPLE", "secret", "eu-west-1")
    signer.presign_put("good-bucket", "k", expires=60, now=NOW, content_type="text/csv")
    with pytest.raises(InvalidInputError, match="content_type"):
        signer.presign_put("good-bucket", "k", expires=60, now=NOW, content_type="text/csv\n")
    with pytest.raises(InvalidInputError, match="expires"):
        signer.presign_put("good-bucket", "k", expires=True, now=NOW)
    with pytest.raises(InvalidInputError, match="bucket"):
        signer.presign_put("Bad_Bucket", "k", expires=60, now=NOW)
    with pytest.raises(InvalidInputError, match="endpoint"):
        signer.presign_put("good-bucket", "k", expires=60, now=NOW, endpoint={})  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="now"):
        signer.presign_put("good-bucket", "k", expires=60, now=NOW.replace(tzinfo=None))
    with pytest.raises(InvalidInputError, match="metadata"):
        signer.presign_put("good-bucket", "k", expires=60, now=NOW, metadata={"a": "x", "A": "y"})


@pytest.mark.parametrize("owner", [None, "123456789012"])
@pytest.mark.parametrize("token", [None, "IQoJb3JpZ2luX2VjE+/=token"])
@pytest.mark.parametrize("with_checksums", [False, True])
def test_batch_part_urls_equal_one_by_one(token: str | None, with_checksums: bool, owner: str | None) -> None:
    signer = SigV4Signer("AKIDEXAMPLE", "secret", "eu-west-1", session_token=token)
    lengths = [5 * 1024**2, 5 * 1024**2, 17]
    checksums = ["47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="] * 3 if with_checksums else None
    upload_id = "VXBsb2FkIElE+/=.example"
    batch = signer.presign_parts(
        "acme-imports",
        "raw/a b.csv",
        upload_id=upload_id,
        lengths=lengths,
        expires=900,
        now=NOW,
        checksums=checksums,
        expected_bucket_owner=owner,
    )
    single = [
        signer.presign_upload_part(
            "acme-imports",
            "raw/a b.csv",
            upload_id=upload_id,
            part_number=number,
            expires=900,
            now=NOW,
            content_length=length,
            checksum_sha256=None if checksums is None else checksums[number - 1],
            expected_bucket_owner=owner,
        )
        for number, length in enumerate(lengths, start=1)
    ]
    assert batch == single
    assert [list(part.headers.items()) for part in batch] == [list(part.headers.items()) for part in single]


def test_batch_part_urls_refuse_what_one_by_one_refuses() -> None:
    signer = SigV4Signer("AKIDEXAMPLE", "secret", "eu-west-1")
    options = {"upload_id": "u", "expires": 900, "now": NOW}
    with pytest.raises(InvalidInputError, match="part_number"):
        signer.presign_parts("acme-imports", "k", lengths=[1] * 10_001, **options)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="content_length"):
        signer.presign_parts("acme-imports", "k", lengths=[1, -1], **options)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="checksums"):
        signer.presign_parts("acme-imports", "k", lengths=[1], checksums=[], **options)  # type: ignore[arg-type]


@pytest.mark.parametrize("endpoint", ["https://storage.googleapis.com", "http://127.0.0.1:4443"])
@pytest.mark.parametrize("expires", [60, 604_800])
def test_compiled_gcs_put_equals_presign_url(endpoint: str, expires: int) -> None:
    from byos.signing import goog4  # noqa: PLC0415
    from byos.signing.goog4_compiled import compile_put  # noqa: PLC0415

    signer = goog4.HmacSigner("GOOG1EXAMPLEACCESSID", "c2VjcmV0LXNlY3JldA==")
    sign = compile_put(signer, "acme-imports", endpoint)
    headers_sets = [
        {"x-goog-meta-original-filename": "a b.csv"},
        {"content-type": "text/csv", "x-goog-if-generation-match": "0", "x-goog-meta-original-filename": "x"},
        {
            "content-type": "application/vnd.ms-excel",
            "x-goog-content-length-range": "5,5",
            "x-goog-if-generation-match": "0",
            "x-goog-meta-original-filename": "%C3%BC.csv",
        },
    ]
    for key in ("a.csv", "in/0f8fad5b-d9cb-469f-a165-70867728950e-Q3 report (final).csv", "ü/ß~x"):
        for headers in headers_sets:
            names = tuple(sorted(headers))
            expected = goog4.presign_url(
                signer,
                "PUT",
                "acme-imports",
                key,
                signed_headers=headers,
                expires=expires,
                now=NOW,
                endpoint=endpoint,
            )
            assert sign(key, names, [headers[n] for n in names], expires, NOW) == expected
