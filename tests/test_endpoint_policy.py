"""The endpoint policy: byos connects only to public addresses (https) and loopback, checked at connect time.

Names resolve through the test resolver (tests/conftest.py ``FAKE_DNS``): a hostile name can resolve to any
address, and ``socket.create_connection`` is replaced wherever a connection to a non-loopback address would
follow, so no traffic leaves the machine.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from byos import endpoints, http
from byos.config import destination_from_dict
from byos.errors import ConfigError, ProviderError, ProviderTimeoutError
from tests.conftest import FAKE_DNS
from tests.hostile_servers import RecordingServer, tls_certificate

SETTING = "BYOS_ALLOW_PRIVATE_ENDPOINTS"


class WouldConnectError(Exception):
    """Raised instead of connecting, with the address byos chose."""


@pytest.fixture
def no_connections(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Replace socket.create_connection: record the address and refuse, so nothing is sent anywhere."""
    attempts: list[tuple[str, int]] = []

    def refuse(address: tuple[str, int], *_: Any, **__: Any) -> socket.socket:
        attempts.append(address)
        raise WouldConnectError(address)

    monkeypatch.setattr(socket, "create_connection", refuse)
    return attempts


@pytest.fixture(autouse=True)
def _follow_the_environment() -> Iterator[None]:
    endpoints.allow_private_endpoints(None)
    yield
    endpoints.allow_private_endpoints(None)


FORBIDDEN = {
    "169.254.169.254": "a cloud metadata address",
    "169.254.170.2": "a cloud metadata address",
    "fd00:ec2::254": "a cloud metadata address",
    "::ffff:169.254.169.254": "a cloud metadata address",
    "64:ff9b::a9fe:a9fe": "a cloud metadata address",  # NAT64 of 169.254.169.254
    "169.254.10.1": "a link-local address",
    "fe80::1": "a link-local address",
    "10.0.0.5": "a private (non-public) address",
    "172.16.3.4": "a private (non-public) address",
    "192.168.1.1": "a private (non-public) address",
    "100.64.0.1": "a private (non-public) address",
    "fd12:3456::1": "a private (non-public) address",
    "0.0.0.0": "an unspecified address",  # noqa: S104  (the address under test, never bound)
    "::": "an unspecified address",
    "224.0.0.1": "an multicast address",
}


@pytest.mark.parametrize("address", list(FORBIDDEN))
def test_a_name_resolving_to_a_forbidden_address_is_refused_before_connecting(
    address: str, no_connections: list[tuple[str, int]]
) -> None:
    FAKE_DNS["storage.tenant.test"] = [address]
    with pytest.raises(ProviderError) as caught:
        http.send("GET", "https://storage.tenant.test/bucket?X-Amz-Signature=SECRETSIG", timeout=2)
    message = str(caught.value)
    assert no_connections == []
    assert "\n" not in message
    assert "SECRETSIG" not in message
    assert "refused: storage.tenant.test" in message
    kind = FORBIDDEN[address]
    if "metadata" in kind:
        assert "is a cloud metadata address; byos never connects there" in message
    elif "unspecified" in kind or "multicast" in kind:
        assert "not a storage endpoint" in message
    else:
        assert f"resolves to {kind}" in message
        assert f"unless the deployment sets {SETTING}=1" in message


@pytest.mark.parametrize("literal", ["169.254.169.254", "10.1.2.3", "[fe80::1]", "0.0.0.0"])  # noqa: S104
def test_address_literals_are_checked_too(literal: str, no_connections: list[tuple[str, int]]) -> None:
    with pytest.raises(ProviderError, match="refused: "):
        http.send("GET", f"https://{literal}/latest/meta-data/", timeout=2)
    assert no_connections == []


def test_metadata_by_name_is_refused_even_with_the_opt_in(
    monkeypatch: pytest.MonkeyPatch, no_connections: list[tuple[str, int]]
) -> None:
    monkeypatch.setenv(SETTING, "1")
    FAKE_DNS["metadata.google.internal"] = ["169.254.169.254"]
    with pytest.raises(ProviderError, match="cloud metadata address; byos never connects there"):
        http.send("GET", "http://metadata.google.internal/computeMetadata/v1/", timeout=2)
    assert endpoints.refusal("metadata.google.internal", "10.0.0.9", "https") is not None
    assert no_connections == []


def test_the_opt_in_lets_private_addresses_through(
    monkeypatch: pytest.MonkeyPatch, no_connections: list[tuple[str, int]]
) -> None:
    FAKE_DNS["minio.internal.test"] = ["10.20.30.40"]
    with pytest.raises(ProviderError, match=SETTING):
        http.send("GET", "https://minio.internal.test/bucket", timeout=2)
    monkeypatch.setenv(SETTING, "1")
    with pytest.raises(WouldConnectError):
        http.send("GET", "https://minio.internal.test/bucket", timeout=2)
    assert no_connections == [("10.20.30.40", 443)]
    endpoints.allow_private_endpoints(False)  # the library switch wins over the environment
    with pytest.raises(ProviderError, match=SETTING):
        http.send("GET", "https://minio.internal.test/bucket", timeout=2)
    monkeypatch.delenv(SETTING)
    endpoints.allow_private_endpoints(True)
    assert http.private_endpoints_allowed()
    assert endpoints.refusal("minio.internal.test", "10.20.30.40", "https") is None
    assert endpoints.refusal("minio.internal.test", "169.254.169.254", "https") is not None
    assert endpoints.refusal("x.test", "0.0.0.0", "https") is not None  # noqa: S104


