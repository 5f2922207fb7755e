"""byos GCS V4 signed URLs and POST policies equal google-cloud-storage's byte for byte, for generated inputs.

google-cloud-storage signs only ``GOOG4-RSA-SHA256``. For ``GOOG4-HMAC-SHA256`` the comparison runs the
SDK's own signing functions with the algorithm literal replaced (their source, recompiled) and an HMAC
``Signing`` credential; the independent verifier checks every URL as well.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import inspect
import json
import string
import textwrap
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from typing import Any
from unittest import mock
from urllib.request import Request, urlopen

import google.auth.credentials
import google.auth.transport.requests
import google.cloud.storage._signing as sdk_signing
import google.cloud.storage.blob as sdk_blob
import google.cloud.storage.client as sdk_client
import pytest
import requests
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from google.auth.credentials import AnonymousCredentials
from google.cloud import storage
from google.oauth2 import service_account
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from byos.signing import goog4
from tests.goog4_verifier import (
    hmac_signing_key,
    private_key_of,
    public_key_of,
    service_account_info,
    verify_post_policy,
    verify_signed_url,
)

ENDPOINTS = (
    "https://storage.googleapis.com",
    "http://127.0.0.1:4443",
    "http://localhost:9023",
    "https://storage.example.internal:8443",
    "http://[::1]:4443",
)
HMAC_ACCESS_ID = "GOOG1EBYOSTESTACCESSID0123456789ABCDEFGHIJKLMNOPQRSTUV"
HMAC_SECRET = "bGoa+V7g/yqDXvKRqq+JTFn4uQZbPiQJo4pf9RzJ"
SETTINGS: Any = {"deadline": None, "derandomize": True, "database": None}
SDK_SUPPRESS = [HealthCheck.too_slow, HealthCheck.filter_too_much]


# ------------------------------------------------------------------------------------------ SDK side


class Sdk:
    """google-cloud-storage clients, credentials and clock freezing for one test key."""

    def __init__(self, info: dict[str, str]) -> None:
        self.info = info
        self.credentials = service_account.Credentials.from_service_account_info(info)  # type: ignore[no-untyped-call]
        self._clients: dict[str, storage.Client] = {}
        self.hmac_url_v4, _ = _recompiled_with_hmac(
            sdk_signing.generate_signed_url_v4, sdk_signing, occurrences=2
        )
        self.hmac_post_v4, self._hmac_post_globals = _recompiled_with_hmac(
            storage.Client.generate_signed_post_policy_v4, sdk_client, occurrences=2
        )

    def client(self, endpoint: str) -> storage.Client:
        if endpoint not in self._clients:
            self._clients[endpoint] = storage.Client(
                project="byos-test", credentials=self.credentials, client_options={"api_endpoint": endpoint}
            )
        return self._clients[endpoint]

    @contextmanager
    def frozen(self, now: datetime) -> Iterator[None]:
        """Make the SDK read ``now`` from its clock (it calls ``_NOW(_UTC)``)."""

        def fake_now(tz: Any = None) -> datetime:
            moment = now.astimezone(UTC)
            return moment if tz is not None else moment.replace(tzinfo=None)

        with (
            mock.patch.object(sdk_signing, "_NOW", fake_now),
            mock.patch.object(sdk_client, "_NOW", fake_now),
            mock.patch.dict(self._hmac_post_globals, {"_NOW": fake_now}),
        ):
            yield


def _recompiled_with_hmac(
    function: Callable[..., Any], module: Any, *, occurrences: int
) -> tuple[Callable[..., Any], dict[str, Any]]:
    """Return the SDK function recompiled from its own source with only GOOG4-RSA → GOOG4-HMAC changed."""
    source = textwrap.dedent(inspect.getsource(function))
    assert source.count('"GOOG4-RSA-SHA256"') == occurrences
    source = source.replace('"GOOG4-RSA-SHA256"', '"GOOG4-HMAC-SHA256"')
    namespace = dict(vars(module))
    code = compile(source, inspect.getsourcefile(function) or "<sdk>", "exec")
    exec(code, namespace)  # noqa: S102 - the SDK's own source, one literal changed
    recompiled: Callable[..., Any] = namespace[function.__name__]
    return recompiled, namespace


class HmacSdkCredentials(google.auth.credentials.Signing):
    """An SDK ``Signing`` credential that signs with the HMAC V4 key (derived by the test verifier)."""

    def __init__(self, access_id: str, secret: str) -> None:
        self._access_id = access_id
        self._secret = secret

    def sign_bytes(self, message: bytes) -> bytes:
        text = message.decode("ascii")
        if text.startswith("GOOG4-HMAC-SHA256\n"):
            datestamp = text.split("\n")[1][:8]
        else:  # a base64 POST policy: the date is in its x-goog-date condition
            conditions = json.loads(base64.b64decode(message))["conditions"]
            datestamp = next(c["x-goog-date"] for c in conditions if "x-goog-date" in c)[:8]
        return hmac.new(hmac_signing_key(self._secret, datestamp), message, hashlib.sha256).digest()

    @property
    def signer_email(self) -> str:
        return self._access_id

    @property
    def signer(self) -> HmacSdkCredentials:
        return self


@pytest.fixture(scope="module")
def sdk() -> Sdk:
    return Sdk(service_account_info(seed=1))


@pytest.fixture(scope="module")
def rsa_signer(sdk: Sdk) -> goog4.ServiceAccountSigner:
    return goog4.ServiceAccountSigner.from_service_account_info(sdk.info)


@pytest.fixture(scope="module")
def hmac_signer() -> goog4.HmacSigner:
    return goog4.HmacSigner(HMAC_ACCESS_ID, HMAC_SECRET)


# ------------------------------------------------------------------------------------------ strategies


def valid_object_name(name: str) -> bool:
    """Cloud Storage's object-name rules plus no '.'/'..' segment (clients rewrite those)."""
    size = len(name.encode("utf-8"))
    segments = name.split("/")
    return (
        1 <= size <= 1024
        and "\r" not in name
        and "\n" not in name
        and not name.startswith(".well-known/acme-challenge/")
        and "." not in segments
        and ".." not in segments
    )


