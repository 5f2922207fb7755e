"""GCS presigning via the library: signing modes, signed headers, expiry, bad input, no SDK when static."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock
from urllib.parse import parse_qs, unquote, urlsplit

import google.auth
import google.cloud.storage._signing as sdk_signing
import pytest
from google.cloud import storage
from google.oauth2 import service_account

from byos.errors import ConfigError, CredentialsError, InvalidInputError, MissingExtraError
from byos.keys import metadata_filename
from byos.models import UploadOptions
from byos.providers import gcs, gcs_sign_blob
from byos.uploads import presign_upload
from tests.gcs_helpers import HMAC_ACCESS_ID, HMAC_SECRET, destination, fake_iam, keyless, write_key_file
from tests.goog4_verifier import (
    VerificationError,
    public_key_of,
    service_account_info,
    verify_post_policy,
    verify_signed_url,
)

NOW = datetime(2026, 11, 2, 12, 0, 0, tzinfo=UTC)
MD5 = base64.b64encode(hashlib.md5(b"id,name\n").digest()).decode()  # noqa: S324  (Content-MD5 is MD5)
SHA256 = base64.b64encode(hashlib.sha256(b"id,name\n").digest()).decode()


@pytest.fixture(autouse=True)
def _fresh_signers() -> None:
    gcs.clear_signer_cache()


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    return write_key_file(tmp_path)


@pytest.fixture
def public_key(key_file: Path) -> Any:
    return public_key_of(json.loads(key_file.read_text()))


def query(url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query, keep_blank_values=True).items()}


def signed_names(url: str) -> set[str]:
    return set(query(url)["X-Goog-SignedHeaders"].split(";"))


# --- PUT ---


def test_put_signs_exactly_the_headers_the_client_must_send(key_file: Path, public_key: Any) -> None:
    request = presign_upload(
        destination(service_account_file=key_file),
        "Q3 report.csv",
        content_type="text/csv",
        content_md5=MD5,
        max_bytes=1000,
        metadata={"tenant": "acme"},
        now=NOW,
    )
    assert request.method == "PUT"
    assert dict(request.headers) == {
        "Content-Type": "text/csv",
        "Content-MD5": MD5,
        "x-goog-if-generation-match": "0",
        "x-goog-content-length-range": "0,1000",
        "x-goog-meta-original-filename": "Q3 report.csv",
        "x-goog-meta-tenant": "acme",
    }
    assert signed_names(request.url) == {name.lower() for name in request.headers} | {"host"}
    assert urlsplit(request.url).netloc == "storage.googleapis.com"
    assert request.url.startswith(f"https://storage.googleapis.com/acme-imports/{request.key.split('/')[0]}/")
    granted = verify_signed_url(
        request.url, method="PUT", headers=request.headers, now=NOW, public_key=public_key
    )
    assert (granted.bucket, granted.object_name) == ("acme-imports", request.key)
    assert granted.algorithm == "GOOG4-RSA-SHA256"
    for name in request.headers:  # leaving out or changing any one header breaks the signature
        missing = {k: v for k, v in request.headers.items() if k != name}
        with pytest.raises(VerificationError):
            verify_signed_url(request.url, method="PUT", headers=missing, now=NOW, public_key=public_key)
        changed = {**request.headers, name: request.headers[name] + "x"}
        with pytest.raises(VerificationError):
            verify_signed_url(request.url, method="PUT", headers=changed, now=NOW, public_key=public_key)
    with pytest.raises(VerificationError):
        verify_signed_url(request.url, method="POST", headers=request.headers, now=NOW, public_key=public_key)


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({}, None),
        ({"content_length": 8}, "8,8"),
        ({"min_bytes": 1, "max_bytes": 10}, "1,10"),
        ({"min_bytes": 5}, f"5,{5 * 1024**4}"),
        ({"content_length": 0}, "0,0"),
    ],
)
def test_size_limits_become_a_signed_length_range(
    key_file: Path, arguments: dict[str, Any], expected: str | None
) -> None:
    request = presign_upload(destination(service_account_file=key_file), "a.csv", now=NOW, **arguments)
    assert request.headers.get("x-goog-content-length-range") == expected
    assert ("x-goog-content-length-range" in signed_names(request.url)) == (expected is not None)
    assert "Content-Length" not in request.headers  # browsers set it themselves; the range enforces it


def test_destination_max_upload_bytes_is_the_default_limit(key_file: Path) -> None:
    configured = destination(service_account_file=key_file, max_upload_bytes=4096)
    request = presign_upload(configured, "a.csv", now=NOW)
    assert request.headers["x-goog-content-length-range"] == "0,4096"
    tighter = presign_upload(configured, "a.csv", max_bytes=100, now=NOW)
    assert tighter.headers["x-goog-content-length-range"] == "0,100"


def test_overwrite_opt_in_drops_the_generation_condition(key_file: Path) -> None:
    request = presign_upload(destination(service_account_file=key_file), "a.csv", overwrite=True, now=NOW)
    assert "x-goog-if-generation-match" not in request.headers
    assert "x-goog-if-generation-match" not in signed_names(request.url)
    assert list(request.headers) == ["x-goog-meta-original-filename"]


def test_hostile_name_is_sanitised_into_the_key_and_kept_in_metadata(key_file: Path) -> None:
    name = "../../etc/passwd\r\n x-evil: 1 é?#.csv"
    request = presign_upload(destination(service_account_file=key_file), name, now=NOW)
    assert request.key.startswith("imports/")
    assert "\r" not in request.key
    assert "\n" not in request.key
    assert "../" not in request.key
    assert request.headers["x-goog-meta-original-filename"] == metadata_filename(name)
    assert urlsplit(request.url).path == "/acme-imports/" + "/".join(
        part for part in urlsplit(request.url).path.split("/")[2:]
    )


def test_spaces_http_would_lose_are_percent_encoded_in_the_file_name(key_file: Path) -> None:
    name = "  two  spaces .csv "
    request = presign_upload(destination(service_account_file=key_file), name, now=NOW)
    value = request.headers["x-goog-meta-original-filename"]
    assert value == "%20%20two%20%20spaces .csv%20"
    assert unquote(value) == name
    assert value == value.strip()


# --- expiry ---


@pytest.mark.parametrize(
    ("expires", "seconds"),
    [(None, 1800), (timedelta(hours=2), 7200), (timedelta(days=7), 604800), (timedelta(seconds=1), 1)],
)
def test_expires_at_tells_the_truth(key_file: Path, expires: timedelta | None, seconds: int) -> None:
    request = presign_upload(destination(service_account_file=key_file), "a.csv", expires=expires, now=NOW)
    assert query(request.url)["X-Goog-Expires"] == str(seconds)
    assert query(request.url)["X-Goog-Date"] == "20261102T120000Z"
    assert request.expires_at == NOW + timedelta(seconds=seconds)


def test_verifier_refuses_the_url_once_expired(key_file: Path, public_key: Any) -> None:
    request = presign_upload(
        destination(service_account_file=key_file), "a.csv", expires=timedelta(minutes=5), now=NOW
    )
    verify_signed_url(
        request.url, method="PUT", headers=request.headers, now=request.expires_at, public_key=public_key
    )
    with pytest.raises(VerificationError, match="expired"):
        verify_signed_url(
            request.url,
            method="PUT",
            headers=request.headers,
            now=request.expires_at + timedelta(seconds=1),
            public_key=public_key,
        )


# --- POST form and resumable start ---


def test_post_policy_pins_key_type_metadata_and_size(key_file: Path, public_key: Any) -> None:
    request = presign_upload(
        destination(service_account_file=key_file),
        "form.csv",
        method="POST",
        content_type="text/csv",
        min_bytes=1,
        max_bytes=100,
        now=NOW,
    )
    assert request.method == "POST"
    assert request.headers == {}
    assert request.url == "https://storage.googleapis.com/acme-imports/"
    assert request.fields["key"] == request.key
    assert request.fields["Content-Type"] == "text/csv"
    assert request.fields["x-goog-meta-original-filename"] == "form.csv"
    policy = json.loads(base64.b64decode(request.fields["policy"]))
    assert ["content-length-range", 1, 100] in policy["conditions"]
    assert {"key": request.key} in policy["conditions"]
    assert request.expires_at == NOW + timedelta(minutes=30)
    form = dict(request.fields)
    verify_post_policy(request.url, form, size=100, now=NOW, public_key=public_key)
    for size in (0, 101):
        with pytest.raises(VerificationError, match="outside"):
            verify_post_policy(request.url, form, size=size, now=NOW, public_key=public_key)
    for field, value in (("key", "imports/other.csv"), ("Content-Type", "text/html")):
        with pytest.raises(VerificationError):
            verify_post_policy(request.url, {**form, field: value}, size=10, now=NOW, public_key=public_key)


def test_resumable_start_is_a_signed_post_with_every_condition(key_file: Path, public_key: Any) -> None:
    options = UploadOptions(filename="big.csv", content_type="text/csv", max_bytes=10**9, now=NOW)
    request = gcs.start_resumable(destination(service_account_file=key_file), options)
    assert request.method == "POST"
    assert dict(request.headers) == {
        "x-goog-resumable": "start",
        "Content-Type": "text/csv",
        "x-goog-if-generation-match": "0",
        "x-goog-content-length-range": f"0,{10**9}",
        "x-goog-meta-original-filename": "big.csv",
    }
    assert signed_names(request.url) == {name.lower() for name in request.headers} | {"host"}
    verify_signed_url(request.url, method="POST", headers=request.headers, now=NOW, public_key=public_key)
    with pytest.raises(VerificationError):
        verify_signed_url(request.url, method="PUT", headers=request.headers, now=NOW, public_key=public_key)


# --- bad input ---


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"checksum_sha256": SHA256}, "checksum_sha256"),
        ({"content_md5": "AAAA"}, "content_md5"),
        ({"content_md5": "not base64!"}, "content_md5"),
        ({"content_type": "text/csv\r\nx-evil: 1"}, "content_type"),
        ({"content_type": ""}, "content_type"),
        ({"expires": timedelta(days=8)}, "expires"),
        ({"expires": timedelta(0)}, "expires"),
        ({"content_length": -1}, "content_length"),
        ({"content_length": 5, "min_bytes": 10}, "content_length"),
        ({"min_bytes": 10, "max_bytes": 5}, "min_bytes"),
        ({"method": "POST", "content_md5": MD5}, "content_md5"),
        ({"method": "DELETE"}, "method"),
        ({"metadata": {"bad name": "x"}}, "metadata"),
        ({"metadata": {"note": "caf\u00e9"}}, "metadata"),
        ({"metadata": {"note": " padded"}}, "metadata"),
        ({"metadata": {"note": "two  spaces"}}, "metadata"),
        ({"upload_id": "not-a-uuid"}, "upload_id"),
    ],
)
def test_bad_input_is_one_line_naming_the_field(
    key_file: Path, arguments: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidInputError) as caught:
        presign_upload(destination(service_account_file=key_file), "a.csv", now=NOW, **arguments)
    assert caught.value.field == field
    assert "\n" not in str(caught.value)
    assert str(caught.value).startswith(f"{field}: ")


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"content_md5": MD5}, "content_md5"),
        ({"method": "POST"}, "method"),
        ({"checksum_sha256": SHA256}, "checksum_sha256"),
    ],
)
def test_bad_resumable_input_is_refused(key_file: Path, arguments: dict[str, Any], field: str) -> None:
    options = UploadOptions(filename="a.csv", now=NOW, **arguments)
    with pytest.raises(InvalidInputError) as caught:
        gcs.start_resumable(destination(service_account_file=key_file), options)
    assert caught.value.field == field


def test_sha256_refusal_says_to_use_md5(key_file: Path) -> None:
    with pytest.raises(InvalidInputError, match="no SHA-256 checksum header; pass content_md5"):
        presign_upload(destination(service_account_file=key_file), "a.csv", checksum_sha256=SHA256)


def test_endpoint_with_a_path_is_a_config_error(key_file: Path) -> None:
    with pytest.raises(ConfigError, match=r"^endpoint_url: has a path"):
        destination(service_account_file=key_file, endpoint_url="https://gcs.example.com/storage")


def test_key_file_that_is_not_a_service_account_key(tmp_path: Path) -> None:
    path = tmp_path / "user.json"
    path.write_text(json.dumps({"type": "authorized_user", "client_id": "x"}))
    with pytest.raises(ConfigError, match=r"^service_account_file: is not a service account key"):
        presign_upload(destination(service_account_file=path), "a.csv")


def test_email_that_disagrees_with_the_key_file(key_file: Path) -> None:
    configured = destination(
        service_account_file=key_file, service_account_email="other@byos-test.iam.gserviceaccount.com"
    )
    with pytest.raises(ConfigError, match=r"^service_account_email: differs from the key file"):
        presign_upload(configured, "a.csv")


# --- signing modes ---


def test_key_file_is_read_once_per_destination(key_file: Path, public_key: Any) -> None:
    configured = destination(service_account_file=key_file)
    first = presign_upload(configured, "a.csv", now=NOW)
    key_file.write_text("not json any more")
    second = presign_upload(configured, "b.csv", now=NOW)
    verify_signed_url(second.url, method="PUT", headers=second.headers, now=NOW, public_key=public_key)
    assert gcs.resolve_signing(configured) is gcs.resolve_signing(configured)
    assert first.url != second.url
    gcs.clear_signer_cache()
    with pytest.raises(ConfigError, match="service_account_file"):
        presign_upload(configured, "c.csv", now=NOW)


def test_hmac_keys_sign_goog4_hmac() -> None:
    configured = destination(hmac_access_id=HMAC_ACCESS_ID, hmac_secret=HMAC_SECRET)
    request = presign_upload(configured, "a.csv", content_type="text/csv", now=NOW)
    found = query(request.url)
    assert found["X-Goog-Algorithm"] == "GOOG4-HMAC-SHA256"
    assert found["X-Goog-Credential"].startswith(HMAC_ACCESS_ID + "/20261102/auto/storage/")
    verify_signed_url(request.url, method="PUT", headers=request.headers, now=NOW, hmac_secret=HMAC_SECRET)
    with pytest.raises(VerificationError, match="signature does not match"):
        verify_signed_url(request.url, method="PUT", headers=request.headers, now=NOW, hmac_secret="wrong")
    signing = gcs.resolve_signing(configured)
    assert (signing.mode, signing.source) == ("hmac", "hmac key")
    assert HMAC_SECRET not in repr(signing)
    assert HMAC_SECRET not in signing.describe()
    assert found["X-Goog-Signature"] not in repr(request)


@pytest.mark.parametrize("settings", ["key file", "hmac"])
def test_static_keys_presign_without_importing_any_cloud_sdk(key_file: Path, settings: str) -> None:
    values: dict[str, Any] = {"provider": "gcs", "bucket": "acme-imports", "location": "EU"}
    if settings == "hmac":
        values |= {"hmac_access_id": HMAC_ACCESS_ID, "hmac_secret": HMAC_SECRET}
    else:
        values["service_account_file"] = str(key_file)
    script = f"""
