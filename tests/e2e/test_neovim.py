"""The Neovim plugin in real headless Neovim, against a real `kibitz lsp`, server and git repository.

Alice pins a question on `retry` with the CLI, opens the file in Neovim with the plugin loaded as a user
would, types lines above the block without saving, and sees the diagnostic follow it; then she replies,
adds and resolves from Neovim with her answers typed into `vim.ui.input`, and the CLI sees what she did.
Skipped without `nvim` on PATH, failed instead when KIBITZ_REQUIRE_NEOVIM is set (CI).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.code_samples import APP, RETRY_LINES
from tests.e2e.conftest import Person, running_server, setup_team
from tests.git_helpers import GIT_ENV, commit_all, make_repo, published_repo
from tests.neovim_process import Neovim, messages_of, neovim_program
from tests.server_process import KIBITZ, clean_environment, free_port

pytestmark = pytest.mark.e2e
PLUGIN = Path(__file__).resolve().parents[2] / "editors" / "nvim"
INIT = Path(__file__).with_name("neovim_init.lua")
_files = itertools.count()
WARN = 3  # vim.log.levels.WARN


@pytest.fixture(scope="module")
def nvim() -> str:
    return neovim_program()


@pytest.fixture(scope="module")
def team(server_url: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[Person, Path]:
    """Alice, alone in team Acme, and her repository linked to it (one for the module: signing up is slow)."""
    home = tmp_path_factory.mktemp("alice")
    alice = Person("alice@example.com", "Alice", home / "alice-config")
    setup_team(server_url, home, alice)
    repo, _origin = published_repo(home, {"README.md": "# app\n"})
    alice.run("init", cwd=repo)
    return alice, repo


def start_neovim(
    nvim: str, person: Person, cwd: Path, tmp_path: Path, *, cmd: list[str] | None = None
) -> Neovim:
    """Start headless Neovim with the plugin, the person's Kibitz configuration and git's test identity."""
    env = {**clean_environment(), **GIT_ENV, "KIBITZ_CONFIG_DIR": str(person.config_dir)}
    settings = {"plugin": str(PLUGIN), "cmd": cmd or [str(KIBITZ), "lsp"]}
    return Neovim(nvim, INIT, cwd=cwd, env=env, settings=settings, log_path=tmp_path / "nvim.log")


def signed_in(state: dict[str, Any], team: str = "Acme") -> int:
    """Return how many times the plugin said the server is signed in."""
    return sum(
        m.startswith("Kibitz: signed in to") and m.endswith(f", team {team}") for m in messages_of(state)
    )


def diagnostic_of(state: dict[str, Any], codemark_id: str) -> dict[str, Any] | None:
    """Return the kibitz diagnostic of a codemark in the current buffer, if there is one."""
    found = [d for d in state["diagnostics"] if d["code"] == codemark_id and d["source"] == "kibitz"]
    return found[0] if found else None


@dataclass(frozen=True)
class Editing:
    """Neovim on a file of its own in Alice's repository, with a question she pinned on `retry`."""

    editor: Neovim
    alice: Person
    repo: Path
    path: str
    question: str


@pytest.fixture
def editing(nvim: str, team: tuple[Person, Path], tmp_path: Path) -> Iterator[Editing]:
    """Commit a file of this test's own, pin a question on `retry` with the CLI, and open it in Neovim."""
    alice, repo = team
    path = f"app_{next(_files)}.py"
    (repo / path).write_text(APP, encoding="utf-8")
    commit_all(repo, f"add {path}")
    where = f"{path}:{RETRY_LINES.start_line}-{RETRY_LINES.end_line}"
    question = alice.json(
        "add", where, "--type", "question", "-m", "Why retry on ConnectionError only?", cwd=repo
    )
    with start_neovim(nvim, alice, repo, tmp_path) as editor:
        editor.command(f"edit {path}")
        yield Editing(editor, alice, repo, path, question["id"])


