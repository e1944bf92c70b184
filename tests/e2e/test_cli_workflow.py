"""The CLI as people use it every day: messages from an editor, a file or standard input; `--json` on every
change; short ids; `ls` filters; assignees, tags, pins, archive, related codemarks and history; `rm` asking;
a reader that goes away. Real `kibitz` processes against a real server process."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import secrets
import struct
import subprocess
import sys
import termios
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import pytest

from tests.e2e.conftest import COMMAND_SECONDS, PASSWORD, Person
from tests.git_helpers import GIT_ENV, make_repo, numbered_lines
from tests.server_process import KIBITZ, TEST_SWITCHES, ServerProcess, clean_environment, free_port
from tests.warm_start import run_kibitz

pytestmark = pytest.mark.e2e

SHARED_PREFIX_LAUNCHER = Path(__file__).with_name("launch_shared_prefix_server.py")


@dataclass
class Someone:
    """A person with a handle, running `kibitz` in the team's clone."""

    person: Person
    handle: str
    repo: Path

    def run(
        self, *args: str, expect: int = 0, stdin: str | None = None, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run `kibitz ARGS` in the clone, with extra environment variables, and check its exit code."""
        environment = {
            **clean_environment(),
            **GIT_ENV,
            "KIBITZ_CONFIG_DIR": str(self.person.config_dir),
            **(env or {}),
        }
        result = run_kibitz(args, cwd=self.repo, env=environment, input=stdin, timeout=COMMAND_SECONDS)
        assert result.returncode == expect, (
            f"kibitz {' '.join(args)} exited {result.returncode}, expected {expect}\n"
            f"stdout: {result.stdout}\nstderr: {result.stderr}"
        )
        assert "Traceback" not in result.stderr
        return result

    def json(self, *args: str, stdin: str | None = None, env: dict[str, str] | None = None) -> Any:
        """Run a command with `--json` and return what it printed."""
        return json.loads(self.run(*args, "--json", stdin=stdin, env=env).stdout)


@dataclass
class Team:
    ada: Someone
    bo: Someone


def make_team(server_url: str, tmp_path: Path) -> Team:
    """Sign up Ada and Bo (fresh emails and handles), put them in a new team, link a clone of a repo."""
    tag = secrets.token_hex(3)
    repo = make_repo(tmp_path / "repo", {"src/app.py": numbered_lines(20, prefix="app line")})
    people = []
    for name in ("Ada", "Bo"):
        handle = f"{name.lower()}{tag}"
        person = Person(f"{handle}@example.com", name, tmp_path / f"{handle}-config")
        someone = Someone(person, handle, repo)
        someone.run(
            "signup", "--server", server_url, "--email", person.email, "--name", name, "--handle", handle,
            "--password-stdin", stdin=PASSWORD + "\n",
        )  # fmt: skip
        people.append(someone)
    ada, bo = people
    ada.run("team", "create", f"Team {tag}")
    code = ada.json("team", "invite")["code"]
    bo.run("team", "join", code)
    ada.run("init")
    return Team(ada, bo)


@pytest.fixture
def team(server_url: str, tmp_path: Path) -> Team:
    return make_team(server_url, tmp_path)


def editor(tmp_path: Path, name: str, script: str) -> dict[str, str]:
    """Return the environment that makes `script` (sh, the file to edit in $1) the editor."""
    path = tmp_path / name
    path.write_text(f"#!/bin/sh\n{script}\n", encoding="utf-8")
    path.chmod(0o755)
    return {"EDITOR": str(path)}


def test_messages_come_from_standard_input_a_file_or_the_editor(team: Team, tmp_path: Path) -> None:
    ada = team.ada
    codemark = ada.json("add", "src/app.py:2", "-m", "-", stdin="Read from standard input.\n")
    assert codemark["text"] == "Read from standard input."
    cid = codemark["id"]

    body = tmp_path / "answer.md"
    body.write_text("An answer\n\nin two paragraphs.\n", encoding="utf-8")
    reply = ada.json("reply", cid, "--body-file", str(body))
    assert reply["text"] == "An answer\n\nin two paragraphs."
    assert ada.json("reply", cid, "--body-file", "-", stdin="piped in\n")["text"] == "piped in"

    writes = editor(tmp_path, "write.sh", "printf 'Written in the editor.\\n' > \"$1\"")
    assert ada.json("reply", cid, env=writes)["text"] == "Written in the editor."
    created = ada.json("add", "src/app.py:3", env=writes)
    assert created["text"] == "Written in the editor."

    # `edit` opens the editor on the current text.
    appends = editor(tmp_path, "append.sh", "printf 'And a second line.\\n' >> \"$1\"")
    edited = ada.json("edit", cid, env=appends)
    assert edited["text"] == "Read from standard input.\nAnd a second line."

    # Nothing written, an emptied file, no editor without a terminal, two sources: nothing is sent.
    leaves = editor(tmp_path, "leave.sh", "true")
    assert "not saved" in ada.run("reply", cid, env=leaves, expect=1).stderr
    empties = editor(tmp_path, "empty.sh", ': > "$1"')
    assert "empty" in ada.run("reply", cid, env=empties, expect=1).stderr
    assert "-m TEXT" in ada.run("reply", cid, expect=2).stderr
    assert "not both" in ada.run("reply", cid, "-m", "x", "--body-file", str(body), expect=2).stderr
    assert "empty" in ada.run("reply", cid, "-m", "-", stdin="\n  \n", expect=1).stderr
    assert ada.json("show", cid)["reply_count"] == 3


def test_every_change_prints_json(team: Team) -> None:
    ada, bo = team.ada, team.bo
    first = ada.json("add", "src/app.py:2-3", "-m", "first", "--type", "issue")
    second = ada.json("add", "src/app.py:5", "-m", "second")
    cid, other = first["id"], second["id"]
    assert ada.json("reply", cid, "-m", "an answer")["codemark_id"] == cid
    assert ada.json("edit", cid, "-m", "first, edited")["text"] == "first, edited"
    assert ada.json("resolve", cid)["status"] == "resolved"
    assert ada.json("reopen", cid)["status"] == "open"
    assert bo.json("follow", cid)["id"] == cid
    assert bo.json("unfollow", cid)["id"] == cid
    assigned = ada.json("assign", cid, bo.handle, "@me")["assignees"]
    assert {u["handle"] for u in assigned} == {bo.handle, ada.handle}
    assert [u["handle"] for u in ada.json("unassign", cid, "@me")["assignees"]] == [bo.handle]
    assert set(ada.json("tag", cid, "perf", "db")["tags"]) == {"db", "perf"}
    assert ada.json("untag", cid, "db")["tags"] == ["perf"]
    assert ada.json("pin", cid)["pinned"] is True
    assert ada.json("unpin", cid)["pinned"] is False
    assert ada.json("relate", cid, other)["related"] == [other]
    assert ada.json("unrelate", cid, other)["related"] == []
    assert ada.json("archive", other)["status"] == "archived"
    assert isinstance(ada.json("react", cid, "+1"), list)
    assert ada.json("rm", other, "--yes") == {"id": other, "deleted": True}


def test_rm_asks_unless_told_yes(team: Team) -> None:
    ada = team.ada
    cid = ada.json("add", "src/app.py:2", "-m", "doomed")["id"]
    declined = ada.run("rm", cid, stdin="n\n", expect=1)
    assert "Delete codemark" in declined.stderr
    # No answer at all (no terminal, nothing on standard input) is no.
    ada.run("rm", cid, expect=1)
    assert ada.json("show", cid)["id"] == cid
    ada.run("rm", cid, stdin="y\n")
    ada.run("show", cid, expect=4)
    again = ada.json("add", "src/app.py:2", "-m", "doomed too")["id"]
    assert ada.run("rm", again, "--yes").stdout.strip() == f"Deleted {again}."


def test_short_ids_name_codemarks_and_replies(team: Team) -> None:
    ada, bo = team.ada, team.bo
    cid = ada.json("add", "src/app.py:2", "-m", "short ids")["id"]
    assert bo.json("show", cid[:6])["id"] == cid
    assert bo.json("show", cid[:4].upper())["id"] == cid
    reply = bo.json("reply", cid[:5], "-m", "answered by prefix")
    assert bo.json("react", reply["id"][:6], "eyes")[0]["emoji"] == "👀"
    assert bo.json("edit", reply["id"][:6], "-m", "answered, edited")["text"] == "answered, edited"
    assert [v["text"] for v in bo.json("history", reply["id"][:6])] == ["answered by prefix"]
    assert ada.run("resolve", cid[:7]).stdout.strip() == f"Resolved {cid}."

    short = bo.run("show", cid[:3], expect=2)
    assert "at least 4 characters" in short.stderr
    missing = bo.run("show", "0000000", expect=4)
    assert "no codemark id begins with '0000000'" in missing.stderr
    assert "no codemark or reply id begins with 'hello'" in bo.run("react", "hello", "+1", expect=4).stderr


@pytest.fixture(scope="module")
def shared_prefix_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real server whose codemark ids all begin with the same four characters."""
    data_dir = tmp_path_factory.mktemp("shared-prefix")
    port = free_port()
    settings = {**TEST_SWITCHES, "port": port, "data_dir": str(data_dir)}
    command = [sys.executable, str(SHARED_PREFIX_LAUNCHER), json.dumps(settings)]
    environment = {"KIBITZ_LOGIN_RATE_LIMIT": "1000/minute", "PYTHONPATH": os.pathsep.join(sys.path)}
    with ServerProcess(
        command, port=port, log_path=data_dir.parent / "server.log", env=environment
    ) as server:
        yield server.url


def test_an_ambiguous_short_id_lists_the_candidates(shared_prefix_server: str, tmp_path: Path) -> None:
    ada = make_team(shared_prefix_server, tmp_path).ada
    first = ada.json("add", "src/app.py:2", "-m", "one")["id"]
    second = ada.json("add", "src/app.py:3", "-m", "two")["id"]
    assert first[:4] == second[:4] == "zzzz"
    ambiguous = ada.run("show", "zzzz", expect=2)
    assert "ambiguous" in ambiguous.stderr
    assert first in ambiguous.stderr
    assert second in ambiguous.stderr
    assert ada.run("show", "zzzz", expect=2).stdout == ""
    assert ada.json("show", second[:10])["id"] == second

    # In a clone of another team's repository, that team's codemark is the one "zzzz" names.
    other_repo = make_repo(tmp_path / "other-repo", {"notes.txt": "one\ntwo\n"})
    elsewhere = Someone(ada.person, ada.handle, other_repo)
    elsewhere.run("team", "create", "Other")
    elsewhere.run("init")
    third = elsewhere.json("add", "notes.txt:1", "-m", "three")["id"]
    assert elsewhere.json("show", "zzzz")["id"] == third
    back_home = ada.run("show", "zzzz", expect=2).stderr
    assert third not in back_home


def test_ls_filters(team: Team) -> None:
    ada, bo = team.ada, team.bo
    issue = ada.json(
        "add", "src/app.py:2", "-m", "slow", "--type", "issue", "--tag", "perf", "--assign", f"@{bo.handle}"
    )["id"]
    question = bo.json("add", "src/app.py:4", "-m", "why?", "--type", "question", "--tag", "ux")["id"]
    comment = ada.json("add", "src/app.py:6", "-m", "note", "--assign", "@me")["id"]

    def listed(person: Someone, *args: str) -> list[str]:
        return [entry["id"] for entry in person.json("ls", *args)]

    assert listed(ada, "--author", "@me") == [comment, issue]
    assert listed(ada, "--author", bo.person.email) == [question]
    assert listed(bo, "--assignee", "@me") == [issue]
    assert listed(ada, "--assignee", bo.handle) == [issue]
    assert listed(ada, "--tag", "ux") == [question]
    assert listed(ada, "--type", "issue") == [issue]
    assert listed(ada, "--limit", "2") == [comment, question]
    assert listed(ada, "--author", "@me", "--tag", "perf") == [issue]
    unknown = ada.run("ls", "--author", "nobody-here", expect=1)
    assert "no member of this team has the handle 'nobody-here'" in unknown.stderr


def test_an_assignee_resolves_their_issue(team: Team) -> None:
    ada, bo = team.ada, team.bo
    issue = ada.json("add", "src/app.py:2", "-m", "fix me", "--type", "issue", "--assign", bo.handle)["id"]
    assert bo.json("resolve", issue)["status"] == "resolved"
    assert bo.json("reopen", issue)["status"] == "open"
    # Bo may not do what only its author or an admin may.
    bo.run("archive", issue, expect=3)
    bo.run("tag", issue, "mine", expect=3)
    ada.run("unassign", issue, bo.handle)
    assert "Only the author" in bo.run("resolve", issue, expect=3).stderr


def test_organising_commands(team: Team) -> None:
    ada, bo = team.ada, team.bo
    cid = ada.json("add", "src/app.py:2", "-m", "organise me", "--title", "Tidy")["id"]
    other = bo.json("add", "src/app.py:8", "-m", "related one")["id"]
    assert ada.run("assign", cid, bo.handle).stdout.strip() == f"{cid} is assigned to @{bo.handle}."
    assert ada.run("tag", cid, "cleanup").stdout.strip() == f"Tags of {cid}: cleanup."
    assert ada.run("pin", cid).stdout.strip() == f"Pinned {cid}."
    bo.run("relate", other, cid)
    assert [c["id"] for c in ada.json("related", cid)] == [other]
    assert ada.run("related", cid).stdout.startswith(f"{other}  [open/comment]  related one")
    ada.run("edit", cid, "-m", "organised", "--title", "Tidier")
    versions = ada.json("history", cid)
    assert [(v["title"], v["text"]) for v in versions] == [("Tidy", "organise me")]
    shown = ada.run("history", cid).stdout
    assert "title: Tidy" in shown
    assert "  organise me" in shown
    assert "never edited" in ada.run("history", other).stderr
    ada.run("archive", cid)
    assert cid not in [e["id"] for e in ada.json("ls")]
    assert [e["id"] for e in ada.json("ls", "--status", "archived")] == [cid]


def test_a_reader_that_goes_away_ends_the_command_quietly(team: Team) -> None:
    ada = team.ada
    ada.run("add", "src/app.py:2", "-m", "listed")
    environment = {**clean_environment(), **GIT_ENV, "KIBITZ_CONFIG_DIR": str(ada.person.config_dir)}
    for args in (["ls"], ["--help"]):
        process = subprocess.Popen(
            [str(KIBITZ), *args],
            cwd=ada.repo,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert process.stdout is not None
        assert process.stderr is not None
        process.stdout.close()  # like `| head -0`: gone before the first line
        stderr = process.stderr.read()
        process.stderr.close()
        assert process.wait(timeout=COMMAND_SECONDS) == 1, stderr
        assert stderr == ""


def on_terminal(someone: Someone, *args: str, rows: int, env: dict[str, str]) -> str:
    """Run `kibitz ARGS` on a pseudo-terminal of `rows` lines (stdin and stdout); return what it shows."""
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", rows, 160, 0, 0))
    environment = {
        **clean_environment(),
        **GIT_ENV,
        "KIBITZ_CONFIG_DIR": str(someone.person.config_dir),
        "TERM": "xterm-256color",
        **env,
    }
    # The window's size is the terminal's own: LINES and COLUMNS (which test runners may set) would win.
    for name in ("LINES", "COLUMNS"):
        environment.pop(name, None)
    process = subprocess.Popen(
        [str(KIBITZ), *args],
        cwd=someone.repo,
        env=environment,
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
    )
    os.close(terminal)
    shown = b""
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # the terminal's other side is closed: the command is done
            break
        if not chunk:
            break
        shown += chunk
    os.close(controller)
    assert process.wait(timeout=COMMAND_SECONDS) == 0, shown
    return shown.decode("utf-8").replace("\r\n", "\n")


def test_colour_columns_and_pager_on_a_terminal_only(team: Team, tmp_path: Path) -> None:
    ada = team.ada
    ids = [
        ada.json("add", "src/app.py:2", "-m", "short place")["id"],
        ada.json("add", "src/app.py:10-12", "-m", "longer place", "--type", "question")["id"],
    ]
    paged = tmp_path / "paged.txt"
    pager = editor(tmp_path, "pager.sh", f"cat > '{paged}'")["EDITOR"]
    tall = {"PAGER": pager}

    coloured = on_terminal(ada, "ls", rows=40, env=tall)
    assert not paged.exists()  # it fits: no pager
    assert "\x1b[" in coloured
    lines = [click.unstyle(line) for line in coloured.splitlines() if line.strip()]
    assert [line.split()[0] for line in lines] == ids[::-1]
    # The status/type column starts at the same place on every line.
    assert len({line.index("[open/") for line in lines}) == 1

    plain = on_terminal(ada, "ls", rows=40, env={**tall, "NO_COLOR": "1"})
    assert "\x1b[" not in plain
    assert [click.unstyle(line) for line in coloured.splitlines()] == plain.splitlines()

    # Taller than the window: through the pager.
    shown = on_terminal(ada, "ls", rows=2, env=tall)
    assert ids[0] not in shown
    assert ids[0] in paged.read_text(encoding="utf-8")
    assert "\x1b[" in paged.read_text(encoding="utf-8")
    detail = on_terminal(ada, "show", ids[0], rows=2, env=tall)
    assert "short place" not in detail
    assert "short place" in paged.read_text(encoding="utf-8")
    found = on_terminal(ada, "search", "place", rows=2, env=tall)
    assert ids[1] not in found
    assert ids[1] in paged.read_text(encoding="utf-8")

    # Through a pipe: the plain lines, never aligned or coloured.
    piped = ada.run("ls").stdout
    assert "\x1b[" not in piped
    assert piped.splitlines()[0].startswith(f"{ids[1]}  src/app.py:10-12  [open/question]  longer place  (")
    assert piped.splitlines()[1].startswith(f"{ids[0]}  src/app.py:2-2  [open/comment]  short place  (")


def test_account_team_and_token_changes_print_json(server_url: str, tmp_path: Path) -> None:
    tag = secrets.token_hex(3)
    ada = Someone(Person(f"ada{tag}@example.com", "Ada", tmp_path / "ada"), f"ada{tag}", tmp_path)
    bo = Someone(Person(f"bo{tag}@example.com", "Bo", tmp_path / "bo"), f"bo{tag}", tmp_path)
    signup = ["signup", "--server", server_url, "--password-stdin"]
    user = ada.json(*signup, "--email", ada.person.email, "--name", "Ada", stdin=PASSWORD + "\n")
    assert (user["email"], user["handle"]) == (ada.person.email, ada.handle)
    bo.json(*signup, "--email", bo.person.email, "--name", "Bo", stdin=PASSWORD + "\n")
    team = ada.json("team", "create", f"Team {tag}")
    assert team["role"] == "owner"
    assert bo.json("team", "join", ada.json("team", "invite")["code"])["id"] == team["id"]
    assert ada.json("team", "use", team["name"])["id"] == team["id"]
    role = ada.json("team", "role", bo.person.email, "admin")
    assert (role["role"], role["previous_role"], role["handle"]) == ("admin", "member", bo.handle)
    assert ada.json("team", "transfer", bo.person.email, "--yes")["user_id"] == role["user_id"]
    removed = bo.json("team", "remove", ada.person.email, "--yes")
    assert (removed["removed"], removed["left"]) == (True, False)

    token = json.loads(ada.run("token", "create", "ci", "--json").stdout)
    revoked = ada.json("token", "revoke", token["id"][:6])
    assert revoked == {"id": token["id"], "revoked": True}
    assert "at least 4 characters" in ada.run("token", "revoke", "ab", expect=2).stderr

    new_password = PASSWORD + " two"
    changed = ada.json("password", "--password-stdin", stdin=f"{PASSWORD}\n{new_password}\n")
    assert changed == {"sessions_ended": 0}
    assert ada.json("logout") == {"logged_out": True}
    login = ["login", "--server", server_url, "--email", ada.person.email, "--password-stdin"]
    logged_in = ada.run(*login, "--json", stdin=new_password + "\n").stdout
    assert json.loads(logged_in)["user"]["email"] == ada.person.email
    assert "kbz_" not in logged_in  # the token stays in the credentials file


def test_init_prints_json(team: Team) -> None:
    first = team.ada.json("init")
    assert Path(first["root"]).resolve() == team.ada.repo.resolve()
    assert first["shallow"] is False
    assert first["repo"]["name"]
    # The same clone linked again, by a teammate: the same repository of the same team.
    again = team.bo.json("init")
    assert (again["team_id"], again["repo"]["id"]) == (first["team_id"], first["repo"]["id"])
