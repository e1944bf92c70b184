"""`kibitz export`, `kibitz server import` and `kibitz server user set-password` with real processes: a team
exported from one running server, imported into a fresh data directory, served again and exported equal."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from kibitz.client import NewMarker
from tests.e2e.conftest import PASSWORD, Person, running_server
from tests.server_process import clean_environment
from tests.warm_start import run_kibitz

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


def operator(
    *args: str, cwd: Path, expect: int = 0, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a `kibitz server ...` command as the operator of a data directory."""
    result = run_kibitz(
        ["server", *args],
        cwd=cwd,
        env=clean_environment(),
        input=stdin,
        timeout=120,
    )
    assert result.returncode == expect, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    return result


def comparable(data: bytes) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(data)
    del body["exported_at"], body["server_version"]
    return body


def test_export_import_and_export_again(server_url: str, alice: Person, bob: Person, tmp_path: Path) -> None:
    sign_up(alice, server_url, tmp_path)
    sign_up(bob, server_url, tmp_path)
    alice.run("team", "create", "Acme", cwd=tmp_path)
    code = alice.json("team", "invite", cwd=tmp_path)["code"]
    bob.run("team", "join", code, cwd=tmp_path)
    with alice.client() as client:
        team = client.list_teams()[0]["id"]
        repo = client.match_repo(team, ["e" * 40], ["https://git.example.com/acme/app.git"])
        marker: NewMarker = {
            "repo_id": repo["id"],
            "path": "app.py",
            "commit": "f" * 40,
            "start_line": 1,
            "end_line": 2,
            "code": "import os\nprint(os.sep)\n",
            "context_before": "",
            "context_after": "",
        }
        codemark = client.create_codemark(team, type="issue", text="Portable separators?", markers=[marker])
    with bob.client() as client:
        client.add_reply(codemark["id"], "Use pathlib instead")

    # Your own data: to stdout by default, or to a file only you can read, with a summary on stderr.
    mine = bob.run("export", cwd=tmp_path)
    body = json.loads(mine.stdout)
    assert (body["kind"], body["user"]["email"]) == ("user", bob.email)
    assert [r["text"] for r in body["replies"]] == ["Use pathlib instead"]
    assert "Exported your data: " in mine.stderr
    target = tmp_path / "bob.json"
    written = bob.run("export", "-o", str(target), cwd=tmp_path)
    assert f"to {target}" in written.stderr
    assert "1 replies" in written.stderr
    assert target.stat().st_mode & 0o777 == 0o600
    bob.run("export", "--json", cwd=tmp_path, expect=2)

    # The whole team: owners only.
    denied = bob.run("export", "--team", "-o", str(tmp_path / "no.json"), cwd=tmp_path, expect=3)
    assert "owner" in denied.stderr
    assert not (tmp_path / "no.json").exists()
    archive = tmp_path / "acme.json"
    summary = alice.json("export", "--team", "-o", str(archive), cwd=tmp_path)
    assert summary["kind"] == "team"
    assert summary["id"] == team
    assert summary["counts"]["codemarks"] == 1
    assert summary["counts"]["replies"] == 1

    # Into a fresh data directory.
    new_dir = tmp_path / "server-b"
    (tmp_path / "bad.json").write_text('{"format": "kibitz-export", "version": 9}')
    bad = operator("import", str(tmp_path / "bad.json"), "--data-dir", str(new_dir), cwd=tmp_path, expect=1)
    assert bad.stderr.startswith(f"kibitz: {tmp_path / 'bad.json'}: This archive has format version 9;")
    imported = operator("import", str(archive), "--data-dir", str(new_dir), cwd=tmp_path)
    assert f"Imported team Acme ({team})" in imported.stdout
    assert (
        "alice@example.com: new account, cannot log in yet: kibitz server user set-password"
        in imported.stdout
    )
    again = operator("import", str(archive), "--data-dir", str(new_dir), cwd=tmp_path, expect=1)
    assert "exists on this server already; nothing was imported" in again.stderr
    unknown = operator(
        "user",
        "set-password",
        "nobody@example.com",
        "--password-stdin",
        "--data-dir",
        str(new_dir),
        cwd=tmp_path,
        stdin=PASSWORD + "\n",
        expect=4,
    )
    assert unknown.stderr == "kibitz: no account has the email 'nobody@example.com'\n"
    activated = operator(
        "user",
        "set-password",
        alice.email,
        "--password-stdin",
        "--data-dir",
        str(new_dir),
        cwd=tmp_path,
        stdin=PASSWORD + "\n",
    )
    assert "the imported account is active now" in activated.stdout

    # Served from the new directory, the team exports equal to the original.
    moved = Person(alice.email, alice.name, tmp_path / "alice-on-b")
    with running_server(new_dir) as new_url:
        moved.run(
            "login",
            "--server",
            new_url,
            "--email",
            alice.email,
            "--password-stdin",
            cwd=tmp_path,
            stdin=PASSWORD + "\n",
        )
        bob_on_b = Person(bob.email, bob.name, tmp_path / "bob-on-b")
        refused = bob_on_b.run(
            "login",
            "--server",
            new_url,
            "--email",
            bob.email,
            "--password-stdin",
            cwd=tmp_path,
            stdin=PASSWORD + "\n",
            expect=3,
        )
        assert "Wrong email or password" in refused.stderr
        round_trip = tmp_path / "acme-b.json"
        moved.run("export", "--team", "-o", str(round_trip), cwd=tmp_path)
    assert comparable(round_trip.read_bytes()) == comparable(archive.read_bytes())
