"""The hover names the commit that made a codemark's block what it is, or says the edits did.

A real `kibitz lsp` process over stdio, a real Kibitz server and a real git repository whose history moved
the block after it was recorded.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from lsprotocol import types

from tests.code_samples import APP
from tests.git_helpers import commit_all
from tests.lsp.conftest import Editor, Team, team_of_two, threads_when, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

# Someone else's words in a commit subject: shown as they are, neither as HTML nor as Markdown.
SUBJECT = "Add a <b>licence</b> header *now*"
HEADER = "# Licensed to the team.\n# Keep this header.\n\n"


@dataclass
class World(Team):
    """Alice's question on `retry`, and the commit that put a header above it since."""

    question: str
    header_commit: str


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    home = tmp_path_factory.mktemp("why-hover")
    with team_of_two(home, {"app.py": APP}) as team:
        question = team.alice.run(
            "add", "app.py:8-14", "--type", "question", "-m", "Why retry twice?", cwd=team.repo
        ).stdout.strip()
        (team.repo / "app.py").write_text(HEADER + APP, encoding="utf-8")
        header_commit = commit_all(team.repo, SUBJECT)
        yield World(**vars(team), question=question, header_commit=header_commit)


async def _hover(editor: Editor, uri: str, line: int) -> str:
    hover = await editor.client.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(line, 4)
        )
    )
    assert hover is not None
    assert isinstance(hover.contents, types.MarkupContent)
    return hover.contents.value


async def test_the_hover_names_the_commit_then_the_unsaved_edit(editor: Editor, world: World) -> None:
    text = HEADER + APP
    uri = editor.open(world.repo / "app.py", text)
    await wait_until(lambda: editor.lines(uri) == [(10, 16)], what="the block three lines down")

    shown = await _hover(editor, uri, 12)
    assert "Why retry twice?" in shown
    [why] = [line for line in shown.splitlines() if line.startswith("shifted by ")]
    assert why.startswith(f"shifted by {world.header_commit[:12]} Test Author, ")
    assert why.endswith(": Add a &lt;b&gt;licence&lt;/b&gt; header \\*now\\*")
    # Asked again, it is the same answer (kept per marker and HEAD).
    assert await _hover(editor, uri, 12) == shown

    # An unsaved edit inside the block: no commit did that.
    editor.change(uri, text.replace("raise\n", "raise TimeoutError\n", 1))
    await threads_when(editor, uri, lambda t: t[0]["location"]["status"] == "changed")
    shown = await _hover(editor, uri, 12)
    assert "changed by uncommitted edits" in shown.splitlines()
    assert world.header_commit[:12] not in shown

    # Back as committed: the commit is named again.
    editor.change(uri, text)
    await threads_when(editor, uri, lambda t: t[0]["location"]["status"] == "shifted")
    assert f"shifted by {world.header_commit[:12]} " in await _hover(editor, uri, 12)
    editor.close(uri)


async def test_an_unchanged_block_names_no_commit(editor: Editor, world: World) -> None:
    # The block as recorded, in a buffer that drops the header again: the same lines as then.
    uri = editor.open(world.repo / "app.py", APP)
    await wait_until(lambda: editor.lines(uri) == [(7, 13)], what="the block where it was recorded")
    [thread] = await editor.threads(uri)
    assert thread["location"]["status"] == "unchanged"
    shown = await _hover(editor, uri, 9)
    assert not any(line.startswith(("shifted", "moved", "changed")) for line in shown.splitlines())
    editor.close(uri)
