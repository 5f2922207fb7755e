"""The setup checker on GCS: fake-gcs-server setups, keyless signBlob, and a signature-checking stub of GCS.

fake-gcs-server stores no IAM and ignores the XML API's write-once header, so on it a well-configured
destination passes config, credentials, bucket and upload checks while write_once fails, least_privilege
warns and public_access fails: the report says what that server really does. The write-only behaviour of real
Cloud Storage (403 on metadata, read, list and delete; 412 on a second write-once PUT) is played by a small
in-test stub that verifies every V4 signature with tests/goog4_verifier.py.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from byos import http
from byos.checker import CHECK_IDS, check_setup
from byos.config import GCSDestination
from byos.keys import KeyLayout
from byos.models import Report, Status
from byos.providers import gcs
from tests.gcs_helpers import (
    HMAC_ACCESS_ID,
    HMAC_SECRET,
    destination,
    fake_iam,
    keyless,
    new_bucket,
    write_key_file,
)
from tests.goog4_verifier import VerificationError, verify_signed_url

DEADLINE = 20.0


@pytest.fixture(autouse=True)
def _fresh_signers() -> None:
    gcs.clear_signer_cache()


def run(dest: GCSDestination, **arguments: Any) -> tuple[Report, dict[str, Status]]:
    started = time.monotonic()
    report = check_setup(dest, deadline=DEADLINE, timeout=5.0, **arguments)
    elapsed = time.monotonic() - started
    assert elapsed < DEADLINE, f"the check took {elapsed:.1f} s, past its {DEADLINE:g} s deadline"
    assert [result.id for result in report.checks] == list(CHECK_IDS)
    return report, {result.id: result.status for result in report.checks}


def message(report: Report, check_id: str) -> str:
    return next(result.message for result in report.checks if result.id == check_id)


def remediation(report: Report, check_id: str) -> str:
    return next(result.remediation for result in report.checks if result.id == check_id)


# --- fake-gcs-server ---


@pytest.mark.emulator
def test_well_configured_destination_on_fake_gcs(fake_gcs: Any, tmp_path: Path) -> None:
    dest = destination(
        bucket=new_bucket(fake_gcs),
        endpoint_url=fake_gcs.endpoint,
        location=fake_gcs.location.lower(),
        service_account_file=write_key_file(tmp_path),
    )
    report, status = run(dest)
    for check_id in ("config", "credentials", "bucket.exists", "bucket.region", "upload", "encryption"):
        assert status[check_id] is Status.PASS, (check_id, message(report, check_id))
    assert "service-account key" in message(report, "credentials")
    assert message(report, "bucket.region") == f"bucket {dest.bucket} is in EUROPE-WEST1, as configured"
    assert "/byos-probes/probe-" in message(report, "upload")
    # fake-gcs-server ignores the signed x-goog-if-generation-match header (Cloud Storage answers 412):
    assert status["write_once"] is Status.FAIL
    assert "replaced the object" in message(report, "write_once")
    # ... and stores no IAM: the uploader may read, list and delete, and anyone may list.
    assert status["least_privilege"] is Status.WARN
    assert message(report, "least_privilege").startswith(
        "the uploader's credentials can also read, list, delete"
    )
    assert status["public_access"] is Status.FAIL
    assert status["cors"] is Status.SKIP  # no origins configured
    assert status["clock"] is Status.PASS
    assert status["lifetime"] is Status.PASS
    assert "Google-managed keys" in message(report, "encryption")


@pytest.mark.emulator
def test_missing_bucket_fails_bucket_exists(fake_gcs: Any, tmp_path: Path) -> None:
    dest = destination(
        bucket="byos-test-does-not-exist",
        endpoint_url=fake_gcs.endpoint,
        service_account_file=write_key_file(tmp_path),
    )
    report, status = run(dest)
    assert status["credentials"] is Status.PASS
    assert status["bucket.exists"] is Status.FAIL
    assert message(report, "bucket.exists") == "bucket byos-test-does-not-exist does not exist (HTTP 404)"
    for check_id in ("bucket.region", "upload", "write_once", "least_privilege", "encryption"):
        assert status[check_id] is Status.SKIP, check_id


@pytest.mark.emulator
def test_region_mismatch_fails_bucket_region(start_fake_gcs: Any, tmp_path: Path) -> None:
    server = start_fake_gcs("US-EAST1")
    dest = destination(
        bucket=new_bucket(server),
        endpoint_url=server.endpoint,
        location="EUROPE-WEST1",
        service_account_file=write_key_file(tmp_path),
    )
    report, status = run(dest)
    assert status["bucket.exists"] is Status.PASS
    assert status["bucket.region"] is Status.FAIL
    assert message(report, "bucket.region").startswith(
        f"bucket {dest.bucket} is in US-EAST1, not in the configured EUROPE-WEST1"
    )
    assert "location = 'US-EAST1'" in remediation(report, "bucket.region")
    assert status["upload"] is Status.PASS  # the upload itself still works; importers refuse the region


@pytest.mark.emulator
def test_keyless_sign_blob_is_proven_by_a_real_call(
    fake_gcs: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with fake_iam() as iam:
        dest = keyless(
            monkeypatch, tmp_path, iam, bucket=new_bucket(fake_gcs), endpoint_url=fake_gcs.endpoint
        )
        report, status = run(dest)
        calls = len(iam.sign_calls)
    assert status["credentials"] is Status.PASS
    assert message(report, "credentials") == (
        f"keyless signBlob as {iam.email} (from service_account_email): "
        "the IAM Credentials API signed a test blob"
    )
    assert status["upload"] is Status.PASS
    assert calls >= 2  # the credentials check, then the probe upload (and least-privilege URLs)


@pytest.mark.emulator
def test_refused_sign_blob_fails_credentials(
    fake_gcs: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with fake_iam() as iam:
        iam.refusal = (403, {"error": {"code": 403, "status": "PERMISSION_DENIED"}})
        dest = keyless(
            monkeypatch, tmp_path, iam, bucket=new_bucket(fake_gcs), endpoint_url=fake_gcs.endpoint
        )
        report, status = run(dest)
    assert status["credentials"] is Status.FAIL
    assert "roles/iam.serviceAccountTokenCreator" in message(report, "credentials")
    assert remediation(report, "credentials") == (
        f"grant the identity running byos roles/iam.serviceAccountTokenCreator on {iam.email}"
    )
    for check_id in ("bucket.exists", "upload", "least_privilege"):
        assert status[check_id] is Status.SKIP, check_id


def test_endpoint_refusing_connections_fails_fast(tmp_path: Path) -> None:
    dest = destination(endpoint_url="http://127.0.0.1:9", service_account_file=write_key_file(tmp_path))
    report, status = run(dest)
    assert status["bucket.exists"] is Status.FAIL
    assert "check endpoint_url" in remediation(report, "bucket.exists")


# --- a stub of Cloud Storage that checks signatures and grants write-only access ---


@dataclass
class WriteOnlyGcs:
    """Cloud Storage as a write-only (``roles/storage.objectCreator``) HMAC key sees it.

    Every signed request is verified with the independent verifier; metadata, read, list and delete are
    refused with 403; a second write-once PUT gets 412. ``metadata`` makes bucket metadata readable.
    """

    bucket: str = "acme-imports"
    metadata: Mapping[str, str] | None = None
    objects: dict[str, bytes] = field(default_factory=dict)
    seen: list[tuple[str, str]] = field(default_factory=list)

    def __call__(  # noqa: PLR0911  (one answer per kind of request, as the service gives them)
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
        timeout: float = 10.0,
    ) -> http.Response:
        assert timeout > 0
        parts = urlsplit(url)
        assert parts.netloc == "storage.googleapis.com"
        query = parse_qs(parts.query, keep_blank_values=True)
        bucket, _, key = unquote(parts.path[1:]).partition("/")
        self.seen.append((method, key or "?" + ",".join(sorted(query))))
        if "X-Goog-Signature" not in query:
            return self._error(403, "AccessDenied")  # private bucket: anonymous requests are refused
        try:
            verify_signed_url(
                url, method=method, headers=headers or {}, now=datetime.now(UTC), hmac_secret=HMAC_SECRET
            )
        except VerificationError:
            return self._error(403, "SignatureDoesNotMatch")
        if bucket != self.bucket:
            return self._error(404, "NoSuchBucket")
        if not key:
            if self.metadata is not None and "location" in query:
                return self._xml(f"<LocationConstraint>{self.metadata['location']}</LocationConstraint>")
            if self.metadata is not None and "encryptionConfig" in query:
                kms = self.metadata.get("kms", "")
                return self._xml(
                    f"<EncryptionConfiguration><DefaultKmsKeyName>{kms}</DefaultKmsKeyName></EncryptionConfiguration>"
                )
            return self._error(403, "AccessDenied")
        if method != "PUT":
            return self._error(403, "AccessDenied")
        if key in self.objects and (headers or {}).get("x-goog-if-generation-match") == "0":
            return self._error(412, "PreconditionFailed")
        self.objects[key] = body or b""
        return http.Response(200, self._date(), b"")

    @staticmethod
    def _date() -> dict[str, str]:
        return {"date": format_datetime(datetime.now(UTC), usegmt=True)}

    def _xml(self, inner: str) -> http.Response:
        return http.Response(200, self._date(), f"<?xml version='1.0' encoding='UTF-8'?>{inner}".encode())

    def _error(self, status: int, code: str) -> http.Response:
        return http.Response(
            status, self._date(), f"<?xml version='1.0'?><Error><Code>{code}</Code></Error>".encode()
        )


def hmac_destination(**settings: Any) -> GCSDestination:
    return destination(hmac_access_id=HMAC_ACCESS_ID, hmac_secret=HMAC_SECRET, location="EU", **settings)


def test_write_only_hmac_key_on_cloud_storage_passes() -> None:
    stub = WriteOnlyGcs()
    report, status = run(hmac_destination(), transport=stub)
    for check_id in ("config", "credentials", "bucket.exists", "upload", "write_once", "least_privilege"):
        assert status[check_id] is Status.PASS, (check_id, message(report, check_id))
    assert status["public_access"] is Status.PASS
    assert message(report, "bucket.exists").endswith(
        "(reading its metadata was refused, as a write-only uploader's should be)"
    )
    assert status["bucket.region"] is Status.SKIP
    assert "storage.buckets.get" in message(report, "bucket.region")
    assert status["encryption"] is Status.SKIP
    assert "encrypts all data at rest" in message(report, "encryption")
    assert message(report, "write_once").startswith("a second upload to the same key was refused (HTTP 412)")
    probe = next(key for method, key in stub.seen if method == "PUT")
    assert list(stub.objects) == [probe]
    deletes = [key for method, key in stub.seen if method == "DELETE"]
    assert len(deletes) == 1  # delete was tried (and refused) on a probe-folder key never written
    assert deletes[0] != probe
    assert deletes[0].startswith(KeyLayout.from_destination(hmac_destination()).probe_folder)


def test_wrong_hmac_secret_fails_credentials() -> None:
    dest = destination(hmac_access_id=HMAC_ACCESS_ID, hmac_secret="not-the-secret", location="EU")
    report, status = run(dest, transport=WriteOnlyGcs())
    assert status["credentials"] is Status.FAIL
    assert "SignatureDoesNotMatch" in message(report, "credentials")
    assert status["upload"] is Status.SKIP


@pytest.mark.parametrize(
    ("location", "kms", "region_status", "encryption_message"),
    [
        ("eu", "", Status.PASS, "no customer-managed default key"),
        (
            "US",
            "projects/p/locations/eu/keyRings/r/cryptoKeys/k",
            Status.FAIL,
            "customer-managed Cloud KMS key projects/p/",
        ),
    ],
)
def test_readable_metadata_gives_location_and_encryption(
    location: str, kms: str, region_status: Status, encryption_message: str
) -> None:
    report, status = run(
        hmac_destination(), transport=WriteOnlyGcs(metadata={"location": location, "kms": kms})
    )
    assert status["bucket.exists"] is Status.PASS
    assert status["bucket.region"] is region_status, message(report, "bucket.region")
    assert status["encryption"] is Status.PASS
    assert encryption_message in message(report, "encryption")


@dataclass
class PublicDeletableGcs(WriteOnlyGcs):
    """An over-privileged key on a public bucket: the uploader may also read and delete, anyone may read.

    Anonymous reads of objects are allowed (``allUsers`` as object viewer); listing stays refused and every
    signature is still verified.
    """

    def __call__(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
        timeout: float = 10.0,
    ) -> http.Response:
        parts = urlsplit(url)
        query = parse_qs(parts.query, keep_blank_values=True)
        _, _, key = unquote(parts.path[1:]).partition("/")
        signed = "X-Goog-Signature" in query
        if not key or method not in ("GET", "DELETE") or (method == "DELETE" and not signed):
            return super().__call__(method, url, headers=headers, body=body, timeout=timeout)
        self.seen.append((method, key))
        if signed:
            try:
                verify_signed_url(
                    url, method=method, headers=headers or {}, now=datetime.now(UTC), hmac_secret=HMAC_SECRET
                )
            except VerificationError:
                return self._error(403, "SignatureDoesNotMatch")
        if key not in self.objects:
            return self._error(404, "NoSuchKey")  # Cloud Storage's answer when the request was permitted
        if method == "DELETE":
            del self.objects[key]
            return http.Response(204, self._date(), b"")
        return http.Response(200, self._date(), self.objects[key])


def test_public_bucket_fails_public_access_even_when_the_uploader_may_delete() -> None:
    stub = PublicDeletableGcs()
    dest = hmac_destination()
    report, status = run(dest, transport=stub)
    assert status["public_access"] is Status.FAIL, message(report, "public_access")
    assert (
        message(report, "public_access") == "anyone on the internet can read the bucket without credentials"
    )
    assert status["least_privilege"] is Status.WARN
    assert message(report, "least_privilege").startswith(
        "the uploader's credentials can also read, delete; the customer was promised write-only"
    )
    probe = next(key for method, key in stub.seen if method == "PUT")
    deletes = [key for method, key in stub.seen if method == "DELETE"]
    assert len(deletes) == 1
    assert deletes[0] != probe
    assert deletes[0].startswith(KeyLayout.from_destination(dest).probe_folder)
    assert probe in stub.objects  # the delete trial (answered 404, so permitted) left the probe alone
