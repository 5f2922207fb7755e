"""Credential refreshes fly once per destination, and one slow refresh never holds up another's."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from byos import http
from byos.config import S3Destination, destination_from_dict
from byos.errors import ProviderTimeoutError
from byos.providers import azure, azure_entra, gcs
from byos.providers import s3 as s3_provider
from byos.uploads import presign_upload
from tests.servers import MotoServer


@pytest.mark.emulator
def test_64_concurrent_presigns_on_a_cold_cache_make_one_assume_role(
    moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BYOS_STS_ENDPOINT_URL", moto_server.endpoint)
    calls: list[str] = []
    real_send = http.send

    def counting(method: str, url: str, **options: Any) -> http.Response:
        if b"Action=AssumeRole" in (options.get("body") or b""):
            calls.append(url)
            time.sleep(0.2)  # a slow STS: every thread arrives while the first call is under way
        return real_send(method, url, **options)

    monkeypatch.setattr(http, "send", counting)
    destination = destination_from_dict(
        {
            "provider": "s3",
            "bucket": "acme-imports",
            "region": "eu-west-1",
            "endpoint_url": moto_server.endpoint,
            "access_key_id": moto_server.access_key_id,
            "secret_access_key": moto_server.secret_access_key,
            "role_arn": "arn:aws:iam::123456789012:role/acme-uploader",
            "external_id": "acme-1",
        },
        env=False,
    )
    assert isinstance(destination, S3Destination)
    s3_provider.clear_credential_cache()
    start = threading.Barrier(64)

    def presign(_: int) -> str:
        start.wait()
        return presign_upload(destination, "a.csv").url

    try:
        with ThreadPoolExecutor(max_workers=64) as pool:
            urls = list(pool.map(presign, range(64)))
        assumed = s3_provider.resolve_credentials(destination)
    finally:
        s3_provider.clear_credential_cache()

    assert len(calls) == 1, f"{len(calls)} AssumeRole calls"
    assert calls[0].startswith(moto_server.endpoint + "/")
    assert all(f"X-Amz-Credential={assumed.access_key_id}%2F" in url for url in urls)


class SlowCredentials:
    """google-auth-like credentials whose refresh takes ``delay`` seconds; counts refreshes."""

    def __init__(self, delay: float, token: str) -> None:
        self.delay = delay
        self.new_token = token
        self.token: str | None = None
        self.refreshes = 0

    @property
    def valid(self) -> bool:
        return self.token is not None

    def refresh(self, _request: Any) -> None:
        self.refreshes += 1
        time.sleep(self.delay)
        self.token = self.new_token


def test_google_token_refresh_is_single_flight_and_holds_no_global_lock() -> None:
    pytest.importorskip("google.auth.transport.requests", reason="token refresh needs byos[gcs]")
    slow = SlowCredentials(1.5, "ya29.slow")
    quick = SlowCredentials(0.0, "ya29.quick")
    with ThreadPoolExecutor(max_workers=17) as pool:
        slow_tokens = [pool.submit(gcs.access_token, slow, timeout=5) for _ in range(16)]
        time.sleep(0.2)  # the slow refresh is under way
        started = time.monotonic()
        assert pool.submit(gcs.access_token, quick, timeout=5).result() == "ya29.quick"
        quick_took = time.monotonic() - started
        assert [f.result() for f in slow_tokens] == ["ya29.slow"] * 16
    assert quick_took < 0.5, f"another credential's refresh waited {quick_took:.2f} s"
    assert slow.refreshes == 1


def test_a_hanging_google_token_refresh_is_abandoned_at_its_timeout() -> None:
    pytest.importorskip("google.auth.transport.requests", reason="token refresh needs byos[gcs]")
    stuck = SlowCredentials(30.0, "never")
    started = time.monotonic()
    with pytest.raises(ProviderTimeoutError, match="the Google token endpoint did not answer within 1 s"):
        gcs.access_token(stuck, timeout=1.0)
    assert time.monotonic() - started < 1.5


@pytest.mark.emulator
def test_32_concurrent_presigns_fetch_one_user_delegation_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.azure_helpers import UnsignedToken, destination, start_oauth_azurite  # noqa: PLC0415

    server = start_oauth_azurite(tmp_path)
    try:
        monkeypatch.setenv("SSL_CERT_FILE", str(server.cert_path))
        monkeypatch.setattr(azure_entra, "token_credential", lambda *_a, **_k: UnsignedToken())
        calls: list[str] = []
        real_send = http.send

        def counting(method: str, url: str, **options: Any) -> http.Response:
            if "comp=userdelegationkey" in url:
                calls.append(url)
                time.sleep(0.2)  # every thread arrives while the first fetch is under way
            return real_send(method, url, **options)

        monkeypatch.setattr(http, "send", counting)
        target = destination(server, "imports", endpoint_url=server.https_endpoint, account_key=None)
        azure.clear_caches()
        start = threading.Barrier(32)

        def presign(_: int) -> str:
            start.wait()
            return presign_upload(target, "a.csv").url

        with ThreadPoolExecutor(max_workers=32) as pool:
            urls = list(pool.map(presign, range(32)))
    finally:
        azure.clear_caches()
        server.stop()

    assert len(calls) == 1, f"{len(calls)} Get User Delegation Key calls"
    assert all("skoid=11111111-1111-1111-1111-111111111111&" in url for url in urls)
