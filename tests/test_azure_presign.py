"""Azure presigning through the library: SAS terms, headers, options, delegation keys, errors, no SDK."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ServiceRequestError,
    ServiceResponseTimeoutError,
)

from byos.config import AzureDestination, destination_from_dict
from byos.errors import ConfigError, CredentialsError, InvalidInputError, ProviderError, ProviderTimeoutError
from byos.models import UploadOptions
from byos.providers import azure, azure_delegation, azure_entra
from byos.signing.sas import UserDelegationKey
from byos.uploads import presign_upload
from tests.sas_verifier import StoredPolicy, verify_blob_sas
from tests.stub_servers import refusing_port

NOW = datetime(2026, 11, 2, 12, 0, 0, tzinfo=UTC)
ACCOUNT = "acmeimports"
KEY = base64.b64encode(bytes(range(64))).decode()
DELEGATION_VALUE = base64.b64encode(b"k" * 32).decode()
SECRET = "client-secret-value-1234567890"


def dest(**settings: Any) -> AzureDestination:
    values: dict[str, Any] = {
        "provider": "azure",
        "account_name": ACCOUNT,
        "container": "uploads",
        "prefix": "imports/",
        "account_key": KEY,
        **settings,
    }
    built = destination_from_dict({k: v for k, v in values.items() if v is not None}, env=False)
    assert isinstance(built, AzureDestination)
    return built


def delegated(**settings: Any) -> AzureDestination:
    return dest(account_key=None, **settings)


def query(url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query, keep_blank_values=True).items()}


def sas_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture(autouse=True)
def _fresh_caches() -> Iterator[None]:
    azure.clear_caches()
    yield
    azure.clear_caches()


class FakeKeys:
    """Stands in for Get User Delegation Key: records each request, answers with a key for ``lifetime``."""

    def __init__(self, lifetime: timedelta | None = None) -> None:
        self.lifetime = lifetime
        self.requests: list[tuple[datetime, datetime]] = []

    def __call__(
        self,
        destination: AzureDestination,
        start: datetime,
        expiry: datetime,
        *,
        timeout: float,
        credential: object = None,
    ) -> UserDelegationKey:
        assert isinstance(destination, AzureDestination)
        assert timeout > 0
        assert credential is not None  # resolve_signing hands over the credential it names the identity by
        self.requests.append((start, expiry))
        end = start + azure.KEY_BACKDATE + self.lifetime if self.lifetime is not None else expiry
        return UserDelegationKey(
            signed_oid="11111111-1111-1111-1111-111111111111",
            signed_tid="22222222-2222-2222-2222-222222222222",
            signed_start=sas_time(start),
            signed_expiry=sas_time(end),
            signed_service="b",
            signed_version="2026-10-06",
            value=DELEGATION_VALUE,
        )


@pytest.fixture
def fake_keys(monkeypatch: pytest.MonkeyPatch) -> FakeKeys:
    keys = FakeKeys()
    monkeypatch.setattr(azure_delegation, "fetch_delegation_key", keys)
    monkeypatch.setattr(azure_entra, "token_credential", lambda _destination: object())
    return keys


# --- account key: service SAS ---


def test_put_is_create_only_blob_scoped_with_every_header() -> None:
    request = presign_upload(dest(), "Q3 report é.csv", content_type="text/csv", now=NOW)
    parts = urlsplit(request.url)
    assert parts.netloc == f"{ACCOUNT}.blob.core.windows.net"
    assert unquote(parts.path) == f"/uploads/{request.key}"
    assert request.key.startswith("imports/")
    fields = query(request.url)
    assert fields["sp"] == "c"
    assert fields["sr"] == "b"
    assert fields["spr"] == "https"
    assert fields["st"] == sas_time(NOW - timedelta(minutes=5))
    assert fields["se"] == sas_time(NOW + timedelta(minutes=30))
    assert "si" not in fields
    assert request.method == "PUT"
    assert request.headers == {
        "x-ms-blob-type": "BlockBlob",
        "If-None-Match": "*",
        "x-ms-blob-content-type": "text/csv",
        "x-ms-meta-original_filename": "Q3 report %C3%A9.csv",
    }
    assert request.expires_at == NOW + timedelta(minutes=30)
    assert request.fields == {}


def test_independent_verifier_accepts_the_create_and_refuses_everything_else() -> None:
    request = presign_upload(dest(), "a.csv", now=NOW)
    later = NOW + timedelta(minutes=1)

    def verdict(method: str, **kwargs: Any) -> bool:
        return bool(verify_blob_sas(request.url, account_name=ACCOUNT, method=method, now=later, **kwargs))

    assert verdict("PUT", account_key=KEY)
    assert not verdict("PUT", account_key=KEY, blob_exists=True)
    for method in ("GET", "HEAD", "DELETE"):
        assert not verdict(method, account_key=KEY)
    assert not verdict("PUT", account_key=base64.b64encode(b"other key").decode())
    expired = verify_blob_sas(
        request.url, account_name=ACCOUNT, method="PUT", now=NOW + timedelta(minutes=31), account_key=KEY
    )
    assert not expired
    assert expired.reason == "expired"


def test_overwrite_signs_cw_and_drops_if_none_match() -> None:
    request = presign_upload(dest(), "a.csv", overwrite=True, now=NOW)
    assert query(request.url)["sp"] == "cw"
    assert "If-None-Match" not in request.headers
    assert verify_blob_sas(
        request.url, account_name=ACCOUNT, method="PUT", now=NOW, account_key=KEY, blob_exists=True
    )


def test_local_http_endpoint_allows_http_and_keeps_the_account_in_the_path() -> None:
    endpoint = "http://127.0.0.1:10000/devstoreaccount1"
    request = presign_upload(
        dest(account_name="devstoreaccount1", endpoint_url=endpoint),
        "a.csv",
        expires=timedelta(hours=2),
        now=NOW,
    )
    assert request.url.startswith(f"{endpoint}/uploads/imports/")
    assert query(request.url)["spr"] == "https,http"
    assert request.expires_at == NOW + timedelta(hours=2)


def test_stored_access_policy_adds_si_and_the_policy_can_revoke() -> None:
    request = presign_upload(dest(stored_access_policy="byos-uploads"), "a.csv", now=NOW)
    fields = query(request.url)
    assert fields["si"] == "byos-uploads"
    assert fields["sp"] == "c"
    policies = {"byos-uploads": StoredPolicy()}
    assert verify_blob_sas(
        request.url, account_name=ACCOUNT, method="PUT", now=NOW, account_key=KEY, stored_policies=policies
    )
    assert not verify_blob_sas(request.url, account_name=ACCOUNT, method="PUT", now=NOW, account_key=KEY)


def test_metadata_names_become_identifiers() -> None:
    request = presign_upload(dest(), "a.csv", metadata={"Tenant-Id": "acme", "batch": "7"}, now=NOW)
    assert request.headers["x-ms-meta-original_filename"] == "a.csv"
    assert request.headers["x-ms-meta-tenant_id"] == "acme"
    assert request.headers["x-ms-meta-batch"] == "7"
    metadata_names = [
        name.removeprefix("x-ms-meta-") for name in request.headers if name.startswith("x-ms-meta-")
    ]
    assert len(metadata_names) == 3
    assert all(name.isidentifier() for name in metadata_names)
    with pytest.raises(InvalidInputError, match=r"^metadata: name '2fa' starts with a digit"):
        presign_upload(dest(), "a.csv", metadata={"2fa": "x"}, now=NOW)


def test_content_md5_is_sent_for_azure_to_verify() -> None:
    digest = base64.b64encode(hashlib.md5(b"id\n1\n").digest()).decode()  # noqa: S324  (Azure's checksum)
    request = presign_upload(dest(), "a.csv", content_md5=digest, now=NOW)
    assert request.headers["Content-MD5"] == digest
    for bad in ("not base64!", base64.b64encode(b"short").decode()):
        with pytest.raises(InvalidInputError, match=r"^content_md5: is not the base64 of a 16-byte MD5"):
            presign_upload(dest(), "a.csv", content_md5=bad, now=NOW)


@pytest.mark.parametrize(
    ("options", "field", "text"),
    [
        ({"method": "POST"}, "method", "no browser form (POST) upload; use PUT"),
        ({"content_length": 10}, "content_length", "cannot limit the upload's size"),
        ({"min_bytes": 1}, "min_bytes", "cannot limit the upload's size"),
        ({"max_bytes": 10}, "max_bytes", "cannot limit the upload's size"),
        ({"checksum_sha256": base64.b64encode(b"x" * 32).decode()}, "checksum_sha256", "pass content_md5"),
        ({"expires": timedelta(days=8)}, "expires", "between 1 second and 7 days"),
    ],
)
def test_what_a_sas_cannot_promise_is_refused(options: dict[str, Any], field: str, text: str) -> None:
    with pytest.raises(InvalidInputError) as raised:
        presign_upload(dest(), "a.csv", now=NOW, **options)
    assert raised.value.field == field
    assert text in str(raised.value)
    assert "\n" not in str(raised.value)


def test_another_providers_destination_is_refused() -> None:
    other = destination_from_dict(
        {"provider": "s3", "bucket": "acme-imports", "region": "eu-west-1"}, env=False
    )
    with pytest.raises(InvalidInputError, match=r"^destination: is a s3 destination"):
        azure.presign_upload(other, UploadOptions(filename="a.csv"))


def test_account_key_presign_imports_no_sdk() -> None:
    code = """
