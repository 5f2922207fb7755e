"""Bad input to the GCS signer gives a one-line error naming the field, before anything is signed."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from byos.errors import ConfigError, CredentialsError, InvalidInputError
from byos.signing import goog4
from tests.goog4_verifier import service_account_info

NOW = datetime(2026, 7, 8, 9, 10, 11, tzinfo=UTC)


class Spy:
    """A signBlob stand-in that records every call: an invalid input must never reach it."""

    def __init__(self) -> None:
        self.calls: list[bytes] = []

    def __call__(self, message: bytes) -> bytes:
        self.calls.append(message)
        return b"\x01" * 256


@pytest.fixture
def spy() -> Spy:
    return Spy()


def assert_one_line(error: InvalidInputError | ConfigError, field: str) -> None:
    message = str(error)
    assert error.field == field
    assert message.startswith(f"{field}: ")
    assert "\n" not in message
    assert message.count("; ") >= 1


URL_CASES: list[tuple[str, dict[str, Any], str]] = [
    ("short bucket", {"bucket": "ab"}, "bucket"),
    ("long bucket", {"bucket": "a" * 64}, "bucket"),
    ("uppercase bucket", {"bucket": "Bucket"}, "bucket"),
    ("bucket starts with dash", {"bucket": "-abc"}, "bucket"),
    ("bucket ends with dash", {"bucket": "abc-"}, "bucket"),
    ("bucket with space", {"bucket": "ab c"}, "bucket"),
    ("goog prefix", {"bucket": "goog-data"}, "bucket"),
    ("google inside", {"bucket": "my-google-data"}, "bucket"),
    ("google lookalike", {"bucket": "my-g00gle-data"}, "bucket"),
    ("ip address bucket", {"bucket": "192.168.1.1"}, "bucket"),
    ("empty dot label", {"bucket": "a..b"}, "bucket"),
    ("label over 63", {"bucket": "a" * 64 + ".com"}, "bucket"),
    ("dotted over 222", {"bucket": ".".join(["a" * 60] * 4)}, "bucket"),
    ("bucket not text", {"bucket": 123}, "bucket"),
    ("empty key", {"key": ""}, "key"),
    ("key over 1024 bytes", {"key": "a" * 1025}, "key"),
    ("key over 1024 utf-8 bytes", {"key": "é" * 513}, "key"),
    ("key with line feed", {"key": "a\nb"}, "key"),
    ("key with carriage return", {"key": "a\rb"}, "key"),
    ("dot key", {"key": "."}, "key"),
    ("dot dot key", {"key": ".."}, "key"),
    ("dot dot segment", {"key": "a/../b"}, "key"),
    ("dot segment", {"key": "a/./b"}, "key"),
    ("acme challenge", {"key": ".well-known/acme-challenge/token"}, "key"),
    ("lone surrogate", {"key": "a\ud800"}, "key"),
    ("key not text", {"key": None}, "key"),
    ("zero expiry", {"expires": 0}, "expires"),
    ("negative expiry", {"expires": -5}, "expires"),
    ("expiry over 7 days", {"expires": 604801}, "expires"),
    ("float expiry", {"expires": 1.5}, "expires"),
    ("bool expiry", {"expires": True}, "expires"),
    ("text expiry", {"expires": "60"}, "expires"),
    ("unknown method", {"method": "PATCH"}, "method"),
    ("empty method", {"method": ""}, "method"),
    ("naive now", {"now": datetime(2026, 1, 1)}, "now"),  # noqa: DTZ001 - the invalid input under test
    ("now not a datetime", {"now": "2026-01-01"}, "now"),
    ("endpoint without scheme", {"endpoint": "storage.googleapis.com"}, "endpoint"),
    ("ftp endpoint", {"endpoint": "ftp://storage.googleapis.com"}, "endpoint"),
    ("endpoint with user", {"endpoint": "https://user:pw@storage.googleapis.com"}, "endpoint"),
    ("endpoint with path", {"endpoint": "https://storage.googleapis.com/storage/v1"}, "endpoint"),
    ("endpoint with query", {"endpoint": "https://storage.googleapis.com?x=1"}, "endpoint"),
    ("endpoint bad port", {"endpoint": "http://127.0.0.1:99999"}, "endpoint"),
    ("endpoint without host", {"endpoint": "https://"}, "endpoint"),
    ("host header", {"signed_headers": {"Host": "evil.example.com"}}, "signed_headers[Host]"),
    ("bad header name", {"signed_headers": {"bad name": "x"}}, "signed_headers"),
    ("non-ascii header", {"signed_headers": {"x-goog-meta-name": "é"}}, "signed_headers[x-goog-meta-name]"),
    ("header with newline", {"signed_headers": {"x-goog-meta-a": "a\nb"}}, "signed_headers[x-goog-meta-a]"),
    ("header with tab", {"signed_headers": {"x-goog-meta-a": "a\tb"}}, "signed_headers[x-goog-meta-a]"),
    (
        "header twice",
        {"signed_headers": {"Content-Type": "text/csv", "content-type": "text/html"}},
        "signed_headers[content-type]",
    ),
    (
        "generation not a number",
        {"signed_headers": {"x-goog-if-generation-match": "none"}},
        "signed_headers[x-goog-if-generation-match]",
    ),
    (
        "length range reversed",
        {"signed_headers": {"x-goog-content-length-range": "10,5"}},
        "signed_headers[x-goog-content-length-range]",
    ),
    (
        "length range one number",
        {"signed_headers": {"x-goog-content-length-range": "5"}},
        "signed_headers[x-goog-content-length-range]",
    ),
    ("md5 not base64", {"signed_headers": {"Content-MD5": "not-md5"}}, "signed_headers[Content-MD5]"),
    ("md5 wrong length", {"signed_headers": {"Content-MD5": "AAAA"}}, "signed_headers[Content-MD5]"),
    (
        "sha256 not hex",
        {"signed_headers": {"x-goog-content-sha256": "xyz"}},
        "signed_headers[x-goog-content-sha256]",
    ),
    (
        "resumable on PUT",
        {"signed_headers": {"x-goog-resumable": "start"}},
        "signed_headers[x-goog-resumable]",
    ),
    (
        "resumable not start",
        {"method": "POST", "signed_headers": {"x-goog-resumable": "stop"}},
        "signed_headers[x-goog-resumable]",
    ),
    ("empty content type", {"signed_headers": {"Content-Type": "  "}}, "signed_headers[Content-Type]"),
    ("header value not text", {"signed_headers": {"x-goog-meta-a": 1}}, "signed_headers"),
    ("headers not a mapping", {"signed_headers": [("Content-Type", "text/csv")]}, "signed_headers"),
    ("reserved query", {"query_params": {"X-Goog-Date": "x"}}, "query_params[X-Goog-Date]"),
    (
        "reserved query any case",
        {"query_params": {"x-goog-signature": "x"}},
        "query_params[x-goog-signature]",
    ),
    ("query names that sort apart", {"query_params": {"a": "1", "a-b": "2"}}, "query_params"),
    ("query name before X-Goog", {"query_params": {"X": "1"}}, "query_params"),
    ("empty query name", {"query_params": {"": "x"}}, "query_params"),
    ("query value not text", {"query_params": {"a": 1}}, "query_params[a]"),
    ("query surrogate", {"query_params": {"a": "\udfff"}}, "query_params[a]"),
]


@pytest.mark.parametrize(
    ("change", "field"), [case[1:] for case in URL_CASES], ids=[case[0] for case in URL_CASES]
)
def test_presign_url_rejects(spy: Spy, change: dict[str, Any], field: str) -> None:
    arguments: dict[str, Any] = {
        "method": "PUT",
        "bucket": "byos-input",
        "key": "raw/report.csv",
        "signed_headers": {"Content-Type": "text/csv"},
        "expires": 1800,
        "now": NOW,
    }
    arguments.update(change)
    signer = goog4.SignBlobSigner("sa@byos-test.iam.gserviceaccount.com", spy)
    with pytest.raises(InvalidInputError) as caught:
        goog4.presign_url(signer, **arguments)
    assert_one_line(caught.value, field)
    assert spy.calls == []


def test_valid_edges_are_accepted(spy: Spy) -> None:
    signer = goog4.SignBlobSigner("sa@byos-test.iam.gserviceaccount.com", spy)
    edges: list[dict[str, Any]] = [
        {"bucket": "abc", "key": "a" * 1024, "expires": 604800},
        {"bucket": "a" * 63, "key": "é" * 512, "expires": 1},
        {"bucket": ".".join(["a" * 63] * 3) + "." + "b" * 29, "key": "...", "expires": 60},
        {"bucket": "a_b.c-d", "key": "x/..y/.z", "expires": 60, "method": "delete"},
        {"bucket": "byos-input", "key": ".well-known/other", "expires": 60, "endpoint": "http://[::1]:4443/"},
    ]
    for edge in edges:
        arguments: dict[str, Any] = {"method": "PUT", "now": NOW, **edge}
        url = goog4.presign_url(signer, arguments.pop("method"), arguments.pop("bucket"), **arguments)
        assert url.startswith(("https://storage.googleapis.com/", "http://[::1]:4443/"))
    assert len(spy.calls) == len(edges)


POST_CASES: list[tuple[str, dict[str, Any], str]] = [
    ("reversed length range", {"conditions": [goog4.content_length_range(10, 5)]}, "conditions[0]"),
    ("negative length range", {"conditions": [goog4.content_length_range(-1, 5)]}, "conditions[0]"),
    ("bool length range", {"conditions": [["content-length-range", True, 5]]}, "conditions[0]"),
    ("text length range", {"conditions": [["content-length-range", "0", "5"]]}, "conditions[0]"),
    ("field without dollar", {"conditions": [["starts-with", "key", "raw/"]]}, "conditions[0]"),
    ("prefix the key misses", {"conditions": [goog4.starts_with("key", "other/")]}, "conditions[0]"),
    ("eq key mismatch", {"conditions": [["eq", "$key", "raw/other.csv"]]}, "conditions[0]"),
    ("exact key mismatch", {"conditions": [{"key": "raw/other.csv"}]}, "conditions[0]"),
    ("unknown operator", {"conditions": [["in", "$key", "raw/"]]}, "conditions[0]"),
    ("two-field dict", {"conditions": [{"a": "1", "b": "2"}]}, "conditions[0]"),
    ("dict with number", {"conditions": [{"a": 1}]}, "conditions[0]"),
    ("two items", {"conditions": [{"a": "1"}, ["eq", "$a"]]}, "conditions[1]"),
    ("string condition", {"conditions": ["abc"]}, "conditions[0]"),
    ("conditions a string", {"conditions": "abc"}, "conditions"),
    ("conditions a dict", {"conditions": {"a": "b"}}, "conditions"),
    ("condition surrogate", {"conditions": [{"x-goog-meta-a": "\ud800"}]}, "conditions[0]"),
    ("key field", {"fields": {"key": "raw/other.csv"}}, "fields[key]"),
    ("policy field", {"fields": {"policy": "x"}}, "fields[policy]"),
    ("signature field", {"fields": {"X-Goog-Signature": "x"}}, "fields[X-Goog-Signature]"),
    ("bucket field", {"fields": {"bucket": "other"}}, "fields[bucket]"),
    ("ignored field", {"fields": {"x-ignore-note": "x"}}, "fields[x-ignore-note]"),
    ("bad field name", {"fields": {"bad name": "x"}}, "fields"),
    ("field not text", {"fields": {"x-goog-meta-a": 1}}, "fields[x-goog-meta-a]"),
    ("field surrogate", {"fields": {"x-goog-meta-a": "\ud800"}}, "fields[x-goog-meta-a]"),
    ("fields not a mapping", {"fields": [("a", "b")]}, "fields"),
    ("bad bucket", {"bucket": "Bad"}, "bucket"),
    ("bad key", {"key": "a\nb"}, "key"),
    ("expiry too long", {"expires": 604801}, "expires"),
    ("bad endpoint", {"endpoint": "https://h/x"}, "endpoint"),
    ("naive now", {"now": datetime(2026, 1, 1)}, "now"),  # noqa: DTZ001 - the invalid input under test
]


@pytest.mark.parametrize(
    ("change", "field"), [case[1:] for case in POST_CASES], ids=[case[0] for case in POST_CASES]
)
def test_presign_post_rejects(spy: Spy, change: dict[str, Any], field: str) -> None:
    arguments: dict[str, Any] = {"bucket": "byos-input", "key": "raw/report.csv", "expires": 600, "now": NOW}
    arguments.update(change)
    signer = goog4.SignBlobSigner("sa@byos-test.iam.gserviceaccount.com", spy)
    with pytest.raises(InvalidInputError) as caught:
        goog4.presign_post(signer, **arguments)
    assert_one_line(caught.value, field)
    assert spy.calls == []


# ------------------------------------------------------------------------------------------ credentials


def _ec_pem() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return pem.decode()


def _without(name: str) -> Callable[[dict[str, str]], dict[str, str]]:
    return lambda info: {k: v for k, v in info.items() if k != name}


KEY_FILE_CASES: list[tuple[str, Callable[[dict[str, str]], object], str]] = [
    ("user credentials", lambda info: {**info, "type": "authorized_user"}, "is not a service account key"),
    ("external account", lambda info: {**info, "type": "external_account"}, "is not a service account key"),
    ("no type", _without("type"), "is not a service account key"),
    ("no client_email", _without("client_email"), "has no client_email"),
    ("no private_key", _without("private_key"), "has no private_key"),
    ("garbled key", lambda info: {**info, "private_key": info["private_key"][:200]}, "not a readable"),
    ("EC key", lambda info: {**info, "private_key": _ec_pem()}, "not an RSA key"),
    ("email with space", lambda info: {**info, "client_email": "a b@c"}, "printable ASCII"),
    ("a list", lambda info: [info], "is not a JSON object"),
]


@pytest.mark.parametrize(
    ("mangle", "problem"), [case[1:] for case in KEY_FILE_CASES], ids=[case[0] for case in KEY_FILE_CASES]
)
def test_key_file_must_be_a_service_account_key(
    tmp_path: Path, mangle: Callable[[dict[str, str]], object], problem: str
) -> None:
    info = service_account_info(seed=4)
    body = mangle(dict(info))
    with pytest.raises(ConfigError) as caught:
        goog4.ServiceAccountSigner.from_service_account_info(body)  # type: ignore[arg-type]
    assert problem in str(caught.value)
    assert caught.value.field.startswith("service_account_info")
    assert "\n" not in str(caught.value)
    assert "PRIVATE KEY" not in str(caught.value)

    path = tmp_path / "key.json"
    path.write_text(json.dumps(body))
    with pytest.raises(ConfigError) as from_file:
        goog4.ServiceAccountSigner.from_service_account_file(path)
    assert from_file.value.field.startswith("service_account_file")
    assert problem in str(from_file.value)


def test_key_file_that_cannot_be_read(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^service_account_file: cannot read .*missing\.json") as missing:
        goog4.ServiceAccountSigner.from_service_account_file(tmp_path / "missing.json")
    assert "\n" not in str(missing.value)
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ConfigError, match=r"^service_account_file: .*bad\.json is not JSON"):
        goog4.ServiceAccountSigner.from_service_account_file(tmp_path / "bad.json")


def test_key_file_signer_loads_once_and_hides_the_key(tmp_path: Path) -> None:
    info = service_account_info(seed=4)
    path = tmp_path / "key.json"
    path.write_text(json.dumps(info))
    signer = goog4.ServiceAccountSigner.from_service_account_file(path)
    assert signer.client_id == info["client_email"]
    assert signer.algorithm == "GOOG4-RSA-SHA256"
    path.unlink()  # the key is in memory: signing reads nothing
    url = goog4.presign_url(signer, "PUT", "byos-input", "a.csv", expires=60, now=NOW)
    assert "X-Goog-Signature=" in url
    assert "PRIVATE" not in repr(signer)
    assert info["client_email"] in repr(signer)


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: goog4.HmacSigner("", "secret"), "hmac_access_id"),
        (lambda: goog4.HmacSigner("GOOG1 X", "secret"), "hmac_access_id"),
        (lambda: goog4.HmacSigner("GOOG1X", ""), "hmac_secret"),
        (lambda: goog4.SignBlobSigner("sa@x.iam.gserviceaccount.com", "no"), "sign_bytes"),  # type: ignore[arg-type]
        (lambda: goog4.SignBlobSigner("", Spy()), "service_account_email"),
        (lambda: goog4.SignBlobSigner("a/b@x", Spy()), "service_account_email"),
    ],
)
def test_signer_credentials_are_checked(build: Callable[[], object], field: str) -> None:
    with pytest.raises(ConfigError) as caught:
        build()
    assert_one_line(caught.value, field)


def test_hmac_secret_stays_out_of_repr() -> None:
    signer = goog4.HmacSigner("GOOG1EXAMPLE", "super-secret-value")
    assert "super-secret-value" not in repr(signer)
    assert "GOOG1EXAMPLE" in repr(signer)


def test_sign_blob_without_signature_is_a_credentials_error() -> None:
    signer = goog4.SignBlobSigner("sa@byos-test.iam.gserviceaccount.com", lambda _: b"")
    with pytest.raises(CredentialsError, match="no signature"):
        goog4.presign_url(signer, "PUT", "byos-input", "a.csv", expires=60, now=NOW)
