"""The ``kibitz.*`` commands and the code actions that offer them, through a real `kibitz lsp` process.

What a command did is checked where it is stored: `kibitz show --json` against the same server.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException

from tests.code_samples import APP
from tests.git_helpers import commit_all, git
from tests.lsp.conftest import CAPABILITIES, Editor, Team, start_editor, stop_editor, team_of_two, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

# Two new lines on top and an edited `retry`: nothing of it saved.
BUFFER = "# draft\n# notes\n" + APP.replace("attempts=3", "attempts=5")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Team]:
    """A server, Alice and Bob in team Acme, Alice's linked repository."""
    with team_of_two(tmp_path_factory.mktemp("commands"), {"app.py": APP}) as team:
        yield team


@pytest.fixture(scope="module")
async def uri(editor: Editor, world: Team) -> str:
    opened = editor.open(world.repo / "app.py", BUFFER)
    await wait_until(lambda: opened in editor.client.diagnostics, what="the first diagnostics")
    return opened


def _range(first: int, last: int) -> dict[str, Any]:
    """Return the LSP range of whole lines first..last (0-based), ending at the start of the next line."""
    return {"start": {"line": first, "character": 0}, "end": {"line": last + 1, "character": 0}}


def _show(world: Team, codemark_id: str) -> Any:
    return world.alice.json("show", codemark_id, cwd=world.repo)


async def test_add_on_committed_lines_of_an_unsaved_buffer_records_them_at_head(
    editor: Editor, world: Team, uri: str
) -> None:
    head = git(world.repo, "rev-parse", "HEAD").strip()
    # `helper` is lines 4-5 at HEAD, 6-7 in the buffer.
    added = await editor.command(
        "kibitz.add",
        {"uri": uri, "range": _range(5, 6), "type": "question", "title": "Needed?", "text": "Is it used?"},
    )
    assert added["permalink"] == f"{world.url}/c/{added['id']}"
    shown = _show(world, added["id"])
    [marker] = shown["markers"]
    assert (marker["commit"], marker["start_line"], marker["end_line"]) == (head, 4, 5)
    assert marker["provisional"] is False
    assert (shown["type"], shown["title"], shown["text"]) == ("question", "Needed?", "Is it used?")
    await wait_until(lambda: (5, 6) in editor.lines(uri), what="the new codemark in the buffer")


async def test_add_on_uncommitted_lines_makes_a_provisional_codemark(
    editor: Editor, world: Team, uri: str
) -> None:
    added = await editor.command("kibitz.add", {"uri": uri, "range": _range(9, 10), "text": "Five now?"})
    shown = _show(world, added["id"])
    [marker] = shown["markers"]
    assert marker["provisional"] is True
    assert marker["code"] == "def retry(call, attempts=5):\n    for attempt in range(attempts):\n"
    assert shown["type"] == "comment"
    await wait_until(lambda: (9, 10) in editor.lines(uri), what="the provisional codemark in the buffer")


async def test_add_in_a_new_file_nobody_committed_makes_a_provisional_codemark(
    editor: Editor, world: Team
) -> None:
    draft = world.repo / "draft.py"
    draft.write_text("", encoding="utf-8")  # created by the editor, not saved yet
    uri = editor.open(draft, "def draft():\n    return 1\n")
    await wait_until(lambda: uri in editor.client.diagnostics)
    added = await editor.command("kibitz.add", {"uri": uri, "range": _range(0, 1), "text": "A draft."})
    [marker] = _show(world, added["id"])["markers"]
    assert (marker["path"], marker["provisional"]) == ("draft.py", True)
    assert marker["code"] == "def draft():\n    return 1\n"
    await wait_until(lambda: editor.lines(uri) == [(0, 1)], what="the codemark in the unsaved new file")
    editor.close(uri)
    draft.unlink()


