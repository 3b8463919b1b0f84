"""Who is calling: the peer address, or X-Forwarded-For when the peer is a trusted proxy."""

from __future__ import annotations

from collections.abc import Sequence
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address

IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network


def _parse(value: str) -> IPAddress | None:
    try:
        return ip_address(value.strip())
    except ValueError:
        return None


def _within(address: IPAddress, networks: Sequence[IPNetwork]) -> bool:
    return any(address.version == net.version and address in net for net in networks)


def client_address(
    peer: str | None, forwarded_for: str | None, trusted_proxies: Sequence[IPNetwork]
) -> IPAddress | None:
    """Walk X-Forwarded-For from the right while hops are trusted proxies (the usual rule)."""
    address = _parse(peer) if peer else None
    if address is None or not forwarded_for or not _within(address, trusted_proxies):
        return address
    for hop in reversed([h for h in forwarded_for.split(",") if h.strip()]):
        parsed = _parse(hop)
        if parsed is None:
            return address  # a garbled hop is not believed; the last trusted one stands
        address = parsed
        if not _within(address, trusted_proxies):
            return address
    return address


def allowed(address: IPAddress | None, allow: Sequence[IPNetwork]) -> bool:
    if not allow:
        return True
    return address is not None and _within(address, allow)