import sys, json
from byos.config import destination_from_dict
from byos.models import UploadOptions
from byos.providers import gcs
from byos.uploads import presign_upload
d = destination_from_dict(json.loads({json.dumps(json.dumps(values))}), env=False)
presign_upload(d, "a.csv", content_type="text/csv")
presign_upload(d, "a.csv", method="POST")
gcs.start_resumable(d, UploadOptions(filename="a.csv"))
sdks = ("boto3", "botocore", "google", "azure")
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in sdks)))
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert json.loads(result.stdout) == []


def test_default_credentials_with_a_key_sign_locally(
    monkeypatch: pytest.MonkeyPatch, key_file: Path, public_key: Any
) -> None:
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(key_file))
    configured = destination()
    request = presign_upload(configured, "a.csv", now=NOW)
    signing = gcs.resolve_signing(configured)
    assert (signing.mode, signing.source) == ("key", "default credentials")
    assert signing.client_id == json.loads(key_file.read_text())["client_email"]
    verify_signed_url(request.url, method="PUT", headers=request.headers, now=NOW, public_key=public_key)


def test_no_credentials_at_all_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("NO_GCE_CHECK", "True")  # do not probe a metadata server
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path))  # no gcloud application-default file
    with pytest.raises(CredentialsError, match=r"^no Google credentials found; set service_account_file"):
        presign_upload(destination(), "a.csv")


