"""``byos.upload_file``: the service's own uploads through the same plan, on the local servers.

Faults come from tests/fault_proxy.py, a loopback proxy in front of the server (URLs are signed for the
proxy's host, which it forwards unchanged, so LocalStack still checks every signature).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import tracemalloc
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from azure.core.exceptions import ResourceNotFoundError

import byos
from byos import http, transfer
from byos.errors import InvalidInputError, ProviderError
from byos.transfer import composite_sha256
from tests import azure_helpers, gcs_helpers, s3_helpers
from tests.fault_proxy import fault_proxy

pytestmark = pytest.mark.emulator

MIB = 1024**2


def _file(directory: Path, size: int, name: str = "data.csv") -> Path:
    path = directory / name
    with path.open("wb") as out:
        left = size
        block = os.urandom(MIB)
        while left:
            out.write(block[: min(left, MIB)])
            left -= min(left, MIB)
            block = hashlib.sha256(block).digest() * (MIB // 32)
    return path


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- 40 MiB through the parts, read back with the SDK ---


def test_s3_40_mib(localstack: Any, tmp_path: Path) -> None:
    bucket = s3_helpers.new_bucket(localstack)
    dest = s3_helpers.destination(localstack, bucket)
    path = _file(tmp_path, 40 * MIB)
    sent: list[int] = []
    result = byos.upload_file(dest, path, content_type="text/csv", progress=sent.append)
    assert result.parts == 5
    assert sum(sent) == 40 * MIB
    stored = s3_helpers.client(localstack).get_object(Bucket=bucket, Key=result.key, ChecksumMode="ENABLED")
    data = stored["Body"].read()
    assert _sha(data) == _sha(path.read_bytes()) == result.sha256
    assert result.size == len(data)
    assert result.key.endswith("-data.csv")
    assert stored["ContentType"] == "text/csv"
    assert stored["Metadata"] == {"original-filename": "data.csv"}
    parts = [path.read_bytes()[i : i + 8 * MIB] for i in range(0, 40 * MIB, 8 * MIB)]
    expected = composite_sha256(tuple(base64.b64encode(hashlib.sha256(p).digest()).decode() for p in parts))
    assert stored.get("ChecksumSHA256") == expected  # S3 kept the SHA-256 of every part, as signed
    assert result.etag


def test_azure_40_mib(azurite: Any, tmp_path: Path) -> None:
    container = azure_helpers.new_container(azurite)
    dest = azure_helpers.destination(azurite, container)
    path = _file(tmp_path, 40 * MIB)
    tracemalloc.start()
    try:
        result = byos.upload_file(dest, path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.parts == 5
    assert peak < 2 * 8 * MIB + 4 * MIB, f"{peak} bytes at peak: more than two 8 MiB parts in memory"
    blob = azure_helpers.service(azurite).get_blob_client(container, result.key)
    assert _sha(blob.download_blob().readall()) == _sha(path.read_bytes()) == result.sha256
    md5 = hashlib.md5(path.read_bytes()).digest()  # noqa: S324  (Azure stores the MD5 byos sent)
    assert bytes(blob.get_blob_properties().content_settings.content_md5 or b"") == md5


def test_gcs_40_mib(fake_gcs: Any, tmp_path: Path) -> None:
    """fake-gcs-server stores XML resumable uploads under the empty name (see test_gcs_fake_server.py)."""
    bucket = gcs_helpers.new_bucket(fake_gcs)
    dest = gcs_helpers.destination(
        bucket=bucket,
        endpoint_url=fake_gcs.endpoint,
        service_account_file=gcs_helpers.write_key_file(tmp_path),
    )
    path = _file(tmp_path, 40 * MIB)
    result = byos.upload_file(dest, path)
    assert result.parts == 5
    assert result.generation
    listed = {blob.name: blob for blob in gcs_helpers.client(fake_gcs).list_blobs(bucket)}
    stored = listed.get(result.key) or listed[""]
    assert stored.size == 40 * MIB
    assert stored.md5_hash == base64.b64encode(hashlib.md5(path.read_bytes()).digest()).decode()  # noqa: S324
    assert result.sha256 == _sha(path.read_bytes())


# --- faults ---


@pytest.mark.parametrize("fault", ["drop", "503"])
def test_s3_part_failing_once_is_retried(localstack: Any, tmp_path: Path, fault: str) -> None:
    bucket = s3_helpers.new_bucket(localstack)
    path = _file(tmp_path, 11 * MIB)

    def rule(method: str, target: str, seen: int) -> str | None:
        return fault if method == "PUT" and "partNumber=2&" in target and seen == 0 else None

    with fault_proxy(localstack.endpoint, rule) as proxy:
        dest = s3_helpers.destination(localstack, bucket, endpoint_url=proxy.endpoint)
        result = byos.upload_file(dest, path, part_size=5 * MIB)
    assert [action for action, _, _ in proxy.faults] == [fault]
    data = s3_helpers.client(localstack).get_object(Bucket=bucket, Key=result.key)["Body"].read()
    assert _sha(data) == _sha(path.read_bytes())


def test_azure_block_failing_once_is_retried(azurite: Any, tmp_path: Path) -> None:
    container = azure_helpers.new_container(azurite)
    path = _file(tmp_path, MIB + 100)

    def rule(method: str, target: str, seen: int) -> str | None:
        return (
            "drop"
            if method == "PUT" and "comp=block&" in target and "MDAwMDAy" in target and seen == 0
            else None
        )

    with fault_proxy(azurite.endpoint, rule) as proxy:
        dest = azure_helpers.destination(
            azurite, container, endpoint_url=f"{proxy.endpoint}/{azurite.account_name}"
        )
        result = byos.upload_file(dest, path, part_size=256 * 1024)
    assert len(proxy.faults) == 1
    blob = azure_helpers.service(azurite).get_blob_client(container, result.key)
    assert _sha(blob.download_blob().readall()) == _sha(path.read_bytes())


def test_s3_corruption_is_refused_and_aborted(localstack: Any, tmp_path: Path) -> None:
    bucket = s3_helpers.new_bucket(localstack)
    path = _file(tmp_path, 11 * MIB)

    def rule(method: str, target: str, seen: int) -> str | None:  # noqa: ARG001
        return "corrupt" if method == "PUT" and "partNumber=3&" in target else None

    with fault_proxy(localstack.endpoint, rule) as proxy:
        dest = s3_helpers.destination(localstack, bucket, endpoint_url=proxy.endpoint)
        with pytest.raises(ProviderError, match=r"part 3: 400 .*aborted"):
            byos.upload_file(dest, path, part_size=5 * MIB)
    assert proxy.faults
    client = s3_helpers.client(localstack)
    assert client.list_objects_v2(Bucket=bucket).get("KeyCount") == 0
    assert client.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_s3_single_put_corruption_is_refused(localstack: Any, tmp_path: Path) -> None:
    bucket = s3_helpers.new_bucket(localstack)
    path = _file(tmp_path, 1000)
    with fault_proxy(
        localstack.endpoint, lambda method, _t, _s: "corrupt" if method == "PUT" else None
    ) as proxy:
        dest = s3_helpers.destination(localstack, bucket, endpoint_url=proxy.endpoint)
        with pytest.raises(ProviderError, match="400"):
            byos.upload_file(dest, path)
    assert s3_helpers.client(localstack).list_objects_v2(Bucket=bucket).get("KeyCount") == 0


def test_azure_corruption_is_refused_and_nothing_is_committed(azurite: Any, tmp_path: Path) -> None:
    container = azure_helpers.new_container(azurite)
    path = _file(tmp_path, MIB)

    def rule(method: str, target: str, seen: int) -> str | None:  # noqa: ARG001
        return "corrupt" if method == "PUT" and "MDAwMDAx" in target else None

    with fault_proxy(azurite.endpoint, rule) as proxy:
        dest = azure_helpers.destination(
            azurite, container, endpoint_url=f"{proxy.endpoint}/{azurite.account_name}"
        )
        with pytest.raises(ProviderError, match="Md5Mismatch"):
            byos.upload_file(dest, path, part_size=256 * 1024)
    listing = azure_helpers.service(azurite).get_container_client(container)
    assert list(listing.list_blobs()) == []
    # The blocks that did arrive stay uncommitted: a create/write SAS cannot delete them, and Azure discards
    # uncommitted blocks after 7 days. They are no object: nothing can read them.
    pending = [blob.name for blob in listing.list_blobs(include=["uncommittedblobs"])]
    assert len(pending) == 1
    assert pending[0].startswith("imports/")
    assert pending[0].endswith("-data.csv")


# --- write-once, streams, bad input ---


@pytest.mark.parametrize("size", [100, 6 * MIB])
def test_s3_second_result_of_the_same_import_is_refused(localstack: Any, tmp_path: Path, size: int) -> None:
    bucket = s3_helpers.new_bucket(localstack)
    dest = s3_helpers.destination(localstack, bucket)
    first = byos.upload_file(dest, _file(tmp_path, size), kind="result", import_id="imp-1", part_size=5 * MIB)
    assert first.key == "imports/imp-1.json"
    with pytest.raises(ProviderError, match="exists; uploads never replace one"):
        byos.upload_file(
            dest, _file(tmp_path, size, "other"), kind="result", import_id="imp-1", part_size=5 * MIB
        )
    client = s3_helpers.client(localstack)
    stored = client.get_object(Bucket=bucket, Key=first.key)
    assert _sha(stored["Body"].read()) == first.sha256
    assert stored["ContentType"] == "application/json"
    assert client.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_azure_second_result_is_refused(azurite: Any, tmp_path: Path) -> None:
    container = azure_helpers.new_container(azurite)
    dest = azure_helpers.destination(azurite, container)
    for size in (100, MIB):
        import_id = f"imp-{size}"
        first = byos.upload_file(
            dest, _file(tmp_path, size), kind="result", import_id=import_id, part_size=256 * 1024
        )
        with pytest.raises(ProviderError, match=r"403 .*an object with this key exists"):
            byos.upload_file(
                dest, io.BytesIO(b"{}"), kind="result", import_id=import_id, part_size=256 * 1024
            )
        with pytest.raises(ProviderError, match=r"409 .*an object with this key exists"):
            byos.upload_file(
                dest, _file(tmp_path, MIB, "b"), kind="result", import_id=import_id, part_size=256 * 1024
            )
        blob = azure_helpers.service(azurite).get_blob_client(container, first.key)
        assert _sha(blob.download_blob().readall()) == first.sha256


class _Pipe(io.RawIOBase):
    """A stream that cannot seek, like a socket or a pipe."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        chunk = self._data.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)