def test_plain_http_is_refused_outside_loopback(no_connections: list[tuple[str, int]]) -> None:
    FAKE_DNS["storage.public.test"] = ["93.184.216.34"]
    with pytest.raises(ProviderError, match=r"plain http to storage.public.test .* use https"):
        http.send("GET", "http://storage.public.test/bucket", timeout=2)
    assert no_connections == []
    with pytest.raises(WouldConnectError):
        http.send("GET", "https://storage.public.test/bucket", timeout=2)
    assert no_connections == [("93.184.216.34", 443)]


def test_rebinding_cannot_pass_the_check(
    monkeypatch: pytest.MonkeyPatch, no_connections: list[tuple[str, int]]
) -> None:
    answers = [["93.184.216.34"], ["169.254.169.254"], ["169.254.169.254"]]
    asked: list[str] = []

    def rebinding(host: str, port: int) -> list[str]:  # noqa: ARG001
        asked.append(host)
        return answers[min(len(asked) - 1, 2)]

    monkeypatch.setattr(endpoints, "resolver", rebinding)
    with pytest.raises(WouldConnectError):
        http.send("GET", "https://rebind.test/bucket", timeout=2)
    assert asked == ["rebind.test"]  # resolved once per call...
    assert no_connections == [("93.184.216.34", 443)]  # ...and the checked address is the one connected to
    with pytest.raises(ProviderError, match="cloud metadata address"):
        http.send("GET", "https://rebind.test/bucket", timeout=2)
    assert no_connections == [("93.184.216.34", 443)]


def test_a_name_resolving_to_loopback_is_allowed_and_tls_still_checks_the_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cert = tls_certificate(tmp_path, "storage.tenant.test")
    monkeypatch.setenv("SSL_CERT_FILE", str(cert[0]))
    FAKE_DNS["storage.tenant.test"] = ["127.0.0.1"]
    FAKE_DNS["other.tenant.test"] = ["127.0.0.1"]
    with RecordingServer(cert) as server:
        answer = http.send("GET", f"https://storage.tenant.test:{server.port}/bucket", timeout=5)
        assert answer.status == 403
        assert server.seen[0].headers["Host"] == f"storage.tenant.test:{server.port}"
        with pytest.raises(ProviderError, match="TLS certificate could not be verified"):
            http.send("GET", f"https://other.tenant.test:{server.port}/bucket", timeout=5)
    assert len(server.seen) == 1


def test_dns_failure_and_slowness_are_one_clear_line(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ProviderError) as caught:
        http.send("GET", "https://nowhere.tenant.test/bucket", timeout=2)
    assert str(caught.value) == (
        "GET https://nowhere.tenant.test/bucket: cannot resolve nowhere.tenant.test; check the host name in "
        "endpoint_url"
    )
    assert "gaierror" not in str(caught.value)

    def slow(host: str, port: int) -> list[str]:  # noqa: ARG001
        time.sleep(3)
        return ["127.0.0.1"]

    monkeypatch.setattr(endpoints, "resolver", slow)
    started = time.monotonic()
    with pytest.raises(ProviderTimeoutError, match=r"cannot resolve slow\.test: no DNS answer in time"):
        http.send("GET", "https://slow.test/bucket", timeout=1)
    assert time.monotonic() - started < 1.5


def test_the_deployment_settings_are_never_destination_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SETTING, "1")
    monkeypatch.setenv("BYOS_STS_ENDPOINT_URL", "http://127.0.0.1:9")
    built = destination_from_dict(
        {"provider": "s3", "bucket": "acme-imports", "region": "eu-west-1"}, env=True, env_file=None
    )
    assert "allow_private_endpoints" not in built.model_dump()
    assert "sts_endpoint_url" not in built.model_dump()
    for name in ("allow_private_endpoints", "sts_endpoint_url"):
        with pytest.raises(ConfigError, match=rf"^{name}: is not a setting of provider s3"):
            destination_from_dict(
                {"provider": "s3", "bucket": "acme-imports", "region": "eu-west-1", name: "1"}, env=False
            )


def test_a_dotenv_file_cannot_set_the_opt_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(f"{SETTING}=1\nBYOS_STS_ENDPOINT_URL=https://sts.attacker.test\n")
    monkeypatch.chdir(tmp_path)
    destination_from_dict({"provider": "s3", "bucket": "acme-imports", "region": "eu-west-1"}, env=True)
    assert not endpoints.private_endpoints_allowed()
    from byos.providers import sts  # noqa: PLC0415

    assert sts.sts_endpoint("eu-west-1") == "https://sts.eu-west-1.amazonaws.com"
    assert sts.sts_endpoint("cn-north-1") == "https://sts.cn-north-1.amazonaws.com.cn"


def test_the_checker_reports_a_refused_endpoint_in_one_line_naming_the_setting(
    no_connections: list[tuple[str, int]],
) -> None:
    from byos.checker import check_setup  # noqa: PLC0415
    from byos.models import Status  # noqa: PLC0415

    FAKE_DNS["minio.corp.test"] = ["10.0.0.5"]
    destination = destination_from_dict(
        {
            "provider": "s3",
            "bucket": "acme-imports",
            "region": "eu-west-1",
            "endpoint_url": "https://minio.corp.test",
            "access_key_id": "AKIATENANTKEY0000001",
            "secret_access_key": "tenant-secret-0000",
        },
        env=False,
    )
    started = time.monotonic()
    report = check_setup(destination, timeout=5, deadline=10)
    assert time.monotonic() - started < 1.0
    credentials = {c.id: c for c in report.checks}["credentials"]
    assert credentials.status is Status.FAIL
    assert credentials.message == (
        "GET https://minio.corp.test/acme-imports?location=: refused: minio.corp.test resolves to a private "
        "(non-public) address (10.0.0.5); byos connects only to public addresses and loopback unless the "
        "deployment sets BYOS_ALLOW_PRIVATE_ENDPOINTS=1"
    )
    assert no_connections == []
