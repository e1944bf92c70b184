"""Which address a request comes from: the peer, or what trusted proxies say it forwarded.

Only a peer inside `KIBITZ_TRUSTED_PROXIES` may speak for the client: its `X-Forwarded-For` is read from the
right, skipping further trusted proxies, and the first address that is not one of them is the client.
Anybody else's forwarded headers are ignored, so a client cannot choose its own address.

A header may come as several lines (a proxy may add its own line rather than append to the client's), and
HTTP says such lines mean their values joined by commas in order: every line is read, so a line the client
wrote first cannot stand for the whole header.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Sequence
from typing import Protocol

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
# A DNS name: dot-separated labels of letters, digits and inner hyphens.
_HOST_NAME = re.compile(r"(?!-)[a-z0-9_-]{1,63}(?<!-)(\.(?!-)[a-z0-9_-]{1,63}(?<!-))*")
_PORT = re.compile(r":\d{1,5}")


class HeaderLines(Protocol):
    """Request headers that keep repeated lines (Starlette's `Headers`)."""

    def getlist(self, key: str) -> list[str]:
        """Return the value of every line named `key`, in the order they came."""
        ...


def header_values(headers: HeaderLines, name: str) -> list[str]:
    """Return the comma-separated values of every `name` line, joined in order, empty ones dropped."""
    return [value.strip() for line in headers.getlist(name) for value in line.split(",") if value.strip()]


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


def client_address(peer: str | None, headers: HeaderLines, trusted: Sequence[Network]) -> Address | None:
    """Return the client's address: the peer's, or the one trusted proxies forwarded."""
    address = parse_address(peer)
    if not within(address, trusted):
        return address
    for hop in reversed(header_values(headers, "x-forwarded-for")):
        hop_address = parse_address(hop)
        if hop_address is None:
            return address  # a garbled chain: believe only the proxy we can see
        address = hop_address
        if not within(address, trusted):
            return address
    return address


def forwarded_https(peer: str | None, headers: HeaderLines, trusted: Sequence[Network]) -> bool:
    """Tell whether a trusted proxy says the client used HTTPS.

    The last value counts: it is the one our own proxy wrote; any before it came from further away, where
    the client may have written them itself.
    """
    if not within(parse_address(peer), trusted):
        return False
    values = header_values(headers, "x-forwarded-proto")
    return bool(values) and values[-1].lower() == "https"


def normal_host(text: str) -> str | None:
    """Return a host name or IP address in one spelling (lower case, no final dot, IPv6 without brackets).

    Returns None for anything else.
    """
    text = text.strip().lower()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        pass
    name = text.removesuffix(".")
    return name if len(name) <= 253 and _HOST_NAME.fullmatch(name) else None


def host_of(header: str) -> str | None:
    """Return the host of a Host header (`name`, `name:port`, `[v6]:port`) in one spelling, or None."""
    header = header.strip()
    if header.startswith("["):
        host, bracket, port = header[1:].partition("]")
        if not bracket or ":" not in host or (port and not _PORT.fullmatch(port)):
            return None
        return normal_host(host)
    host, colon, port = header.partition(":")
    if colon and not _PORT.fullmatch(colon + port):
        return None  # a bare IPv6 address, which a Host header must bracket, or a garbled port
    return normal_host(host)