def test_a_codemark_follows_unsaved_edits_and_replies_reach_the_server(editing: Editing) -> None:
    editor, alice, repo, question = editing.editor, editing.alice, editing.repo, editing.question
    first = RETRY_LINES.start_line - 1  # Neovim's lines are 0-based
    state = editor.wait_for("the question's diagnostic", lambda s: diagnostic_of(s, question) is not None)
    assert state["clients"] == [{"name": "kibitz", "root": str(repo)}]
    shown = diagnostic_of(state, question)
    assert shown is not None
    assert (shown["lnum"], shown["end_lnum"]) == (first, RETRY_LINES.end_line - 1)
    assert "Why retry on ConnectionError only?" in shown["message"]
    assert shown["message"].startswith("question · open")
    # The server's state is echoed once, not once per document or per refresh.
    state = editor.wait_for("the server's status", lambda s: signed_in(s) == 1)
    # Connecting at start is no news: the first thing said is that it is signed in.
    assert messages_of(state)[0].startswith("Kibitz: signed in to")
    assert editor.lua("require('kibitz').statusline()") == "kibitz: Acme"

    # Three lines typed above the block, not saved: the diagnostic moves with the code.
    editor.lua("vim.api.nvim_buf_set_lines(0, 0, 0, false, {'# one', '# two', '# three'}) or true")
    state = editor.wait_for(
        "the diagnostic three lines lower",
        lambda s: (diagnostic_of(s, question) or {}).get("lnum") == first + 3,
    )
    assert editor.lua("vim.bo.modified") is True
    assert (repo / editing.path).read_text(encoding="utf-8") == APP

    # :KibitzReply on a line of the block, the text typed at the prompt.
    editor.lua("vim.api.nvim_win_set_cursor(0, {_A, 0}) or true", first + 3 + 2 + 1)
    editor.lua("KibitzTest.answer(_A)", ["Because only the network flakes."])
    editor.command("KibitzReply")
    state = editor.wait_for("the reply's confirmation", lambda s: any("replied" in m for m in messages_of(s)))
    assert state["prompts"][-1].startswith("Reply to question · open")
    shown_by_cli = alice.json("show", question, cwd=repo)
    assert [reply["text"] for reply in shown_by_cli["replies"]] == ["Because only the network flakes."]

    # :KibitzResolve on the same line; the CLI sees it resolved and the diagnostic says so.
    editor.command("KibitzResolve")
    editor.wait_for("the resolution", lambda s: any(m.startswith("Kibitz: resolved") for m in messages_of(s)))
    assert alice.json("show", question, cwd=repo)["status"] == "resolved"
    state = editor.wait_for(
        "the resolved diagnostic",
        lambda s: "resolved" in (diagnostic_of(s, question) or {}).get("message", ""),
    )
    # The server's state was said once, for all this work.
    assert signed_in(state) == 1


def test_kibitz_add_pins_the_selected_unsaved_lines(editing: Editing) -> None:
    editor, alice, repo, question = editing.editor, editing.alice, editing.repo, editing.question
    editor.wait_for("the question's diagnostic", lambda s: diagnostic_of(s, question) is not None)
    editor.lua("vim.api.nvim_buf_set_lines(0, 0, 0, false, {'# header'}) or true")
    # Lines 5-7 of the buffer are `def helper` and the blank line after it (lines 4-6 of the commit).
    editor.lua("KibitzTest.answer(_A)", ["Helper is trivial", "Inline it?"])
    editor.command("5,7KibitzAdd issue")
    state = editor.wait_for(
        "the new codemark", lambda s: any("issue added on lines 5-7" in m for m in messages_of(s))
    )
    assert state["pending_answers"] == 0
    listed = {entry["title"]: entry for entry in alice.json("ls", editing.path, cwd=repo)}
    added = listed["Helper is trivial"]
    assert added["type"] == "issue"
    assert (added["location"]["start_line"], added["location"]["end_line"]) == (4, 6)
    state = editor.wait_for(
        "its diagnostic on the buffer's lines 5-7", lambda s: diagnostic_of(s, added["id"]) is not None
    )
    new = diagnostic_of(state, added["id"])
    assert new is not None
    assert (new["lnum"], new["end_lnum"]) == (4, 6)

    # Its code lens (run as a user would) and :KibitzOpen both open its page.
    permalink = next(m for m in messages_of(state) if "issue added" in m).rsplit(" ", 1)[-1]
    assert permalink.startswith("http://127.0.0.1:")
    assert permalink.endswith(f"/c/{added['id']}")
    state = editor.wait_for(
        "its code lens", lambda s: {"line": 4, "command": "kibitz.openInBrowser"} in s["lenses"]
    )
    editor.lua("vim.api.nvim_win_set_cursor(0, {5, 0}) or true")
    editor.lua("vim.lsp.codelens.run() or true")
    editor.wait_for("the page opened", lambda s: s["opened"] == [permalink])
    editor.command("KibitzOpen")
    state = editor.wait_for("the page opened again", lambda s: s["opened"] == [permalink, permalink])
    assert f"Kibitz: {permalink}" in messages_of(state)


