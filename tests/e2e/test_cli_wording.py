"""What the real `kibitz` says to people, against a real server: plain errors, the throttle's wait, a removed
member's way back, `show` with its permalink, reactions and edits, `watch` saying who did what, one
timestamp style, and shell completion."""

from __future__ import annotations

import itertools
import re
import subprocess
from pathlib import Path

import pytest

from tests.e2e.conftest import PASSWORD, Person, running_server
from tests.e2e.test_conversation_roundtrip import Watcher
from tests.git_helpers import GIT_ENV, make_repo
from tests.server_process import KIBITZ, clean_environment

pytestmark = pytest.mark.e2e

APP = "def fetch(url):\n    return get(url)\n\n\ndef get(url):\n    return url\n"
# The one style of every time the CLI prints: UTC, to the minute, and how long ago.
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC \((just now|\d+ (minute|hour|day|month|year)s? ago)\)")
ISO_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d")
_people = itertools.count()


def person(name: str, tmp_path: Path) -> Person:
    number = next(_people)
    return Person(f"{name.lower()}{number}@example.com", name, tmp_path / f"{name.lower()}{number}-config")


def signed_up(name: str, server_url: str, tmp_path: Path) -> Person:
    someone = person(name, tmp_path)
    someone.run(
        "signup",
        "--server",
        server_url,
        "--password-stdin",
        "--email",
        someone.email,
        "--name",
        someone.name,
        cwd=tmp_path,
        stdin=PASSWORD + "\n",
    )
    return someone


@pytest.fixture
def team(server_url: str, tmp_path: Path) -> tuple[Person, Person, Path]:
    """Ada (owner) and Bo (member) in one team; Ada's clone is linked."""
    ada = signed_up("Ada", server_url, tmp_path)
    bo = signed_up("Bo", server_url, tmp_path)
    ada.run("team", "create", "Acme", cwd=tmp_path)
    code = ada.run("team", "invite", cwd=tmp_path).stdout.strip()
    bo.run("team", "join", code, cwd=tmp_path)
    repo = make_repo(tmp_path / "repo", {"src/app.py": APP})
    ada.run("init", cwd=repo)
    bo.run("init", cwd=repo)
    return ada, bo, repo


def test_errors_are_plain_words(team: tuple[Person, Person, Path]) -> None:
    ada, _bo, repo = team
    said = ada.run("add", "src/app.py:1-2", "--title", "x" * 600, "-m", "too long", cwd=repo, expect=1)
    assert "title must have at most 512 characters" in said.stderr
    for internal in ("Value error", "String should", "body.", "markers.0"):
        assert internal not in said.stderr


def test_show_and_add_say_everything_a_reader_needs(
    server_url: str, team: tuple[Person, Person, Path], tmp_path: Path
) -> None:
    ada, bo, repo = team
    added = ada.run("add", "src/app.py:1-2", "--title", "Why get?", "-m", "Explain", cwd=repo)
    codemark_id = added.stdout.strip()
    assert added.stderr.strip() == f"{server_url}/c/{codemark_id}"
    assert ada.json("add", "src/app.py:5-6", "-m", "another", cwd=repo)["permalink"].startswith(server_url)
    reply_id = bo.run("reply", codemark_id, "-m", "Because", cwd=tmp_path).stdout.strip()
    bo.run("react", codemark_id, "+1", cwd=tmp_path)
    ada.run("react", reply_id, "tada", cwd=tmp_path)
    ada.run("edit", codemark_id, "-m", "Explain, please", cwd=tmp_path)
    bo.run("edit", reply_id, "-m", "Because it is simpler", cwd=tmp_path)

    shown = ada.run("show", codemark_id, cwd=repo).stdout
    lines = shown.splitlines()
    assert f"{server_url}/c/{codemark_id}" in lines
    byline = next(line for line in lines if line.startswith("by Ada"))
    assert TIMESTAMP.search(byline)
    assert byline.endswith(", edited")
    assert "reactions: 👍 1" in lines
    answer = next(line for line in lines if line.startswith("Bo <"))
    assert TIMESTAMP.search(answer)
    assert answer.endswith(", edited:")
    assert "  🎉 1" in lines
    assert not ISO_TIME.search(shown)

    inbox = ada.run("inbox", "--all", cwd=tmp_path).stdout
    assert TIMESTAMP.search(inbox)
    assert not ISO_TIME.search(inbox)


