"""Codemarks where the code is in the unsaved buffer: diagnostics, code lenses, hovers and threads.

A real `kibitz lsp` process over stdio, a real Kibitz server and a real git repository; the file on disk
never changes, only the editor's buffer does.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from lsprotocol import types

from tests.code_samples import APP, CLEANUP, RETRY
from tests.lsp.conftest import Editor, Team, team_of_two, threads_when, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]


@dataclass
class World(Team):
    """A server, Alice and Bob in team Acme, Alice's linked repository with a question on `retry`."""

    question: str


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    home = tmp_path_factory.mktemp("documents")
    with team_of_two(home, {"app.py": APP}) as team:
        alice, repo = team.alice, team.repo
        question = alice.run(
            "add",
            "app.py:8-14",
            "--type",
            "question",
            "--title",
            "Why retry twice?",
            "-m",
            "It looks odd.",
            cwd=repo,
        ).stdout.strip()
        team.bob.run("reply", question, "-m", "Because the network flakes.", cwd=home)
        yield World(**vars(team), question=question)


def _at(editor: Editor, uri: str, lines: list[tuple[int, int]]) -> bool:
    return editor.lines(uri) == lines


async def test_the_editor_is_told_who_is_signed_in(editor: Editor) -> None:
    status = await wait_until(
        lambda: next((s for s in editor.statuses if s["state"] == "ready"), {}), what="a ready status"
    )
    assert editor.statuses[0] == status  # nothing was said before the first attempt
    assert status["user"] == "alice@example.com"
    assert status["team"] == "Acme"


async def test_a_codemark_is_a_diagnostic_at_its_lines(editor: Editor, world: World) -> None:
    uri = editor.open(world.repo / "app.py")
    await wait_until(lambda: _at(editor, uri, [(7, 13)]), what="the question at lines 8-14")
    [found] = editor.diagnostics(uri)
    assert found.source == "kibitz"
    assert found.code == world.question
    assert found.severity == types.DiagnosticSeverity.Information
    assert found.message == "question · open · Why retry twice? — alice · 1 reply"
    assert found.code_description is not None
    assert found.code_description.href == f"{world.url}/c/{world.question}"
    # The whole last line: up to the end of its text.
    assert found.range.end.character == len("                raise")
    editor.close(uri)


async def test_edits_in_the_unsaved_buffer_move_the_diagnostic(editor: Editor, world: World) -> None:
    on_disk = (world.repo / "app.py").read_text(encoding="utf-8")
    uri = editor.open(world.repo / "app.py")
    await wait_until(lambda: _at(editor, uri, [(7, 13)]))

    above = "# a header\n# of three\n# lines\n" + APP
    editor.change(uri, above)
    await wait_until(lambda: _at(editor, uri, [(10, 16)]), what="the block shifted by the lines above")

    inside = above.replace(
        "            if attempt == attempts - 1:", "            if attempt >= attempts - 1:"
    )
    editor.change(uri, inside)
    [thread] = await threads_when(editor, uri, lambda t: t[0]["location"]["status"] == "changed")
    assert thread["location"]["note"] == "changed since it was written"
    assert editor.lines(uri) == [(10, 16)]

    moved = APP.replace(RETRY + "\n\n", "") + "\n\n" + RETRY
    editor.change(uri, moved)
    start = moved.splitlines().index("def retry(call, attempts=3):")
    await wait_until(lambda: _at(editor, uri, [(start, start + 6)]), what="the block moved to the end")
    [thread] = await threads_when(editor, uri, lambda t: t[0]["location"]["status"] == "moved")
    assert thread["location"] == {"status": "moved", "note": "moved from app.py:8-14"}

    deleted = APP.replace(RETRY, "")
    editor.change(uri, deleted)
    await wait_until(lambda: _at(editor, uri, []), what="no diagnostic once the code is deleted")
    [thread] = await threads_when(editor, uri, lambda t: t[0]["location"]["status"] == "deleted")
    assert thread["range"] is None

    # Nothing of this was saved: the file on disk is as it was.
    assert (world.repo / "app.py").read_text(encoding="utf-8") == on_disk
    editor.close(uri)


async def test_lens_hover_and_threads_show_the_whole_thread(editor: Editor, world: World) -> None:
    uri = editor.open(world.repo / "app.py", "\n" + APP)
    await wait_until(lambda: _at(editor, uri, [(8, 14)]))

    lenses = await editor.client.text_document_code_lens_async(
        types.CodeLensParams(text_document=types.TextDocumentIdentifier(uri=uri))
    )
    assert lenses is not None
    [lens] = lenses
    assert lens.range.start == types.Position(8, 0)
    assert lens.command is not None
    assert lens.command.command == "kibitz.openInBrowser"
    assert list(lens.command.arguments or []) == [{"id": world.question}]
    assert "Why retry twice?" in lens.command.title

    hover = await editor.client.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(10, 4))
    )
    assert hover is not None
    assert isinstance(hover.contents, types.MarkupContent)
    shown = hover.contents.value
    for part in ("Why retry twice?", "It looks odd.", "Alice", "Because the network flakes.", "Bob"):
        assert part in shown
    nothing = await editor.client.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(2, 0))
    )
    assert nothing is None

    [thread] = await editor.threads(uri)
    assert thread["id"] == world.question
    assert thread["type"] == "question"
    assert thread["status"] == "open"
    assert thread["title"] == "Why retry twice?"
    assert thread["author"] == "Alice"
    assert thread["range"]["start"] == {"line": 8, "character": 0}
    assert thread["location"]["status"] == "shifted"
    assert [(r["author"], r["text"]) for r in thread["replies"]] == [("Bob", "Because the network flakes.")]
    assert thread["following"] is True  # the author follows her own codemark
    assert thread["permalink"] == f"{world.url}/c/{world.question}"
    editor.close(uri)


async def test_a_file_without_codemarks_gets_an_empty_list(editor: Editor, world: World) -> None:
    other = world.repo / "cleanup.py"
    other.write_text(CLEANUP, encoding="utf-8")
    uri = editor.open(other)
    await wait_until(lambda: uri in editor.client.diagnostics, what="diagnostics for an untracked file")
    assert editor.diagnostics(uri) == []
    assert await editor.threads(uri) == []
    editor.close(uri)
    other.unlink()