def test_commands_say_what_is_wrong_instead_of_failing(editing: Editing) -> None:
    editor, question = editing.editor, editing.question
    editor.wait_for("the question's diagnostic", lambda s: diagnostic_of(s, question) is not None)
    editor.lua("vim.api.nvim_win_set_cursor(0, {1, 0}) or true")
    editor.command("KibitzReply")
    editor.wait_for("a warning", lambda s: "Kibitz: no codemark on this line" in messages_of(s))
    editor.command("KibitzAdd note")
    editor.wait_for(
        "a refusal of the type", lambda s: any("the type must be one of" in m for m in messages_of(s))
    )
    # Cancelling a prompt (vim.ui.input answers nil) sends nothing.
    editor.command("KibitzAdd comment")
    state = editor.state()
    assert not any("added" in m for m in messages_of(state))


def test_the_plugin_leaves_files_outside_git_alone_and_warns_once_without_the_server(
    nvim: str, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "notes.txt").write_text("not in a repository\n", encoding="utf-8")
    repo = make_repo(tmp_path / "repo", {"a.py": "a = 1\n", "b.py": "b = 2\n"})
    nobody = Person("nobody@example.com", "Nobody", tmp_path / "config")
    with start_neovim(nvim, nobody, outside, tmp_path, cmd=["kibitz-not-installed-here", "lsp"]) as editor:
        editor.command("edit notes.txt")
        assert editor.state()["clients"] == []
        assert messages_of(editor.state()) == []
        editor.command(f"edit {repo / 'a.py'}")
        editor.command(f"edit {repo / 'b.py'}")
        state = editor.state()
        assert state["clients"] == []
        assert messages_of(state) == ["Kibitz: cannot start `kibitz-not-installed-here`: not found on PATH"]
        editor.command("KibitzReply")
        assert messages_of(editor.state())[-1].startswith("Kibitz: this buffer has no Kibitz language server")


def test_the_codemark_under_the_cursor_is_the_narrowest_block_holding_the_line(
    nvim: str, tmp_path: Path
) -> None:
    nobody = Person("nobody@example.com", "Nobody", tmp_path / "config")
    with start_neovim(nvim, nobody, tmp_path, tmp_path) as editor:

        def at(line: int, threads: list[dict[str, Any]]) -> Any:
            found = editor.lua(
                "(require('kibitz.threads').at_line(_A[1], _A[2]) or {}).id or false", [threads, line]
            )
            return found or None

        def lines(first: int, last: int, end_character: int = 4) -> dict[str, Any]:
            return {
                "start": {"line": first, "character": 0},
                "end": {"line": last, "character": end_character},
            }

        outer = {"id": "OUTER", "range": lines(2, 20)}
        inner = {"id": "INNER", "range": lines(5, 7)}
        gone = {"id": "GONE", "range": None}
        assert at(6, [outer, inner, gone]) == "INNER"
        assert at(3, [outer, inner, gone]) == "OUTER"
        assert at(21, [outer, inner, gone]) is None
        assert at(0, []) is None
        # A block whose last line is blank ends at character 0 of that line, and holds it.
        assert at(8, [{"id": "BLANK_END", "range": lines(5, 8, end_character=0)}]) == "BLANK_END"
        assert at(9, [{"id": "BLANK_END", "range": lines(5, 8, end_character=0)}]) is None
        # Lines 3-4 are sent as from the start of line 3 to the start of line 5 (not part of the range).
        assert editor.lua("require('kibitz.threads').line_range(3, 4)") == lines(2, 4, 0)