def test_streams_seekable_or_not(azurite: Any) -> None:
    container = azure_helpers.new_container(azurite)
    dest = azure_helpers.destination(azurite, container)
    data = os.urandom(700 * 1024)
    for source in (io.BytesIO(data), _Pipe(data)):
        result = byos.upload_file(dest, source, filename="stream.bin", part_size=256 * 1024)
        assert result.parts == 3
        blob = azure_helpers.service(azurite).get_blob_client(container, result.key)
        assert blob.download_blob().readall() == data
    with pytest.raises(ResourceNotFoundError):
        azure_helpers.service(azurite).get_blob_client(container, "imports/never").get_blob_properties()


def test_bad_input_sends_nothing(tmp_path: Path) -> None:
    server = SimpleNamespace(
        region="us-east-1", endpoint="http://127.0.0.1:9", access_key_id="test", secret_access_key="test"
    )
    dest = s3_helpers.destination(server, "acme-imports")
    with pytest.raises(InvalidInputError, match=r"^source: cannot be read"):
        byos.upload_file(dest, tmp_path / "missing.csv")
    with pytest.raises(InvalidInputError, match=r"^import_id: is required for a result upload"):
        byos.upload_file(dest, io.BytesIO(b"{}"), kind="result")
    with pytest.raises(InvalidInputError, match=r"^checksum: "):
        byos.upload_file(dest, io.BytesIO(b"{}"), checksum="yes")  # type: ignore[arg-type]