def test_user_default_credentials_cannot_sign_without_an_email(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with fake_iam() as iam:
        monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(iam.authorized_user_file(tmp_path)))
        with pytest.raises(CredentialsError, match=r"not a service account .* set service_account_email"):
            presign_upload(destination(), "a.csv")
        assert iam.sign_calls == []


def test_missing_google_auth_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "google.auth", None)
    with pytest.raises(MissingExtraError, match=r"pip install 'byos\[gcs\]'"):
        presign_upload(destination(service_account_email="up@byos-test.iam.gserviceaccount.com"), "a.csv")


# --- keyless signBlob through a local IAM Credentials API ---


@pytest.mark.parametrize("refresh", [False, True], ids=["adc-file", "token-refresh"])
def test_sign_blob_urls_verify_with_the_service_account_key(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, refresh: bool
) -> None:
    with fake_iam() as iam:
        configured = keyless(monkeypatch, tmp_path, iam, refresh=refresh)
        put = presign_upload(configured, "a.csv", content_type="text/csv", now=NOW)
        post = presign_upload(configured, "b.csv", method="POST", max_bytes=10, now=NOW)
        start = gcs.start_resumable(configured, UploadOptions(filename="c.csv", now=NOW))
        assert len(iam.sign_calls) == 3  # one signBlob call per URL, each with the right bearer token
        assert iam.token_calls == (1 if refresh else 0)  # a token is fetched once, then reused
    signing = gcs.resolve_signing(configured)
    assert (signing.mode, signing.source, signing.client_id) == (
        "signBlob",
        "service_account_email",
        iam.email,
    )
    public_key = public_key_of(iam.info)
    granted = verify_signed_url(put.url, method="PUT", headers=put.headers, now=NOW, public_key=public_key)
    assert (granted.client_id, granted.algorithm) == (iam.email, "GOOG4-RSA-SHA256")
    verify_post_policy(post.url, dict(post.fields), size=10, now=NOW, public_key=public_key)
    verify_signed_url(start.url, method="POST", headers=start.headers, now=NOW, public_key=public_key)
    with pytest.raises(VerificationError):  # not the key of the service account named in the URL
        verify_signed_url(
            put.url,
            method="PUT",
            headers=put.headers,
            now=NOW,
            public_key=public_key_of(service_account_info()),
        )


