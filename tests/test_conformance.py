"""The same upload cases against every provider, each on its local server, sent with plain HTTP.

Servers and what they check (../shared/EMULATORS.md): LocalStack (S3) checks presigned signatures, Azurite
(Azure) checks SAS, fake-gcs-server (GCS) checks nothing about signed URLs and ignores the XML write-once
header. Where the emulator departs from the cloud, the case asserts what the emulator measurably does, in a
branch that says so; the GCS signatures themselves are proven by tests/test_goog4_*.py.
"""

from __future__ import annotations

import abc
import importlib
import inspect
import json
import socket
import subprocess
import sys
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar, NoReturn, Protocol, runtime_checkable
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import pytest
import requests

import byos.http
from byos.config import Destination
from byos.errors import InvalidInputError
from byos.keys import KeyLayout, key_problems, metadata_filename
from byos.models import UploadRequest
from byos.providers import PROVIDER_MODULES, Provider, get_provider
from byos.uploads import presign_upload
from tests import azure_helpers, gcs_helpers, s3_helpers

BODY = b"id,name\n1,Ada\n2,Grace\n"
CONTENT_TYPE = "text/csv"
TIMEOUT = 10
HOSTILE_NAMES = {
    "dot-dot-path": "../../etc/passwd",
    "bidi-override": "Q3 report \u202e(final).csv",
    "emoji": "emoji \U0001f600.csv",
    "300-chars": "a" * 300 + ".csv",
    "crlf": "x\r\ny.csv",
}
SDK_ROOTS = ("boto3", "botocore", "s3transfer", "aiobotocore", "azure", "msal", "google")
"""Top-level packages of the cloud SDKs (``google`` covers google-auth, google-cloud-*, api-core)."""

_HEX = "0123456789abcdef"
_BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

# Imports one provider module, then presigns with static credentials, listing the SDK modules loaded at each
# step. Runs in a fresh interpreter: this test process has every SDK imported already.
_SDK_PROBE = """
import json, sys
roots = set(sys.argv[3].split(","))
def loaded():
    return sorted(name for name in sys.modules if name.partition(".")[0] in roots)
module = __import__(sys.argv[1], fromlist=["NAME"])
after_import = loaded()
from byos.config import destination_from_dict
from byos.uploads import presign_upload
request = presign_upload(destination_from_dict(json.loads(sys.argv[2]), env=False), "report.csv")
print(json.dumps({"name": module.NAME, "import": after_import, "presign": loaded(), "key": request.key}))
"""


@runtime_checkable
class CheckableProvider(Provider, Protocol):
    """:class:`byos.providers.Provider`, checkable with ``isinstance``."""


@dataclass(frozen=True)
class Stored:
    """An object as the provider's SDK reads it back."""

    body: bytes
    content_type: str | None
    metadata: Mapping[str, str]


class ProviderSetup(abc.ABC):
    """How one provider's conformance cases reach its local server (the SDK only arranges and inspects)."""

    id: ClassVar[str]
    provider: ClassVar[str]
    server_fixture: ClassVar[str]
    signature_parameter: ClassVar[str]
    """The URL query parameter holding the signature."""
    metadata_name: ClassVar[str]
    """The metadata name the original file name is stored under, as the SDK reports it."""
    write_once_header: ClassVar[tuple[str, str]]
    """The signed header that makes the cloud refuse to replace an object."""
    checks_signatures: ClassVar[bool]
    enforces_write_once: ClassVar[bool]

    @abc.abstractmethod
    def client(self, server: Any) -> Any:
        """An SDK client for arranging and inspecting."""

    @abc.abstractmethod
    def new_bucket(self, server: Any) -> str:
        """Create a fresh bucket (container) and return its name."""

    @abc.abstractmethod
    def destination(self, server: Any, bucket: str, directory: Path) -> Destination:
        """A destination on the server, signing with static credentials."""

    @abc.abstractmethod
    def offline_settings(self, directory: Path) -> dict[str, Any]:
        """Settings of a static-credential destination (no server needed), for the SDK-free check."""

    @abc.abstractmethod
    def read(self, client: Any, bucket: str, key: str) -> Stored:
        """Read one object back with the SDK."""

    @abc.abstractmethod
    def keys(self, client: Any, bucket: str) -> list[str]:
        """Every key in the bucket."""

    @abc.abstractmethod
    def url_expires_at(self, query: Mapping[str, str]) -> datetime:
        """When the signed URL (its decoded query parameters) says it stops working."""


