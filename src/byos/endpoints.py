"""Which addresses byos may connect to: public ones and loopback, checked after resolution, at connect time.

A destination's ``endpoint_url`` is the tenant's data, so byos refuses to connect to the import service's own
network: link-local (``169.254.0.0/16``, ``fe80::/10``), private (RFC 1918, ``fc00::/7``, shared and other
non-public ranges), unspecified (``0.0.0.0``, ``::``) and multicast addresses, and plain ``http`` anywhere
but loopback. Cloud metadata services (``169.254.169.254``, ``fd00:ec2::254``, ``metadata.google.internal``,
…) are refused always. Loopback stays allowed for local test servers.

One deployment setting lifts the private and link-local refusal (for a storage service inside the import
service's own network): the environment variable ``BYOS_ALLOW_PRIVATE_ENDPOINTS=1``, or
:func:`allow_private_endpoints` in code. It is read from the process environment only, never from a
destination file or a ``.env`` file, so a tenant cannot set it.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import threading
import time
from collections.abc import Callable

from byos.errors import InvalidInputError, ProviderError, ProviderTimeoutError

ALLOW_PRIVATE_ENV = "BYOS_ALLOW_PRIVATE_ENDPOINTS"
"""The deployment's one opt-in: ``1`` lets byos connect to private and link-local addresses."""

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

METADATA_HOSTS = frozenset(
    {"metadata.google.internal", "metadata.goog", "metadata", "instance-data", "instance-data.ec2.internal"}
)
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(address)
    for address in (
        "169.254.169.254",  # AWS, Google, Azure, most clouds
        "169.254.170.2",  # AWS ECS task credentials
        "169.254.169.253",  # AWS DNS
        "fd00:ec2::254",  # AWS IMDS over IPv6
        "fd00:ec2::253",
        "100.100.100.200",  # Alibaba Cloud
    )
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})

_override: bool | None = None

Resolver = Callable[[str, int], list[str]]


def allow_private_endpoints(allowed: bool | None) -> None:
    """Allow private and link-local endpoints (True), forbid them (False), or follow the environment (None).

    The library equivalent of ``BYOS_ALLOW_PRIVATE_ENDPOINTS=1``; None (the default) reads that variable.
    Cloud metadata addresses stay refused either way.
    """
    global _override  # noqa: PLW0603  (a process-wide deployment setting)
    if allowed is not None and allowed is not True and allowed is not False:  # "false" must not allow
        raise InvalidInputError(
            "allowed", "must be True, False or None", "pass a bool, or None for the environment"
        )
    _override = allowed


def private_endpoints_allowed() -> bool:
    """Whether the deployment allows private and link-local endpoints."""
    if _override is not None:
        return _override
    return os.environ.get(ALLOW_PRIVATE_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def is_loopback_host(host: str | None) -> bool:
    """Whether ``host`` (a URL's host name, unresolved) names the loopback interface itself.

    ``localhost`` and loopback address literals do; a DNS name that merely resolves to 127.0.0.1 does not,
    nor does one that only starts like a loopback address (``127.attacker.example``).
    """
    if not host:
        return False
    name = host.strip("[]").lower().rstrip(".")
    if name in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _plain(address: IPAddress) -> IPAddress:
    """The IPv4 address inside an IPv4-mapped or NAT64 IPv6 address, else the address itself."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address in _NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def refusal(host: str, address: str, scheme: str) -> str | None:
    """Why byos must not connect to ``address`` (resolved from ``host``) over ``scheme``; None when it may."""
    ip = _plain(ipaddress.ip_address(address.split("%", 1)[0]))
    if ip.is_loopback:
        return None
    if ip in METADATA_ADDRESSES or host.lower().rstrip(".") in METADATA_HOSTS:
        return f"{host} ({ip}) is a cloud metadata address; byos never connects there"
    if ip.is_unspecified or ip.is_multicast:
        kind = "unspecified" if ip.is_unspecified else "multicast"
        return f"{host} ({ip}) is an {kind} address, not a storage endpoint"
    allowed = private_endpoints_allowed()
    kind = ""
    if ip.is_link_local:
        kind = "a link-local"
    elif not ip.is_global:
        kind = "a private (non-public)"
    if kind and not allowed:
        return (
            f"{host} resolves to {kind} address ({ip}); byos connects only to public addresses and loopback "
            f"unless the deployment sets {ALLOW_PRIVATE_ENV}=1"
        )
    if scheme != "https" and not kind:
        return f"plain http to {host} ({ip}) outside loopback would send credentials in clear text; use https"
    return None


def _system_resolver(host: str, port: int) -> list[str]:
    found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    addresses: list[str] = []
    for *_, sockaddr in found:
        address = str(sockaddr[0])
        if address not in addresses:
            addresses.append(address)
    return addresses


resolver: Resolver = _system_resolver
"""Resolves a host name to addresses; tests point it at a table (no DNS server is consulted then)."""


def resolve(host: str, port: int, deadline: float) -> list[str]:
    """Resolve ``host`` before the monotonic ``deadline`` (in a worker thread: DNS waits cannot be cut short).

    Raises:
        ProviderTimeoutError: The name was not resolved in time.
        ProviderError: The name does not resolve.
    """
    name = host.strip("[]")
    try:
        ipaddress.ip_address(name.split("%", 1)[0])
    except ValueError:
        pass
    else:
        return [name]
    box: list[list[str] | BaseException] = []

    def work() -> None:
        try:
            box.append(resolver(name, port))
        except BaseException as exc:  # noqa: BLE001  (handed to the waiting caller)
            box.append(exc)

    worker = threading.Thread(target=work, name="byos-resolve", daemon=True)
    worker.start()
    worker.join(max(0.0, deadline - time.monotonic()))
    if not box:
        raise ProviderTimeoutError(f"cannot resolve {name}: no DNS answer in time")
    outcome = box[0]
    if isinstance(outcome, BaseException) or not outcome:
        raise ProviderError(f"cannot resolve {name}; check the host name in endpoint_url")
    return outcome


def checked_addresses(host: str, port: int, scheme: str, deadline: float) -> list[str]:
    """Resolve ``host`` and apply the policy to every address; return them for connecting.

    Raises:
        ProviderError: An address is refused (the message says why and names the setting), or the name does
            not resolve (ProviderTimeoutError: not in time).
    """
    addresses = resolve(host, port, deadline)
    for address in addresses:
        problem = refusal(host, address, scheme)
        if problem is not None:
            raise ProviderError(f"refused: {problem}")
    return addresses
