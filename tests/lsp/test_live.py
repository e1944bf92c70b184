"""A teammate's changes reach the editor within a second, and a server restart in the middle loses nothing.

Alice's editor runs `kibitz lsp`; Bob answers with the real `kibitz` command, and the Kibitz server is a
real process, stopped and started again on the same port and data.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from lsprotocol import types

from tests.code_samples import APP
from tests.lsp.conftest import Editor, Team, status_of, team_of_two, threads_when, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

# A teammate's change must show within this long (the promise).
LIVE_SECONDS = 1.0


@dataclass
class World(Team):
    """A server that can be restarted, Alice and Bob in team Acme, Alice's repository with a question."""

    question: str


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with team_of_two(tmp_path_factory.mktemp("live"), {"app.py": APP}) as team:
        question = team.alice.run(
            "add", "app.py:8-14", "--type", "question", "-m", "Why twice?", cwd=team.repo
        ).stdout
        yield World(**vars(team), question=question.strip())


def _message(editor: Editor, uri: str) -> str:
    return " | ".join(d.message for d in editor.diagnostics(uri))


async def test_a_teammates_reply_and_resolution_reach_the_editor_within_a_second(
    editor: Editor, world: World
) -> None:
    uri = editor.open(world.repo / "app.py")
    await wait_until(lambda: editor.lines(uri) == [(7, 13)], what="the question in the editor")
    await wait_until(lambda: status_of(editor) == "ready")

    changed, refreshed = len(editor.threads_changed), editor.lens_refreshes
    world.bob.run("reply", world.question, "-m", "Because the network flakes.", cwd=world.home)
    answered = time.monotonic()
    await wait_until(lambda: "1 reply" in _message(editor, uri), seconds=LIVE_SECONDS, what="Bob's reply")
    assert time.monotonic() - answered <= LIVE_SECONDS
    await wait_until(lambda: len(editor.threads_changed) > changed, seconds=LIVE_SECONDS)
    await wait_until(lambda: editor.lens_refreshes > refreshed, seconds=LIVE_SECONDS)
    [thread] = await editor.threads(uri)
    assert [r["text"] for r in thread["replies"]] == ["Because the network flakes."]

    with world.bob.client() as bob:
        bob.react("codemarks", world.question, "👀")
    reacted = time.monotonic()
    await threads_when(editor, uri, lambda t: bool(t[0]["reactions"]), what="Bob's reaction")
    assert time.monotonic() - reacted <= LIVE_SECONDS
    [thread] = await editor.threads(uri)
    assert thread["reactions"] == [{"emoji": "👀", "count": 1, "mine": False}]

    # A codemark added in a terminal (another process, the same team) appears too.
    world.alice.run("add", "app.py:1", "-m", "Which os?", cwd=world.repo)
    added = time.monotonic()
    await wait_until(lambda: (0, 0) in editor.lines(uri), seconds=LIVE_SECONDS, what="the new codemark")
    assert time.monotonic() - added <= LIVE_SECONDS

    # Alice resolves the question in a terminal: her editor follows too.
    with world.alice.client() as alice:
        alice.update_codemark(world.question, status="resolved")
    await wait_until(
        lambda: "question · resolved" in _message(editor, uri), seconds=LIVE_SECONDS, what="the resolution"
    )
    [found] = [d for d in editor.diagnostics(uri) if d.code == world.question]
    assert found.severity == types.DiagnosticSeverity.Hint


async def test_a_server_restart_is_said_once_and_the_editor_resumes(editor: Editor, world: World) -> None:
    uri = editor.open(world.repo / "app.py")
    await wait_until(lambda: editor.lines(uri) == [(0, 0), (7, 13)])
    warnings = len(editor.client.messages)

    world.server.stop()
    await wait_until(lambda: status_of(editor) == "offline", what="the offline status")
    # The codemarks last known stay shown; the warning is shown once however long the outage lasts.
    editor.change(uri, "\n" + APP)
    await wait_until(lambda: editor.lines(uri) == [(1, 1), (8, 14)], what="relocating while offline")
    said = [m for m in editor.client.messages[warnings:] if m.type == types.MessageType.Warning]
    assert len(said) == 1
    assert "showing the codemarks last known" in said[0].message

    world.server.start()
    await wait_until(lambda: status_of(editor) == "ready", what="the ready status after the restart")
    world.bob.run("reply", world.question, "-m", "Still here after the restart.", cwd=world.home)
    await wait_until(lambda: "2 replies" in _message(editor, uri), what="a reply after the restart")
    [thread] = [t for t in await editor.threads(uri) if t["id"] == world.question]
    assert thread["replies"][-1]["text"] == "Still here after the restart."
    assert len([m for m in editor.client.messages[warnings:] if m.type == types.MessageType.Warning]) == 1
