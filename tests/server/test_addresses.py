"""Which address a request comes from: the peer's, or what a chain of trusted proxies forwarded."""

from __future__ import annotations

import ipaddress

import pytest
from starlette.datastructures import Headers

from kibitz.server.addresses import (
    client_address,
    forwarded_https,
    header_values,
    host_of,
    normal_host,
    parse_address,
    parse_networks,
    within,
)

TRUSTED = parse_networks("10.0.0.0/8, 192.168.1.1 2001:db8:ffff::/48")
NONE = Headers()


def lines(name: str, *values: str) -> Headers:
    """Return request headers with one `name` line per value, as the ASGI server hands them over."""
    return Headers(raw=[(name.lower().encode(), value.encode()) for value in values])


def xff(*values: str) -> Headers:
    """Return headers with one X-Forwarded-For line per value."""
    return lines("X-Forwarded-For", *values)


def test_a_peer_without_proxies_is_the_client() -> None:
    assert client_address("203.0.113.5", NONE, TRUSTED) == ipaddress.ip_address("203.0.113.5")
    assert client_address("2001:db8:1::7", NONE, TRUSTED) == ipaddress.ip_address("2001:db8:1::7")


def test_an_ipv4_mapped_ipv6_peer_is_its_ipv4_address() -> None:
    assert client_address("::ffff:203.0.113.5", NONE, TRUSTED) == ipaddress.ip_address("203.0.113.5")
    # ... and a mapped trusted proxy is trusted like its IPv4 form.
    forwarded = xff("198.51.100.4")
    assert client_address("::ffff:10.1.2.3", forwarded, TRUSTED) == ipaddress.ip_address("198.51.100.4")


def test_an_untrusted_peer_cannot_choose_its_address() -> None:
    spoofed = xff("10.9.9.9, 198.51.100.1")
    assert client_address("203.0.113.5", spoofed, TRUSTED) == ipaddress.ip_address("203.0.113.5")
    assert client_address("203.0.113.5", spoofed, []) == ipaddress.ip_address("203.0.113.5")


def test_a_trusted_proxy_speaks_for_the_client() -> None:
    forwarded = xff("198.51.100.1")
    assert client_address("10.0.0.2", forwarded, TRUSTED) == ipaddress.ip_address("198.51.100.1")


def test_a_chain_is_read_from_the_right_through_every_trusted_proxy() -> None:
    # The client claims 1.2.3.4; its real address is what the first trusted proxy saw (198.51.100.1).
    chain = xff("1.2.3.4, 198.51.100.1, 192.168.1.1, 10.4.4.4")
    assert client_address("10.0.0.2", chain, TRUSTED) == ipaddress.ip_address("198.51.100.1")
    v6 = xff("2001:db8:1::9, 2001:db8:ffff::1")
    assert client_address("2001:db8:ffff::2", v6, TRUSTED) == ipaddress.ip_address("2001:db8:1::9")


def test_a_chain_of_only_trusted_proxies_ends_at_the_leftmost() -> None:
    chain = xff("10.1.1.1, 10.2.2.2")
    assert client_address("10.0.0.2", chain, TRUSTED) == ipaddress.ip_address("10.1.1.1")


def test_a_garbled_chain_believes_only_the_proxy_it_sees() -> None:
    chain = xff("198.51.100.1, not-an-address")
    assert client_address("10.0.0.2", chain, TRUSTED) == ipaddress.ip_address("10.0.0.2")


def test_a_trusted_proxy_without_a_header_is_the_client() -> None:
    assert client_address("10.0.0.2", NONE, TRUSTED) == ipaddress.ip_address("10.0.0.2")


def test_no_peer_is_no_address() -> None:
    assert client_address(None, xff("198.51.100.1"), TRUSTED) is None
    assert not within(None, parse_networks("0.0.0.0/0 ::/0"))


def test_addresses_and_networks_parse() -> None:
    assert parse_address("[2001:db8::1]") == ipaddress.ip_address("2001:db8::1")
    assert parse_address("garbage") is None
    assert parse_networks(["203.0.113.5", "2001:db8::/32"]) == [
        ipaddress.ip_network("203.0.113.5/32"),
        ipaddress.ip_network("2001:db8::/32"),
    ]
    with pytest.raises(ValueError, match=r"'10\.0\.0\.0/33'"):
        parse_networks("10.0.0.0/8 10.0.0.0/33")


def test_repeated_lines_are_one_list_in_order() -> None:
    assert header_values(xff("1.1.1.1, 2.2.2.2", " ", "3.3.3.3"), "x-forwarded-for") == [
        "1.1.1.1",
        "2.2.2.2",
        "3.3.3.3",
    ]
    assert header_values(NONE, "x-forwarded-for") == []


def test_a_line_the_client_wrote_before_the_proxys_cannot_choose_the_address() -> None:
    # The client sent its own X-Forwarded-For; the proxy added a line of its own rather than appending.
    two_lines = xff("10.9.9.9", "198.51.100.1")
    assert client_address("10.0.0.2", two_lines, TRUSTED) == ipaddress.ip_address("198.51.100.1")
    # The same chain on one line is read the same way.
    one_line = xff("10.9.9.9, 198.51.100.1")
    assert client_address("10.0.0.2", one_line, TRUSTED) == ipaddress.ip_address("198.51.100.1")


def test_only_the_nearest_proxys_protocol_counts() -> None:
    assert forwarded_https("10.0.0.2", lines("X-Forwarded-Proto", "https"), TRUSTED)
    assert forwarded_https("10.0.0.2", lines("X-Forwarded-Proto", "http, https"), TRUSTED)
    # What came from further away (where the client may write it) does not count.
    assert not forwarded_https("10.0.0.2", lines("X-Forwarded-Proto", "https", "http"), TRUSTED)
    assert not forwarded_https("10.0.0.2", lines("X-Forwarded-Proto", "https, http"), TRUSTED)
    assert not forwarded_https("10.0.0.2", NONE, TRUSTED)
    # Nor does anything an untrusted peer says.
    assert not forwarded_https("203.0.113.5", lines("X-Forwarded-Proto", "https"), TRUSTED)


@pytest.mark.parametrize(
    ("header", "host"),
    [
        ("localhost", "localhost"),
        ("Kibitz.Example.:8383", "kibitz.example"),
        ("127.0.0.1:80", "127.0.0.1"),
        ("[::1]:8383", "::1"),
        ("[::1]", "::1"),
        ("::1", None),  # a Host header brackets IPv6
        ("[::1", None),
        ("[kibitz.example]:1", None),
        ("kibitz.example:http", None),
        ("a..b", None),
        ("-a.example", None),
        ("", None),
        ("kibitz.example/x", None),
    ],
)
def test_the_host_of_a_host_header(header: str, host: str | None) -> None:
    assert host_of(header) == host


def test_host_names_have_one_spelling() -> None:
    assert normal_host(" LocalHost. ") == "localhost"
    assert normal_host("::1") == normal_host("[0:0::1]") == "::1"
    assert normal_host("under_score.lan") == "under_score.lan"
    assert normal_host("x" * 64) is None
    assert normal_host("not a name") is None
