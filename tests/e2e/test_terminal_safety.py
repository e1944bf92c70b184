"""Text from other people never reaches a terminal raw: the real `kibitz` in a pseudo-terminal, a real server,
and titles, texts, replies, paths and names full of escape sequences."""

from __future__ import annotations

import errno
import itertools
import json
import os
import pty
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kibitz.client import ApiError, NewMarker
from kibitz.gitrepo import read_link
from tests.e2e.conftest import PASSWORD, Person
from tests.git_helpers import GIT_ENV, git, make_repo
from tests.server_process import KIBITZ, clean_environment

pytestmark = pytest.mark.e2e

# What a hostile teammate writes: a clipboard write (OSC 52), a link that hides its target (OSC 8), a
# window title (OSC 0), a screen clear and cursor home (CSI), the same in C1 form (CSI and OSC as one
# character each), a bell, a backspace, a carriage return that overwrites a line, and a right-to-left
# override.
HOSTILE = (
    "\x1b]52;c;ZWNobyBwd25lZA==\x07"
    "\x1b]8;;https://evil.example/\x1b\\docs\x1b]8;;\x1b\\"
    "\x1b]0;owned\x07"
    "\x1b[2J\x1b[H"
    "\x9b2J\x9d0;c1-title\x9c"
    "\x1b[38;5;199m"
    "\x07\x08\rfake\u202eevil"
)
APP = "def fetch(url):\n    return get(url)\n"
WAIT_SECONDS = 30.0
# How long a command may take to stop after SIGINT (as a person ends `kibitz watch`).
STOP_SECONDS = 8.0
# Our own colour (SGR) is the only escape sequence the CLI may write; anything else came from the text.
_OWN_SGR = re.compile(rb"\x1b\[[0-9;]*m")
_C1_IN_UTF8 = re.compile(rb"\xc2[\x80-\x9f]")
_people = itertools.count()


