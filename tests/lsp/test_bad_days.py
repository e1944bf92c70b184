"""Bad input and bad days: refused tokens, files Kibitz cannot follow, malformed requests, a failing document.

Each case ends with the server still answering: nothing here may crash `kibitz lsp`.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException

from kibitz.client import KibitzClient
from tests.code_samples import APP
from tests.e2e.conftest import PASSWORD, Person, running_server, setup_team
from tests.git_helpers import commit_all, make_repo, published_repo
from tests.lsp.conftest import (
    Editor,
    RawLsp,
    lsp_environment,
    start_editor,
    status_of,
    stop_editor,
    threads_when,
    wait_until,
)
from tests.server_process import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

HUGE_LINES = 70_000  # about 2.3 million characters: past the size the server follows edits of


@dataclass
class World:
    """A server, Alice in team Acme, her linked repository with odd files, an unlinked one."""

    url: str
    alice: Person
    home: Path
    repo: Path
    unlinked: Path


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    home = tmp_path_factory.mktemp("bad-days")
    with running_server(home / "server-data") as url:
        alice = Person("alice@example.com", "Alice", home / "alice-config")
        setup_team(url, home, alice)
        huge = "".join(f"value_{n} = {n}  # a line of a generated table\n" for n in range(HUGE_LINES))
        repo, _ = published_repo(home, {"app.py": APP, "table.py": huge})
        (repo / "latin.txt").write_bytes("caf\xe9 cr\xe8me\nthe second line\n".encode("latin-1"))
        commit_all(repo, "a Latin-1 file")
        alice.run("init", cwd=repo)
        alice.run("add", "app.py:8-14", "-m", "Why twice?", cwd=repo)
        alice.run("add", "table.py:100-101", "-m", "Generated?", cwd=repo)
        alice.run("add", "latin.txt:2", "-m", "Second?", cwd=repo)
        unlinked = make_repo(home / "unlinked", {"notes.py": "x = 1\n"})
        yield World(url, alice, home, repo, unlinked)


@pytest.fixture(scope="module")
async def editor(world: World) -> AsyncIterator[Editor]:
    started = await start_editor(world.alice, world.repo)
    yield started
    await stop_editor(started)


def _session(world: World, config: Path) -> str:
    """Sign Alice in once more, in ``config``; return the new session's token."""
    with KibitzClient(world.url) as anonymous:
        token = anonymous.login(world.alice.email, PASSWORD)["token"]
    config.mkdir(exist_ok=True)
    shutil.copy(world.alice.config_dir / "config.json", config / "config.json")
    credentials = {"server": world.url, "token": token, "email": world.alice.email}
    (config / "credentials.json").write_text(json.dumps(credentials), encoding="utf-8")
    return token


def _errors(editor: Editor, since: int = 0) -> list[str]:
    return [m.message for m in editor.client.messages[since:] if m.type == types.MessageType.Error]


async def test_a_revoked_token_is_said_once_and_a_new_login_is_picked_up(world: World) -> None:
    config = world.home / "session-config"
    token = _session(world, config)
    person = Person(world.alice.email, world.alice.name, config)
    editor = await start_editor(person, world.repo)
    try:
        uri = editor.open(world.repo / "app.py")
        await wait_until(lambda: editor.lines(uri) == [(7, 13)], what="the codemark with a good token")

        with KibitzClient(world.url, token) as revoking:
            revoking.logout()
        await wait_until(lambda: status_of(editor) == "signed-out", what="the signed-out status")
        await wait_until(lambda: _errors(editor), what="the message")
        # Whatever else is asked meanwhile, it is said once.
        editor.change(uri, "\n" + APP)
        await wait_until(lambda: editor.lines(uri) == [(8, 14)], what="codemarks last known, relocated")
        [said] = _errors(editor)
        assert "kibitz login" in said
        assert "expired or revoked" in said
        assert editor.statuses[-1]["message"].endswith("in a terminal")

        _session(world, config)
        await wait_until(lambda: status_of(editor) == "ready", what="the new login noticed")
        assert len(_errors(editor)) == 1
    finally:
        await stop_editor(editor)


async def test_a_server_that_cannot_be_reached_at_start_is_said_once(world: World) -> None:
    config = world.home / "unreachable-config"
    config.mkdir()
    shutil.copy(world.alice.config_dir / "config.json", config / "config.json")
    nowhere = f"http://127.0.0.1:{free_port()}"
    credentials = {"server": nowhere, "token": "kbz_unused", "email": world.alice.email}
    (config / "credentials.json").write_text(json.dumps(credentials), encoding="utf-8")
    editor = await start_editor(Person(world.alice.email, world.alice.name, config), world.repo)
    try:
        await wait_until(lambda: status_of(editor) == "offline", what="the offline status")
        uri = editor.open(world.repo / "app.py")
        await threads_when(editor, uri, lambda t: t == [], what="no codemarks known")
        await wait_until(lambda: uri in editor.client.diagnostics, what="the (empty) diagnostics")
        assert editor.diagnostics(uri) == []
        [warning] = [m for m in editor.client.messages if m.type == types.MessageType.Warning]
        assert nowhere in warning.message
        assert editor.statuses[0]["state"] == "offline"
    finally:
        await stop_editor(editor)


