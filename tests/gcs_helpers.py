"""Helpers for the GCS tests: key files, destinations, buckets, a browser-like client, a fake IAM API."""

from __future__ import annotations

import base64
import json
import threading
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import google.auth
import pytest
import requests
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from google.auth.credentials import AnonymousCredentials
from google.auth.exceptions import RefreshError
from google.cloud import storage
from google.oauth2.credentials import Credentials as UserCredentials

from byos.config import GCSDestination, destination_from_dict
from byos.models import UploadRequest
from byos.providers import gcs_sign_blob
from tests.goog4_verifier import private_key_of, service_account_info

HMAC_ACCESS_ID = "GOOG1EBYOSTESTHMACACCESSID0123456789ABCDEFGHIJKLMNOPQRSTU"
HMAC_SECRET = "bGoa+V7g/yqDXvKRqq+JTFn4uQZbPiQJo4pf9RzJ"


def write_key_file(directory: Path, seed: int = 0, email: str | None = None) -> Path:
    """Write a service-account key file with an RSA key made at test time; return its path."""
    path = directory / f"service-account-{seed}-{uuid.uuid4().hex[:6]}.json"
    path.write_text(json.dumps(service_account_info(seed, email)), encoding="utf-8")
    return path


def destination(**settings: Any) -> GCSDestination:
    """A GCS destination (prefix ``imports/``, location EUROPE-WEST1) with the given settings."""
    values: dict[str, Any] = {
        "provider": "gcs",
        "bucket": "acme-imports",
        "location": "EUROPE-WEST1",
        "prefix": "imports/",
        **settings,
    }
    built = destination_from_dict(values, env=False)
    assert isinstance(built, GCSDestination)
    return built


def client(server: Any) -> storage.Client:
    """A google-cloud-storage client for arranging and inspecting state (never what is under test)."""
    return storage.Client(
        project=server.project,
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
        client_options={"api_endpoint": server.endpoint},
    )


def new_bucket(server: Any) -> str:
    """Create a fresh bucket on a fake-gcs-server and return its name."""
    name = f"byos-test-{uuid.uuid4().hex[:12]}"
    client(server).create_bucket(name)
    return name


def send(
    request: UploadRequest,
    body: bytes,
    *,
    url: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> requests.Response:
    """Send an upload as a browser would: the request's method, URL and headers, or a form POST."""
    target = request.url if url is None else url
    if request.fields:
        files = {"file": ("upload", body, request.fields.get("Content-Type", "application/octet-stream"))}
        return requests.post(target, data=dict(request.fields), files=files, timeout=30)
    sent = dict(request.headers if headers is None else headers)
    return requests.request(request.method, target, data=body, headers=sent, timeout=30)


# --- a local IAM Credentials API (signBlob) with an OAuth token endpoint ---


@dataclass
class FakeIam:
    """A local HTTP server playing Google's OAuth token endpoint and the IAM Credentials ``signBlob``.

    ``POST /token`` hands out :attr:`token`; ``POST /v1/projects/-/serviceAccounts/EMAIL:signBlob`` signs
    with the test key of :attr:`email` when the bearer token is right. :attr:`refusal` makes signBlob
    answer an error instead (status and JSON body) and :attr:`token_refusal` refuses the token exchange.
    """

    info: dict[str, str]
    token: str = "ya29.byos-fake-iam-token"
    refusal: tuple[int, dict[str, Any]] | None = None
    token_refusal: bool = False
    sign_calls: list[str] = field(default_factory=list)
    token_calls: int = 0
    endpoint: str = ""

    @property
    def email(self) -> str:
        """The service account whose key signs."""
        return self.info["client_email"]

    def authorized_user_file(self, directory: Path) -> Path:
        """Application Default Credentials of a user, holding this server's token until 2099.

        google-auth always refreshes user credentials at Google's own token endpoint, so the file carries a
        valid token instead (:meth:`credentials` exercises the refresh against this server).
        """
        path = directory / f"adc-{uuid.uuid4().hex[:6]}.json"
        data = {
            "type": "authorized_user",
            "client_id": "byos-test.apps.googleusercontent.com",
            "client_secret": "byos-test-client-secret",
            "refresh_token": "byos-test-refresh-token",
            "token": self.token,
            "expiry": "2099-01-01T00:00:00Z",
        }
        path.write_text(json.dumps(data), encoding="utf-8")
        return path

    def credentials(self) -> Any:
        """google-auth user credentials without a token that refresh through this server's ``/token``."""
        endpoint = self.endpoint

        def refresh(request: Any, scopes: Any) -> tuple[str, datetime]:  # noqa: ARG001  (google-auth's signature)
            answer = request(url=f"{endpoint}/token", method="POST", body=b"", headers={})
            if answer.status != 200:
                raise RefreshError(f"token endpoint answered {answer.status}")  # type: ignore[no-untyped-call]
            data = json.loads(answer.data)
            return data["access_token"], datetime.now(UTC).replace(tzinfo=None) + timedelta(hours=1)

        return UserCredentials(token=None, refresh_handler=refresh)  # type: ignore[no-untyped-call]


@contextmanager
def fake_iam(info: dict[str, str] | None = None) -> Iterator[FakeIam]:
    """Run a :class:`FakeIam` on 127.0.0.1 for the duration of the block."""
    state = FakeIam(info or service_account_info(7, "uploader@byos-test.iam.gserviceaccount.com"))
    key = private_key_of(state.info)

    class Handler(BaseHTTPRequestHandler):
        def _reply(self, status: int, data: Mapping[str, Any]) -> None:
            body = json.dumps(data).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path == "/token":
                state.token_calls += 1
                if state.token_refusal:
                    self._reply(
                        400, {"error": "invalid_grant", "error_description": "Token has been revoked."}
                    )
                    return
                self._reply(200, {"access_token": state.token, "expires_in": 3600, "token_type": "Bearer"})
                return
            state.sign_calls.append(self.path)
            expected = f"/v1/projects/-/serviceAccounts/{state.email}:signBlob"
            if self.headers.get("Authorization") != f"Bearer {state.token}":
                self._reply(401, {"error": {"code": 401, "status": "UNAUTHENTICATED"}})
                return
            if self.path != expected:
                self._reply(404, {"error": {"code": 404, "status": "NOT_FOUND"}})
                return
            if state.refusal is not None:
                self._reply(*state.refusal)
                return
            payload = base64.b64decode(json.loads(raw)["payload"])
            signature = key.sign(payload, padding.PKCS1v15(), hashes.SHA256())
            self._reply(200, {"keyId": "k1", "signedBlob": base64.b64encode(signature).decode()})

        def log_message(self, *_: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.endpoint = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def keyless(
    monkeypatch: pytest.MonkeyPatch,
    directory: Path,
    iam: FakeIam,
    *,
    refresh: bool = False,
    **settings: Any,
) -> GCSDestination:
    """Point Application Default Credentials and the IAM endpoint at ``iam``; return a keyless destination.

    ``refresh=False``: an ADC file (``GOOGLE_APPLICATION_CREDENTIALS``) found by ``google.auth.default()``.
    ``refresh=True``: ``google.auth.default()`` gives credentials whose token comes from ``iam``'s ``/token``.
    """
    if refresh:
        credentials = iam.credentials()
        monkeypatch.setattr(google.auth, "default", lambda **_: (credentials, None))
    else:
        monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(iam.authorized_user_file(directory)))
    monkeypatch.setattr(gcs_sign_blob, "IAM_CREDENTIALS_ENDPOINT", iam.endpoint)
    return destination(service_account_email=iam.email, **settings)