def test_a_whole_checksum_s3_reports_wrongly_is_refused() -> None:
    """No server assembles other bytes than it was sent, so this fault is a made-up answer."""
    parts = (base64.b64encode(hashlib.sha256(b"a").digest()).decode(),)
    good = composite_sha256(parts)
    body = f"<Result><ChecksumSHA256>{good}</ChecksumSHA256></Result>"
    transfer._check_s3_whole(http.Response(200, {}, body.encode()), parts)
    bad = body.replace(good, "A" * 43 + "=-1").encode()
    with pytest.raises(ProviderError, match="whole-object SHA-256 differs"):
        transfer._check_s3_whole(http.Response(200, {}, bad), parts)


def test_an_md5_gcs_reports_wrongly_is_refused() -> None:
    """No server stores other bytes than it was sent, so this fault is a made-up answer."""
    md5 = base64.b64encode(hashlib.md5(b"a").digest()).decode()  # noqa: S324  (what GCS reports)
    transfer._check_gcs_md5(http.Response(200, {"x-goog-hash": f"crc32c=AAAAAA==,md5={md5}"}, b""), md5)
    transfer._check_gcs_md5(http.Response(200, {}, json.dumps({"md5Hash": md5}).encode()), md5)
    for answer in (
        http.Response(200, {"x-goog-hash": "md5=" + "B" * 22 + "=="}, b""),
        http.Response(200, {}, json.dumps({"md5Hash": "C" * 22 + "=="}).encode()),
    ):
        with pytest.raises(ProviderError, match="Cloud Storage reports another MD5"):
            transfer._check_gcs_md5(answer, md5)


@pytest.mark.emulator
def test_an_empty_file_uploads(azurite: Any, localstack: Any) -> None:
    container = azure_helpers.new_container(azurite)
    bucket = s3_helpers.new_bucket(localstack)
    for dest in (azure_helpers.destination(azurite, container), s3_helpers.destination(localstack, bucket)):
        result = byos.upload_file(dest, io.BytesIO(b""), filename="empty.csv")
        assert (result.size, result.parts) == (0, 1)
        assert result.sha256 == hashlib.sha256(b"").hexdigest()