import sys
from datetime import UTC, datetime
from byos.config import destination_from_dict
from byos.uploads import presign_upload
d = destination_from_dict({"provider": "azure", "account_name": "acme", "container": "uploads",
                           "account_key": "a2V5"}, env=False)
presign_upload(d, "a.csv", now=datetime.now(UTC))
print(sorted(m for m in sys.modules if m.startswith(("azure", "boto", "google"))))
"""
    answer = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert json.loads(answer.stdout.replace("'", '"')) == []


def test_nothing_secret_in_reprs() -> None:
    request = presign_upload(dest(), "a.csv", now=NOW)
    signature = query(request.url)["sig"]
    signing = azure.resolve_signing(dest())
    upload = azure.start_block_upload(dest(), UploadOptions(filename="b.bin", now=NOW), 10)
    for text in (repr(request), repr(signing), repr(upload)):
        assert signature not in text
        assert KEY not in text
        assert "sig=" not in text or "sig=REDACTED" in text


# --- block uploads ---


def test_block_upload_plans_blocks_and_a_write_once_commit() -> None:
    upload = azure.start_block_upload(
        dest(),
        UploadOptions(filename="big.bin", content_type="application/octet-stream", now=NOW),
        2500,
        min_block_size=1000,
    )
    assert (upload.plan.block_size, upload.plan.count) == (1000, 3)
    assert len(upload.blocks) == 3
    sas = query(upload.commit.url)
    assert sas["sp"] == "cw"
    assert sas["comp"] == "blocklist"
    for block, request in zip(upload.plan.blocks(), upload.blocks, strict=True):
        fields = query(request.url)
        assert (fields["comp"], fields["blockid"]) == ("block", block.block_id)
        assert request.headers == {}
        assert verify_blob_sas(request.url, account_name=ACCOUNT, method="PUT", now=NOW, account_key=KEY)
    assert upload.commit.headers == {
        "If-None-Match": "*",
        "x-ms-blob-content-type": "application/octet-stream",
        "x-ms-meta-original_filename": "big.bin",
    }
    ids = "".join(f"<Latest>{block.block_id}</Latest>" for block in upload.plan.blocks())
    assert upload.commit_body.endswith(f"<BlockList>{ids}</BlockList>".encode())
    assert upload.expires_at == NOW + timedelta(minutes=30)
    assert {request.key for request in upload.blocks} == {upload.key}


def test_block_upload_overwrite_and_limits() -> None:
    upload = azure.start_block_upload(dest(), UploadOptions(filename="big.bin", overwrite=True, now=NOW), 1)
    assert "If-None-Match" not in upload.commit.headers
    with pytest.raises(InvalidInputError, match=r"^size: 2048 is over the limit of 1024 bytes"):
        azure.start_block_upload(dest(max_upload_bytes=1024), UploadOptions(filename="b", now=NOW), 2048)
    md5 = base64.b64encode(b"m" * 16).decode()
    with pytest.raises(InvalidInputError, match=r"^content_md5: Azure cannot verify a whole-file MD5"):
        azure.start_block_upload(dest(), UploadOptions(filename="b", content_md5=md5, now=NOW), 10)
    with pytest.raises(InvalidInputError, match=r"^size: must be a non-negative integer"):
        azure.start_block_upload(dest(), UploadOptions(filename="b", now=NOW), -1)


# --- user delegation ---


def test_delegation_key_is_fetched_once_and_signs_a_delegation_sas(fake_keys: FakeKeys) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    first = presign_upload(delegated(), "a.csv", now=now)
    second = presign_upload(delegated(), "b.csv", now=now + timedelta(minutes=1))
    assert len(fake_keys.requests) == 1
    start, expiry = fake_keys.requests[0]
    assert expiry - start == azure.KEY_LIFETIME + azure.KEY_BACKDATE
    assert abs(start + azure.KEY_BACKDATE - now) < timedelta(seconds=5)
    fields = query(first.url)
    assert fields["skoid"] == "11111111-1111-1111-1111-111111111111"
    assert (fields["skt"], fields["ske"]) == (sas_time(start), sas_time(expiry))
    assert fields["sp"] == "c"
    assert fields["st"] == sas_time(max(start, now - timedelta(minutes=5)))
    assert first.expires_at == now + timedelta(minutes=30)
    assert second.expires_at == now + timedelta(minutes=31)
    assert first.headers["If-None-Match"] == "*"
    for request in (first, second):
        assert verify_blob_sas(
            request.url,
            account_name=ACCOUNT,
            method="PUT",
            now=now + timedelta(minutes=2),
            delegation_key=DELEGATION_VALUE,
        )
        assert not verify_blob_sas(
            request.url,
            account_name=ACCOUNT,
            method="GET",
            now=now + timedelta(minutes=2),
            delegation_key=DELEGATION_VALUE,
        )


def test_delegation_key_is_refreshed_before_it_runs_short(fake_keys: FakeKeys) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    fake_keys.lifetime = timedelta(minutes=40)
    presign_upload(delegated(), "a.csv", now=now)
    presign_upload(delegated(), "a.csv", now=now + timedelta(minutes=4))  # 36 min left >= 30 + 5
    assert len(fake_keys.requests) == 1
    presign_upload(delegated(), "a.csv", now=now + timedelta(minutes=6))  # 34 min left < 35
    assert len(fake_keys.requests) == 2


def test_url_never_outlives_its_key_and_says_so(fake_keys: FakeKeys) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    fake_keys.lifetime = timedelta(minutes=10)  # the service granted less than asked
    request = presign_upload(delegated(), "a.csv", now=now)
    key_expiry = datetime.strptime(query(request.url)["ske"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert request.expires_at == key_expiry
    assert query(request.url)["se"] == sas_time(key_expiry)
    assert request.expires_at - now <= timedelta(minutes=10)


def test_long_urls_ask_for_a_longer_key_within_seven_days(fake_keys: FakeKeys) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    request = presign_upload(delegated(), "a.csv", expires=timedelta(days=7), now=now)
    start, expiry = fake_keys.requests[0]
    assert expiry - start == timedelta(days=7)
    assert request.expires_at <= expiry
    assert request.expires_at - now >= timedelta(days=7) - timedelta(minutes=10)
    presign_upload(delegated(), "b.csv", expires=timedelta(days=7), now=now + timedelta(minutes=30))
    assert len(fake_keys.requests) == 1, "a key is reused for a while even for the longest URLs"


def test_bad_input_is_refused_before_a_key_is_fetched(fake_keys: FakeKeys) -> None:
    with pytest.raises(InvalidInputError):
        presign_upload(delegated(), "a.csv", method="POST", now=NOW)
    with pytest.raises(InvalidInputError):
        presign_upload(delegated(), "a.csv", expires=timedelta(days=8), now=NOW)
    with pytest.raises(InvalidInputError):
        presign_upload(delegated(), "a.csv", metadata={"bad name": "x"}, now=NOW)
    with pytest.raises(
        ConfigError, match=r"^stored_access_policy: Azure does not apply stored access policies"
    ):
        presign_upload(delegated(stored_access_policy="p1"), "a.csv", now=NOW)
    local = delegated(account_name="devstoreaccount1", endpoint_url="http://127.0.0.1:10000/devstoreaccount1")
    with pytest.raises(ConfigError, match=r"^endpoint_url: user delegation needs https"):
        presign_upload(local, "a.csv", now=NOW)
    with pytest.raises(InvalidInputError, match=r"^content_type: must be printable ASCII"):
        presign_upload(delegated(), "a.csv", content_type="text/csv\r\nx-ms-meta-evil: 1", now=NOW)
    assert fake_keys.requests == []


def test_credential_kinds(monkeypatch: pytest.MonkeyPatch) -> None:
    from azure.identity import ClientSecretCredential, DefaultAzureCredential  # noqa: PLC0415

    principal = delegated(
        tenant_id="22222222-2222-2222-2222-222222222222",
        client_id="33333333-3333-3333-3333-333333333333",
        client_secret=SECRET,
    )
    assert isinstance(azure.token_credential(principal), ClientSecretCredential)
    assert azure.token_credential(principal) is azure.token_credential(principal)
    assert isinstance(azure.token_credential(delegated(client_id="3" * 8)), DefaultAzureCredential)
    with pytest.raises(CredentialsError, match=r"^tenant_id/client_id: azure-identity refused them"):
        azure.token_credential(delegated(tenant_id="not a tenant!", client_id="c", client_secret=SECRET))
    monkeypatch.setattr(azure_delegation, "fetch_delegation_key", FakeKeys())
    signing = azure.resolve_signing(principal)
    assert (
        signing.describe() == "user delegation SAS as service principal 33333333-3333-3333-3333-333333333333"
    )
    assert SECRET not in repr(signing)


class _RefusingCredential:
    def get_token(self, *_scopes: str, **_options: Any) -> Any:
        raise ClientAuthenticationError(message=f"secret {SECRET} did not work\nsecond line")


def test_token_failure_becomes_one_line_credentials_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(azure_entra, "token_credential", lambda _destination: _RefusingCredential())
    with refusing_port() as port:
        target = delegated(
            account_name="devstoreaccount1", endpoint_url=f"https://127.0.0.1:{port}/devstoreaccount1"
        )
        with pytest.raises(CredentialsError) as raised:
            presign_upload(target, "a.csv")
    message = str(raised.value)
    assert message.startswith("Get User Delegation Key: no Microsoft Entra token (ClientAuthenticationError)")
    assert "\n" not in message
    assert SECRET not in message


def test_unreachable_endpoint_becomes_provider_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.azure_helpers import UnsignedToken  # noqa: PLC0415

    monkeypatch.setattr(azure_entra, "token_credential", lambda _destination, **_options: UnsignedToken())
    with refusing_port() as port:
        target = delegated(
            account_name="devstoreaccount1", endpoint_url=f"https://127.0.0.1:{port}/devstoreaccount1"
        )
        with pytest.raises(
            ProviderError, match=r"^Get User Delegation Key: the blob endpoint could not be reached"
        ):
            azure.resolve_signing(target, timeout=2)


class _StorageError(HttpResponseError):
    """What azure-storage-blob raises: an HTTP error carrying the service's error code."""

    error_code: str | None = None


def _http_error(status: int, code: str) -> HttpResponseError:
    error = _StorageError(message=f"{code} with the account key {KEY}")
    error.status_code = status
    error.error_code = code
    return error


@pytest.mark.parametrize(
    ("error", "kind", "start"),
    [
        (
            _http_error(403, "AuthorizationPermissionMismatch"),
            CredentialsError,
            "op: Azure refused the identity",
        ),
        (_http_error(500, "InternalError"), ProviderError, "op: Azure answered InternalError"),
        (ServiceRequestError("no route"), ProviderError, "op: the blob endpoint could not be reached"),
        (ServiceResponseTimeoutError("slow"), ProviderTimeoutError, "op: Azure did not answer in time"),
        (RuntimeError("odd"), ProviderError, "op failed (RuntimeError)"),
    ],
)
def test_sdk_errors_are_translated(error: Exception, kind: type[Exception], start: str) -> None:
    translated = azure_entra._translate(error, "op")
    assert type(translated) is kind
    assert str(translated).startswith(start)
    assert KEY not in str(translated)