def valid_bucket(name: str) -> bool:
    labels = name.split(".")
    return (
        3 <= len(name) <= (222 if "." in name else 63)
        and all(1 <= len(label) <= 63 for label in labels)
        and not name.startswith("goog")
        and "google" not in name
        and "g00gle" not in name
        and not all(label.isdigit() for label in labels)
    )


HOSTILE = " +%=~?#&;:@$,!*'()[]\\\"<>^`{|}/-_.é中€😀👩\u200d💻\u0301\u00a0\t\x00\x7f"
object_names = st.one_of(
    st.text(st.characters(codec="utf-8", exclude_characters="\r\n"), min_size=1, max_size=40),
    st.text(st.sampled_from(HOSTILE + "ab"), min_size=1, max_size=40),
    st.lists(
        st.text(string.ascii_letters + string.digits + "-_ .+", min_size=1, max_size=20),
        min_size=1,
        max_size=5,
    ).map("/".join),
    st.text(st.sampled_from("aé中😀/ +"), min_size=200, max_size=400),
    st.sampled_from(["a" * 1024, "é" * 512, "😀" * 256, "/leading", "trailing/", "a//b", "...", ".x/..y"]),
).filter(valid_object_name)
labels = st.from_regex(r"[a-z0-9](?:[a-z0-9_-]{0,20}[a-z0-9])?", fullmatch=True)
buckets = st.one_of(
    st.from_regex(r"[a-z0-9][a-z0-9_-]{1,61}[a-z0-9]", fullmatch=True),
    st.lists(labels, min_size=2, max_size=4).map(".".join),
    st.sampled_from(["byos-test", "a" * 63, ".".join(["b" * 63] * 3) + ".c" * 15, "my_bucket.example.com"]),
).filter(valid_bucket)
printable = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40)
nows = st.datetimes(
    min_value=datetime(2000, 1, 1),  # noqa: DTZ001 - hypothesis bounds are naive; timezones= makes them aware
    max_value=datetime(2099, 12, 31),  # noqa: DTZ001 - as above
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8))]),
)
expiries = st.one_of(st.integers(1, 604800), st.sampled_from([1, 60, 1800, 3600, 604800]))
content_types = st.sampled_from(
    [
        "text/csv",
        "application/octet-stream",
        "text/csv; charset=utf-8",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "  text/plain  ",
        "multipart/x  y;  q=1",
    ]
)


@dataclass
class UrlCase:
    """One signed-URL input, and how the SDK is asked for the same thing."""

    method: str
    bucket: str
    key: str
    headers: dict[str, str]
    expires: int
    now: datetime
    endpoint: str
    query_params: dict[str, str] | None = None
    sdk_method: str = ""
    sdk_headers: dict[str, str] = field(default_factory=dict)
    sdk_kwargs: dict[str, str] = field(default_factory=dict)

    def client_headers(self) -> dict[str, str]:
        """The headers the client sends: every signed header (the SDK's content_type/md5 are headers too)."""
        return dict(self.headers)


