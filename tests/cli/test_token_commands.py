"""`kibitz token create|list|revoke`, `kibitz password` and `kibitz server user disable|enable`, run as real
commands against a real Kibitz server process (SQLite; the operator commands open the same database)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import COMMAND_SECONDS, PASSWORD, Person, running_server
from tests.server_process import clean_environment
from tests.warm_start import run_kibitz

pytestmark = pytest.mark.e2e

NEW_PASSWORD = "another long passphrase"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """Start the Kibitz server on SQLite in a fresh data directory; yield its URL and the directory."""
    data_dir = tmp_path_factory.mktemp("token-server")
    with running_server(data_dir) as url:
        yield url, data_dir


@pytest.fixture
def alice(tmp_path: Path) -> Person:
    return Person("alice@example.com", "Alice", tmp_path / "alice-config")


@pytest.fixture
def bob(tmp_path: Path) -> Person:
    return Person("bob@example.com", "Bob", tmp_path / "bob-config")


def operator(*args: str, data_dir: Path, expect: int = 0) -> subprocess.CompletedProcess[str]:
    """Run `kibitz server ARGS --data-dir DIR` as the operator would, on the server's database."""
    result = run_kibitz(
        ["server", *args, "--data-dir", str(data_dir)],
        env=clean_environment(),
        timeout=COMMAND_SECONDS,
    )
    assert result.returncode == expect, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    return result


def with_token(person: Person, server_url: str, token: str, config_dir: Path) -> Person:
    """Return someone at another terminal using `token` (as a CI job would), for `person`'s account."""
    config_dir.mkdir(parents=True, exist_ok=True)
    credentials = config_dir / "credentials.json"
    credentials.write_text(json.dumps({"server": server_url, "token": token, "email": person.email}))
    credentials.chmod(0o600)
    return Person(person.email, person.name, config_dir)


def test_tokens_from_the_command_line(server: tuple[str, Path], alice: Person, tmp_path: Path) -> None:
    url, _data_dir = server
    alice.run(
        "signup", "--server", url, "--email", alice.email, "--name", alice.name, "--password-stdin",
        cwd=tmp_path, stdin=PASSWORD + "\n",
    )  # fmt: skip
    alice.run("team", "create", "Acme", cwd=tmp_path)

    # `create` prints only the token on stdout; the details go to stderr.
    made = alice.run("token", "create", "ci", "--scope", "write", "--expires", "30", cwd=tmp_path)
    token = made.stdout.strip()
    assert token.startswith("kbz_")
    assert "\n" not in token
    assert "ci" in made.stderr
    assert "read write" in made.stderr
    reader = alice.json("token", "create", "reader", cwd=tmp_path)
    assert (reader["name"], reader["kind"], reader["scopes"]) == ("reader", "token", ["read"])

    listed = alice.json("token", "list", cwd=tmp_path)
    assert [(t["name"], t["kind"], t["current"]) for t in listed] == [
        ("reader", "token", False),
        ("ci", "token", False),
        ("login", "session", True),
    ]
    text = alice.run("token", "list", cwd=tmp_path).stdout
    assert token not in text
    assert reader["token"] not in text
    [current_line] = [line for line in text.splitlines() if line.startswith("*")]
    assert "session" in current_line
    assert "login" in current_line
    ci_id = listed[1]["id"]

    # The write token works for writing but not for admin work: exit 3, naming the scope.
    ci = with_token(alice, url, token, tmp_path / "ci-config")
    assert ci.json("whoami", cwd=tmp_path)["user"]["email"] == alice.email
    refused = ci.run("team", "invite", cwd=tmp_path, expect=3)
    assert "admin scope" in refused.stderr
    refused = ci.run("token", "create", "more", cwd=tmp_path, expect=3)
    assert "admin scope" in refused.stderr

    # Revoked, it stops working; unknown ids and bad options are refused without changing anything.
    assert alice.run("token", "revoke", ci_id, cwd=tmp_path).stdout.strip() == f"Revoked {ci_id}."
    ci.run("whoami", cwd=tmp_path, expect=3)
    alice.run("token", "revoke", "0" * 16, cwd=tmp_path, expect=4)
    alice.run("token", "create", "x", "--scope", "root", cwd=tmp_path, expect=2)
    alice.run("token", "create", "x", "--expires", "0", cwd=tmp_path, expect=2)
    alice.run("token", "create", "x", "--expires", "3651", cwd=tmp_path, expect=2)
    assert [t["name"] for t in alice.json("token", "list", cwd=tmp_path)] == ["reader", "login"]
    revoked = [t for t in alice.json("token", "list", "--all", cwd=tmp_path) if t["id"] == ci_id]
    assert revoked[0]["revoked_at"] is not None


