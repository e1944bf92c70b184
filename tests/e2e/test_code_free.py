"""Code-free mode end to end: the server keeps no code, the clients rebuild it from git.

A real `kibitz server run` on SQLite and real git repositories. Alice turns code-free mode on and pins a
codemark; the marker row in the database file has no code and no context, only a fingerprint. `kibitz
show` in her clone prints the code (read from the commit it was recorded at), `kibitz ls` still follows
it when lines are inserted above it. Bob's clone lacks Alice's commit but has the default branch, which
the marker names as a reference: his client reads the code there. Outside any clone the code is nowhere
to be had, and `show` says so.
"""

from __future__ import annotations

import itertools
import sqlite3
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.code_samples import APP, RETRY
from tests.e2e.conftest import PASSWORD, Person, running_server
from tests.git_helpers import git, make_repo

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]
_people = itertools.count()
NO_CODE = "code not stored on the server (code-free team) and not in this clone"


@dataclass
class Server:
    """A running server and the data directory whose database file the test inspects."""

    url: str
    data_dir: Path


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Start `kibitz server run` on SQLite in a fresh data directory; stop it afterwards."""
    data_dir = tmp_path_factory.mktemp("code-free")
    with running_server(data_dir) as url:
        yield Server(url, data_dir)


def _person(name: str, tmp_path: Path) -> Person:
    return Person(f"{name.lower()}{next(_people)}@example.com", name, tmp_path / f"{name.lower()}-config")


def _signup(person: Person, server: Server, cwd: Path) -> None:
    person.run(
        "signup",
        "--server",
        server.url,
        "--password-stdin",
        "--email",
        person.email,
        "--name",
        person.name,
        cwd=cwd,
        stdin=PASSWORD + "\n",
    )


def _marker_row(server: Server, marker_id: str) -> tuple[str, str, str, str]:
    """Return a marker's stored code, context and fingerprint, read from the database file itself."""
    with sqlite3.connect(f"file:{server.data_dir / 'kibitz.db'}?mode=ro", uri=True) as db:
        row = db.execute(
            "SELECT code, context_before, context_after, code_fingerprint FROM marker WHERE id = ?",
            (marker_id,),
        ).fetchone()
    assert row is not None, marker_id
    return row[0], row[1], row[2], row[3]


def _numbered(code: str, first: int, width: int = 2) -> list[str]:
    return [f"{first + n:>{width}} │ {line}".rstrip() for n, line in enumerate(code.splitlines())]


def _location(person: Person, repo: Path, codemark_id: str, *args: str) -> tuple[Any, ...]:
    [entry] = [e for e in person.json("ls", "--status", "all", *args, cwd=repo) if e["id"] == codemark_id]
    location = entry["location"]
    return location["path"], location["start_line"], location["end_line"], location["status"]