def test_an_outage_is_said_once_the_codemarks_stay_and_it_recovers_by_itself(
    nvim: str, tmp_path: Path
) -> None:
    bob = Person("bob@example.com", "Bob", tmp_path / "bob-config")
    data, port = tmp_path / "outage-server", free_port()
    with running_server(data, port=port) as url:
        setup_team(url, tmp_path, bob)
        repo, _origin = published_repo(tmp_path, {"app.py": APP})
        bob.run("init", cwd=repo)
        where = f"app.py:{RETRY_LINES.start_line}-{RETRY_LINES.end_line}"
        question = bob.json("add", where, "-m", "Why retry on ConnectionError only?", cwd=repo)["id"]
        editor = start_neovim(nvim, bob, repo, tmp_path)
    with editor:
        # The server went away while Bob was starting: Neovim still learns it, once.
        editor.command("edit app.py")
        state = editor.wait_for("the outage", lambda s: any(warned(s)))
        assert len(warned(state)) == 1
        assert editor.lua("require('kibitz').statusline()") == "kibitz: offline"
        # Typing goes on: the last known codemarks stay and follow the buffer.
        editor.lua("vim.api.nvim_buf_set_lines(0, 0, 0, false, {'# one'}) or true")
        with running_server(data, port=port):
            state = editor.wait_for(
                "the codemark after the server came back",
                lambda s: (diagnostic_of(s, question) or {}).get("lnum") == RETRY_LINES.start_line,
            )
            state = editor.wait_for("the server's status", lambda s: signed_in(s, team="Acme") == 1)
        state = editor.wait_for("the second outage", lambda s: len(warned(s)) == 2)
        time.sleep(2.5)  # the server retries every second: none of the retries is said again
        assert len(warned(editor.state())) == 2
        assert diagnostic_of(editor.state(), question) is not None


def warned(state: dict[str, Any]) -> list[str]:
    """Return the warnings the plugin showed."""
    return [entry["message"] for entry in state["messages"] if entry["level"] >= WARN]


def test_code_actions_that_need_text_ask_for_it(editing: Editing) -> None:
    editor, alice, repo, question = editing.editor, editing.alice, editing.repo, editing.question
    editor.wait_for("the question's diagnostic", lambda s: diagnostic_of(s, question) is not None)

    # On the question's first line: "reply to", with the text typed at the prompt.
    editor.lua("vim.api.nvim_win_set_cursor(0, {_A, 0}) or true", RETRY_LINES.start_line)
    editor.lua("KibitzTest.choose(_A)", ["Kibitz: reply to question"])
    editor.lua("KibitzTest.answer(_A)", ["Only the network flakes."])
    editor.lua("vim.lsp.buf.code_action() or true")
    state = editor.wait_for(
        "the reply's confirmation", lambda s: any("replied to" in m for m in messages_of(s))
    )
    assert state["prompts"][-1].startswith("Reply to question “")
    replies = alice.json("show", question, cwd=repo)["replies"]
    assert [reply["text"] for reply in replies] == ["Only the network flakes."]

    # On a selection of lines 4-5: "add a bookmark", with a title and text typed.
    editor.lua("KibitzTest.choose(_A)", ["Kibitz: add a bookmark on lines 4-5"])
    editor.lua("KibitzTest.answer(_A)", ["helper", "Where values grow"])
    editor.lua("vim.lsp.buf.range_code_action(nil, {4, 0}, {5, 10}) or true")
    state = editor.wait_for(
        "the bookmark", lambda s: any("bookmark added on lines 4-5" in m for m in messages_of(s))
    )
    listed = {entry["title"]: entry for entry in alice.json("ls", editing.path, cwd=repo)}
    assert listed["helper"]["type"] == "bookmark"
    assert (listed["helper"]["location"]["start_line"], listed["helper"]["location"]["end_line"]) == (4, 5)