def test_password_change_and_disabled_accounts(server: tuple[str, Path], bob: Person, tmp_path: Path) -> None:
    url, data_dir = server
    bob.run(
        "signup", "--server", url, "--email", bob.email, "--name", bob.name, "--password-stdin",
        cwd=tmp_path, stdin=PASSWORD + "\n",
    )  # fmt: skip
    laptop = Person(bob.email, bob.name, tmp_path / "bob-laptop")
    laptop.run(
        "login", "--server", url, "--email", bob.email, "--password-stdin", cwd=tmp_path, stdin=PASSWORD
    )
    named = bob.json("token", "create", "ci", cwd=tmp_path)
    ci = with_token(bob, url, named["token"], tmp_path / "bob-ci")

    # A wrong current password changes nothing (exit 3); a short new one is refused by the server.
    wrong = bob.run(
        "password", "--password-stdin", cwd=tmp_path, stdin=f"not the password\n{NEW_PASSWORD}\n", expect=3
    )
    assert "current password" in wrong.stderr
    bob.run("password", "--password-stdin", cwd=tmp_path, stdin=f"{PASSWORD}\nshort\n", expect=1)
    bob.run("password", "--password-stdin", cwd=tmp_path, stdin=f"{PASSWORD}\n", expect=1)
    laptop.run("whoami", cwd=tmp_path)

    changed = bob.run("password", "--password-stdin", cwd=tmp_path, stdin=f"{PASSWORD}\n{NEW_PASSWORD}\n")
    assert changed.stdout.strip() == "Password changed; 1 other login session ended."
    bob.run("whoami", cwd=tmp_path)
    ci.run("whoami", cwd=tmp_path)
    laptop.run("whoami", cwd=tmp_path, expect=3)
    laptop.run(
        "login",
        "--server",
        url,
        "--email",
        bob.email,
        "--password-stdin",
        cwd=tmp_path,
        stdin=PASSWORD,
        expect=3,
    )
    laptop.run(
        "login", "--server", url, "--email", bob.email, "--password-stdin", cwd=tmp_path, stdin=NEW_PASSWORD
    )

    # The operator disables the account on the server's database while the server runs.
    result = operator("user", "disable", bob.email.upper(), data_dir=data_dir)
    assert result.stdout.startswith(f"Disabled {bob.email.upper()}; 3 tokens and sessions revoked")
    for someone in (bob, laptop, ci):
        someone.run("whoami", cwd=tmp_path, expect=3)
    laptop.run(
        "login",
        "--server",
        url,
        "--email",
        bob.email,
        "--password-stdin",
        cwd=tmp_path,
        stdin=NEW_PASSWORD,
        expect=3,
    )
    assert "already disabled" in operator("user", "disable", bob.email, data_dir=data_dir).stdout
    unchanged = json.loads(operator("user", "disable", bob.email, "--json", data_dir=data_dir).stdout)
    assert unchanged == {"email": bob.email, "status": "disabled", "changed": False, "revoked": 0}
    missing = operator("user", "disable", "nobody@example.com", data_dir=data_dir, expect=4)
    assert "nobody@example.com" in missing.stderr

    enabled = json.loads(operator("user", "enable", bob.email, "--json", data_dir=data_dir).stdout)
    assert (enabled["status"], enabled["changed"]) == ("active", True)
    ci.run("whoami", cwd=tmp_path, expect=3)
    laptop.run(
        "login", "--server", url, "--email", bob.email, "--password-stdin", cwd=tmp_path, stdin=NEW_PASSWORD
    )
    laptop.run("whoami", cwd=tmp_path)
