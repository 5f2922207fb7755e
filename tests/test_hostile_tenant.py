"""A hostile endpoint cannot hold byos past its deadline or fill its memory: byos.http.send and check_setup.

Each behaviour (drip headers, drip body, a flood of ``100 Continue``, an endless chunked body, a huge
Content-Length, accept-and-hang, a redirect loop) is a loopback server in tests/hostile_servers.py, since no
storage server misbehaves so. Time is measured with the monotonic clock, memory with tracemalloc (every
allocation the call makes) and the process's peak resident size.
"""

from __future__ import annotations

import resource
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from byos import http
from byos.checker import check_setup
from byos.config import Destination, S3Destination, destination_from_dict
from byos.errors import CredentialsError, ProviderError, ProviderTimeoutError
from byos.models import Report, Status
from tests.hostile_servers import BEHAVIOURS, HostileServer, tls_certificate

T = TypeVar("T")
TIMEOUT = 2.0
MARGIN = 0.5
BODY_CAP = http.MAX_BODY_BYTES
CHECK_DEADLINE = 2.5
CHECK_TIMEOUT = 10.0  # longer than the deadline: the deadline itself must cut every call short
SECRET = "hostile-secret-" + "5e1d9c0b7a3f"
AZURE_KEY = "aG9zdGlsZS1hY2NvdW50LWtleS0wMTIzNDU2Nzg5YWJjZGVm"
SLOW = ("drip-headers", "drip-body", "100-continue-flood", "accept-and-hang")
HUGE = ("endless-chunked-body", "huge-content-length")


def measured(call: Callable[[], T]) -> tuple[T | BaseException, float, int]:
    """Run ``call``; return its result (or what it raised), the seconds taken and the peak bytes allocated."""
    tracemalloc.start()
    started = time.monotonic()
    try:
        outcome: T | BaseException = call()
    except Exception as exc:  # noqa: BLE001  (the test inspects what was raised)
        outcome = exc
    elapsed = time.monotonic() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return outcome, elapsed, peak