@st.composite
def url_cases(draw: st.DrawFn) -> UrlCase:
    headers: dict[str, str] = {}
    sdk_headers: dict[str, str] = {}
    sdk_kwargs: dict[str, str] = {}

    def add(name: str, value: str, sdk_kwarg: str | None = None) -> None:
        headers[name] = value
        if sdk_kwarg is not None and draw(st.booleans()):
            sdk_kwargs[sdk_kwarg] = value
        else:
            sdk_headers[name] = value

    resumable = draw(st.integers(0, 5)) == 0
    method = (
        "POST" if resumable else draw(st.sampled_from(["PUT", "PUT", "put", "POST", "GET", "HEAD", "DELETE"]))
    )
    if draw(st.booleans()):
        add(
            draw(st.sampled_from(["Content-Type", "content-type", "CONTENT-TYPE"])), draw(content_types), None
        )
        if "content_type" not in sdk_kwargs and draw(st.booleans()):
            name = next(iter(headers))
            sdk_kwargs["content_type"] = sdk_headers.pop(name)
    if draw(st.booleans()):
        add("x-goog-if-generation-match", draw(st.sampled_from(["0", "0", "1712345678901234"])))
    if draw(st.booleans()):
        low = draw(st.integers(0, 10**9))
        add("x-goog-content-length-range", f"{low},{low + draw(st.integers(0, 10**12))}")
    for meta_name in draw(
        st.lists(st.from_regex(r"[a-z0-9-]{1,20}", fullmatch=True), max_size=3, unique=True)
    ):
        add(draw(st.sampled_from(["x-goog-meta-", "X-Goog-Meta-"])) + meta_name, draw(printable))
    if draw(st.booleans()):
        md5 = base64.b64encode(hashlib.md5(draw(st.binary(max_size=64))).digest()).decode()  # noqa: S324 - Content-MD5 is MD5
        add("Content-MD5", md5, "content_md5")
    if draw(st.integers(0, 4)) == 0:
        add("x-goog-content-sha256", hashlib.sha256(draw(st.binary(max_size=32))).hexdigest())
    if draw(st.integers(0, 4)) == 0:
        add(
            "Content-Disposition",
            f'attachment; filename="{draw(st.from_regex(r"[a-z ]{1,12}", fullmatch=True))}"',
        )
    sdk_method = method.upper()
    if resumable:
        headers["x-goog-resumable"] = "start"
        if draw(st.booleans()):
            sdk_method = "RESUMABLE"  # the SDK's spelling of the same request
        else:
            sdk_headers["x-goog-resumable"] = "start"
    query_params = None
    if draw(st.integers(0, 4)) == 0:
        names = draw(
            st.lists(
                st.sampled_from(["userProject", "generation", "uploadId", "partNumber", "alt", "x-custom"]),
                min_size=1,
                max_size=3,
                unique=True,
            )
        )
        query_params = {
            name: draw(st.text(st.characters(codec="utf-8"), max_size=20) | st.sampled_from(HOSTILE))
            for name in names
        }
    return UrlCase(
        method=method,
        bucket=draw(buckets),
        key=draw(object_names),
        headers=headers,
        expires=draw(expiries),
        now=draw(nows),
        endpoint=draw(st.sampled_from(ENDPOINTS)),
        query_params=query_params,
        sdk_method=sdk_method,
        sdk_headers=sdk_headers,
        sdk_kwargs=sdk_kwargs,
    )


def sdk_url(sdk: Sdk, case: UrlCase, credentials: Any, **extra: Any) -> str:
    blob = sdk.client(case.endpoint).bucket(case.bucket).blob(case.key)
    with sdk.frozen(case.now):
        url: str = blob.generate_signed_url(
            version="v4",
            method=case.sdk_method,
            expiration=timedelta(seconds=case.expires),
            headers=dict(case.sdk_headers) or None,
            query_parameters=dict(case.query_params) if case.query_params is not None else None,
            credentials=credentials,
            api_access_endpoint=case.endpoint,
            **case.sdk_kwargs,
            **extra,
        )
    return url


def byos_url(signer: goog4.Goog4Signer, case: UrlCase) -> str:
    return goog4.presign_url(
        signer,
        case.method,
        case.bucket,
        case.key,
        signed_headers=case.headers,
        query_params=case.query_params,
        expires=case.expires,
        now=case.now,
        endpoint=case.endpoint,
    )


