"""`kibitz team invites` and `kibitz team revoke-invite`, run as real commands against a real Kibitz server
process (SQLite)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import PASSWORD, Person, running_server

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Start the Kibitz server on SQLite in a fresh data directory; yield its URL."""
    with running_server(tmp_path_factory.mktemp("invite-server")) as url:
        yield url


def signed_up(url: str, email: str, name: str, tmp_path: Path) -> Person:
    """Sign someone up (which signs them in) and return them."""
    person = Person(email, name, tmp_path / f"{name.lower()}-config")
    person.run(
        "signup", "--server", url, "--email", email, "--name", name, "--password-stdin",
        cwd=tmp_path, stdin=PASSWORD + "\n",
    )  # fmt: skip
    return person


def test_admins_list_and_revoke_invites(server: str, tmp_path: Path) -> None:
    alice = signed_up(server, "alice@example.com", "Alice", tmp_path)
    bob = signed_up(server, "bob@example.com", "Bob", tmp_path)
    alice.run("team", "create", "Acme", cwd=tmp_path)
    first = alice.json("team", "invite", cwd=tmp_path)
    second = alice.run("team", "invite", cwd=tmp_path)
    code = second.stdout.strip()
    assert code.startswith("kbzi_")
    [second_id] = [word for word in second.stderr.split() if len(word) == 16 and word != code]

    listed = alice.json("team", "invites", cwd=tmp_path)
    assert [i["id"] for i in listed] == [second_id, first["id"]]
    text = alice.run("team", "invites", cwd=tmp_path).stdout
    assert first["id"] in text
    assert "alice@example.com" in text
    assert first["code"] not in text
    assert code not in text

    assert alice.run("team", "revoke-invite", first["id"], cwd=tmp_path).stdout.strip() == (
        f"Revoked invite {first['id']}."
    )
    # Its code no longer lets anyone in (exit 1, like any unknown or used code); the other one still does.
    refused = bob.run("team", "join", first["code"], cwd=tmp_path, expect=1)
    assert "invite" in refused.stderr.lower()
    bob.run("team", "join", code, cwd=tmp_path)
    assert alice.json("team", "invites", cwd=tmp_path) == []
    assert len(alice.json("team", "invites", "--all", cwd=tmp_path)) == 1

    # A plain member may do neither (exit 3); an unknown id is not found (exit 4).
    third = alice.json("team", "invite", cwd=tmp_path)
    assert "admin" in bob.run("team", "invites", cwd=tmp_path, expect=3).stderr
    bob.run("team", "revoke-invite", third["id"], cwd=tmp_path, expect=3)
    alice.run("team", "revoke-invite", "0" * 16, cwd=tmp_path, expect=4)
    assert [i["id"] for i in alice.json("team", "invites", cwd=tmp_path)] == [third["id"]]
    # The first characters of an id name it too (at least four: fewer is a usage error).
    alice.run("team", "revoke-invite", third["id"][:3], cwd=tmp_path, expect=2)
    alice.run("team", "revoke-invite", third["id"][:6], cwd=tmp_path)
    assert alice.json("team", "invites", cwd=tmp_path) == []
    # So do a team's.
    team_id = alice.json("team", "use", "Acme", cwd=tmp_path)["id"]
    assert alice.json("team", "use", team_id[:5], cwd=tmp_path)["id"] == team_id


def test_signing_up_with_an_invite_on_an_invite_only_server(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    data_dir = tmp_path_factory.mktemp("invite-only")
    with running_server(data_dir) as url:
        alice = signed_up(url, "alice@example.com", "Alice", tmp_path)
        alice.run("team", "create", "Acme", cwd=tmp_path)
        code = alice.json("team", "invite", cwd=tmp_path)["code"]
    # The same data, now served invite-only (the first account came from the open start).
    with running_server(data_dir, env={"KIBITZ_SIGNUP_MODE": "invite"}) as url:
        bob = Person("bob@example.com", "Bob", tmp_path / "bob-config")
        args = ("signup", "--server", url, "--email", bob.email, "--name", bob.name, "--password-stdin")
        refused = bob.run(*args, cwd=tmp_path, stdin=PASSWORD + "\n", expect=3)
        assert "invitation only" in refused.stderr
        joined = bob.run(*args, "--invite", code, cwd=tmp_path, stdin=PASSWORD + "\n")
        assert "Signed up" in joined.stdout
        assert [t["name"] for t in bob.json("whoami", cwd=tmp_path)["teams"]] == ["Acme"]
