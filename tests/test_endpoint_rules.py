"""The endpoint rules: which addresses and host literals a tenant's endpoint may name, and the one opt-in."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from byos import endpoint_policy
from byos.endpoint_policy import (
    ALLOW_PRIVATE_ENDPOINTS_ENV,
    address_refusal,
    allow_private_endpoints,
    host_refusal,
    is_final,
    is_loopback_host,
    literal_address,
    private_endpoints_allowed,
)
from byos.errors import InvalidInputError

FINAL = [
    ("169.254.169.254", "a cloud metadata address"),
    ("169.254.170.2", "a cloud metadata address"),
    ("fd00:ec2::254", "a cloud metadata address"),
    ("100.100.100.200", "a cloud metadata address"),
    ("::ffff:169.254.169.254", "a cloud metadata address"),
    ("64:ff9b::a9fe:a9fe", "a cloud metadata address"),
    ("2002:a9fe:a9fe::1", "a cloud metadata address"),
    ("0.0.0.0", "an unspecified address"),  # noqa: S104  (refused, not bound)
    ("::", "an unspecified address"),
    ("224.0.0.1", "a multicast address"),
    ("ff02::1", "a multicast address"),
]
LIFTED = [
    ("169.254.1.1", "a link-local address"),
    ("fe80::1%eth0", "a link-local address"),
    ("10.1.2.3", "a private address"),
    ("172.16.0.1", "a private address"),
    ("192.168.1.1", "a private address"),
    ("fd12:3456::1", "a private address"),
    ("::ffff:10.0.0.1", "a private address"),
    ("100.64.0.1", "a non-public address"),
]


@pytest.fixture(autouse=True)
def _environment_decides(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv(ALLOW_PRIVATE_ENDPOINTS_ENV, raising=False)
    allow_private_endpoints(None)
    yield
    allow_private_endpoints(None)


@pytest.mark.parametrize(("address", "reason"), FINAL + LIFTED)
def test_non_public_addresses_are_refused_with_a_reason(address: str, reason: str) -> None:
    assert address_refusal(address) == reason
    assert address_refusal(ipaddress.ip_address(address.split("%", maxsplit=1)[0])) == reason


@pytest.mark.parametrize(("address", "reason"), FINAL)
def test_metadata_unspecified_and_multicast_stay_refused_with_the_opt_in(address: str, reason: str) -> None:
    assert address_refusal(address, allow_private=True) == reason
    assert is_final(reason)


@pytest.mark.parametrize(("address", "reason"), LIFTED)
def test_the_opt_in_lifts_private_and_link_local(
    monkeypatch: pytest.MonkeyPatch, address: str, reason: str
) -> None:
    assert not is_final(reason)
    assert address_refusal(address, allow_private=True) is None
    monkeypatch.setenv(ALLOW_PRIVATE_ENDPOINTS_ENV, "1")
    assert address_refusal(address) is None
    allow_private_endpoints(False)  # the library setting wins over the environment
    assert address_refusal(address) == reason


@pytest.mark.parametrize("address", ["127.0.0.1", "127.9.9.9", "::1", "8.8.8.8", "2001:4860:4860::8888"])
def test_loopback_and_public_addresses_are_allowed(address: str) -> None:
    assert address_refusal(address) is None


def test_address_refusal_rejects_text_that_is_not_an_address() -> None:
    with pytest.raises(ValueError, match="does not appear to be an IPv4 or IPv6 address"):
        address_refusal("example.com")


@given(st.ip_addresses())
def test_every_address_is_allowed_as_global_or_loopback_or_refused(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address,
) -> None:
    reason = address_refusal(address, allow_private=False)
    if address.is_loopback:
        assert reason is None
    elif not address.is_global or address.is_multicast:
        assert reason is not None
    lifted = address_refusal(address, allow_private=True)
    assert lifted is None or is_final(lifted)


@pytest.mark.parametrize(
    ("host", "reason"),
    [
        ("metadata.google.internal", "a cloud metadata host"),
        ("METADATA.Google.Internal.", "a cloud metadata host"),
        ("instance-data.ec2.internal", "a cloud metadata host"),
        ("2852039166", "a cloud metadata address"),
        ("0xa9.254.169.254", "a cloud metadata address"),
        ("0xa9fea9fe", "a cloud metadata address"),
        ("[fe80::1]", "a link-local address"),
        ("10.0.0.1", "a private address"),
        ("storage.example.com", None),
        ("127.attacker.example", None),
        ("127.0.0.1", None),
        ("[::1]", None),
    ],
)
def test_host_literals_are_judged_before_any_lookup(host: str, reason: str | None) -> None:
    assert host_refusal(host) == reason


@pytest.mark.parametrize(
    ("host", "address"),
    [("127.1", "127.0.0.1"), ("2852039166", "169.254.169.254"), ("[::1]", "::1"), ("example.com", None)],
)
def test_literal_address_reads_the_shorthand_forms_a_resolver_accepts(host: str, address: str | None) -> None:
    found = literal_address(host)
    assert (None if found is None else str(found)) == address


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("localhost", True),
        ("LOCALHOST", True),
        ("127.0.0.1", True),
        ("127.200.0.1", True),
        ("::1", True),
        ("[::1]", True),
        ("127.attacker.example", False),
        ("localhost.attacker.example", False),
        ("127.0.0.1.nip.io", False),
        ("0.0.0.0", False),  # noqa: S104  (refused, not bound)
        ("", False),
        (None, False),
    ],
)
def test_loopback_is_localhost_or_a_loopback_literal_only(host: str | None, loopback: bool) -> None:
    assert is_loopback_host(host) is loopback


@pytest.mark.parametrize(
    ("value", "allowed"),
    [("1", True), (" 1 ", True), ("true", True), ("ON", True), ("0", False), ("no", False), ("", False)],
)
def test_the_environment_variable_opts_in(monkeypatch: pytest.MonkeyPatch, value: str, allowed: bool) -> None:
    monkeypatch.setenv(ALLOW_PRIVATE_ENDPOINTS_ENV, value)
    assert private_endpoints_allowed() is allowed


def test_private_endpoints_are_refused_when_nothing_opts_in() -> None:
    assert private_endpoints_allowed() is False
    allow_private_endpoints(True)
    assert private_endpoints_allowed() is True


@pytest.mark.parametrize("value", ["1", 1, "true"])
def test_the_library_setting_takes_a_bool(value: object) -> None:
    with pytest.raises(InvalidInputError, match=r"^allowed: must be True, False or None"):
        allow_private_endpoints(value)  # type: ignore[arg-type]
    assert endpoint_policy.private_endpoints_allowed() is False