def peak_rss_mib() -> float:
    """The process's peak resident size so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@pytest.fixture(params=list(BEHAVIOURS))
def hostile(request: pytest.FixtureRequest) -> Iterator[tuple[str, HostileServer]]:
    with HostileServer(BEHAVIOURS[request.param]) as server:
        yield request.param, server


# --- byos.http.send ---


def test_send_ends_within_its_total_deadline_with_bounded_memory(hostile: tuple[str, HostileServer]) -> None:
    name, server = hostile
    signed = f"{server.endpoint}/bucket/key?X-Amz-Signature=SECRETSIG"

    outcome, elapsed, peak = measured(lambda: http.send("GET", signed, timeout=TIMEOUT))

    assert elapsed <= TIMEOUT + MARGIN, f"{name}: send took {elapsed:.2f} s for a {TIMEOUT} s timeout"
    assert peak < 8 * 1024**2, f"{name}: {peak / 1024**2:.1f} MiB allocated"
    assert server.requests == 1  # never retried, never redirected
    if name in SLOW:
        assert isinstance(outcome, ProviderTimeoutError), outcome
        assert str(outcome).endswith(f"no answer within {TIMEOUT:g}s")
        assert elapsed >= TIMEOUT - 0.1  # the deadline, not an early failure
    elif name in HUGE:
        assert isinstance(outcome, ProviderError), outcome
        assert not isinstance(outcome, ProviderTimeoutError)
        assert str(outcome).endswith(f"the answer is larger than {BODY_CAP} bytes; refused")
    else:  # the redirect is returned, not followed
        assert isinstance(outcome, http.Response), outcome
        assert (outcome.status, outcome.header("location")) == (302, "/again")
    if isinstance(outcome, BaseException):
        assert "SECRETSIG" not in str(outcome)
        assert outcome.__cause__ is None


def test_a_huge_content_length_is_refused_before_the_body_is_read() -> None:
    with HostileServer(BEHAVIOURS["huge-content-length"]) as server:
        outcome, elapsed, peak = measured(lambda: http.send("GET", server.endpoint + "/", timeout=10))
    assert isinstance(outcome, ProviderError)
    assert elapsed < 1.0  # refused at the headers, not after reading a megabyte and more
    assert peak < 1024**2


def test_a_head_answer_may_announce_any_length() -> None:
    with HostileServer(BEHAVIOURS["huge-content-length"]) as server:
        answer = http.send("HEAD", server.endpoint + "/", timeout=5)
    assert answer.status == 200
    assert answer.body == b""


# --- a whole check_setup on each provider, pointed at the hostile server ---


def s3_destination(endpoint: str) -> Destination:
    return destination_from_dict(
        {
            "provider": "s3",
            "bucket": "acme-imports",
            "region": "us-east-1",
            "endpoint_url": endpoint,
            "access_key_id": "AKIDHOSTILEEXAMPLE",
            "secret_access_key": SECRET,
            "origins": ["https://app.example.com"],
        },
        env=False,
    )


def gcs_destination(endpoint: str) -> Destination:
    return destination_from_dict(
        {
            "provider": "gcs",
            "bucket": "acme-imports",
            "location": "EUROPE-WEST1",
            "endpoint_url": endpoint,
            "hmac_access_id": "GOOG1EHOSTILEEXAMPLE",
            "hmac_secret": SECRET,
            "origins": ["https://app.example.com"],
        },
        env=False,
    )


def azure_destination(endpoint: str) -> Destination:
    return destination_from_dict(
        {
            "provider": "azure",
            "account_name": "devstoreaccount1",
            "container": "imports",
            "endpoint_url": f"{endpoint}/devstoreaccount1",
            "account_key": AZURE_KEY,
            "origins": ["https://app.example.com"],
        },
        env=False,
    )


PROVIDERS: dict[str, Callable[[str], Destination]] = {
    "s3": s3_destination,
    "gcs": gcs_destination,
    "azure": azure_destination,
}


@pytest.mark.parametrize("provider", list(PROVIDERS))
def test_check_setup_ends_within_its_deadline_whatever_the_server_does(
    provider: str, hostile: tuple[str, HostileServer]
) -> None:
    name, server = hostile
    destination = PROVIDERS[provider](server.endpoint)
    rss_before = peak_rss_mib()

    outcome, elapsed, peak = measured(
        lambda: check_setup(destination, timeout=CHECK_TIMEOUT, deadline=CHECK_DEADLINE)
    )

    assert isinstance(outcome, Report), outcome  # the checker reports, it never raises
    assert elapsed <= CHECK_DEADLINE + 1.0, f"{provider}/{name}: {elapsed:.2f} s"
    assert peak < 32 * 1024**2, f"{provider}/{name}: {peak / 1024**2:.1f} MiB allocated"
    assert peak_rss_mib() - rss_before < 200  # the process's peak resident size grew by less than 200 MiB
    assert not outcome.ok
    failures = " | ".join(c.message for c in outcome.checks if c.status is Status.FAIL)
    if name in SLOW:
        assert "did not answer" in failures or "deadline" in failures, failures
    elif name in HUGE:
        assert "larger than 1048576 bytes; refused" in failures, failures
    else:
        assert "HTTP 302" in failures, failures
    assert SECRET not in repr(outcome.to_dict())


# --- credential sources only an SDK reads ---


# Time only: botocore reads a metadata answer whole, so the chain is bounded in time (abandoned at the
# deadline), not in memory. It only asks the service's own, deployment-configured sources, never a tenant's.
@pytest.mark.parametrize("name", ["drip-headers", "100-continue-flood", "accept-and-hang"])
def test_a_hostile_instance_metadata_service_cannot_hold_the_aws_chain(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from byos.providers import s3  # noqa: PLC0415

    with HostileServer(BEHAVIOURS[name]) as imds:
        monkeypatch.setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.endpoint + "/")
        monkeypatch.setenv("AWS_METADATA_SERVICE_NUM_ATTEMPTS", "5")
        chain = destination_from_dict(
            {"provider": "s3", "bucket": "acme-imports", "region": "eu-west-1"}, env=False
        )
        s3.clear_credential_cache()
        assert isinstance(chain, S3Destination)
        started = time.monotonic()
        with pytest.raises((ProviderTimeoutError, CredentialsError)) as caught:
            s3.resolve_credentials(chain, timeout=1.5)
        elapsed = time.monotonic() - started
        assert imds.requests >= 1  # the chain did ask the hostile metadata service

    assert elapsed <= 1.5 + MARGIN, f"{name}: the chain took {elapsed:.2f} s"
    assert "\n" not in str(caught.value)


@pytest.fixture(scope="module")
def loopback_cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return tls_certificate(tmp_path_factory.mktemp("hostile-tls"))


class ServiceAdc:
    """Google default credentials with a valid token (the signBlob call is what is under test)."""

    token = "ya29.hostile-test-token"
    valid = True
    service_account_email = "importer@service-project.iam.gserviceaccount.com"


class EntraToken:
    """A Microsoft Entra token credential that answers at once (the key fetch is what is under test)."""

    def get_token(self, *_scopes: str, **_options: object) -> object:
        return type("Token", (), {"token": "eyJ.hostile-test-token", "expires_on": 2**31})()


@pytest.mark.parametrize("name", [*SLOW, *HUGE])
@pytest.mark.parametrize("provider", ["s3-role", "gcs-signblob", "azure-delegation"])
def test_hostile_credential_endpoints_cannot_hold_a_check(
    provider: str, name: str, monkeypatch: pytest.MonkeyPatch, loopback_cert: tuple[Path, Path]
) -> None:
    from byos.providers import (  # noqa: PLC0415
        azure,
        azure_entra,
        gcs,
        gcs_sign_blob,
        gcs_signing,
        s3,
    )

    tls = provider == "azure-delegation"
    with HostileServer(BEHAVIOURS[name], loopback_cert if tls else None) as server:
        if provider == "s3-role":
            monkeypatch.setenv("BYOS_STS_ENDPOINT_URL", server.endpoint)
            s3.clear_credential_cache()
            destination = destination_from_dict(
                {
                    "provider": "s3",
                    "bucket": "acme-imports",
                    "region": "eu-west-1",
                    "endpoint_url": server.endpoint,
                    "access_key_id": "AKIDHOSTILEEXAMPLE",
                    "secret_access_key": SECRET,
                    "role_arn": "arn:aws:iam::123456789012:role/acme-uploader",
                },
                env=False,
            )
        elif provider == "gcs-signblob":
            monkeypatch.setattr(gcs_sign_blob, "IAM_CREDENTIALS_ENDPOINT", server.endpoint)
            monkeypatch.setattr(gcs_signing, "_default_credentials", lambda **_: ServiceAdc())
            gcs.clear_signer_cache()
            destination = destination_from_dict(
                {
                    "provider": "gcs",
                    "bucket": "acme-imports",
                    "location": "EU",
                    "endpoint_url": server.endpoint,
                    "service_account_email": "acme-signer@acme-project.iam.gserviceaccount.com",
                },
                env=False,
            )
        else:
            monkeypatch.setenv("SSL_CERT_FILE", str(loopback_cert[0]))
            monkeypatch.setattr(azure_entra, "token_credential", lambda *_a, **_k: EntraToken())
            azure.clear_caches()
            destination = destination_from_dict(
                {
                    "provider": "azure",
                    "account_name": "acme",
                    "container": "imports",
                    "endpoint_url": f"{server.endpoint}/acme",
                    "tenant_id": "22222222-2222-2222-2222-222222222222",
                    "client_id": "33333333-3333-3333-3333-333333333333",
                    "client_secret": SECRET,
                },
                env=False,
            )
        try:
            outcome, elapsed, peak = measured(
                lambda: check_setup(destination, timeout=CHECK_TIMEOUT, deadline=CHECK_DEADLINE)
            )
        finally:
            s3.clear_credential_cache()
            gcs.clear_signer_cache()
            azure.clear_caches()
        assert server.requests >= 1  # the credential call did go to the hostile server

    assert isinstance(outcome, Report), outcome
    assert elapsed <= CHECK_DEADLINE + 1.0, f"{provider}/{name}: {elapsed:.2f} s"
    assert peak < 32 * 1024**2
    credentials = {c.id: c for c in outcome.checks}["credentials"]
    assert credentials.status is Status.FAIL, credentials
    assert SECRET not in repr(outcome.to_dict())
