"""The codemarks' places at HEAD are kept between keystrokes, and never shown stale.

The language server locates the repository's codemarks at HEAD once and relocates only the blocks in files
that differ from HEAD at each edit. A commit made in a terminal, a file changed on disk and a teammate's new
codemark must still show at their right lines. A real `kibitz lsp`, a real server and real repositories.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.code_samples import APP, MAIN, RETRY
from tests.git_helpers import commit_all, git
from tests.lsp.conftest import Editor, Team, team_of_two, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

QUIETLY = """\
def remove_quietly(path):
    try:
        os.remove(path)
    except OSError:
        pass
"""
LIB = "import os\n\n\n" + QUIETLY
TWICE = """\
def twice(value):
    doubled = value * 2
    return doubled * 2
"""
UTIL = "# helpers\n\n\n" + TWICE


@dataclass
class World(Team):
    """Alice's linked repository with a question on `retry` (app.py) and notes on `remove_quietly`
    (lib.py) and `twice` (util.py), and Bob's clone of it."""

    bob_repo: Path


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    home = tmp_path_factory.mktemp("kept-places")
    with team_of_two(home, {"app.py": APP, "lib.py": LIB, "util.py": UTIL}) as team:
        alice, bob, repo = team.alice, team.bob, team.repo
        alice.run("add", "app.py:8-14", "--type", "question", "-m", "Why twice?", cwd=repo)
        alice.run("add", "lib.py:4-8", "--type", "comment", "-m", "Quietly?", cwd=repo)
        alice.run("add", "util.py:4-6", "--type", "comment", "-m", "Four times?", cwd=repo)
        bob_repo = home / "bob-repo"
        git(home, "clone", "--quiet", str(team.origin), str(bob_repo))
        bob.run("init", cwd=bob_repo)
        yield World(**vars(team), bob_repo=bob_repo)


def _block(text: str, code: str) -> tuple[int, int]:
    """Return the 0-based first and last line of ``code`` in ``text``, as the diagnostics give them."""
    first = text.splitlines().index(code.splitlines()[0])
    return first, first + len(code.splitlines()) - 1


async def _shows(editor: Editor, uri: str, blocks: list[tuple[int, int]], what: str) -> None:
    await wait_until(lambda: editor.lines(uri) == sorted(blocks), what=what)


async def test_a_commit_made_in_a_terminal_is_taken_in_at_the_next_edit(editor: Editor, world: World) -> None:
    app, lib = world.repo / "app.py", world.repo / "lib.py"
    uri = editor.open(app)
    await _shows(editor, uri, [_block(APP, RETRY)], "the question where it was pinned")

    # A commit made in a terminal while app.py is open moves `remove_quietly` from lib.py (never opened)
    # to the end of app.py, and adds lines above `retry`.
    committed = "# two lines\n# above\n" + APP + "\n\n" + QUIETLY
    app.write_text(committed, encoding="utf-8")
    lib.write_text("import os\n", encoding="utf-8")
    commit_all(world.repo, "remove_quietly moves to app.py")

    # The editor takes the new text in, and a line is typed: the note follows its code into app.py.
    typed = "# typed\n" + committed
    editor.change(uri, typed)
    await _shows(
        editor,
        uri,
        [_block(typed, RETRY), _block(typed, QUIETLY)],
        "both blocks after the commit and the edit",
    )
    lib_uri = editor.open(lib)
    await wait_until(lambda: lib_uri in editor.client.diagnostics, what="lib.py published")
    await _shows(editor, lib_uri, [], "nothing left in lib.py")
    editor.close(lib_uri)
    editor.close(uri)


async def test_a_file_changed_on_disk_meanwhile_shows_its_codemarks_right(
    editor: Editor, world: World
) -> None:
    app, util = world.repo / "app.py", world.repo / "util.py"
    on_disk = app.read_text(encoding="utf-8")
    uri = editor.open(app)
    await _shows(editor, uri, [_block(on_disk, RETRY), _block(on_disk, QUIETLY)], "the blocks of app.py")
    for count in range(1, 4):
        typed = "".join(f"# typed {number}\n" for number in range(count)) + on_disk
        editor.change(uri, typed)
        await _shows(
            editor,
            uri,
            [_block(typed, RETRY), _block(typed, QUIETLY)],
            f"the blocks below {count} typed lines",
        )

    # util.py is changed on disk by another program, not committed, while only app.py is being edited.
    changed = "# written\n# by another program\n" + UTIL
    util.write_text(changed, encoding="utf-8")
    editor.change(uri, on_disk)
    await _shows(editor, uri, [_block(on_disk, RETRY), _block(on_disk, QUIETLY)], "the blocks back in place")
    util_uri = editor.open(util)
    await _shows(editor, util_uri, [_block(changed, TWICE)], "the note below the lines written on disk")
    editor.close(util_uri)
    editor.close(uri)


async def test_a_teammates_new_codemark_appears_at_its_place_in_the_edited_buffer(
    editor: Editor, world: World
) -> None:
    app = world.repo / "app.py"
    typed = "# typed\n# lines\n" + app.read_text(encoding="utf-8")
    uri = editor.open(app, typed)
    await _shows(
        editor, uri, [_block(typed, RETRY), _block(typed, QUIETLY)], "the blocks in the unsaved buffer"
    )

    # Bob pins `main` in his clone, at the first commit (Alice's HEAD has moved on since).
    main = _block(APP, MAIN)
    world.bob.run("add", f"app.py:{main[0] + 1}-{main[1] + 1}", "-m", "Main?", cwd=world.bob_repo)
    shown = [_block(typed, RETRY), _block(typed, QUIETLY), _block(typed, MAIN)]
    await _shows(editor, uri, shown, "Bob's codemark in the buffer")

    # And it follows the next edit like the others.
    edited = typed.replace("# lines\n", "# lines\n# and one more\n")
    editor.change(uri, edited)
    shown = [_block(edited, RETRY), _block(edited, QUIETLY), _block(edited, MAIN)]
    await _shows(editor, uri, shown, "every block below the new line")
    editor.close(uri)
