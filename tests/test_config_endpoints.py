"""Config-time endpoint checks: https outside loopback, no credentials/query/fragment, no private targets.

The same policy (``byos.endpoint_policy``) is applied again at connect time, after DNS resolution.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from byos.config import GCSDestination, check_origin, destination_from_dict
from byos.endpoint_policy import (
    ALLOW_PRIVATE_ENDPOINTS_ENV,
    allow_private_endpoints,
    host_refusal,
    is_loopback_host,
)
from byos.errors import ConfigError
from byos.providers import gcs

BASES: dict[str, dict[str, Any]] = {
    "s3": {"provider": "s3", "bucket": "acme-imports", "region": "eu-west-1"},
    "gcs": {"provider": "gcs", "bucket": "acme-imports", "location": "EU"},
    "azure": {"provider": "azure", "account_name": "acmeimports", "container": "uploads"},
}


def load(provider: str, endpoint: str) -> Any:
    return destination_from_dict({**BASES[provider], "endpoint_url": endpoint}, env=False)


NEVER = [
    ("https://169.254.169.254", "a cloud metadata address"),
    ("https://metadata.google.internal", "a cloud metadata host"),
    ("https://METADATA.google.internal.:443", "a cloud metadata host"),
    ("https://[fd00:ec2::254]", "a cloud metadata address"),
    ("https://2852039166", "a cloud metadata address"),
    ("https://0xa9.254.169.254", "a cloud metadata address"),
    ("https://[::ffff:169.254.169.254]", "a cloud metadata address"),
    ("https://0.0.0.0:9000", "an unspecified address"),
    ("https://[::]", "an unspecified address"),
    ("https://224.0.0.251", "a multicast address"),
]
PRIVATE = [
    ("https://169.254.10.10:9000", "a link-local address"),
    ("https://[fe80::1]", "a link-local address"),
    ("https://10.0.0.5", "a private address"),
    ("https://172.16.3.4:9000", "a private address"),
    ("https://192.168.1.10", "a private address"),
    ("https://[fd12::1]", "a private address"),
    ("https://100.64.0.1", "a non-public address"),
]


@pytest.fixture(autouse=True)
def _environment_decides() -> Iterator[None]:
    allow_private_endpoints(None)
    yield
    allow_private_endpoints(None)


@pytest.mark.parametrize("provider", sorted(BASES))
@pytest.mark.parametrize(("endpoint", "reason"), PRIVATE)
def test_private_endpoints_are_refused_naming_the_setting(provider: str, endpoint: str, reason: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load(provider, endpoint)
    assert caught.value.field == "endpoint_url"
    assert reason in str(caught.value)
    assert f"{ALLOW_PRIVATE_ENDPOINTS_ENV}=1" in str(caught.value)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("provider", sorted(BASES))
@pytest.mark.parametrize(("endpoint", "reason"), NEVER)
def test_metadata_unspecified_and_multicast_endpoints_are_refused_even_with_the_opt_in(
    monkeypatch: pytest.MonkeyPatch, provider: str, endpoint: str, reason: str
) -> None:
    monkeypatch.setenv(ALLOW_PRIVATE_ENDPOINTS_ENV, "1")
    with pytest.raises(ConfigError) as caught:
        load(provider, endpoint)
    assert caught.value.field == "endpoint_url"
    assert str(caught.value) == (
        f"endpoint_url: names {reason}, where byos never connects; use the storage service's own endpoint"
    )


@pytest.mark.parametrize(("endpoint", "reason"), PRIVATE)
def test_the_deployment_can_opt_in_to_private_endpoints(
    monkeypatch: pytest.MonkeyPatch, endpoint: str, reason: str
) -> None:
    del reason
    monkeypatch.setenv(ALLOW_PRIVATE_ENDPOINTS_ENV, "1")
    assert load("s3", endpoint).endpoint_url == endpoint
    monkeypatch.delenv(ALLOW_PRIVATE_ENDPOINTS_ENV)
    allow_private_endpoints(True)
    assert load("s3", endpoint).endpoint_url == endpoint


def test_a_dotenv_file_cannot_opt_in(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(f"{ALLOW_PRIVATE_ENDPOINTS_ENV}=1\n")
    with pytest.raises(ConfigError, match="a private address"):
        destination_from_dict({**BASES["s3"], "endpoint_url": "https://10.0.0.5"}, env_file=env_file)


@pytest.mark.parametrize("value", ["0", "no", "off", "2", ""])
def test_other_values_do_not_opt_in(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv(ALLOW_PRIVATE_ENDPOINTS_ENV, value)
    with pytest.raises(ConfigError, match="a private address"):
        load("s3", "https://10.0.0.5")


def test_opting_in_does_not_allow_plain_http_to_a_private_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ALLOW_PRIVATE_ENDPOINTS_ENV, "1")
    with pytest.raises(ConfigError, match=r"^endpoint_url: is plain http"):
        load("s3", "http://10.0.0.5:9000")


@pytest.mark.parametrize(
    ("endpoint", "problem"),
    [
        ("http://storage.example.com", "is plain http"),
        ("http://127.attacker.example:9000", "is plain http"),
        ("http://localhost.attacker.example", "is plain http"),
        ("http://0.0.0.0:4566", "is plain http"),
        ("https://user:secret-password@storage.example.com", "must not carry credentials"),
        ("https://token@storage.example.com", "must not carry credentials"),
        ("https://storage.example.com/?", "must not carry a query or fragment"),
        ("https://storage.example.com?x=1", "must not carry a query or fragment"),
        ("https://storage.example.com/#", "must not carry a query or fragment"),
        ("https://storage.example.com:99999", "is not a valid URL"),
        ("https://[::1", "is not a valid URL"),
        ("file:///etc/passwd", "is not an http(s) URL"),
        ("https://", "is not an http(s) URL"),
    ],
)
def test_endpoint_url_shape(endpoint: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load("s3", endpoint)
    assert caught.value.field == "endpoint_url"
    assert problem in str(caught.value)
    assert "secret-password" not in str(caught.value)
    assert caught.value.__context__ is None


@pytest.mark.parametrize(
    "endpoint",
    [
        "http://127.0.0.1:4566",
        "http://127.0.0.2:4566",
        "http://[::1]:4566",
        "http://localhost:4566",
        "http://LOCALHOST:4566",
        "https://s3.eu-central-1.wasabisys.com",
        "https://8.8.8.8",
        "https://127.attacker.example",
    ],
)
def test_loopback_http_and_public_https_endpoints_load(endpoint: str) -> None:
    assert load("s3", endpoint).endpoint_url == endpoint


@pytest.mark.parametrize(
    ("endpoint", "local"),
    [
        ("http://127.0.0.1:4443", True),
        ("http://[::1]:4443", True),
        ("http://localhost:4443", True),
        ("https://127.attacker.example", False),
        ("https://127.0.0.1.attacker.example", False),
        ("https://localhost.attacker.example", False),
        ("https://storage.googleapis.com", False),
    ],
)
def test_gcs_is_local_only_for_a_real_loopback_host(endpoint: str, local: bool) -> None:
    destination = load("gcs", endpoint)
    assert isinstance(destination, GCSDestination)
    assert gcs.is_local(destination) is local


@pytest.mark.parametrize(
    "origin",
    [
        "https://user:hunter2-password@app.example.com",
        "user:hunter2-password@app.example.com",
        "https://u:hunter2-password@x/p",
    ],
)
def test_an_origin_with_credentials_is_refused_without_echoing_them(origin: str) -> None:
    with pytest.raises(ConfigError) as caught:
        check_origin(origin)
    assert "hunter2-password" not in str(caught.value)
    assert "REDACTED@" in str(caught.value)
    assert caught.value.__context__ is None
    assert caught.value.__cause__ is None
    with pytest.raises(ConfigError) as loaded:
        destination_from_dict({**BASES["s3"], "origins": [origin]}, env=False)
    assert "hunter2-password" not in str(loaded.value)
    assert loaded.value.__context__ is None


@pytest.mark.parametrize("origin", ["http://127.attacker.example", "http://localhost.attacker.example"])
def test_a_plain_http_origin_must_be_real_loopback(origin: str) -> None:
    with pytest.raises(ConfigError, match="is plain http"):
        check_origin(origin)


def attempt(provider: str, endpoint: str) -> Any:
    try:
        return load(provider, endpoint)
    except ConfigError as exc:
        return exc


_hosts = st.one_of(
    st.sampled_from(
        [
            "localhost",
            "127.0.0.1",
            "[::1]",
            "127.attacker.example",
            "storage.example.com",
            "169.254.169.254",
            "metadata.google.internal",
            "10.1.2.3",
            "0.0.0.0",  # noqa: S104  (an address under test, not bound)
            "[fe80::1]",
            "[::ffff:10.0.0.1]",
            "2852039166",
            "0x7f000001",
            "8.8.8.8",
        ]
    ),
    st.ip_addresses().map(lambda a: f"[{a}]" if a.version == 6 else str(a)),
)
_urls = st.builds(
    lambda scheme, userinfo, host, port, path, tail: f"{scheme}://{userinfo}{host}{port}{path}{tail}",
    st.sampled_from(["http", "https", "HTTPS", "ftp"]),
    st.sampled_from(["", "", "user:pass@", "@", "token@"]),
    _hosts,
    st.sampled_from(["", ":443", ":9000", ":0", ":99999", ":x"]),
    st.sampled_from(["", "/", "/path"]),
    st.sampled_from(["", "", "?", "?a=b", "#", "#f", "/?"]),
)


@settings(max_examples=300, deadline=None)
@given(url=_urls, provider=st.sampled_from(["s3", "azure"]))
def test_an_endpoint_that_loads_obeys_the_policy(url: str, provider: str) -> None:
    destination = attempt(provider, url)
    if isinstance(destination, ConfigError):
        assert destination.field == "endpoint_url"
        assert "\n" not in str(destination)
        assert "pass@" not in str(destination)
        return
    parts = urlsplit(destination.endpoint_url)
    assert "@" not in parts.netloc
    assert "?" not in url
    assert "#" not in url
    assert parts.scheme == "https" or is_loopback_host(parts.hostname)
    assert host_refusal(parts.hostname or "") is None