def run_counted(examples: int, test: Callable[[], None], seen: list[object]) -> None:
    """Run a @given test and assert it really ran ``examples`` generated cases."""
    test()
    assert len(seen) >= examples, f"only {len(seen)} of {examples} cases ran"


# ------------------------------------------------------------------------------------------ signed URLs


def test_rsa_signed_urls_equal_sdk(sdk: Sdk, rsa_signer: goog4.ServiceAccountSigner) -> None:
    public_key = public_key_of(sdk.info)
    seen: list[object] = []

    @settings(max_examples=320, suppress_health_check=SDK_SUPPRESS, **SETTINGS)
    @given(case=url_cases())
    def check(case: UrlCase) -> None:
        ours = byos_url(rsa_signer, case)
        assert ours == sdk_url(sdk, case, sdk.credentials)
        verified = verify_signed_url(
            ours,
            method=case.method.upper(),
            headers=case.client_headers(),
            now=case.now,
            public_key=public_key,
        )
        assert (verified.bucket, verified.object_name) == (case.bucket, case.key)
        seen.append(case)

    run_counted(320, check, seen)


def test_hmac_signed_urls_equal_sdk_algorithm_with_hmac(sdk: Sdk, hmac_signer: goog4.HmacSigner) -> None:
    credentials = HmacSdkCredentials(HMAC_ACCESS_ID, HMAC_SECRET)
    seen: list[object] = []

    @settings(max_examples=200, suppress_health_check=SDK_SUPPRESS, **SETTINGS)
    @given(case=url_cases())
    def check(case: UrlCase) -> None:
        ours = byos_url(hmac_signer, case)
        with mock.patch.object(sdk_blob, "generate_signed_url_v4", sdk.hmac_url_v4):
            assert ours == sdk_url(sdk, case, credentials)
        assert "X-Goog-Algorithm=GOOG4-HMAC-SHA256&" in ours
        verified = verify_signed_url(
            ours,
            method=case.method.upper(),
            headers=case.client_headers(),
            now=case.now,
            hmac_secret=HMAC_SECRET,
        )
        assert verified.client_id == HMAC_ACCESS_ID
        seen.append(case)

    run_counted(200, check, seen)


def test_sign_blob_signer_equals_key_file_signer(sdk: Sdk, rsa_signer: goog4.ServiceAccountSigner) -> None:
    private_key = private_key_of(sdk.info)
    calls: list[bytes] = []

    def sign_bytes(message: bytes) -> bytes:
        calls.append(message)
        return private_key.sign(message, padding.PKCS1v15(), hashes.SHA256())

    blob_signer = goog4.SignBlobSigner(sdk.info["client_email"], sign_bytes)
    seen: list[object] = []

    @settings(max_examples=40, suppress_health_check=SDK_SUPPRESS, **SETTINGS)
    @given(case=url_cases())
    def check(case: UrlCase) -> None:
        assert byos_url(blob_signer, case) == byos_url(rsa_signer, case)
        seen.append(case)

    run_counted(40, check, seen)
    assert len(calls) == len(seen)


def test_endpoint_is_normalised_as_clients_send_host(
    sdk: Sdk, rsa_signer: goog4.ServiceAccountSigner
) -> None:
    now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    headers = {"Content-Type": "text/csv"}
    case = UrlCase(
        "PUT", "byos-test", "a/b.csv", headers, 900, now, ENDPOINTS[0], sdk_headers=headers, sdk_method="PUT"
    )
    expected = sdk_url(sdk, case, sdk.credentials)
    for spelling in ("https://Storage.GoogleAPIs.com", "https://storage.googleapis.com:443/"):
        written = goog4.presign_url(
            rsa_signer,
            "PUT",
            "byos-test",
            "a/b.csv",
            signed_headers=case.headers,
            expires=900,
            now=now,
            endpoint=spelling,
        )
        assert written == expected


# ----------------------------------------------------------------------------------------- signBlob over HTTP