async def test_a_commit_made_in_the_terminal_while_the_buffer_is_open_promotes_at_the_next_edit(
    editor: Editor, world: Team
) -> None:
    notes = world.repo / "notes.py"
    text = "def notes():\n    return 2\n"
    notes.write_text(text, encoding="utf-8")  # saved, not committed
    uri = editor.open(notes)
    await wait_until(lambda: uri in editor.client.diagnostics)
    added = await editor.command("kibitz.add", {"uri": uri, "range": _range(0, 1), "text": "Notes?"})
    [marker] = _show(world, added["id"])["markers"]
    assert marker["provisional"] is True
    await wait_until(lambda: editor.lines(uri) == [(0, 1)], what="the provisional codemark")

    head = commit_all(world.repo, "notes, committed in a terminal")
    editor.change(uri, "# typed after the commit\n" + text)
    await wait_until(
        lambda: _show(world, added["id"])["markers"][0]["commit"] == head,
        what="the marker promoted at the commit made in the terminal",
    )
    await wait_until(lambda: editor.lines(uri) == [(1, 2)], what="the codemark below the typed line")
    editor.close(uri)


async def test_reply_edit_resolve_reopen_follow_and_react(editor: Editor, world: Team, uri: str) -> None:
    added = await editor.command("kibitz.add", {"uri": uri, "range": _range(0, 0), "text": "Drafts?"})
    cid = added["id"]

    reply = await editor.command("kibitz.reply", {"id": cid, "text": "Yes, drafts."})
    assert [r["id"] for r in _show(world, cid)["replies"]] == [reply["id"]]
    await wait_until(
        lambda: any(d.code == cid and "1 reply" in d.message for d in editor.diagnostics(uri)),
        what="the reply count in the diagnostic",
    )

    assert await editor.command("kibitz.edit", {"id": cid, "title": "Draft notes"}) == {"id": cid}
    assert _show(world, cid)["title"] == "Draft notes"

    assert await editor.command("kibitz.resolve", {"id": cid}) == {"id": cid, "status": "resolved"}
    await wait_until(
        lambda: any(
            d.code == cid and d.severity == types.DiagnosticSeverity.Hint and "resolved" in d.message
            for d in editor.diagnostics(uri)
        ),
        what="a resolved codemark shown as a hint",
    )
    assert await editor.command("kibitz.reopen", {"id": cid}) == {"id": cid, "status": "open"}
    assert _show(world, cid)["status"] == "open"

    assert await editor.command("kibitz.follow", {"id": cid, "follow": False}) == {
        "id": cid,
        "following": False,
    }
    assert await editor.command("kibitz.follow", {"id": cid}) == {"id": cid, "following": True}

    reacted = await editor.command("kibitz.react", {"id": cid, "emoji": "👍"})
    assert reacted == {"reactions": [{"emoji": "👍", "count": 1, "mine": True}]}
    assert await editor.command("kibitz.react", {"id": cid, "emoji": "👍", "remove": True}) == {
        "reactions": []
    }
    on_reply = await editor.command("kibitz.react", {"replyId": reply["id"], "emoji": "🎉"})
    assert on_reply == {"reactions": [{"emoji": "🎉", "count": 1, "mine": True}]}
    [stored] = _show(world, cid)["replies"]
    assert [r["emoji"] for r in stored["reactions"]] == ["🎉"]

    opened = await editor.command("kibitz.openInBrowser", {"id": cid})
    assert opened == {"permalink": f"{world.url}/c/{cid}"}
    await wait_until(lambda: editor.client.shown_documents, what="window/showDocument")
    shown = editor.client.shown_documents[-1]
    assert (shown.uri, shown.external) == (opened["permalink"], True)


@pytest.mark.parametrize(
    ("command", "argument", "words"),
    [
        ("kibitz.reply", {"id": "0000000000000000", "text": "hello"}, "no such codemark"),
        ("kibitz.reply", {"id": "0000000000000000"}, "needs 'text'"),
        ("kibitz.reply", {"id": "0000000000000000", "text": "   "}, "is empty"),
        ("kibitz.add", {"uri": "file:///nowhere/x.py", "range": _range(0, 0), "text": "x"}, "is not open"),
        ("kibitz.react", {"id": "0000000000000000"}, "needs 'emoji'"),
        ("kibitz.follow", {"id": "0000000000000000", "follow": "yes"}, "true or false"),
        ("kibitz.edit", {"id": "0000000000000000"}, "needs 'title' or 'text'"),
        ("kibitz.resolve", "not an object", "one object argument"),
    ],
)
async def test_bad_commands_get_errors_a_person_can_read(
    editor: Editor, command: str, argument: Any, words: str
) -> None:
    with pytest.raises(JsonRpcException) as caught:
        await editor.command(command, argument)
    assert words in caught.value.message.lower()


