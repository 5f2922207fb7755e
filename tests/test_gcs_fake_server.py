"""GCS uploads over plain HTTP against fake-gcs-server: signed PUT, resumable upload, form POST, signBlob.

fake-gcs-server checks no signature, no expiry and no ``x-goog-*`` condition (see ../shared/EMULATORS.md), so
these tests prove what a browser's request does to the stored object: key, bytes, type and metadata. The
signatures themselves are proven equal to google-cloud-storage's and checked by tests/goog4_verifier.py.
Where the emulator departs from Cloud Storage, the test asserts what the emulator really does and says so.
"""

from __future__ import annotations

import base64
import hashlib
import unicodedata
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
import requests
from google.api_core.exceptions import PreconditionFailed

from byos.config import GCSDestination
from byos.keys import metadata_filename
from byos.models import UploadOptions
from byos.providers import gcs
from byos.uploads import presign_upload
from tests.gcs_helpers import client, destination, fake_iam, keyless, new_bucket, send, write_key_file
from tests.goog4_verifier import public_key_of, verify_signed_url

pytestmark = pytest.mark.emulator

BODY = b"id,name\n1,Ada\n2,Grace\n"
HOSTILE_NAMES = (
    "../../etc/passwd",
    "Q3 report (final) é.csv",
    "a?b#c&d=e%2F;f.csv",
    "\u202eexe.csv",
    "CON",
    "  spaced  name .csv",
    "日本語のファイル.tsv",
    "x" * 400 + ".csv",
)


@pytest.fixture(autouse=True)
def _fresh_signers() -> None:
    gcs.clear_signer_cache()


@pytest.fixture(scope="module")
def bucket(fake_gcs: Any) -> str:
    return new_bucket(fake_gcs)


@pytest.fixture
def dest(fake_gcs: Any, bucket: str, tmp_path: Path) -> GCSDestination:
    return destination(
        bucket=bucket, endpoint_url=fake_gcs.endpoint, service_account_file=write_key_file(tmp_path)
    )


def md5_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()  # noqa: S324  (GCS reports MD5)


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_signed_put_lands_under_the_exact_key_with_type_and_name(
    fake_gcs: Any, dest: GCSDestination, name: str
) -> None:
    request = presign_upload(dest, name, content_type="text/csv", metadata={"tenant": "acme"})
    answer = send(request, BODY)
    assert answer.status_code == 200, answer.text
    stored = client(fake_gcs).bucket(dest.bucket).get_blob(request.key)
    assert stored is not None
    assert stored.name == request.key
    assert stored.download_as_bytes() == BODY
    assert stored.content_type == "text/csv"
    assert stored.metadata == {
        "original-filename": request.headers["x-goog-meta-original-filename"],
        "tenant": "acme",
    }
    assert unquote(stored.metadata["original-filename"]) == unicodedata.normalize("NFC", name)


def test_emulator_ignores_the_xml_write_once_header(fake_gcs: Any, dest: GCSDestination) -> None:
    """fake-gcs-server replaces the object although ``x-goog-if-generation-match: 0`` is sent.

    Cloud Storage answers 412 to the second PUT; the header is signed (tests/test_gcs_presign.py proves a
    request without it does not verify). The emulator honours the same condition only on its JSON API.
    """
    request = presign_upload(dest, "once.csv")
    assert request.headers["x-goog-if-generation-match"] == "0"
    assert send(request, BODY).status_code == 200
    second = send(request, b"replaced\n")
    assert second.status_code == 200  # Cloud Storage: 412 Precondition Failed
    blob = client(fake_gcs).bucket(dest.bucket).get_blob(request.key)
    assert blob is not None
    assert blob.download_as_bytes() == b"replaced\n"
    with pytest.raises(PreconditionFailed):  # the JSON API (multipart upload) does check the condition
        client(fake_gcs).bucket(dest.bucket).blob(request.key).upload_from_string(
            b"json api\n", if_generation_match=0
        )


