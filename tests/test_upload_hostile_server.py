"""Uploads against a hostile storage server: nothing a server answers in an upload is trusted unchecked.

A tenant chooses the endpoint, so the server answering ``CreateMultipartUpload``, a part or a resumable
start may be hostile. The servers here are real HTTP servers on 127.0.0.1 (tests/stub_servers.py's
scriptable ``StubS3``, also playing a GCS endpoint), answering what no honest storage service would.
"""

from __future__ import annotations

import io
import time
from typing import Any

import pytest

import byos
from byos import http
from byos.config import destination_from_dict
from byos.errors import ProviderError
from byos.redaction import redact_url
from tests import gcs_helpers
from tests.conftest import FAKE_DNS
from tests.stub_servers import Reply, StubRequest, StubS3, refusing_port

MIB = 1024**2
CHUNK = 256 * 1024
UPLOAD_ID = "VXBsb2FkSWQtZm9yLXRlc3RzLW9ubHk.abc_def-123"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def _s3(endpoint: str, **settings: Any) -> Any:
    values = {
        "provider": "s3",
        "bucket": "acme-imports",
        "region": "us-east-1",
        "endpoint_url": endpoint,
        "access_key_id": "AKIAIOSFODNN7EXAMPLE",
        "secret_access_key": SECRET,
        "prefix": "imports/",
        **settings,
    }
    return destination_from_dict(values, env=False)


def _gcs(endpoint: str, **settings: Any) -> Any:
    return gcs_helpers.destination(
        endpoint_url=endpoint,
        hmac_access_id=gcs_helpers.HMAC_ACCESS_ID,
        hmac_secret=gcs_helpers.HMAC_SECRET,
        **settings,
    )


def _created(upload_id: str) -> Reply:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?><InitiateMultipartUploadResult><Bucket>acme-imports</Bucket>'
        f"<Key>k</Key><UploadId>{upload_id}</UploadId></InitiateMultipartUploadResult>"
    ).encode()
    return Reply(200, {"Content-Type": "application/xml"}, body)


def _s3_server(upload_id: str = UPLOAD_ID, part_etag: str = '"0123456789abcdef0123456789abcdef"') -> StubS3:
    """An S3 that creates uploads with ``upload_id`` and answers every part with ``part_etag``."""

    def answer(request: StubRequest) -> Reply | None:
        if request.method == "POST" and "uploads" in request.query:
            return _created(upload_id)
        if request.method == "PUT" and "partNumber" in request.query:
            return Reply(200, {"ETag": part_etag})
        if request.method == "DELETE" and "uploadId" in request.query:
            return Reply(204)
        return None

    return StubS3(answer)


# --- S3: the UploadId is presigned into every part URL, and the abort must name only it ---


@pytest.mark.parametrize(
    "upload_id",
    ["x" * 200_000, "an id with spaces", "id&#9;with&#9;tabs"],
    ids=["huge", "spaces", "tabs"],
)
def test_a_malformed_upload_id_is_refused_before_any_part_is_presigned(upload_id: str) -> None:
    with _s3_server(upload_id) as server:
        dest = _s3(server.endpoint)
        started = time.monotonic()
        with pytest.raises(ProviderError, match=r"^CreateMultipartUpload: S3 answered a malformed UploadId"):
            byos.presign_upload(dest, "big.bin", size=40 * MIB)
        assert time.monotonic() - started < 5
        assert server.seen("PUT") == []


def test_an_upload_id_defined_by_a_dtd_entity_is_not_read() -> None:
    """No storage service sends a DTD; an answer with one is not parsed (no entity ever expands)."""
    body = b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x "abc">]><r><UploadId>&x;</UploadId></r>'
    assert http.xml_text(body, "UploadId") == ""
    assert http.xml_text(b"<r><UploadId>abc</UploadId></r>", "UploadId") == "abc"


@pytest.mark.parametrize(
    "etag", ['"' + "a" * 5000 + '"', '"abc</ETag><PartNumber>9"'], ids=["huge", "markup"]
)
def test_a_malformed_part_etag_is_a_provider_error_and_aborts_the_own_upload(etag: str) -> None:
    with _s3_server(part_etag=etag) as server:
        dest = _s3(server.endpoint)
        with pytest.raises(ProviderError, match=r"^part \d+: the answer's ETag is malformed"):
            byos.upload_file(dest, io.BytesIO(b"z" * (11 * MIB)), filename="big.bin", part_size=5 * MIB)
        assert server.seen("POST", presigned=True)[-1].query.get("uploads") == ""  # no complete was sent
        aborts = server.seen("DELETE")
        assert [request.query["uploadId"] for request in aborts] == [UPLOAD_ID]


