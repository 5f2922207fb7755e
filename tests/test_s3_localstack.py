"""S3 uploads over plain HTTP against LocalStack, which checks presigned signatures, keys, types, expiry."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import pytest
import requests
from botocore.exceptions import ClientError

from byos.config import S3Destination
from byos.errors import ProviderError
from byos.models import UploadOptions
from byos.providers import s3
from byos.uploads import presign_upload
from tests.s3_helpers import client, destination, new_bucket, send

pytestmark = pytest.mark.emulator

BODY = b"id,name\n1,Ada\n2,Grace\n"


@pytest.fixture(scope="module")
def bucket(localstack: Any) -> str:
    return new_bucket(localstack)


@pytest.fixture
def dest(localstack: Any, bucket: str) -> S3Destination:
    return destination(localstack, bucket)


def test_put_upload_lands_with_type_and_original_name(localstack: Any, dest: S3Destination) -> None:
    request = presign_upload(dest, "../Q3 report é.csv", content_type="text/csv")
    answer = send(request, BODY)
    assert answer.status_code == 200, answer.text
    stored = client(localstack).get_object(Bucket=dest.bucket, Key=request.key)
    assert stored["Body"].read() == BODY
    assert stored["ContentType"] == "text/csv"
    assert stored["Metadata"]["original-filename"] == quote("../Q3 report é.csv", safe="./ ")
    assert request.key.startswith("imports/")
    assert request.key.endswith("-Q3 report é.csv")


def test_write_once_refuses_a_second_put(dest: S3Destination) -> None:
    request = presign_upload(dest, "once.csv")
    assert send(request, BODY).status_code == 200
    assert send(request, b"replaced").status_code == 412


def test_overwrite_opt_in_replaces(localstack: Any, dest: S3Destination) -> None:
    request = presign_upload(dest, "again.csv", overwrite=True)
    assert "If-None-Match" not in request.headers
    assert send(request, BODY).status_code == 200
    assert send(request, b"second").status_code == 200
    assert client(localstack).get_object(Bucket=dest.bucket, Key=request.key)["Body"].read() == b"second"


def test_checksum_and_length_are_enforced(dest: S3Destination) -> None:
    digest = base64.b64encode(hashlib.sha256(BODY).digest()).decode()
    request = presign_upload(dest, "sum.csv", checksum_sha256=digest, content_length=len(BODY))
    assert send(request, b"X" * len(BODY)).status_code == 400  # right length, wrong bytes: BadDigest
    assert send(request, BODY).status_code == 200


@pytest.mark.parametrize(
    "tamper",
    ["signature", "secret", "content_type", "missing_header", "other_key", "method", "expired"],
)
def test_localstack_refuses_every_deviation(localstack: Any, bucket: str, tamper: str) -> None:
    dest = destination(localstack, bucket)
    now = None
    if tamper == "expired":
        now = datetime.now(UTC) - timedelta(hours=2)
    if tamper == "secret":
        dest = destination(localstack, bucket, secret_access_key="not-the-secret")
    request = presign_upload(
        dest, "deviant.csv", content_type="text/csv", expires=timedelta(minutes=5), now=now
    )
    url, headers, method = request.url, dict(request.headers), "PUT"
    if tamper == "signature":
        url = url[:-1] + ("0" if url[-1] != "0" else "1")
    elif tamper == "content_type":
        headers["Content-Type"] = "text/html"
    elif tamper == "missing_header":
        del headers["If-None-Match"]
    elif tamper == "other_key":
        url = url.replace(quote(request.key.split("/")[-1]), "other.csv", 1)
    elif tamper == "method":
        method = "GET"
    answer = requests.request(method, url, data=BODY, headers=headers, timeout=30)
    assert answer.status_code == 403, (tamper, answer.status_code, answer.text[:200])
    if tamper in ("signature", "secret", "content_type", "missing_header"):
        assert "SignatureDoesNotMatch" in answer.text
    listing = client(localstack).list_objects_v2(Bucket=bucket, Prefix="imports/")
    assert all(not item["Key"].endswith("deviant.csv") for item in listing.get("Contents", []))


def test_put_url_cannot_read_the_object_it_wrote(dest: S3Destination) -> None:
    request = presign_upload(dest, "secret.csv")
    assert send(request, BODY).status_code == 200
    for method in ("GET", "HEAD", "DELETE"):
        assert requests.request(method, request.url, timeout=30).status_code == 403


def test_post_form_enforces_size_key_and_type(localstack: Any, dest: S3Destination) -> None:
    request = presign_upload(dest, "form.csv", method="POST", content_type="text/csv", max_bytes=100)
    assert request.method == "POST"
    assert request.fields["key"] == request.key
    too_large = send(request, b"x" * 101)
    assert too_large.status_code == 400
    assert "EntityTooLarge" in too_large.text
    other_key = dict(request.fields, key="imports/elsewhere.csv")
    assert requests.post(request.url, data=other_key, files={"file": BODY}, timeout=30).status_code == 403
    other_type = dict(request.fields, **{"Content-Type": "text/html"})
    assert requests.post(request.url, data=other_type, files={"file": BODY}, timeout=30).status_code == 403
    assert send(request, BODY).status_code == 204
    stored = client(localstack).get_object(Bucket=dest.bucket, Key=request.key)
    assert stored["Body"].read() == BODY
    assert stored["Metadata"]["original-filename"] == "form.csv"


def test_post_minimum_size_and_expiry(dest: S3Destination) -> None:
    small = presign_upload(dest, "min.csv", method="POST", min_bytes=10, max_bytes=100)
    assert send(small, b"tiny").status_code == 400
    expired = presign_upload(
        dest,
        "late.csv",
        method="POST",
        expires=timedelta(minutes=1),
        now=datetime.now(UTC) - timedelta(hours=1),
    )
    assert send(expired, BODY).status_code == 403


def test_multipart_upload_completes_and_is_write_once(localstack: Any, dest: S3Destination) -> None:
    size = 11 * 1024 * 1024
    data = bytes(range(256)) * (size // 256)
    upload = s3.start_multipart(
        dest, UploadOptions(filename="big.csv", content_type="text/csv"), size, part_size=5 * 1024**2
    )
    assert len(upload.parts) == 3
    etags = []
    for number, part in enumerate(upload.parts):
        chunk = data[number * upload.part_size : (number + 1) * upload.part_size]
        assert part.headers["Content-Length"] == str(len(chunk))
        answer = send(part, chunk)
        assert answer.status_code == 200, answer.text
        etags.append(answer.headers["ETag"])
    s3.complete_multipart(dest, upload, etags)
    stored = client(localstack).get_object(Bucket=dest.bucket, Key=upload.key)
    assert stored["Body"].read() == data
    assert stored["Metadata"]["original-filename"] == "big.csv"

    second = s3.start_multipart(
        dest,
        UploadOptions(filename="big.csv", upload_id=upload.key.split("/")[1][:36]),
        6 * 1024**2,
        part_size=5 * 1024**2,
    )
    assert second.key == upload.key
    tags = [send(part, b"y" * int(part.headers["Content-Length"])).headers["ETag"] for part in second.parts]
    with pytest.raises(ProviderError, match="PreconditionFailed"):
        s3.complete_multipart(dest, second, tags)
    s3.abort_multipart(dest, second)
    assert client(localstack).get_object(Bucket=dest.bucket, Key=upload.key)["Body"].read() == data


def test_abort_frees_the_upload(localstack: Any, dest: S3Destination) -> None:
    upload = s3.start_multipart(
        dest, UploadOptions(filename="abandoned.csv"), 6 * 1024**2, part_size=5 * 1024**2
    )
    s3.abort_multipart(dest, upload)
    uploads = client(localstack).list_multipart_uploads(Bucket=dest.bucket).get("Uploads", [])
    assert upload.multipart_id not in {item["UploadId"] for item in uploads}
    # The parts are gone too. (Sending a part URL would prove it, but LocalStack answers 404 before reading a
    # 5 MiB body and then stops reading it, so the sender can block until its timeout.)
    with pytest.raises(ClientError) as refused:
        client(localstack).list_parts(Bucket=dest.bucket, Key=upload.key, UploadId=upload.multipart_id)
    assert refused.value.response["Error"]["Code"] == "NoSuchUpload"


def test_multipart_with_a_wrong_secret_is_refused(localstack: Any, bucket: str) -> None:
    dest = destination(localstack, bucket, secret_access_key="wrong")
    with pytest.raises(ProviderError, match="SignatureDoesNotMatch"):
        s3.start_multipart(dest, UploadOptions(filename="x.csv"), 6 * 1024**2)
