"""Every URL in an upload plan equals the official SDK's for the same inputs and frozen clock, and passes the
independent verifiers: S3 parts, CompleteMultipartUpload (``If-None-Match: *`` signed) and Abort (botocore);
Azure Put Block and Put Block List (azure-storage-blob ``generate_blob_sas``); the GCS resumable start
(google-cloud-storage ``generate_signed_url``).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from unittest import mock
from urllib.parse import quote

import pytest
from azure.storage.blob import BlobClient, BlobSasPermissions, generate_blob_sas
from google.cloud import storage
from google.cloud.storage import _signing as sdk_signing
from google.oauth2 import service_account

import byos
from tests import s3_helpers
from tests.azure_helpers import destination as azure_destination
from tests.gcs_helpers import destination as gcs_destination
from tests.gcs_helpers import write_key_file
from tests.goog4_verifier import public_key_of, verify_signed_url
from tests.sas_verifier import verify_blob_sas
from tests.sigv4_verifier import VerificationError, verify_presigned_url
from tests.test_sigv4_equivalence import botocore_clock

MIB = 1024**2
NOW = datetime(2026, 11, 2, 12, 0, 0, tzinfo=UTC)
ACCOUNT_KEY = "a2V5LWZvci10ZXN0cy1vbmx5LW5vdC1hLXJlYWwta2V5LWZvci1henVyZS0xMjM0NTY3OA=="


@pytest.mark.emulator
def test_s3_plan_urls_equal_botocore_and_verify(localstack: Any) -> None:
    bucket = s3_helpers.new_bucket(localstack)
    dest = s3_helpers.destination(localstack, bucket)
    now = datetime.now(UTC).replace(microsecond=0)  # LocalStack creates the upload: a real, current clock
    plan = byos.presign_upload(dest, "big.csv", size=11 * MIB, part_size=5 * MIB, now=now)
    seconds = int((plan.expires_at - now).total_seconds())
    assert seconds == int(dest.expires.total_seconds())
    client = s3_helpers.client(localstack)
    base = {"Bucket": bucket, "Key": plan.key, "UploadId": plan.upload_id}
    assert plan.complete is not None
    assert plan.abort is not None
    with botocore_clock(now):
        parts = [
            client.generate_presigned_url(
                "upload_part",
                Params={
                    "Bucket": bucket,
                    "Key": plan.key,
                    "PartNumber": number,
                    "UploadId": plan.upload_id,
                    "ContentLength": length,
                },
                ExpiresIn=seconds,
            )
            for number, length in ((1, 5 * MIB), (2, 5 * MIB), (3, MIB))
        ]
        complete = client.generate_presigned_url(
            "complete_multipart_upload", Params={**base, "IfNoneMatch": "*"}, ExpiresIn=seconds
        )
        abort = client.generate_presigned_url("abort_multipart_upload", Params=base, ExpiresIn=seconds)
    assert [part.url for part in plan.parts] == parts
    assert plan.complete.url == complete
    assert plan.abort.url == abort
    assert dict(plan.complete.headers) == {"If-None-Match": "*"}
    secret = localstack.secret_access_key
    for step in (*plan.parts, plan.complete, plan.abort):
        assert step.url is not None
        verify_presigned_url(step.method, step.url, step.headers, secret_access_key=secret, now=now)
    assert plan.complete.url is not None
    with pytest.raises(VerificationError):  # the write-once condition cannot be dropped
        verify_presigned_url("POST", plan.complete.url, {}, secret_access_key=secret, now=now)
    with pytest.raises(VerificationError):
        verify_presigned_url("DELETE", plan.complete.url, {}, secret_access_key=secret, now=now)
    client.abort_multipart_upload(**base)


def test_azure_plan_urls_equal_the_sdk_and_verify() -> None:
    account = SimpleNamespace(account_name="acmeimports", blob_endpoint=None, account_key=ACCOUNT_KEY)
    dest = azure_destination(account, "uploads")
    plan = byos.presign_upload(dest, "big.csv", size=20 * MIB + 1, now=NOW)
    assert plan.complete is not None
    assert plan.part_size == 8 * MIB
    expiry = NOW + dest.expires
    token = generate_blob_sas(
        "acmeimports",
        "uploads",
        plan.key,
        account_key=ACCOUNT_KEY,
        permission=BlobSasPermissions(create=True, write=True),
        expiry=expiry,
        start=NOW - timedelta(minutes=5),
        protocol="https",
    )
    blob_url = BlobClient("https://acmeimports.blob.core.windows.net", "uploads", plan.key).url
    expected = [
        f"{blob_url}?{token}&comp=block&blockid={quote(part.block_id or '', safe='')}" for part in plan.parts
    ]
    assert [part.url for part in plan.parts] == expected
    assert plan.complete.url == f"{blob_url}?{token}&comp=blocklist"
    assert plan.complete.headers["If-None-Match"] == "*"
    for step in (*plan.parts, plan.complete):
        assert step.url is not None
        verdict = verify_blob_sas(
            step.url, account_name="acmeimports", method="PUT", now=NOW, account_key=ACCOUNT_KEY
        )
        assert verdict.ok, verdict.reason
        read = verify_blob_sas(
            step.url, account_name="acmeimports", method="GET", now=NOW, account_key=ACCOUNT_KEY
        )
        assert not read.ok


def test_gcs_resumable_start_equals_the_sdk_and_verifies(tmp_path: Path) -> None:
    key_file = write_key_file(tmp_path)
    info = json.loads(key_file.read_text())
    dest = gcs_destination(service_account_file=key_file)
    size = 3 * 256 * 1024 + 1
    plan = byos.presign_upload(dest, "big.csv", size=size, part_size=256 * 1024, now=NOW)
    start = plan.parts[0]
    assert start.url is not None
    assert dict(start.headers) == {
        "x-goog-resumable": "start",
        "x-goog-if-generation-match": "0",
        "x-goog-content-length-range": f"{size},{size}",
        "x-goog-meta-original-filename": "big.csv",
    }
    credentials = service_account.Credentials.from_service_account_info(info)  # type: ignore[no-untyped-call]
    stamps = (NOW.strftime("%Y%m%dT%H%M%SZ"), NOW.strftime("%Y%m%d"))
    with mock.patch.object(sdk_signing, "get_v4_now_dtstamps", return_value=stamps):
        theirs = (
            storage.Client(project="p", credentials=credentials)
            .bucket("acme-imports")
            .blob(plan.key)
            .generate_signed_url(
                version="v4",
                method="POST",
                expiration=dest.expires,
                headers=dict(start.headers),
            )
        )
    assert start.url == theirs
    verify_signed_url(
        start.url, method="POST", headers=start.headers, now=NOW, public_key=public_key_of(info)
    )
    chunks = plan.parts[1:]
    assert [chunk.headers["Content-Range"] for chunk in chunks] == [
        f"bytes 0-{256 * 1024 - 1}/{size}",
        f"bytes {256 * 1024}-{512 * 1024 - 1}/{size}",
        f"bytes {512 * 1024}-{768 * 1024 - 1}/{size}",
        f"bytes {768 * 1024}-{size - 1}/{size}",
    ]
    assert [chunk.expect for chunk in chunks] == [(308,), (308,), (308,), (200, 201)]
    assert all(chunk.url is None and chunk.url_from == "session" for chunk in chunks)