# --- GCS: the session URI (Location) receives the file's bytes ---


class _GcsSession:
    """A GCS endpoint whose resumable start answers ``location(endpoint)``; chunks get 308, the last 200."""

    def __init__(self, location: str, chunk_delay: float = 0.0) -> None:
        self.location = location
        self.chunk_delay = chunk_delay
        self.server = StubS3(self.answer)

    def answer(self, request: StubRequest) -> Reply | None:
        if request.method == "POST" and request.headers.get("x-goog-resumable") == "start":
            return Reply(200, {"Location": self.location.format(endpoint=self.server.endpoint)})
        if request.method == "PUT" and "upload_id" in request.query:
            time.sleep(self.chunk_delay)
            total = request.headers["content-range"].rpartition("/")[2]
            end = int(request.headers["content-range"].split("-")[1].split("/")[0])
            if end + 1 < int(total):
                return Reply(308, {"Range": f"bytes=0-{end}"})
            return Reply(200, {"Content-Type": "application/json"}, b'{"generation": "1"}')
        if request.method == "DELETE":
            return Reply(499)
        return None


@pytest.mark.parametrize(
    "location",
    [
        "http://elsewhere.test:{port}/upload?upload_id=abc",  # another host
        "http://127.0.0.1:{port}/upload?upload_id=abc",  # the same address, another port
        "http://user:pw@127.0.0.1:{port}/upload?upload_id=abc",
    ],
    ids=["other-host", "other-port", "userinfo"],
)
def test_a_session_uri_on_another_host_gets_no_byte_of_the_file(location: str) -> None:
    FAKE_DNS["elsewhere.test"] = ["127.0.0.1"]
    try:
        with StubS3() as elsewhere:
            hostile = _GcsSession(location.replace("{port}", str(elsewhere.port)))
            with hostile.server:
                dest = _gcs(hostile.server.endpoint)
                with pytest.raises(ProviderError, match=r"session URI is not on the storage endpoint"):
                    byos.upload_file(dest, io.BytesIO(b"s" * (3 * CHUNK)), filename="a.bin", part_size=CHUNK)
            assert elsewhere.requests == []  # neither a chunk nor the abort went there
    finally:
        FAKE_DNS.pop("elsewhere.test", None)


def test_a_session_uri_without_an_upload_id_is_refused() -> None:
    """Else the abort (DELETE) would go to a plain object URL: that of the very key, or any other."""
    hostile = _GcsSession("{endpoint}/acme-imports/imports/existing.csv")
    with hostile.server:
        dest = _gcs(hostile.server.endpoint)
        with pytest.raises(ProviderError, match=r"session URI has no upload_id"):
            byos.upload_file(dest, io.BytesIO(b"s" * (3 * CHUNK)), filename="a.bin", part_size=CHUNK)
        assert hostile.server.seen("DELETE") == []
        assert hostile.server.seen("PUT") == []


def test_a_session_on_the_endpoint_itself_still_works() -> None:
    hostile = _GcsSession("{endpoint}/upload/storage/v1/b/acme-imports/o?uploadType=resumable&upload_id=abc")
    with hostile.server:
        result = byos.upload_file(
            _gcs(hostile.server.endpoint), io.BytesIO(b"s" * (3 * CHUNK)), filename="a.bin", part_size=CHUNK
        )
        assert result.parts == 3
        assert result.generation == "1"
        assert len(hostile.server.seen("PUT")) == 3


def test_the_session_upload_id_never_shows_in_an_error() -> None:
    """A GCS session URI is a bearer token (anyone holding it may write): its upload_id is redacted."""
    session = (
        "https://storage.googleapis.com/upload/storage/v1/b/b/o?uploadType=resumable&upload_id=ADPycdS3cret"
    )
    assert "ADPycdS3cret" not in redact_url(session)
    with refusing_port() as port, pytest.raises(ProviderError) as refused:
        http.send("PUT", f"http://127.0.0.1:{port}/upload?upload_id=ADPycdS3cret", body=b"x", timeout=5)
    assert "ADPycdS3cret" not in str(refused.value)
    assert "upload_id=REDACTED" in str(refused.value)


