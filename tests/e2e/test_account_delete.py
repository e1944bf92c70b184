"""`kibitz account delete`, `team delete` and `server erasures` against a real server process."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from kibitz.client import KibitzClient, NotAuthenticated
from tests.e2e.conftest import PASSWORD, Person, running_server
from tests.server_process import clean_environment
from tests.warm_start import run_kibitz

pytestmark = pytest.mark.e2e


@dataclass(frozen=True)
class Server:
    url: str
    data_dir: Path


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    """Start `kibitz server run` with a data directory the operator's command can open too."""
    data_dir = tmp_path / "server-data"
    data_dir.mkdir()
    with running_server(data_dir) as url:
        yield Server(url, data_dir)


def signed_up(name: str, server: Server, tmp_path: Path) -> Person:
    person = Person(f"{name.lower()}@erasure.example.com", name, tmp_path / f"{name}-config")
    person.run(
        *("signup", "--server", server.url, "--password-stdin", "--email", person.email, "--name", name),
        cwd=tmp_path,
        stdin=PASSWORD + "\n",
    )
    return person


def test_people_and_teams_delete_themselves_and_the_operator_sees_the_ledger(
    server: Server, tmp_path: Path
) -> None:
    ada, bob = signed_up("Ada", server, tmp_path), signed_up("Bob", server, tmp_path)
    ada.run("team", "create", "Acme", cwd=tmp_path)
    code = ada.run("team", "invite", cwd=tmp_path).stdout.strip()
    bob.run("team", "join", code, cwd=tmp_path)
    bob_token = json.loads((bob.config_dir / "credentials.json").read_text(encoding="utf-8"))["token"]

    # The last owner of a team with members is refused (a conflict: exit 1) and keeps her account.
    held = ada.run(
        "account", "delete", "--password-stdin", "--yes", cwd=tmp_path, stdin=PASSWORD + "\n", expect=1
    )
    assert "transfer ownership" in held.stderr
    # A wrong password is refused like a wrong login (exit 3); saying no at the question changes nothing.
    bob.run(
        "account", "delete", "--password-stdin", "--yes", cwd=tmp_path, stdin="wrong password\n", expect=3
    )
    declined = bob.run(
        "account", "delete", "--password-stdin", cwd=tmp_path, stdin=PASSWORD + "\nn\n", expect=1
    )
    assert "cannot be undone" in declined.stderr
    assert bob.json("whoami", cwd=tmp_path)["user"]["email"] == bob.email

    out = bob.run(
        "account", "delete", "--password-stdin", "--yes", cwd=tmp_path, stdin=PASSWORD + "\n"
    ).stdout
    assert f"Deleted the account {bob.email}" in out
    assert "is done" in out
    # Forgotten here, dead on the server: the old token answers 401 and the login is gone.
    assert not (bob.config_dir / "credentials.json").exists()
    bob.run("whoami", cwd=tmp_path, expect=3)
    with KibitzClient(server.url, bob_token) as client, pytest.raises(NotAuthenticated):
        client.me()
    bob.run(
        *("login", "--server", server.url, "--email", bob.email, "--password-stdin"),
        cwd=tmp_path,
        stdin=PASSWORD + "\n",
        expect=3,
    )
    assert [m["email"] for m in ada.json("team", "members", cwd=tmp_path)] == [ada.email]

    # A team is deleted by typing its name; a wrong name deletes nothing.
    wrong = ada.run("team", "delete", cwd=tmp_path, stdin="acme\n", expect=1)
    assert "does not match" in wrong.stderr
    assert ada.json("whoami", cwd=tmp_path)["teams"] != []
    deleted = json.loads(ada.run("team", "delete", "--json", cwd=tmp_path, stdin="Acme\n").stdout)
    assert (deleted["subject_kind"], deleted["status"]) == ("team", "done")
    assert ada.json("whoami", cwd=tmp_path)["teams"] == []

    out = ada.run(
        "account", "delete", "--password-stdin", "--yes", "--json", cwd=tmp_path, stdin=PASSWORD + "\n"
    ).stdout
    assert json.loads(out)["status"] == "done"

    # The operator reads the ledger straight from the database: ids and dates only.
    env = {**clean_environment()}
    listed = run_kibitz(
        ["server", "erasures", "--json", "--data-dir", str(server.data_dir)], env=env, timeout=60, check=True
    )
    ledger = json.loads(listed.stdout)
    assert [(e["subject_kind"], e["status"]) for e in ledger] == [
        ("user", "done"),
        ("team", "done"),
        ("user", "done"),
    ]
    assert deleted["id"] in {e["id"] for e in ledger}
    assert "erasure.example.com" not in listed.stdout
    text = run_kibitz(
        ["server", "erasures", "--data-dir", str(server.data_dir)], env=env, timeout=60, check=True
    ).stdout
    assert len(text.splitlines()) == 3
    assert deleted["id"] in text