def test_watch_says_who_did_what(team: tuple[Person, Person, Path], tmp_path: Path) -> None:
    ada, bo, repo = team
    ada.run("team", "role", bo.email, "admin", cwd=tmp_path)
    codemark_id = ada.run("add", "src/app.py:1-2", "--type", "issue", "-m", "Broken", cwd=repo).stdout.strip()
    watcher = Watcher(ada, tmp_path, "--after", "0", as_json=False)
    try:
        joined, promoted, opened = watcher.lines(3)
        assert f"{bo.email} joined the team as member" in joined
        assert f"{ada.email} made {bo.email} admin" in promoted
        assert f"{ada.email} opened issue {codemark_id}" in opened
        assert TIMESTAMP.search(opened)
        bo.run("resolve", codemark_id, cwd=tmp_path)
        [resolved] = watcher.lines(1)
        assert f"{bo.email} resolved issue {codemark_id}" in resolved
        ada.run("reopen", codemark_id, cwd=tmp_path)
        [reopened] = watcher.lines(1)
        assert f"{ada.email} reopened issue {codemark_id}" in reopened
        ada.run("edit", codemark_id, "--title", "Broken fetch", cwd=tmp_path)
        [edited] = watcher.lines(1)
        assert f"{ada.email} edited issue {codemark_id}: Broken fetch" in edited
        # Shared locations are the clients' bookkeeping, not news.
        bo.run("ls", cwd=repo)
        watcher.quiet(3)
    finally:
        watcher.kill()


def test_a_removed_member_is_told_they_need_an_invite(
    team: tuple[Person, Person, Path], tmp_path: Path
) -> None:
    ada, bo, repo = team
    ada.run("team", "remove", bo.email, "--yes", cwd=tmp_path)
    for command in (("ls",), ("team", "members"), ("watch",)):
        said = bo.run(*command, cwd=repo, expect=4)
        assert "no longer a member of team Acme" in said.stderr
        assert "invite" in said.stderr
        assert "kibitz team join CODE" in said.stderr


def test_the_throttle_says_how_long_to_wait(tmp_path: Path) -> None:
    with running_server(tmp_path / "data", env={"KIBITZ_LOGIN_RATE_LIMIT": "2/minute"}) as url:
        ada = signed_up("Ada", url, tmp_path)
        login = ["login", "--server", url, "--email", ada.email, "--password-stdin"]
        for _ in range(3):
            said = ada.run(*login, cwd=tmp_path, stdin="wrong password!\n", expect=None)
            if said.returncode != 3:  # refused as a wrong password until the throttle steps in
                break
        assert said.returncode == 1
        assert re.search(r"try again in (\d+ seconds?|1 minute)\.", said.stderr), said.stderr


def test_shell_completion_works_as_documented(tmp_path: Path) -> None:
    docs = (Path(__file__).resolve().parents[2] / "docs" / "cli.md").read_text(encoding="utf-8")
    for shell in ("bash", "zsh", "fish"):
        assert f"_KIBITZ_COMPLETE={shell}_source kibitz" in docs
        script = subprocess.run(
            [str(KIBITZ)],
            env={**clean_environment(), **GIT_ENV, "_KIBITZ_COMPLETE": f"{shell}_source"},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert "_KIBITZ_COMPLETE" in script
    words = subprocess.run(
        [str(KIBITZ)],
        env={
            **clean_environment(),
            "_KIBITZ_COMPLETE": "bash_complete",
            "COMP_WORDS": "kibitz sh",
            "COMP_CWORD": "1",
        },
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "plain,show" in words