class S3LocalStack(ProviderSetup):
    id = "s3-localstack"
    provider = "s3"
    server_fixture = "localstack"
    signature_parameter = "X-Amz-Signature"
    metadata_name = "original-filename"
    write_once_header = ("If-None-Match", "*")
    checks_signatures = True
    enforces_write_once = True

    def client(self, server: Any) -> Any:
        return s3_helpers.client(server)

    def new_bucket(self, server: Any) -> str:
        return s3_helpers.new_bucket(server)

    def destination(self, server: Any, bucket: str, directory: Path) -> Destination:  # noqa: ARG002  (static keys need no file)
        return s3_helpers.destination(server, bucket)

    def offline_settings(self, directory: Path) -> dict[str, Any]:  # noqa: ARG002  (static keys need no file)
        return {
            "provider": "s3",
            "bucket": "acme-imports",
            "region": "eu-west-1",
            "access_key_id": "AKIAIOSFODNN7EXAMPLE",
            "secret_access_key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        }

    def read(self, client: Any, bucket: str, key: str) -> Stored:
        found = client.get_object(Bucket=bucket, Key=key)
        return Stored(found["Body"].read(), found.get("ContentType"), found["Metadata"])

    def keys(self, client: Any, bucket: str) -> list[str]:
        return [item["Key"] for item in client.list_objects_v2(Bucket=bucket).get("Contents", [])]

    def url_expires_at(self, query: Mapping[str, str]) -> datetime:
        signed = datetime.strptime(query["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        return signed + timedelta(seconds=int(query["X-Amz-Expires"]))


class GcsFake(ProviderSetup):
    id = "gcs-fake"
    provider = "gcs"
    server_fixture = "fake_gcs"
    signature_parameter = "X-Goog-Signature"
    metadata_name = "original-filename"
    write_once_header = ("x-goog-if-generation-match", "0")
    checks_signatures = False  # fake-gcs-server accepts any signature (EMULATORS.md)
    enforces_write_once = False  # … and ignores x-goog-if-generation-match on the XML API

    def client(self, server: Any) -> Any:
        return gcs_helpers.client(server)

    def new_bucket(self, server: Any) -> str:
        return gcs_helpers.new_bucket(server)

    def destination(self, server: Any, bucket: str, directory: Path) -> Destination:
        return gcs_helpers.destination(
            bucket=bucket,
            endpoint_url=server.endpoint,
            service_account_file=gcs_helpers.write_key_file(directory),
        )

    def offline_settings(self, directory: Path) -> dict[str, Any]:
        return {
            "provider": "gcs",
            "bucket": "acme-imports",
            "location": "EUROPE-WEST1",
            "service_account_file": str(gcs_helpers.write_key_file(directory)),
        }

    def read(self, client: Any, bucket: str, key: str) -> Stored:
        blob = client.bucket(bucket).get_blob(key)
        assert blob is not None, key
        return Stored(blob.download_as_bytes(), blob.content_type, blob.metadata or {})

    def keys(self, client: Any, bucket: str) -> list[str]:
        return [blob.name for blob in client.list_blobs(bucket)]

    def url_expires_at(self, query: Mapping[str, str]) -> datetime:
        signed = datetime.strptime(query["X-Goog-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        return signed + timedelta(seconds=int(query["X-Goog-Expires"]))


class AzureAzurite(ProviderSetup):
    id = "azure-azurite"
    provider = "azure"
    server_fixture = "azurite"
    signature_parameter = "sig"
    metadata_name = "original_filename"  # Azure metadata names are C# identifiers
    write_once_header = ("If-None-Match", "*")
    checks_signatures = True
    enforces_write_once = True

    def client(self, server: Any) -> Any:
        return azure_helpers.service(server)

    def new_bucket(self, server: Any) -> str:
        return azure_helpers.new_container(server)

    def destination(self, server: Any, bucket: str, directory: Path) -> Destination:  # noqa: ARG002  (an account key needs no file)
        return azure_helpers.destination(server, bucket)

    def offline_settings(self, directory: Path) -> dict[str, Any]:  # noqa: ARG002  (an account key needs no file)
        return {
            "provider": "azure",
            "account_name": "acmeimports",
            "container": "uploads",
            "account_key": "YnlvcyBjb25mb3JtYW5jZSB0ZXN0IGFjY291bnQga2V5IDAxMjM0NTY3ODk=",
        }

    def read(self, client: Any, bucket: str, key: str) -> Stored:
        blob = client.get_blob_client(bucket, key)
        properties = blob.get_blob_properties()
        body = blob.download_blob().readall()
        return Stored(body, properties.content_settings.content_type, properties.metadata)

    def keys(self, client: Any, bucket: str) -> list[str]:
        return list(client.get_container_client(bucket).list_blob_names())

    def url_expires_at(self, query: Mapping[str, str]) -> datetime:
        return datetime.strptime(query["se"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


SETUPS: tuple[ProviderSetup, ...] = (S3LocalStack(), GcsFake(), AzureAzurite())


@dataclass(frozen=True)
class Bench:
    """One provider setup on its server with a fresh, empty bucket and a destination pointing at it."""

    setup: ProviderSetup
    client: Any
    bucket: str
    destination: Destination

    def read(self, key: str) -> Stored:
        return self.setup.read(self.client, self.bucket, key)

    def keys(self) -> list[str]:
        return sorted(self.setup.keys(self.client, self.bucket))


@pytest.fixture
def setup(request: pytest.FixtureRequest) -> ProviderSetup:
    chosen = request.param
    assert isinstance(chosen, ProviderSetup)
    return chosen


@pytest.fixture
def bench(setup: ProviderSetup, request: pytest.FixtureRequest, tmp_path: Path) -> Bench:
    server = request.getfixturevalue(setup.server_fixture)
    bucket = setup.new_bucket(server)
    return Bench(setup, setup.client(server), bucket, setup.destination(server, bucket, tmp_path))


def send(request: UploadRequest, body: bytes, *, url: str | None = None) -> requests.Response:
    """Send exactly what a browser is told to: the method, the URL and the headers, nothing else."""
    return requests.request(
        request.method,
        request.url if url is None else url,
        data=body,
        headers=dict(request.headers),
        timeout=TIMEOUT,
    )


def signed_query(url: str) -> dict[str, str]:
    """The URL's query parameters, percent-decoded (``+`` stays ``+``, as signers read base64 values)."""
    pairs = [pair.partition("=") for pair in urlsplit(url).query.split("&")]
    decoded = {unquote(name): unquote(value) for name, _, value in pairs}
    assert len(decoded) == len(pairs), "a parameter appears twice"
    return decoded


def flip_last(signature: str) -> str:
    """Change the signature's last character (before base64 padding) so the decoded bytes change too."""
    body = signature.rstrip("=")
    alphabet = _HEX if set(body.lower()) <= set(_HEX) else _BASE64
    last = body[-1].lower() if alphabet == _HEX else body[-1]
    flipped = alphabet[(alphabet.index(last) + len(alphabet) // 2) % len(alphabet)]
    return body[:-1] + flipped + signature[len(body) :]


def with_parameter(url: str, name: str, value: str) -> str:
    """``url`` with query parameter ``name`` set to ``value`` (other parameters left byte for byte)."""
    parts = urlsplit(url)
    pairs = parts.query.split("&")
    index = next(i for i, pair in enumerate(pairs) if unquote(pair.partition("=")[0]) == name)
    pairs[index] = f"{quote(name, safe='')}={quote(value, safe='')}"
    return urlunsplit(parts._replace(query="&".join(pairs)))


def is_success(status: int) -> bool:
    return 200 <= status < 300


@pytest.mark.parametrize("setup", SETUPS, ids=[s.id for s in SETUPS], indirect=True)
class TestProviderConformance:
    """Every provider, the same cases: what the browser sends, what lands, what is refused."""

    # --- the provider module ---

    def test_module_satisfies_the_provider_protocol(self, setup: ProviderSetup) -> None:
        module = importlib.import_module(PROVIDER_MODULES[setup.provider])
        assert isinstance(module, CheckableProvider)
        assert not isinstance(importlib.import_module("byos.keys"), CheckableProvider)  # the check can fail
        assert get_provider(setup.provider) is module
        assert setup.provider == module.NAME
        wanted = list(inspect.signature(Provider.presign_upload).parameters)[1:]  # without self
        assert list(inspect.signature(module.presign_upload).parameters) == wanted

    def test_import_and_static_presign_load_no_sdk(self, setup: ProviderSetup, tmp_path: Path) -> None:
        settings = json.dumps(setup.offline_settings(tmp_path))
        module = PROVIDER_MODULES[setup.provider]
        done = subprocess.run(
            [sys.executable, "-c", _SDK_PROBE, module, settings, ",".join(SDK_ROOTS)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        seen = json.loads(done.stdout)
        assert seen["name"] == setup.provider
        assert seen["key"].endswith("-report.csv")  # the presign really ran
        assert seen["import"] == [], f"import {module} loaded SDK modules"
        assert seen["presign"] == [], "presigning with static credentials loaded SDK modules"

    # --- a browser's upload ---

    @pytest.mark.emulator
    def test_put_lands_with_bytes_key_type_and_original_name(self, bench: Bench) -> None:
        name = "Q3 report é.csv"
        upload_id = str(uuid.uuid4())
        request = presign_upload(bench.destination, name, content_type=CONTENT_TYPE, upload_id=upload_id)
        assert request.provider == bench.setup.provider
        assert request.method == "PUT"
        assert request.key == KeyLayout.from_destination(bench.destination).raw_key(name, upload_id=upload_id)

        answer = send(request, BODY)

        assert is_success(answer.status_code), (answer.status_code, answer.text[:300])
        assert bench.keys() == [request.key]
        stored = bench.read(request.key)
        assert stored.body == BODY
        assert stored.content_type == CONTENT_TYPE
        assert stored.metadata[bench.setup.metadata_name] == metadata_filename(name)
        assert unquote(stored.metadata[bench.setup.metadata_name]) == name

    @pytest.mark.emulator
    @pytest.mark.parametrize("name", HOSTILE_NAMES.values(), ids=HOSTILE_NAMES.keys())
    def test_hostile_file_name_lands_inside_the_prefix(self, bench: Bench, name: str) -> None:
        prefix = bench.destination.prefix
        assert prefix  # the helpers' destinations have one, so "inside" means something
        request = presign_upload(bench.destination, name, content_type=CONTENT_TYPE)
        assert request.key.startswith(prefix)
        assert "/" not in request.key.removeprefix(prefix)
        assert key_problems(request.key) == []

        answer = send(request, BODY)

        assert is_success(answer.status_code), (answer.status_code, answer.text[:300])
        assert bench.keys() == [request.key]  # nothing landed anywhere else
        stored = bench.read(request.key)
        assert stored.body == BODY
        assert stored.metadata[bench.setup.metadata_name] == metadata_filename(name)

    # --- the request itself ---

    def test_repr_shows_no_signature(self, setup: ProviderSetup, tmp_path: Path) -> None:
        from byos.config import destination_from_dict  # noqa: PLC0415  (next to its one use)

        destination = destination_from_dict(setup.offline_settings(tmp_path), env=False)
        request = presign_upload(destination, "report.csv", content_type=CONTENT_TYPE)
        signature = signed_query(request.url)[setup.signature_parameter]
        assert len(signature) >= 32
        shown = repr(request)
        assert signature not in shown
        assert quote(signature, safe="") not in shown
        assert request.url not in shown
        assert request.key in shown  # the repr still says what it is

    def test_expires_at_is_within_the_requested_lifetime(self, setup: ProviderSetup, tmp_path: Path) -> None:
        from byos.config import destination_from_dict  # noqa: PLC0415  (next to its one use)

        destination = destination_from_dict(setup.offline_settings(tmp_path), env=False)
        lifetime = timedelta(minutes=7)
        before = datetime.now(UTC).replace(microsecond=0)
        request = presign_upload(destination, "report.csv", expires=lifetime)
        after = datetime.now(UTC)
        assert request.expires_at.utcoffset() == timedelta(0)
        assert before + lifetime <= request.expires_at <= after + lifetime
        assert setup.url_expires_at(signed_query(request.url)) == request.expires_at

    # --- refusals ---

    @pytest.mark.emulator
    def test_write_once_refuses_the_same_request_again(self, bench: Bench) -> None:
        request = presign_upload(bench.destination, "once.csv", content_type=CONTENT_TYPE)
        header, value = bench.setup.write_once_header
        assert request.headers[header] == value
        assert is_success(send(request, BODY).status_code)

        again = send(request, b"replaced\n")

        if bench.setup.enforces_write_once:
            assert again.status_code in (403, 409, 412), (again.status_code, again.text[:300])
            assert bench.read(request.key).body == BODY
        else:
            # EMULATOR LIMITATION (fake-gcs-server): it ignores the signed x-goog-if-generation-match: 0 on
            # the XML API and replaces the object; Cloud Storage answers 412. Asserted as measured.
            assert is_success(again.status_code), (again.status_code, again.text[:300])
            assert bench.read(request.key).body == b"replaced\n"
        assert bench.keys() == [request.key]

    @pytest.mark.emulator
    def test_tampered_signature_is_refused(self, bench: Bench) -> None:
        request = presign_upload(bench.destination, "tampered.csv", content_type=CONTENT_TYPE)
        parameter = bench.setup.signature_parameter
        signature = signed_query(request.url)[parameter]
        tampered = with_parameter(request.url, parameter, flip_last(signature))
        assert signed_query(tampered)[parameter] != signature
        answer = send(request, BODY, url=tampered)

        if bench.setup.checks_signatures:
            assert answer.status_code == 403, (answer.status_code, answer.text[:300])
            assert bench.keys() == []
            # Control: the same rebuilt URL with the signature unchanged is accepted, so the flip was refused.
            control = send(request, BODY, url=with_parameter(request.url, parameter, signature))
            assert is_success(control.status_code), (control.status_code, control.text[:300])
            assert bench.keys() == [request.key]
        else:
            # EMULATOR LIMITATION (fake-gcs-server): it checks no signature and stores the upload; Cloud
            # Storage answers 403. The signature is proven by tests/test_goog4_verifier.py instead.
            assert is_success(answer.status_code), (answer.status_code, answer.text[:300])
            assert bench.keys() == [request.key]

    @pytest.mark.emulator
    @pytest.mark.parametrize(
        ("field", "options"),
        [("expires", {"expires": timedelta(days=8)}), ("upload_id", {"upload_id": "nope"})],
        ids=["expires-8-days", "upload-id-nope"],
    )
    def test_bad_input_is_refused_before_anything_is_sent(
        self, bench: Bench, monkeypatch: pytest.MonkeyPatch, field: str, options: dict[str, Any]
    ) -> None:
        attempts: list[object] = []

        def refuse(_socket: socket.socket, address: object) -> NoReturn:
            attempts.append(address)
            raise AssertionError(f"connection attempted to {address!r}")

        def refuse_http(*arguments: object, **_: object) -> NoReturn:
            attempts.append(arguments[:1])
            raise AssertionError("byos.http.send called")

        with monkeypatch.context() as patched:
            patched.setattr(socket.socket, "connect", refuse)
            patched.setattr(byos.http, "send", refuse_http)
            with pytest.raises(InvalidInputError) as raised:
                presign_upload(bench.destination, "report.csv", content_type=CONTENT_TYPE, **options)
        assert raised.value.field == field
        message = str(raised.value)
        assert message.startswith(f"{field}: ")
        assert "\n" not in message
        assert attempts == []
        assert bench.keys() == []


def test_every_registered_provider_has_a_setup() -> None:
    assert sorted(setup.provider for setup in SETUPS) == sorted(PROVIDER_MODULES)