def test_default_service_account_signs_through_sign_blob_as_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    with fake_iam() as iam:
        credentials = iam.credentials()
        credentials.service_account_email = iam.email  # what metadata-server credentials carry
        monkeypatch.setattr(google.auth, "default", lambda **_: (credentials, None))
        monkeypatch.setattr(gcs_sign_blob, "IAM_CREDENTIALS_ENDPOINT", iam.endpoint)
        request = presign_upload(destination(), "a.csv", now=NOW)
        assert len(iam.sign_calls) == 1
    signing = gcs.resolve_signing(destination())
    assert (signing.mode, signing.source) == ("signBlob", "default credentials")
    verify_signed_url(
        request.url, method="PUT", headers=request.headers, now=NOW, public_key=public_key_of(iam.info)
    )


@pytest.mark.parametrize(
    ("refusal", "message"),
    [
        (
            (403, {"error": {"code": 403, "status": "PERMISSION_DENIED"}}),
            r"refused \(HTTP 403 PERMISSION_DENIED\); grant the caller roles/iam.serviceAccountTokenCreator",
        ),
        (
            (403, {"error": {"status": "PERMISSION_DENIED", "details": [{"reason": "SERVICE_DISABLED"}]}}),
            "enable iamcredentials.googleapis.com",
        ),
        ((404, {"error": {"code": 404, "status": "NOT_FOUND"}}), "was not found .*check the service account"),
        ((500, {}), r"failed \(HTTP 500\); retry"),
    ],
)
def test_sign_blob_refusals_name_the_fix(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, refusal: tuple[int, dict[str, Any]], message: str
) -> None:
    with fake_iam() as iam:
        iam.refusal = refusal
        configured = keyless(monkeypatch, tmp_path, iam)
        with pytest.raises(CredentialsError, match=message) as caught:
            presign_upload(configured, "a.csv")
    text = str(caught.value)
    assert "\n" not in text
    assert text.startswith("service_account_email: ")
    assert iam.token not in text