# --- time: a slow server cannot hold an upload past its plan's lifetime ---


def test_a_slow_server_cannot_hold_an_upload_past_the_plan_s_expiry() -> None:
    hostile = _GcsSession("{endpoint}/upload?upload_id=abc", chunk_delay=0.6)
    with hostile.server:
        dest = _gcs(hostile.server.endpoint, expires="2s")
        started = time.monotonic()
        with pytest.raises(ProviderError, match=r"the plan's URLs expired"):
            byos.upload_file(dest, io.BytesIO(b"s" * (10 * CHUNK)), filename="a.bin", part_size=CHUNK)
        elapsed = time.monotonic() - started
    assert elapsed < 4  # ten chunks of 0.6 s would take 6 s
    assert len(hostile.server.seen("PUT")) < 10
    assert len(hostile.server.seen("DELETE")) == 1  # the own session was cancelled


# --- what the final answer names is bounded ---


@pytest.mark.parametrize(
    "body",
    [
        b'{"generation": ' + b"[" * 200_000 + b"]" * 200_000 + b"}",
        b'{"md5Hash": ' + b"[" * 200_000 + b"]" * 200_000 + b"}",
    ],
    ids=["generation", "md5"],
)
def test_a_nested_json_answer_is_a_byos_error_not_a_crash(body: bytes) -> None:
    class Nested(_GcsSession):
        def answer(self, request: StubRequest) -> Reply | None:
            if request.method == "PUT":
                return Reply(200, {"Content-Type": "application/json"}, body)
            return super().answer(request)

    hostile = Nested("{endpoint}/upload?upload_id=abc")
    with hostile.server:
        result = byos.upload_file(_gcs(hostile.server.endpoint), io.BytesIO(b"s" * 10), filename="a.bin")
    assert result.generation is None


def test_a_huge_or_control_character_etag_is_not_reported() -> None:
    def answer(request: StubRequest) -> Reply | None:
        if request.method == "PUT":
            return Reply(200, {"ETag": '"abc\x1b]0;owned\x07"', "x-goog-generation": "1\x1b[2J"})
        return None

    with StubS3(answer) as server:
        result = byos.upload_file(_s3(server.endpoint), io.BytesIO(b"q" * 10), filename="a.csv")
    assert result.etag is None
    assert result.generation is None


# --- error codes a server names are bounded before they reach a message ---


@pytest.mark.parametrize(
    "reply",
    [
        Reply(400, {"x-ms-error-code": "A" * 60_000 + "\x1b[2J"}),
        Reply(
            400, {"Content-Type": "application/xml"}, b"<Error><Code>" + b"B" * 500_000 + b"</Code></Error>"
        ),
    ],
    ids=["header", "xml"],
)
def test_a_huge_error_code_gives_a_short_message(reply: Reply) -> None:
    def answer(request: StubRequest) -> Reply | None:
        if request.method == "POST" and "uploads" in request.query:
            return reply
        return reply if request.method == "PUT" else None

    with StubS3(answer) as server:
        dest = _s3(server.endpoint)
        for call in (
            lambda: byos.upload_file(dest, io.BytesIO(b"q" * 10), filename="a.csv"),
            lambda: byos.presign_upload(dest, "big.bin", size=40 * MIB),
        ):
            with pytest.raises(ProviderError) as refused:
                call()
            assert len(str(refused.value)) < 400  # (a terminal gets it without control characters)


def test_a_chunk_the_server_kept_only_in_part_is_not_passed_over() -> None:
    """A 308 whose ``Range`` is short of the bytes sent: the rest would be missing from the object."""

    class Short(_GcsSession):
        def answer(self, request: StubRequest) -> Reply | None:
            if request.method == "PUT" and "upload_id" in request.query:
                return Reply(308, {"Range": "bytes=0-99"})
            return super().answer(request)

    hostile = Short("{endpoint}/upload?upload_id=abc")
    with hostile.server:
        with pytest.raises(
            ProviderError, match=r"^PUT bytes 0-262144: Cloud Storage kept bytes=0-99, not all"
        ):
            byos.upload_file(
                _gcs(hostile.server.endpoint),
                io.BytesIO(b"s" * (3 * CHUNK)),
                filename="a.bin",
                part_size=CHUNK,
            )
        assert len(hostile.server.seen("PUT")) == 1
        assert len(hostile.server.seen("DELETE")) == 1