def _signal_state(pid: int) -> str:
    """Return the signal lines of a process status (ignored, blocked, caught): why it did not stop."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError as error:
        return f"unknown ({error})"
    return "; ".join(line for line in lines if line.startswith(("SigBlk", "SigIgn", "SigCgt", "State")))


def run_in_terminal(
    person: Person, *args: str, cwd: Path, until: bytes | None = None, expect: int | None = 0
) -> bytes:
    """Run `kibitz ARGS` with a pseudo-terminal as stdin, stdout and stderr; return all it wrote.

    With `until`, stop it (SIGINT) once that appears in its output, as a person ends `kibitz watch`.
    """
    env = {
        **clean_environment(),
        **GIT_ENV,
        "KIBITZ_CONFIG_DIR": str(person.config_dir),
        "TERM": "xterm-256color",
    }
    main, secondary = pty.openpty()
    process = subprocess.Popen(
        [str(KIBITZ), *args],
        cwd=cwd,
        env=env,
        stdin=secondary,
        stdout=secondary,
        stderr=secondary,
        start_new_session=True,
    )
    os.close(secondary)
    output = b""
    deadline = time.monotonic() + WAIT_SECONDS
    interrupted_at: float | None = None
    try:
        while time.monotonic() < deadline:
            if until is not None and until in output and process.poll() is None:
                process.send_signal(signal.SIGINT)
                until, interrupted_at = None, time.monotonic()
            if interrupted_at is not None and time.monotonic() - interrupted_at > STOP_SECONDS:
                # What is checked here is what reached the terminal, not how the command stops; a command
                # that outlives Ctrl-C is noted in the test's output (with its signal state) and ended.
                print(
                    f"kibitz {' '.join(args)} still ran {STOP_SECONDS:.0f} s after SIGINT; "
                    f"its signal state: {_signal_state(process.pid)}",
                    file=sys.stderr,
                )
                process.terminate()
                interrupted_at = None
            ready, _, _ = select.select([main], [], [], 0.2)
            if not ready:
                if process.poll() is not None and until is None:
                    break
                continue
            try:
                chunk = os.read(main, 65536)
            except OSError as error:  # Linux: EIO once the other side is closed
                if error.errno != errno.EIO:
                    raise
                break
            if not chunk:
                break
            output += chunk
        else:
            pytest.fail(
                f"kibitz {' '.join(args)} did not finish in time; it wrote {output!r}; "
                f"its signal state: {_signal_state(process.pid)}"
            )
    finally:
        os.close(main)
        if process.poll() is None:
            process.kill()
        code = process.wait(timeout=10)
    if expect is not None:
        assert code == expect, f"kibitz {' '.join(args)} exited {code}; it wrote {output!r}"
    return output


def assert_nothing_raw(output: bytes) -> None:
    """Check that no control or escape sequence from user text reached the terminal."""
    assert _OWN_SGR.sub(b"", output).count(b"\x1b") == 0, output
    assert b"\x07" not in output, output
    assert b"\x08" not in output, output
    assert not _C1_IN_UTF8.search(output), output
    assert "\u202e".encode() not in output, output
    # The pty turns each newline into CR LF; any other carriage return came from the text.
    assert b"\r" not in output.replace(b"\r\n", b""), output


@pytest.fixture
def people(server_url: str, tmp_path: Path) -> tuple[Person, Person, Path]:
    """Alice and Mallory in one team, Alice's clone linked; Mallory writes escape sequences."""
    number = next(_people)
    alice = Person(f"alice{number}@example.com", "Alice", tmp_path / "alice-config")
    mallory = Person(f"mallory{number}@example.com", "Mallory", tmp_path / "mallory-config")
    signup = ["signup", "--server", server_url, "--password-stdin"]
    alice.run(*signup, "--email", alice.email, "--name", alice.name, cwd=tmp_path, stdin=PASSWORD + "\n")
    alice.run("team", "create", "Acme", cwd=tmp_path)
    code = alice.run("team", "invite", cwd=tmp_path).stdout.strip()
    mallory.run(
        *signup, "--email", mallory.email, "--name", mallory.name, cwd=tmp_path, stdin=PASSWORD + "\n"
    )
    mallory.run("team", "join", code, cwd=tmp_path)
    repo = make_repo(tmp_path / "repo", {"src/app.py": APP})
    alice.run("init", cwd=repo)
    mallory.run("init", cwd=repo)
    return alice, mallory, repo


def test_text_from_others_reaches_the_terminal_escaped(
    people: tuple[Person, Person, Path], tmp_path: Path
) -> None:
    alice, mallory, repo = people
    created = mallory.json(
        "add", "src/app.py:1-2", "--title", "needle " + HOSTILE, "-m", "body " + HOSTILE, cwd=repo
    )
    codemark_id = created["id"]
    mallory.run("reply", codemark_id, "-m", f"@{alice.email.split('@')[0]} reply {HOSTILE}", cwd=tmp_path)

    shown = run_in_terminal(alice, "show", codemark_id, cwd=repo)
    assert_nothing_raw(shown)
    # Escaped, not dropped: the reader sees that something was there.
    assert b"needle \\x1b]52;c;ZWNobyBwd25lZA==\\x07" in shown
    assert b"reply \\x1b]52;c;" in shown
    assert b"\\x9b2J" in shown
    assert b"\\u202eevil" in shown

    for command in (["ls"], ["search", "needle"], ["inbox"]):
        output = run_in_terminal(alice, *command, cwd=repo)
        assert b"needle \\x1b]52;" in output or b"reply \\x1b]52;" in output, (command, output)
        assert_nothing_raw(output)

    watched = run_in_terminal(alice, "watch", "--after", "0", cwd=repo, until=b"reply \\x1b]52;", expect=None)
    assert b"reply \\x1b]52;" in watched
    assert_nothing_raw(watched)

    # JSON keeps the text exactly, written as escapes a terminal does not obey.
    for command in (["show", codemark_id, "--json"], ["ls", "--json"]):
        output = run_in_terminal(alice, *command, cwd=repo)
        assert_nothing_raw(output)
    document = json.loads(run_in_terminal(alice, "show", codemark_id, "--json", cwd=repo))
    assert document["title"] == "needle " + HOSTILE
    assert document["replies"][0]["text"].endswith("reply " + HOSTILE)


