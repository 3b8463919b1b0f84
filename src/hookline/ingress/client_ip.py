"""Who is calling: the peer address, or X-Forwarded-For when the peer is a trusted proxy.

Only hops appended by proxies we trust are believed: the header is walked
from the right (the hop nearest to us) and the first address that is not a
trusted proxy is the client. Anything left of it was written by the client
and may be forged. A garbled hop stops the walk at the last believed one.
"""

from __future__ import annotations

from collections.abc import Sequence
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address

IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network


def _parse(value: str) -> IPAddress | None:
    text = value.strip().strip('"')
    if text.startswith("["):  # "[2001:db8::1]:443"
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:  # "203.0.113.7:51234" (some proxies keep the port)
        text = text.partition(":")[0]
    try:
        address = ip_address(text)
    except ValueError:
        return None
    # A dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d; allow-lists are written in IPv4.
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _within(address: IPAddress, networks: Sequence[IPNetwork]) -> bool:
    return any(address.version == net.version and address in net for net in networks)


def client_address(
    peer: str | None, forwarded_for: str | None, trusted_proxies: Sequence[IPNetwork]
) -> IPAddress | None:
    """The client's address: the peer, or the right-most X-Forwarded-For hop not a trusted proxy."""
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
