"""Which storage endpoints a tenant may name: loopback and public hosts, never the service's own network."""

from __future__ import annotations

import ipaddress
import os
import socket

ALLOW_PRIVATE_ENDPOINTS_ENV = "BYOS_ALLOW_PRIVATE_ENDPOINTS"
"""Set to ``1`` to let endpoints reach private, link-local, metadata and other non-public addresses."""

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_METADATA_HOSTS = frozenset({"metadata.google.internal", "metadata.goog", "metadata"})
_METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "169.254.170.2", "fd00:ec2::254", "100.100.100.200")
)


def private_endpoints_allowed() -> bool:
    """Return whether the deployment opted in to non-public endpoints (``BYOS_ALLOW_PRIVATE_ENDPOINTS=1``).

    Only the exact value ``1`` opts in; anything else, or the variable unset, keeps the policy on.
    """
    return os.environ.get(ALLOW_PRIVATE_ENDPOINTS_ENV, "").strip() == "1"


def address_refusal(ip: IPAddress | str) -> str | None:
    """Say why an endpoint must not connect to ``ip``, or return None when the address is allowed.

    Loopback addresses (local test servers) and public unicast addresses are allowed. Unspecified,
    link-local, cloud metadata, private, shared (CGNAT), multicast, reserved and other non-global
    addresses are refused; an IPv4 address embedded in IPv6 (``::ffff:a.b.c.d``, NAT64, 6to4) is judged
    as the IPv4 address it carries. The opt-in is not consulted here: see :func:`private_endpoints_allowed`.

    Args:
        ip: An address, or its text (``"10.0.0.1"``, ``"::1"``, ``"fe80::1%eth0"``).

    Returns:
        A short reason such as ``"a link-local address"``, or None.

    Raises:
        ValueError: ``ip`` is text that is not an IP address.
    """
    address = ipaddress.ip_address(ip.split("%", 1)[0]) if isinstance(ip, str) else ip
    address = _embedded_ipv4(address) or address
    if address.is_loopback:
        return None
    if address in _METADATA_ADDRESSES:
        return "a cloud metadata address"
    checks = (
        (address.is_unspecified, "an unspecified address"),
        (address.is_link_local, "a link-local address"),
        (address.is_multicast, "a multicast address"),
        (address.is_private, "a private address"),
        (address.is_reserved, "a reserved address"),
        (not address.is_global, "a non-public address"),
    )
    return next((reason for failed, reason in checks if failed), None)


def host_refusal(host: str) -> str | None:
    """Say why an endpoint's host, as written (a name or an address literal), is refused before any lookup.

    Names are refused only when they are cloud metadata names (``metadata.google.internal``); any other
    name is judged after DNS resolution, at connect time. Address literals are judged by
    :func:`address_refusal`, including the shorthand forms a resolver accepts (``2852039166``,
    ``0xa9.254.169.254``).

    Returns:
        A short reason, or None.
    """
    name = host.strip().strip("[]").rstrip(".").lower()
    if name in _METADATA_HOSTS:
        return "a cloud metadata host"
    address = literal_address(name)
    return None if address is None else address_refusal(address)


def literal_address(host: str) -> IPAddress | None:
    """Return the address a host literal denotes (IPv4 shorthand included), or None for a name."""
    name = host.strip().strip("[]").split("%", 1)[0]
    try:
        return ipaddress.ip_address(name)
    except ValueError:
        pass
    if name and all(part for part in name.split(".")) and name.replace(".", "").isalnum():
        try:
            return ipaddress.IPv4Address(socket.inet_aton(name))
        except OSError:
            return None
    return None


def is_loopback_host(host: str | None) -> bool:
    """Return whether ``host`` is exactly ``localhost`` or a loopback literal (``127.0.0.1``, ``::1``).

    A name that only starts like one (``127.attacker.example``) is not loopback.
    """
    if not host:
        return False
    name = host.strip().strip("[]")
    if name.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(name.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


_NAT64 = ipaddress.ip_network("64:ff9b::/96")
