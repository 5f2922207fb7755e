"""Which endpoint hosts a tenant may write in its configuration: loopback and public, never the service's own.

Judged when the configuration loads, on the host as written; ``byos.endpoints`` judges the resolved
addresses again at connect time, and this module shares its opt-in, loopback test and metadata lists.
Cloud metadata services, unspecified and multicast addresses are refused always. Private, link-local,
shared and other non-public addresses are refused unless the deployment opts in, with the environment
variable ``BYOS_ALLOW_PRIVATE_ENDPOINTS=1`` or :func:`allow_private_endpoints` in code (read from the
process environment only, never from a destination file or ``.env``, so a tenant cannot set it). Loopback
stays allowed for local test servers.
"""

from __future__ import annotations

import ipaddress
import socket

# One opt-in, one loopback test and one list of metadata hosts for configuration and connections alike.
from byos.endpoints import (
    ALLOW_PRIVATE_ENV,
    METADATA_ADDRESSES,
    METADATA_HOSTS,
    allow_private_endpoints,
    is_loopback_host,
    private_endpoints_allowed,
)

ALLOW_PRIVATE_ENDPOINTS_ENV = ALLOW_PRIVATE_ENV
"""Set to ``1`` to let endpoints reach private, link-local and other non-public (not metadata) addresses."""

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_NAT64 = ipaddress.ip_network("64:ff9b::/96")

__all__ = [
    "ALLOW_PRIVATE_ENDPOINTS_ENV",
    "METADATA_ADDRESSES",
    "METADATA_HOSTS",
    "address_refusal",
    "allow_private_endpoints",
    "host_refusal",
    "is_final",
    "is_loopback_host",
    "literal_address",
    "private_endpoints_allowed",
]


def address_refusal(ip: IPAddress | str, *, allow_private: bool | None = None) -> str | None:
    """Say why an endpoint must not connect to ``ip``, or return None when the address is allowed.

    Loopback addresses (local test servers) and public unicast addresses are allowed. Cloud metadata,
    unspecified and multicast addresses are refused always; link-local, private, shared (CGNAT), reserved
    and other non-global addresses unless private endpoints are allowed. An IPv4 address embedded in IPv6
    (``::ffff:a.b.c.d``, NAT64, 6to4) is judged as the IPv4 address it carries.

    Args:
        ip: An address, or its text (``"10.0.0.1"``, ``"::1"``, ``"fe80::1%eth0"``).
        allow_private: Whether the opt-in is on; None reads :func:`private_endpoints_allowed`.

    Returns:
        A short reason such as ``"a link-local address"``, or None.

    Raises:
        ValueError: ``ip`` is text that is not an IP address.
    """
    address = ipaddress.ip_address(ip.split("%", 1)[0]) if isinstance(ip, str) else ip
    address = _embedded_ipv4(address) or address
    if address.is_loopback:
        return None
    if address in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if address.is_unspecified:
        return "an unspecified address"
    if address.is_multicast:
        return "a multicast address"
    checks = (
        (address.is_link_local, "a link-local address"),
        (address.is_private, "a private address"),
        (address.is_reserved, "a reserved address"),
        (not address.is_global, "a non-public address"),
    )
    reason = next((reason for failed, reason in checks if failed), None)
    if reason is None:
        return None
    allowed = private_endpoints_allowed() if allow_private is None else allow_private
    return None if allowed else reason


def is_final(reason: str) -> bool:
    """Whether a refusal stands whatever the opt-in (metadata, unspecified, multicast)."""
    return reason in _FINAL


_FINAL = frozenset(
    {"a cloud metadata host", "a cloud metadata address", "an unspecified address", "a multicast address"}
)


def host_refusal(host: str, *, allow_private: bool | None = None) -> str | None:
    """Say why an endpoint's host, as written (a name or an address literal), is refused before any lookup.

    Names are refused only when they are cloud metadata names (``metadata.google.internal``); any other
    name is judged after DNS resolution, at connect time. Address literals are judged by
    :func:`address_refusal`, including the shorthand forms a resolver accepts (``2852039166``,
    ``0xa9.254.169.254``).

    Returns:
        A short reason, or None.
    """
    name = host.strip().strip("[]").rstrip(".").lower()
    if name in METADATA_HOSTS:
        return "a cloud metadata host"
    address = literal_address(name)
    return None if address is None else address_refusal(address, allow_private=allow_private)


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