class FakeIamCredentials:
    """A local HTTP server playing the IAM Credentials API's signBlob, signing with the test key."""

    TOKEN = "ya29.byos-test-token"

    def __init__(self, info: Mapping[str, str]) -> None:
        key = private_key_of(info)
        self.email = info["client_email"]
        self.requests: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                expected = f"/v1/projects/-/serviceAccounts/{outer.email}:signBlob"
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                ok = (
                    self.path.split("?")[0] == expected
                    and self.headers["Authorization"] == f"Bearer {outer.TOKEN}"
                )
                outer.requests.append(self.path)
                if not ok:
                    self.send_response(403)
                    self.end_headers()
                    return
                signature = key.sign(base64.b64decode(body["payload"]), padding.PKCS1v15(), hashes.SHA256())
                reply = json.dumps(
                    {"keyId": "k1", "signedBlob": base64.b64encode(signature).decode()}
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *_: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def sign_bytes(self, message: bytes) -> bytes:
        """What the provider glue does: call signBlob and decode ``signedBlob``."""
        body = json.dumps({"payload": base64.b64encode(message).decode()}).encode()
        request = Request(
            f"{self.endpoint}/v1/projects/-/serviceAccounts/{self.email}:signBlob",
            data=body,
            headers={"Authorization": f"Bearer {self.TOKEN}", "Content-Type": "application/json"},
        )
        with urlopen(request, timeout=10) as response:
            return base64.b64decode(json.loads(response.read())["signedBlob"])

    def sdk_transport(self) -> SimpleNamespace:
        """Stand-in for the SDK's ``google.auth.transport.requests`` that sends IAM calls to this server."""
        endpoint = self.endpoint

        class Redirect(requests.Session):
            def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
                url = str(url).replace("https://iamcredentials.googleapis.com", endpoint, 1)
                return super().request(method, url, *args, **kwargs)

        session = Redirect()
        session.trust_env = False
        return SimpleNamespace(Request=lambda: google.auth.transport.requests.Request(session=session))


@pytest.fixture(scope="module")
def fake_iam(sdk: Sdk) -> Iterator[FakeIamCredentials]:
    server = FakeIamCredentials(sdk.info)
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


def test_sign_blob_over_http_equals_sdk_access_token_path(
    sdk: Sdk, rsa_signer: goog4.ServiceAccountSigner, fake_iam: FakeIamCredentials
) -> None:
    blob_signer = goog4.SignBlobSigner(fake_iam.email, fake_iam.sign_bytes)
    seen: list[object] = []

    @settings(max_examples=15, suppress_health_check=SDK_SUPPRESS, **SETTINGS)
    @given(case=url_cases())
    def check(case: UrlCase) -> None:
        ours = byos_url(blob_signer, case)
        with mock.patch.object(sdk_signing, "requests", fake_iam.sdk_transport()):
            theirs = sdk_url(
                sdk,
                case,
                AnonymousCredentials(),  # type: ignore[no-untyped-call]
                service_account_email=fake_iam.email,
                access_token=FakeIamCredentials.TOKEN,
            )
        assert ours == theirs == byos_url(rsa_signer, case)
        seen.append(case)

    before = len(fake_iam.requests)
    run_counted(15, check, seen)
    assert len(fake_iam.requests) - before == 2 * len(seen)  # one signBlob call each for byos and the SDK

    now = datetime(2026, 5, 6, 7, 8, 9, tzinfo=UTC)
    url, fields = goog4.presign_post(blob_signer, "byos-test", "up/x.csv", expires=600, now=now)
    with sdk.frozen(now), mock.patch.object(sdk_signing, "requests", fake_iam.sdk_transport()):
        policy = sdk.client(ENDPOINTS[0]).generate_signed_post_policy_v4(
            "byos-test",
            "up/x.csv",
            expiration=timedelta(seconds=600),
            credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
            service_account_email=fake_iam.email,
            access_token=FakeIamCredentials.TOKEN,
        )
    assert (url, list(fields.items())) == (policy["url"], list(policy["fields"].items()))


# ------------------------------------------------------------------------------------------ POST policies


@dataclass
class PostCase:
    """One POST policy input."""

    bucket: str
    key: str
    conditions: list[Any]
    fields: dict[str, str]
    expires: int
    now: datetime
    endpoint: str
    max_size: int | None


@st.composite
def post_cases(draw: st.DrawFn) -> PostCase:
    key = draw(object_names)
    conditions: list[Any] = []
    max_size = None
    if draw(st.booleans()):
        low = draw(st.integers(0, 1000))
        max_size = low + draw(st.integers(0, 10**10))
        conditions.append(goog4.content_length_range(low, max_size))
    content_type = draw(content_types)
    type_condition = draw(st.booleans())
    if type_condition:
        conditions.append({"Content-Type": content_type})
    if draw(st.booleans()):
        conditions.append(goog4.starts_with("key", key[: draw(st.integers(0, len(key)))]))
    if draw(st.integers(0, 3)) == 0:
        conditions.append(["eq", "$key", key])
    fields: dict[str, str] = {}
    for meta in draw(st.lists(st.from_regex(r"[a-z0-9-]{1,16}", fullmatch=True), max_size=3, unique=True)):
        fields[f"x-goog-meta-{meta}"] = draw(st.text(st.characters(codec="utf-8"), max_size=30))
    if type_condition or draw(st.booleans()):
        fields["Content-Type"] = content_type  # what the browser form sends
    if draw(st.booleans()):
        fields["success_action_status"] = draw(st.sampled_from(["201", "204"]))
    return PostCase(
        bucket=draw(buckets),
        key=key,
        conditions=draw(st.permutations(conditions)),
        fields=fields,
        expires=draw(expiries),
        now=draw(nows),
        endpoint=draw(st.sampled_from(ENDPOINTS)),
        max_size=max_size,
    )


def byos_post(signer: goog4.Goog4Signer, case: PostCase) -> tuple[str, dict[str, str]]:
    return goog4.presign_post(
        signer,
        case.bucket,
        case.key,
        conditions=case.conditions,
        fields=case.fields,
        expires=case.expires,
        now=case.now,
        endpoint=case.endpoint,
    )


def assert_form_uploads(url: str, fields: dict[str, str], case: PostCase, **key: Any) -> None:
    """The independent verifier accepts the form as a browser posts it (largest allowed size)."""
    size = case.max_size if case.max_size is not None else 1
    verified = verify_post_policy(url, fields, size=size, now=case.now.astimezone(UTC), **key)
    assert (verified.bucket, verified.key) == (case.bucket, case.key)


def test_rsa_post_policies_equal_sdk(sdk: Sdk, rsa_signer: goog4.ServiceAccountSigner) -> None:
    public_key = public_key_of(sdk.info)
    seen: list[object] = []

    @settings(max_examples=110, suppress_health_check=SDK_SUPPRESS, **SETTINGS)
    @given(case=post_cases())
    def check(case: PostCase) -> None:
        url, fields = byos_post(rsa_signer, case)
        with sdk.frozen(case.now):
            policy = sdk.client(case.endpoint).generate_signed_post_policy_v4(
                case.bucket,
                case.key,
                expiration=timedelta(seconds=case.expires),
                conditions=json.loads(json.dumps(case.conditions)),
                fields=dict(case.fields),
                credentials=sdk.credentials,
            )
        assert url == policy["url"]
        assert list(fields.items()) == list(policy["fields"].items())
        assert_form_uploads(url, fields, case, public_key=public_key)
        seen.append(case)

    run_counted(110, check, seen)


def test_hmac_post_policies_equal_sdk_algorithm_with_hmac(sdk: Sdk, hmac_signer: goog4.HmacSigner) -> None:
    credentials = HmacSdkCredentials(HMAC_ACCESS_ID, HMAC_SECRET)
    seen: list[object] = []

    @settings(max_examples=50, suppress_health_check=SDK_SUPPRESS, **SETTINGS)
    @given(case=post_cases())
    def check(case: PostCase) -> None:
        url, fields = byos_post(hmac_signer, case)
        with sdk.frozen(case.now):
            policy = sdk.hmac_post_v4(
                sdk.client(case.endpoint),
                case.bucket,
                case.key,
                expiration=timedelta(seconds=case.expires),
                conditions=json.loads(json.dumps(case.conditions)),
                fields=dict(case.fields),
                credentials=credentials,
            )
        assert (url, list(fields.items())) == (policy["url"], list(policy["fields"].items()))
        assert fields["x-goog-algorithm"] == "GOOG4-HMAC-SHA256"
        assert_form_uploads(url, fields, case, hmac_secret=HMAC_SECRET)
        seen.append(case)

    run_counted(50, check, seen)


def test_policy_escapes_non_ascii_like_the_sdk(rsa_signer: goog4.ServiceAccountSigner) -> None:
    now = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    _, fields = goog4.presign_post(
        rsa_signer, "byos-test", 'dir/é😀 "q".csv', fields={"x-goog-meta-n": "中</>"}, expires=60, now=now
    )
    document = base64.b64decode(fields["policy"]).decode("ascii")
    assert '"dir/\\u00e9\\ud83d\\ude00 \\"q\\".csv"' in document
    assert '{"x-goog-meta-n":"\\u4e2d</>"}' in document
    assert document.endswith('"expiration":"2026-01-02T03:05:05.678901Z"}')