def test_the_server_keeps_no_code_and_the_clients_rebuild_it(server: Server, tmp_path: Path) -> None:
    alice, bob = _person("Alice", tmp_path), _person("Bob", tmp_path)
    _signup(alice, server, tmp_path)
    alice.run("team", "create", "Acme", cwd=tmp_path)
    assert alice.json("team", "code-free", "on", cwd=tmp_path)["code_free"] is True
    invite = alice.run("team", "invite", cwd=tmp_path).stdout.strip()
    _signup(bob, server, tmp_path)
    bob.run("team", "join", invite, cwd=tmp_path)

    # Alice's clone: the default branch (pushed) holds the code; her HEAD is one unpushed commit further.
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "--quiet", "--bare", "--initial-branch=main", str(origin))
    repo = make_repo(tmp_path / "alice-repo", {"app.py": APP, "README.md": "# app\n"})
    git(repo, "remote", "add", "origin", str(origin))
    git(repo, "push", "--quiet", "--set-upstream", "origin", "main")
    git(repo, "remote", "set-head", "origin", "main")
    (repo / "README.md").write_text("# app\n\nNot pushed yet.\n", encoding="utf-8")
    git(repo, "commit", "--quiet", "--all", "--message", "readme")
    alice.run("init", cwd=repo)

    codemark_id = alice.json("add", "app.py:8-14", "-m", "Why retry on ConnectionError only?", cwd=repo)["id"]
    shown = alice.json("show", codemark_id, cwd=repo)
    [marker] = shown["markers"]
    assert marker["code_free"] is True

    # The database file holds no code and no context of it: only a fingerprint.
    code, before, after, fingerprint = _marker_row(server, marker["id"])
    assert (code, before, after) == ("", "", "")
    assert len(fingerprint) == 64

    # The server answers without the code; Alice's client reads it, and its context, from her clone.
    with alice.client() as client:
        served = client.get_codemark(codemark_id)["markers"][0]
    assert (served["code"], served["context_before"], served["context_after"]) == ("", "", "")
    assert marker["code"] == RETRY
    app_lines = APP.splitlines(keepends=True)
    assert marker["context_before"] == "".join(app_lines[4:7])
    assert marker["context_after"] == "".join(app_lines[14:17])
    text = alice.run("show", codemark_id, cwd=repo).stdout
    for line in _numbered(RETRY, 8):
        assert line in text
    assert NO_CODE not in text

    # Lines inserted above: `ls` still follows the code, in the working tree and at the new commit.
    (repo / "app.py").write_text("# Copyright Acme\n# All rights reserved\n" + APP, encoding="utf-8")
    assert _location(alice, repo, codemark_id) == ("app.py", 10, 16, "shifted")
    git(repo, "commit", "--quiet", "--all", "--message", "header")
    assert _location(alice, repo, codemark_id) == ("app.py", 10, 16, "shifted")
    head = git(repo, "rev-parse", "HEAD").strip()
    assert _location(alice, repo, codemark_id, "--at", head) == ("app.py", 10, 16, "shifted")
    now = alice.run("show", codemark_id, cwd=repo).stdout
    assert "now at app.py:10-16 in the working tree (shifted" in now
    for line in _numbered(RETRY, 8):
        assert line in now

    # Bob's clone never had Alice's commit; the marker's upstream reference (the default branch) it has.
    bob_repo = tmp_path / "bob-repo"
    git(tmp_path, "clone", "--quiet", str(origin), str(bob_repo))
    missing = subprocess.run(
        ["git", "cat-file", "-e", f"{marker['commit']}^{{commit}}"],
        cwd=bob_repo,
        capture_output=True,
        check=False,
    )
    assert missing.returncode != 0
    assert [ref["kind"] for ref in marker["references"]] == ["upstream"]
    bob.run("init", cwd=bob_repo)
    bobs = bob.run("show", codemark_id, cwd=bob_repo).stdout
    for line in _numbered(RETRY, 8):
        assert line in bobs
    assert _location(bob, bob_repo, codemark_id) == ("app.py", 8, 14, "unchanged")

    # Outside any clone the code is nowhere: `show` says so instead of printing nothing.
    elsewhere = alice.run("show", codemark_id, cwd=tmp_path).stdout
    assert NO_CODE in elsewhere
    assert "def retry" not in elsewhere
    assert "Why retry on ConnectionError only?" in elsewhere


def test_a_clone_without_the_commit_or_a_reference_says_the_code_is_not_here(
    server: Server, tmp_path: Path
) -> None:
    alice, bob = _person("Alice", tmp_path), _person("Bob", tmp_path)
    _signup(alice, server, tmp_path)
    alice.run("team", "create", "Acme", cwd=tmp_path)
    alice.run("team", "code-free", "on", cwd=tmp_path)
    invite = alice.run("team", "invite", cwd=tmp_path).stdout.strip()
    _signup(bob, server, tmp_path)
    bob.run("team", "join", invite, cwd=tmp_path)

    # Alice pins the codemark on a commit that only her clone has; nothing else names the block.
    repo = make_repo(tmp_path / "alice-repo", {"app.py": APP})
    bob_repo = tmp_path / "bob-repo"
    git(tmp_path, "clone", "--quiet", str(repo), str(bob_repo))
    (repo / "app.py").write_text(APP + "\n\ndef extra():\n    return 2\n", encoding="utf-8")
    git(repo, "commit", "--quiet", "--all", "--message", "extra")
    alice.run("init", cwd=repo)
    codemark_id = alice.json("add", "app.py:8-14", "-m", "retry", cwd=repo)["id"]

    bob.run("init", cwd=bob_repo)
    shown = bob.run("show", codemark_id, cwd=bob_repo).stdout
    assert NO_CODE in shown
    assert "def retry" not in shown
    # Located as a marker recorded at an unknown commit: without its code there is nothing to find, and
    # its commit is not in this clone — unavailable, not deleted.
    assert _location(bob, bob_repo, codemark_id) == (None, None, None, "unavailable")
    # Bob's guess is not shared: Alice, who has the commit, still computes (and finds) it herself.
    head = git(repo, "rev-parse", "HEAD").strip()
    bob_head = git(bob_repo, "rev-parse", "HEAD").strip()
    assert _location(alice, repo, codemark_id, "--at", head) == ("app.py", 8, 14, "unchanged")
    assert _location(alice, repo, codemark_id, "--at", bob_head) == ("app.py", 8, 14, "unchanged")
    [entry] = [e for e in alice.json("ls", "--at", bob_head, cwd=repo) if e["id"] == codemark_id]
    assert entry["location"]["source"] == "shared"  # Alice's own answer, shared by her previous `ls`
