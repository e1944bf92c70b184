"""Which address a request comes from: the peer, or what trusted proxies say it forwarded.

Only a peer inside `KIBITZ_TRUSTED_PROXIES` may speak for the client: its `X-Forwarded-For` is read from the
right, skipping further trusted proxies, and the first address that is not one of them is the client.
Anybody else's forwarded headers are ignored, so a client cannot choose its own address.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_networks(text: str | Iterable[str]) -> list[Network]:
    """Parse CIDRs (comma- or space-separated text, or a list); a bare address is a /32 or /128.

    Raises ValueError naming the first entry that is not a network.
    """
    items = text.replace(",", " ").split() if isinstance(text, str) else [str(t).strip() for t in text]
    networks = []
    for item in items:
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(f"{item!r} is not an IPv4 or IPv6 address or CIDR") from None
    return networks


def parse_address(text: str | None) -> Address | None:
    """Return the address in `text` (IPv4-mapped IPv6 becomes IPv4), or None if it is not one."""
    if not text:
        return None
    try:
        address = ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def within(address: Address | None, networks: Sequence[Network]) -> bool:
    """Tell whether the address is in one of the networks (an unknown address is in none)."""
    return address is not None and any(address in network for network in networks)


def client_address(
    peer: str | None, headers: Mapping[str, str], trusted: Sequence[Network]
) -> Address | None:
    """Return the client's address: the peer's, or the one trusted proxies forwarded."""
    address = parse_address(peer)
    if not within(address, trusted):
        return address
    forwarded = headers.get("x-forwarded-for", "")
    for hop in reversed([h.strip() for h in forwarded.split(",") if h.strip()]):
        hop_address = parse_address(hop)
        if hop_address is None:
            return address  # a garbled chain: believe only the proxy we can see
        address = hop_address
        if not within(address, trusted):
            return address
    return address


def forwarded_https(peer: str | None, headers: Mapping[str, str], trusted: Sequence[Network]) -> bool:
    """Tell whether a trusted proxy says the client used HTTPS."""
    if not within(parse_address(peer), trusted):
        return False
    return headers.get("x-forwarded-proto", "").split(",")[0].strip().lower() == "https"
