"""Which address a request comes from: the peer's, or what a chain of trusted proxies forwarded."""

from __future__ import annotations

import ipaddress

import pytest

from kibitz.server.addresses import client_address, parse_address, parse_networks, within

TRUSTED = parse_networks("10.0.0.0/8, 192.168.1.1 2001:db8:ffff::/48")


def test_a_peer_without_proxies_is_the_client() -> None:
    assert client_address("203.0.113.5", {}, TRUSTED) == ipaddress.ip_address("203.0.113.5")
    assert client_address("2001:db8:1::7", {}, TRUSTED) == ipaddress.ip_address("2001:db8:1::7")


def test_an_ipv4_mapped_ipv6_peer_is_its_ipv4_address() -> None:
    assert client_address("::ffff:203.0.113.5", {}, TRUSTED) == ipaddress.ip_address("203.0.113.5")
    # ... and a mapped trusted proxy is trusted like its IPv4 form.
    forwarded = {"x-forwarded-for": "198.51.100.4"}
    assert client_address("::ffff:10.1.2.3", forwarded, TRUSTED) == ipaddress.ip_address("198.51.100.4")


def test_an_untrusted_peer_cannot_choose_its_address() -> None:
    spoofed = {"x-forwarded-for": "10.9.9.9, 198.51.100.1"}
    assert client_address("203.0.113.5", spoofed, TRUSTED) == ipaddress.ip_address("203.0.113.5")
    assert client_address("203.0.113.5", spoofed, []) == ipaddress.ip_address("203.0.113.5")


def test_a_trusted_proxy_speaks_for_the_client() -> None:
    forwarded = {"x-forwarded-for": "198.51.100.1"}
    assert client_address("10.0.0.2", forwarded, TRUSTED) == ipaddress.ip_address("198.51.100.1")


def test_a_chain_is_read_from_the_right_through_every_trusted_proxy() -> None:
    # The client claims 1.2.3.4; its real address is what the first trusted proxy saw (198.51.100.1).
    chain = {"x-forwarded-for": "1.2.3.4, 198.51.100.1, 192.168.1.1, 10.4.4.4"}
    assert client_address("10.0.0.2", chain, TRUSTED) == ipaddress.ip_address("198.51.100.1")
    v6 = {"x-forwarded-for": "2001:db8:1::9, 2001:db8:ffff::1"}
    assert client_address("2001:db8:ffff::2", v6, TRUSTED) == ipaddress.ip_address("2001:db8:1::9")


def test_a_chain_of_only_trusted_proxies_ends_at_the_leftmost() -> None:
    chain = {"x-forwarded-for": "10.1.1.1, 10.2.2.2"}
    assert client_address("10.0.0.2", chain, TRUSTED) == ipaddress.ip_address("10.1.1.1")


def test_a_garbled_chain_believes_only_the_proxy_it_sees() -> None:
    chain = {"x-forwarded-for": "198.51.100.1, not-an-address"}
    assert client_address("10.0.0.2", chain, TRUSTED) == ipaddress.ip_address("10.0.0.2")


def test_a_trusted_proxy_without_a_header_is_the_client() -> None:
    assert client_address("10.0.0.2", {}, TRUSTED) == ipaddress.ip_address("10.0.0.2")


def test_no_peer_is_no_address() -> None:
    assert client_address(None, {"x-forwarded-for": "198.51.100.1"}, TRUSTED) is None
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