def test_resumable_start_then_chunks(fake_gcs: Any, dest: GCSDestination) -> None:
    """The signed start gives a session URI; 256 KiB chunks then complete the upload.

    fake-gcs-server 1.54 departs from Cloud Storage on the XML start: it answers 200 (Cloud Storage: 201),
    takes the object name, type and metadata from a JSON body or a ``name`` query parameter, not from the
    signed path and headers, so the object is stored under the empty name. The test checks the bytes by
    size and MD5 and asserts that emulator behaviour as it is.
    """
    request = gcs.start_resumable(
        dest, UploadOptions(filename="big.csv", content_type="text/csv", max_bytes=10**7)
    )
    assert request.method == "POST"
    assert request.headers["x-goog-resumable"] == "start"
    start = requests.post(request.url, headers=dict(request.headers), timeout=30)
    assert start.status_code in (200, 201), start.text
    session = start.headers["Location"]
    parts = urlsplit(session)
    assert f"{parts.scheme}://{parts.netloc}" == fake_gcs.endpoint
    assert parts.path == f"/upload/storage/v1/b/{dest.bucket}/o"
    assert parse_qs(parts.query)["upload_id"][0]

    chunk = 256 * 1024
    data = bytes(range(256)) * (chunk // 256) + b"last,chunk\n"
    first = requests.put(
        session, data=data[:chunk], headers={"Content-Range": f"bytes 0-{chunk - 1}/*"}, timeout=30
    )
    assert first.status_code == 308
    assert first.headers["Range"] == f"bytes=0-{chunk - 1}"
    last = requests.put(
        session,
        data=data[chunk:],
        headers={"Content-Range": f"bytes {chunk}-{len(data) - 1}/{len(data)}"},
        timeout=30,
    )
    assert last.status_code == 200, last.text
    stored = last.json()
    assert int(stored["size"]) == len(data)
    assert stored["md5Hash"] == md5_b64(data)
    assert stored["name"] == ""  # emulator limitation: Cloud Storage stores it under request.key


def test_form_post_stores_key_type_and_metadata(fake_gcs: Any, dest: GCSDestination) -> None:
    """A browser form upload with the POST policy's fields.

    fake-gcs-server routes form uploads only at ``/BUCKET`` and answers 404 at ``/BUCKET/`` (the URL Cloud
    Storage and google-cloud-storage use), so the form is posted to the URL without its trailing slash. The
    emulator enforces no policy condition; tests/test_gcs_presign.py checks them with the verifier.
    """
    request = presign_upload(dest, "form é.csv", method="POST", content_type="text/csv", max_bytes=1000)
    assert request.url == f"{fake_gcs.endpoint}/{dest.bucket}/"
    assert send(request, BODY).status_code == 404  # emulator routing, see the docstring
    answer = send(request, BODY, url=request.url.rstrip("/"))
    assert answer.status_code == 204, answer.text
    stored = client(fake_gcs).bucket(dest.bucket).get_blob(request.key)
    assert stored is not None
    assert stored.download_as_bytes() == BODY
    assert stored.content_type == "text/csv"
    assert stored.metadata == {"original-filename": metadata_filename("form é.csv")}


def test_sign_blob_upload_round_trip(
    fake_gcs: Any, bucket: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with fake_iam() as iam:
        configured = keyless(monkeypatch, tmp_path, iam, bucket=bucket, endpoint_url=fake_gcs.endpoint)
        request = presign_upload(configured, "keyless.csv", content_type="text/csv")
        assert len(iam.sign_calls) == 1
    granted = verify_signed_url(
        request.url,
        method="PUT",
        headers=request.headers,
        now=request.expires_at,
        public_key=public_key_of(iam.info),
    )
    assert granted.client_id == iam.email
    assert send(request, BODY).status_code == 200
    stored = client(fake_gcs).bucket(bucket).get_blob(request.key)
    assert stored is not None
    assert stored.download_as_bytes() == BODY


def test_hmac_upload_round_trip(fake_gcs: Any, bucket: str) -> None:
    configured = destination(
        bucket=bucket,
        endpoint_url=fake_gcs.endpoint,
        hmac_access_id="GOOG1EBYOSFAKEGCS",
        hmac_secret="fake-gcs-hmac-secret",
    )
    request = presign_upload(configured, "hmac.csv", content_length=len(BODY))
    assert request.headers["x-goog-content-length-range"] == f"{len(BODY)},{len(BODY)}"
    assert send(request, BODY).status_code == 200
    stored = client(fake_gcs).bucket(bucket).get_blob(request.key)
    assert stored is not None
    assert stored.download_as_bytes() == BODY