def test_refused_token_exchange_is_a_credentials_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with fake_iam() as iam:
        iam.token_refusal = True
        configured = keyless(monkeypatch, tmp_path, iam, refresh=True)
        with pytest.raises(
            CredentialsError, match=r"could not get an access token .*application-default login"
        ):
            presign_upload(configured, "a.csv")
        assert iam.sign_calls == []


def test_unreachable_iam_api_is_a_credentials_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with fake_iam() as iam:
        configured = keyless(monkeypatch, tmp_path, iam)
        # the discard port: refused
        monkeypatch.setattr(gcs_sign_blob, "IAM_CREDENTIALS_ENDPOINT", "http://127.0.0.1:9")
        with pytest.raises(CredentialsError, match="could not be reached; allow HTTPS to iamcredentials"):
            presign_upload(configured, "a.csv")


# --- bucket-level URLs the checker signs ---


@pytest.mark.parametrize("endpoint", [None, "http://127.0.0.1:4443"])
@pytest.mark.parametrize("query_params", [{"location": ""}, {"max-keys": "1", "prefix": "imports/a b~"}])
def test_bucket_url_equals_the_sdk(
    key_file: Path, endpoint: str | None, query_params: dict[str, str]
) -> None:
    info = json.loads(key_file.read_text())
    configured = destination(service_account_file=key_file, endpoint_url=endpoint)
    ours = gcs.presign_bucket_url(
        gcs.resolve_signing(configured), configured, "GET", query=query_params, now=NOW
    )
    credentials = service_account.Credentials.from_service_account_info(info)  # type: ignore[no-untyped-call]
    stamps = (NOW.strftime("%Y%m%dT%H%M%SZ"), NOW.strftime("%Y%m%d"))
    with mock.patch.object(sdk_signing, "get_v4_now_dtstamps", return_value=stamps):
        theirs = (
            storage.Client(project="p", credentials=credentials)
            .bucket("acme-imports")
            .generate_signed_url(
                version="v4",
                method="GET",
                expiration=timedelta(seconds=60),
                query_parameters=query_params,
                api_access_endpoint=endpoint or "https://storage.googleapis.com",
            )
        )
    assert ours == theirs
    granted = verify_signed_url(ours, method="GET", headers={}, now=NOW, public_key=public_key_of(info))
    assert (granted.bucket, granted.object_name) == ("acme-imports", "")