def test_commit_subjects_and_authors_reach_the_terminal_escaped(people: tuple[Person, Person, Path]) -> None:
    alice, _, repo = people
    codemark_id = alice.json("add", "src/app.py:1-2", "-m", "fetch", cwd=repo)["id"]
    (repo / "src/app.py").write_text(APP.replace("get(url)", "get(url, timeout=5)"), encoding="utf-8")
    git(repo, "add", "--all")
    # Whoever wrote the commit chose its author name and its subject.
    hostile_author = {**os.environ, **GIT_ENV, "GIT_AUTHOR_NAME": "Mal\x1b]0;owned\x07lory"}
    subprocess.run(
        ["git", "commit", "--quiet", "-m", "subject " + HOSTILE],
        cwd=repo,
        env=hostile_author,
        check=True,
    )
    for command in (["ls", "--why"], ["show", codemark_id]):
        output = run_in_terminal(alice, *command, cwd=repo)
        assert_nothing_raw(output)
        assert b"subject \\x1b]52;c;ZWNobyBwd25lZA==\\x07" in output, (command, output)
        assert b"Mal\\x1b]0;owned\\x07lory" in output, (command, output)
    document = json.loads(run_in_terminal(alice, "ls", "--why", "--json", cwd=repo))
    assert document[0]["why"]["subject"].startswith("subject \x1b]52;c;")


def test_paths_and_names_with_control_characters_are_refused(
    people: tuple[Person, Person, Path], tmp_path: Path
) -> None:
    alice, mallory, repo = people
    # git stores any byte but NUL and / in a file name; the server takes none of the controls.
    hostile_name = "evil\x1b]0;owned\x07\x9b2J.py"
    (repo / hostile_name).write_text(APP, encoding="utf-8")
    git(repo, "add", "--", hostile_name)
    git(repo, "commit", "--quiet", "--message", "a file with escapes in its name")
    refused = run_in_terminal(mallory, "add", f"{hostile_name}:1-2", "-m", "here", cwd=repo, expect=1)
    assert_nothing_raw(refused)
    assert b"control characters" in refused
    assert run_in_terminal(alice, "ls", "--json", cwd=repo).strip().startswith(b"[")
    assert b"evil" not in run_in_terminal(alice, "ls", cwd=repo)

    # Through the API itself, as any client could send it.
    with mallory.client() as client:
        team_id = client.me()["teams"][0]["id"]
        link = read_link(repo)
        assert link is not None
        repo_id = link.repo_id
        commit = git(repo, "rev-parse", "HEAD").strip()
        for path in ("a\x1b[2Jb.py", "a\x9bb.py", "a\x7fb.py", "a\nb.py"):
            marker = NewMarker(
                repo_id=repo_id,
                path=path,
                commit=commit,
                start_line=1,
                end_line=1,
                code="x\n",
                context_before="",
                context_after="",
            )
            with pytest.raises(ApiError) as refusal:
                client.create_codemark(team_id, type="comment", text="t", markers=[marker])
            assert refusal.value.status == 422

    # A display name with a C1 control is refused as one with a C0 control is.
    eve = Person(f"eve{next(_people)}@example.com", "Eve", tmp_path / "eve-config")
    server = mallory.client().server_url
    said = eve.run(
        "signup",
        "--server",
        server,
        "--password-stdin",
        "--email",
        eve.email,
        "--name",
        "Eve\x9b2J",
        cwd=tmp_path,
        stdin=PASSWORD + "\n",
        expect=1,
    )
    assert "control characters" in said.stderr