async def test_files_outside_git_and_unlinked_repositories_get_nothing_and_a_hint(
    editor: Editor, world: World
) -> None:
    outside = world.home / "loose.py"
    outside.write_text("print('hi')\n", encoding="utf-8")
    loose = editor.open(outside)
    unlinked = editor.open(world.unlinked / "notes.py")
    await wait_until(
        lambda: any("kibitz init" in m.message for m in editor.client.messages), what="the unlinked hint"
    )
    [hint] = [m for m in editor.client.messages if "kibitz init" in m.message]
    assert hint.type == types.MessageType.Info
    assert await editor.threads(loose) == []
    assert await editor.threads(unlinked) == []
    assert editor.diagnostics(loose) == editor.diagnostics(unlinked) == []
    # Opening another file of the unlinked repository says nothing new.
    editor.open(world.unlinked / "notes.py", "y = 2\n")
    assert len([m for m in editor.client.messages if "kibitz init" in m.message]) == 1
    # Linked meanwhile: the next save shows its codemarks.
    world.alice.run("init", "--new", cwd=world.unlinked)
    world.alice.run("add", "notes.py:1", "-m", "Why x?", cwd=world.unlinked)
    editor.change(unlinked, "x = 1\n")
    editor.client.text_document_did_save(
        types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=unlinked))
    )
    await wait_until(
        lambda: editor.lines(unlinked) == [(0, 0)], what="the codemarks of a repository linked late"
    )
    with pytest.raises(JsonRpcException, match="not in a git repository"):
        await editor.command(
            "kibitz.add",
            {
                "uri": loose,
                "range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 3}},
                "text": "x",
            },
        )


async def test_a_binary_buffer_shows_nothing_and_refuses_a_codemark(editor: Editor, world: World) -> None:
    uri = editor.open(world.repo / "app.py", APP.replace("import os", "import\0os"))
    await threads_when(editor, uri, lambda t: t == [], what="no threads in a binary buffer")
    await wait_until(lambda: uri in editor.client.diagnostics)
    assert editor.diagnostics(uri) == []
    with pytest.raises(JsonRpcException, match="binary"):
        await editor.command(
            "kibitz.add",
            {
                "uri": uri,
                "range": {"start": {"line": 0, "character": 0}, "end": {"line": 1, "character": 0}},
                "text": "x",
            },
        )
    editor.close(uri)


async def test_a_huge_file_lists_its_codemarks_without_following_edits(editor: Editor, world: World) -> None:
    uri = editor.open(world.repo / "table.py")
    [thread] = await threads_when(editor, uri, lambda t: len(t) == 1, what="the huge file's codemark")
    assert thread["range"] is None
    assert thread["location"]["status"] == "unavailable"
    assert "too large" in thread["location"]["note"]
    assert thread["text"] == "Generated?"
    editor.close(uri)


async def test_a_non_utf8_file_is_located_as_the_editor_decoded_it(editor: Editor, world: World) -> None:
    uri = editor.open(world.repo / "latin.txt", "café crème\nthe second line\n")
    await wait_until(lambda: editor.lines(uri) == [(1, 1)], what="the codemark of a Latin-1 file")
    editor.close(uri)


async def test_unknown_requests_and_bad_custom_parameters_get_lsp_errors(editor: Editor) -> None:
    protocol: Any = editor.client.protocol
    with pytest.raises(JsonRpcException) as unknown:
        await protocol.send_request_async("kibitz/nothing", {})
    assert unknown.value.code == -32601
    with pytest.raises(JsonRpcException, match="kibitz/threads takes"):
        await protocol.send_request_async("kibitz/threads", {"url": 3})
    # And the server goes on answering.
    assert await editor.threads("file:///not/open.py") == []


def test_malformed_messages_get_lsp_errors_and_the_server_goes_on(world: World) -> None:
    # pytest-lsp's client cannot send what does not fit LSP's types: these bytes are written by hand.
    with RawLsp(lsp_environment(world.alice)) as raw:
        raw.send({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"capabilities": {}}})
        assert "capabilities" in raw.answer(1)["result"]
        raw.send({"jsonrpc": "2.0", "method": "initialized", "params": {}})
        raw.send(
            {"jsonrpc": "2.0", "id": 2, "method": "textDocument/hover", "params": {"position": "nowhere"}}
        )
        raw.send_bytes(b"{this is not json")
        raw.send({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": 7}})
        raw.send({"jsonrpc": "2.0", "id": 3, "method": "workspace/executeCommand", "params": {"command": 5}})
        raw.send({"jsonrpc": "2.0", "id": 4, "method": "kibitz/threads", "params": {"uri": "file:///x.py"}})
        hover = raw.answer(2)["error"]
        assert hover["code"] == -32602
        assert "textDocument/hover" in hover["message"]
        assert raw.answer(3)["error"]["code"] == -32602
        assert raw.answer(4)["result"] == {"threads": []}


async def test_a_failing_document_does_not_stop_the_others(editor: Editor, world: World) -> None:
    doomed_repo = make_repo(world.home / "doomed", {"doomed.py": APP})
    world.alice.run("init", "--new", cwd=doomed_repo)
    world.alice.run("add", "doomed.py:1", "-m", "Doomed?", cwd=doomed_repo)
    doomed = editor.open(doomed_repo / "doomed.py")
    await wait_until(lambda: editor.lines(doomed) == [(0, 0)], what="the doomed file's codemark")
    fine = editor.open(world.repo / "app.py")
    await wait_until(lambda: editor.lines(fine) == [(7, 13)])

    # Its repository disappears under it: its work fails from now on.
    shutil.rmtree(doomed_repo)
    errors = len(editor.client.log_messages)
    editor.change(doomed, "\n" + APP)
    await wait_until(
        lambda: any(
            m.type == types.MessageType.Error and "failed" in m.message
            for m in editor.client.log_messages[errors:]
        ),
        what="the failure logged",
    )
    editor.change(fine, "\n\n" + APP)
    await wait_until(lambda: editor.lines(fine) == [(9, 15)], what="the other document still followed")
