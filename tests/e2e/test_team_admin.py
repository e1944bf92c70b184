"""`kibitz team role|remove|transfer`, run as real commands against a real `kibitz server run` process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.conftest import PASSWORD, Person

pytestmark = pytest.mark.e2e


def signed_up(name: str, server_url: str, tmp_path: Path) -> Person:
    """Return a person at a terminal who has signed up (emails are unique on the module's server)."""
    person = Person(f"{name.lower()}@team-admin.example.com", name, tmp_path / f"{name}-config")
    person.run(
        *("signup", "--server", server_url, "--password-stdin", "--email", person.email, "--name", name),
        cwd=tmp_path,
        stdin=PASSWORD + "\n",
    )
    return person


def roles(person: Person, cwd: Path) -> dict[str, str]:
    """Return {email: role} of the current team's members as `person` sees them."""
    return {m["email"]: m["role"] for m in person.json("team", "members", cwd=cwd)}


def test_roles_removal_and_transfer(server_url: str, tmp_path: Path) -> None:
    ada, bo, cy = (signed_up(n, server_url, tmp_path) for n in ("Ada", "Bo", "Cy"))
    ada.run("team", "create", "Acme", cwd=tmp_path)
    for person in (bo, cy):
        code = ada.run("team", "invite", cwd=tmp_path).stdout.strip()
        person.run("team", "join", code, cwd=tmp_path)

    # A member may not change roles (exit 3); unknown people and roles are refused before anything changes.
    refused = bo.run("team", "role", cy.email, "admin", cwd=tmp_path, expect=3)
    assert refused.stderr.startswith("kibitz: ")
    assert ada.run("team", "role", "nobody@example.com", "admin", cwd=tmp_path, expect=4).stderr
    ada.run("team", "role", bo.email, "superuser", cwd=tmp_path, expect=2)
    assert roles(ada, tmp_path) == {ada.email: "owner", bo.email: "member", cy.email: "member"}

    out = ada.run("team", "role", bo.email.upper(), "admin", cwd=tmp_path).stdout
    assert out.strip() == f"{bo.email} is now admin in team Acme (was member)."
    again = ada.run("team", "role", bo.email, "admin", cwd=tmp_path).stdout
    assert "already admin" in again

    # Removing asks first; saying no changes nothing.
    declined = ada.run("team", "remove", cy.email, cwd=tmp_path, stdin="n\n", expect=1)
    assert "Remove" in declined.stderr
    assert cy.email in roles(ada, tmp_path)
    ada.run("team", "remove", cy.email, cwd=tmp_path, stdin="y\n")
    assert roles(ada, tmp_path) == {ada.email: "owner", bo.email: "admin"}
    cy.run("team", "members", cwd=tmp_path, expect=4)  # the removed member's team is gone for them

    # The last owner cannot leave; after handing the team over, they can.
    held = ada.run("team", "remove", ada.email, "--yes", cwd=tmp_path, expect=1)
    assert "owner" in held.stderr
    bo.run("team", "transfer", ada.email, "--yes", cwd=tmp_path, expect=3)  # only an owner hands over
    ada.run("team", "transfer", bo.email, cwd=tmp_path, stdin="n\n", expect=1)
    assert roles(ada, tmp_path) == {ada.email: "owner", bo.email: "admin"}
    out = ada.run("team", "transfer", bo.email, cwd=tmp_path, stdin="y\n").stdout
    assert out.strip() == f"{bo.email} now owns team Acme; you are an admin."
    assert roles(bo, tmp_path) == {ada.email: "admin", bo.email: "owner"}

    out = ada.run("team", "remove", ada.email, "--yes", cwd=tmp_path).stdout
    assert "You left team Acme" in out
    assert ada.json("whoami", cwd=tmp_path)["teams"] == []
    config = json.loads((ada.config_dir / "config.json").read_text(encoding="utf-8"))
    assert config.get("team") is None
    assert roles(bo, tmp_path) == {bo.email: "owner"}


def test_code_free_mode(server_url: str, tmp_path: Path) -> None:
    ada, bo = (signed_up(n, server_url, tmp_path) for n in ("Ana", "Ben"))
    ada.run("team", "create", "Dark", cwd=tmp_path)
    bo.run("team", "join", ada.run("team", "invite", cwd=tmp_path).stdout.strip(), cwd=tmp_path)
    # A member may not change it (exit 3); a bad state is a usage error (exit 2).
    assert bo.run("team", "code-free", "on", cwd=tmp_path, expect=3).stderr.startswith("kibitz: ")
    ada.run("team", "code-free", "maybe", cwd=tmp_path, expect=2)
    assert (
        ada.run("team", "code-free", "on", cwd=tmp_path).stdout.strip()
        == "Code-free mode is on in team Dark."
    )
    team = ada.json("team", "code-free", "off", cwd=tmp_path)
    assert (team["name"], team["code_free"]) == ("Dark", False)
