"""Two people discuss code through the real `kibitz` CLI, a real server process and real git repos."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from tests.e2e.conftest import PASSWORD, Person
from tests.git_helpers import git, make_repo, numbered_lines

pytestmark = pytest.mark.e2e

APP = numbered_lines(12, prefix="app line")


def test_two_people_discuss_a_block_of_code(
    server_url: str, alice: Person, bob: Person, tmp_path: Path
) -> None:
    alice_repo = make_repo(tmp_path / "alice-repo", {"src/app.py": APP, "README.md": "# app\n"})
    git(alice_repo, "remote", "add", "origin", "git@git.example.com:acme/app.git")
    bob_repo = tmp_path / "bob-repo"
    git(tmp_path, "clone", "--quiet", str(alice_repo), str(bob_repo))

    # A signs up, creates a team and invites B; B signs up and joins.
    signup = ["signup", "--server", server_url, "--password-stdin"]
    alice.run(*signup, "--email", alice.email, "--name", alice.name, cwd=tmp_path, stdin=PASSWORD + "\n")
    credentials = alice.config_dir / "credentials.json"
    assert stat.S_IMODE(credentials.stat().st_mode) == 0o600
    alice.run("team", "create", "Acme", cwd=tmp_path)
    invite = alice.json("team", "invite", cwd=tmp_path)
    assert invite["role"] == "member"
    bob.run(*signup, "--email", bob.email, "--name", bob.name, cwd=tmp_path, stdin=PASSWORD + "\n")
    bob.run("team", "join", invite["code"], cwd=tmp_path)
    assert bob.json("whoami", cwd=tmp_path)["current_team"]["name"] == "Acme"
    members = alice.json("team", "members", cwd=tmp_path)
    assert sorted((m["email"], m["role"]) for m in members) == [(alice.email, "owner"), (bob.email, "member")]

    # A links the repository and pins a codemark to lines 3-5 of a committed file.
    alice.run("init", cwd=alice_repo)
    added = alice.json(
        "add", "src/app.py:3-5", "-m", "Why do we retry here?", "--title", "Retry", "--type", "question",
        "--tag", "reliability", "--assign", bob.email, cwd=alice_repo,
    )  # fmt: skip
    codemark_id = added["id"]

    # A range over uncommitted changes, or in an untracked file, makes a provisional codemark.
    app = alice_repo / "src/app.py"
    app.write_text(APP.replace("app line 4\n", "app line 4, edited\n"), encoding="utf-8")
    dirty = alice.json("add", "src/app.py:3-5", "-m", "dirty", cwd=alice_repo)
    (alice_repo / "notes.txt").write_text("draft\n", encoding="utf-8")
    untracked = alice.json("add", "notes.txt:1", "-m", "untracked", cwd=alice_repo)
    assert (dirty["provisional"], untracked["provisional"]) == (True, True)
    for provisional in (dirty, untracked):
        alice.run("rm", provisional["id"], "--yes", cwd=alice_repo)
    assert [c["id"] for c in alice.json("ls", "--status", "all", cwd=alice_repo)] == [codemark_id]
    git(alice_repo, "checkout", "--quiet", "--", "src/app.py")
    (alice_repo / "notes.txt").unlink()

    # B links their clone (found by the root commit) and sees the codemark where it was pinned.
    bob.run("init", cwd=bob_repo)
    listed = bob.json("ls", cwd=bob_repo / "src")
    assert len(listed) == 1
    entry = listed[0]
    assert entry["id"] == codemark_id
    assert (entry["type"], entry["status"], entry["title"]) == ("question", "open", "Retry")
    assert entry["text"] == "Why do we retry here?"
    assert entry["author"] == alice.email
    head = git(bob_repo, "rev-parse", "HEAD").strip()
    location = entry["location"]
    assert (location["path"], location["start_line"], location["end_line"]) == ("src/app.py", 3, 5)
    assert (location["status"], location["confidence"]) == ("unchanged", 1.0)
    assert (location["commit"], location["at"]) == (head, None)
    assert entry["recorded"] == {
        "path": "src/app.py",
        "commit": head,
        "start_line": 3,
        "end_line": 5,
        "provisional": False,
    }
    human = bob.run("ls", "app.py", cwd=bob_repo / "src").stdout
    assert human.strip() == f"{codemark_id}  src/app.py:3-5  [open/question]  Retry  ({alice.email})"

    # When B's working tree moves the code down, ls follows it.
    (bob_repo / "src/app.py").write_text("# new header\n\n" + APP, encoding="utf-8")
    shifted = bob.json("ls", cwd=bob_repo)[0]["location"]
    assert (shifted["start_line"], shifted["end_line"], shifted["status"]) == (5, 7, "shifted")

    # B answers; a member may not delete A's codemark.
    bob.run("reply", codemark_id, "-m", "Because the network flakes.", cwd=bob_repo)
    forbidden = bob.run("rm", codemark_id, "--yes", cwd=bob_repo, expect=3)
    assert forbidden.stderr.startswith("kibitz: ")

    # A sees the reply with the code and resolves the codemark.
    shown = alice.json("show", codemark_id, cwd=alice_repo)
    assert [(r["author"]["email"], r["text"]) for r in shown["replies"]] == [
        (bob.email, "Because the network flakes.")
    ]
    marker = shown["markers"][0]
    assert marker["code"] == "app line 3\napp line 4\napp line 5\n"
    assert marker["context_before"] == "app line 1\napp line 2\n"
    assert marker["context_after"] == "app line 6\napp line 7\napp line 8\n"
    assert [user["email"] for user in shown["assignees"]] == [bob.email]
    text = alice.run("show", codemark_id, cwd=alice_repo).stdout
    assert "4 │ app line 4" in text
    assert "Because the network flakes." in text
    alice.run("resolve", codemark_id, cwd=alice_repo)

    # Resolved codemarks leave the default listing but not `--status all`.
    assert alice.json("ls", cwd=alice_repo) == []
    everything = alice.json("ls", "--status", "all", cwd=alice_repo)
    assert [(c["id"], c["status"]) for c in everything] == [(codemark_id, "resolved")]
    alice.run("reopen", codemark_id, cwd=alice_repo)
    assert [c["id"] for c in bob.json("ls", cwd=bob_repo)] == [codemark_id]


def test_unknown_ids_and_missing_logins_have_their_exit_codes(
    server_url: str, alice: Person, tmp_path: Path
) -> None:
    alice.run("whoami", cwd=tmp_path, expect=3)
    alice.run(
        "signup", "--server", server_url, "--password-stdin",
        "--email", "carol@example.com", "--name", "Carol", cwd=tmp_path, stdin=PASSWORD + "\n",
    )  # fmt: skip
    missing = alice.run("show", "0000000000000000", cwd=tmp_path, expect=4)
    assert missing.stderr.startswith("kibitz: ")
    alice.run("logout", cwd=tmp_path)
    assert not (alice.config_dir / "credentials.json").exists()
    alice.run("whoami", cwd=tmp_path, expect=3)
    wrong = alice.run(
        "login", "--server", server_url, "--email", "carol@example.com", "--password-stdin",
        cwd=tmp_path, stdin="not the password\n", expect=3,
    )  # fmt: skip
    assert wrong.stderr.startswith("kibitz: ")