async def test_add_refuses_a_range_past_the_end_and_an_unknown_type(editor: Editor, uri: str) -> None:
    lines = len(BUFFER.splitlines())
    with pytest.raises(JsonRpcException, match=f"has {lines} lines"):
        await editor.command("kibitz.add", {"uri": uri, "range": _range(lines, lines), "text": "x"})
    with pytest.raises(JsonRpcException, match="'type' must be one of"):
        await editor.command("kibitz.add", {"uri": uri, "range": _range(0, 0), "type": "rant", "text": "x"})


async def test_an_unknown_command_is_an_error(editor: Editor) -> None:
    with pytest.raises(JsonRpcException, match=r"kibitz\.nothing"):
        await editor.command("kibitz.nothing", {})


def _actions(found: Any) -> list[types.CodeAction]:
    return [action for action in found or [] if isinstance(action, types.CodeAction)]


async def test_code_actions_offer_the_commands(editor: Editor, world: Team, uri: str) -> None:
    selection = types.Range(types.Position(2, 0), types.Position(4, 0))
    found = _actions(
        await editor.client.text_document_code_action_async(
            types.CodeActionParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                range=selection,
                context=types.CodeActionContext(diagnostics=[]),
            )
        )
    )
    adds = [a for a in found if a.command is not None and a.command.command == "kibitz.add"]
    first = adds[0]
    assert first.title == "Kibitz: add a comment on lines 3-4"
    assert first.command is not None
    assert first.command.arguments is not None
    argument: Any = first.command.arguments[0]
    assert argument["type"] == "comment"
    assert argument["uri"] == uri
    assert all(a.disabled is None for a in adds)

    # On a codemark's lines: answer, resolve, react, follow, open.
    await editor.command("kibitz.add", {"uri": uri, "range": _range(3, 3), "text": "Blank?"})
    await wait_until(lambda: (3, 3) in editor.lines(uri), what="the codemark on line 4")
    on_mark = _actions(
        await editor.client.text_document_code_action_async(
            types.CodeActionParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                range=types.Range(types.Position(3, 0), types.Position(3, 0)),
                context=types.CodeActionContext(diagnostics=[]),
            )
        )
    )
    commands = {a.command.command for a in on_mark if a.command is not None}
    assert {
        "kibitz.reply",
        "kibitz.resolve",
        "kibitz.react",
        "kibitz.follow",
        "kibitz.openInBrowser",
    } <= commands


@pytest.mark.parametrize("shows_disabled", [True, False])
async def test_a_client_that_cannot_prompt_is_told_so(world: Team, shows_disabled: bool) -> None:
    world.alice.run("add", "app.py:1", "-m", "Which os?", cwd=world.repo)
    capabilities = CAPABILITIES
    if not shows_disabled:
        capabilities = types.ClientCapabilities(
            text_document=types.TextDocumentClientCapabilities(
                code_action=types.CodeActionClientCapabilities()
            )
        )
    generic = await start_editor(world.alice, world.repo, prompts=False, capabilities=capabilities)
    try:
        uri = generic.open(world.repo / "app.py")
        await wait_until(lambda: generic.diagnostics(uri), what="the codemarks in a generic client")
        found = _actions(
            await generic.client.text_document_code_action_async(
                types.CodeActionParams(
                    text_document=types.TextDocumentIdentifier(uri=uri),
                    range=types.Range(types.Position(0, 0), types.Position(1, 0)),
                    context=types.CodeActionContext(diagnostics=[]),
                )
            )
        )
        needing_text = [a for a in found if "add" in a.title or "reply" in a.title]
        assert needing_text
        for action in needing_text:
            assert action.command is None
            if shows_disabled:
                assert action.disabled is not None
                assert "needs text" in action.disabled.reason
            else:
                assert action.disabled is None
                assert "needs text" in action.title
        # What needs no text still works there.
        assert any(a.command is not None and a.command.command == "kibitz.resolve" for a in found)
    finally:
        await stop_editor(generic)
