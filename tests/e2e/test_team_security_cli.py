"""`kibitz team allowlist [set CIDR...|clear]` and `kibitz team audit` against a real server process."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.conftest import PASSWORD, Person

pytestmark = pytest.mark.e2e


def sign_up(person: Person, server_url: str, cwd: Path) -> None:
    person.run(
        "signup",
        "--server",
        server_url,
        "--password-stdin",
        "--email",
        person.email,
        "--name",
        person.name,
        cwd=cwd,
        stdin=PASSWORD + "\n",
    )


def test_an_admin_manages_the_allowlist_and_reads_the_audit_trail(
    server_url: str, alice: Person, bob: Person, tmp_path: Path
) -> None:
    sign_up(alice, server_url, tmp_path)
    alice.run("team", "create", "Acme", cwd=tmp_path)

    # The CLI talks to the server directly from 127.0.0.1.
    assert alice.json("team", "allowlist", cwd=tmp_path) == {"cidrs": [], "your_address": "127.0.0.1"}
    shown = alice.run("team", "allowlist", cwd=tmp_path).stdout
    assert "no allowlist" in shown
    assert "127.0.0.1" in shown

    saved = alice.json("team", "allowlist", "set", "127.0.0.1", "2001:DB8::1/32", cwd=tmp_path)
    assert saved == {"cidrs": ["127.0.0.1/32", "2001:db8::/32"], "your_address": "127.0.0.1"}
    text = alice.run("team", "allowlist", cwd=tmp_path).stdout
    assert "only from 2 networks" in text
    assert "  127.0.0.1/32\n  2001:db8::/32\n" in text

    # Refusals say why, exit non-zero, and change nothing.
    locked = alice.run("team", "allowlist", "set", "10.0.0.0/8", cwd=tmp_path, expect=1)
    assert "lock you out" in locked.stderr
    assert "127.0.0.1" in locked.stderr
    bad = alice.run("team", "allowlist", "set", "127.0.0.1", "nonsense", cwd=tmp_path, expect=1)
    assert "'nonsense' is not an IPv4 or IPv6 CIDR" in bad.stderr
    alice.run("team", "allowlist", "set", cwd=tmp_path, expect=2)  # at least one CIDR
    assert alice.json("team", "allowlist", cwd=tmp_path)["cidrs"] == ["127.0.0.1/32", "2001:db8::/32"]

    cleared = alice.run("team", "allowlist", "clear", cwd=tmp_path).stdout
    assert "every address may connect" in cleared
    assert alice.json("team", "allowlist", cwd=tmp_path)["cidrs"] == []

    # A member may do neither.
    invite = alice.json("team", "invite", cwd=tmp_path)
    sign_up(bob, server_url, tmp_path)
    bob.run("team", "join", invite["code"], cwd=tmp_path)
    refused = bob.run("team", "allowlist", "set", "127.0.0.1", cwd=tmp_path, expect=3)
    assert "admin" in refused.stderr
    bob.run("team", "audit", cwd=tmp_path, expect=3)

    events = alice.json("team", "audit", cwd=tmp_path)
    actions = [event["action"] for event in events]
    assert actions[:4] == ["member.joined", "login.succeeded", "allowlist.changed", "allowlist.changed"]
    assert actions.count("login.succeeded") == 2
    assert events[2]["details"] == {"old": ["127.0.0.1/32", "2001:db8::/32"], "new": []}
    assert {event["address"] for event in events} == {"127.0.0.1"}

    only = alice.json("team", "audit", "--action", "allowlist", "--limit", "1", cwd=tmp_path)
    assert [(e["action"], e["details"]["new"]) for e in only] == [("allowlist.changed", [])]
    lines = alice.run("team", "audit", "--action", "login", cwd=tmp_path).stdout.splitlines()
    assert len(lines) == 2
    assert all("login.succeeded" in line and "127.0.0.1" in line for line in lines)
    assert "@bob" in lines[0]
    none = alice.run("team", "audit", "--action", "address.denied", cwd=tmp_path).stdout
    assert none.strip() == "No audit events in Acme for address.denied."
    unknown = alice.run("team", "audit", "--action", "nonsense", cwd=tmp_path, expect=1)
    assert "Unknown action" in unknown.stderr
