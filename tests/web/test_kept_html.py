"""Rendered Markdown and highlighted code kept per stored cell: never stale, never past their key."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from kibitz.server.codemarks.models import Reply
from kibitz.server.crypto.keystore import Keystore
from kibitz.server.crypto.sealer import Sealer, member_owner
from kibitz.server.web.kept_html import CSRF_HOLE, Holes, fill, kept_code, kept_fragment, kept_markdown
from kibitz.server.web.render import highlighted_code, markdown_html
from kibitz.settings import Settings

ROW = "r000000000000001"


@pytest.fixture
async def sealer(tmp_path: Path) -> AsyncIterator[Sealer]:
    """A sealer over a fresh SQLite keystore."""
    keystore = await Keystore.open(Settings(data_dir=tmp_path / "data"))
    result = Sealer()
    result.attach(keystore)
    try:
        yield result
    finally:
        await keystore.close()


async def test_kept_markdown_follows_the_stored_cell_and_its_key(sealer: Sealer) -> None:
    assert sealer.keystore is not None
    owner = member_owner("t1", "u1")
    text = "Why **retry**? <script>alert(1)</script>"
    stored = await sealer.seal(owner, text, Reply.text, row=ROW)
    first = await kept_markdown(sealer, "reply", ROW, stored, text)
    assert first == markdown_html(text)
    assert "<script>" not in first
    # Kept: the same cell gives the same markup even if the caller passed another text along.
    assert await kept_markdown(sealer, "reply", ROW, stored, "ignored") is first
    # An edit is a new cell: the new text is rendered.
    edited = await sealer.seal(owner, "Now *fixed*.", Reply.text, row=ROW)
    assert await kept_markdown(sealer, "reply", ROW, edited, "Now *fixed*.") == markdown_html("Now *fixed*.")
    # Once the key is destroyed (erasure), the kept markup is not served: it is rendered from what is given.
    await sealer.keystore.destroy(owner.kind, owner.id)
    assert await kept_markdown(sealer, "reply", ROW, edited, "") == markdown_html("")


async def test_kept_code_is_dropped_with_the_opened_values(sealer: Sealer) -> None:
    owner = member_owner("t1", "u1")
    code, path = "def f():\n    return 1\n", "src/a.py"
    cells = (
        await sealer.seal(owner, code, Reply.text, row=ROW),
        await sealer.seal(owner, path, Reply.text, row=ROW),
    )
    first = await kept_code(sealer, "m1", cells, code, path, 10)
    assert first == highlighted_code(code, path, 10)
    assert await kept_code(sealer, "m1", cells, "other", path, 10) is first
    # Another first line is another version.
    assert await kept_code(sealer, "m1", cells, code, path, 20) == highlighted_code(code, path, 20)
    sealer.drop_plaintexts()
    assert await kept_code(sealer, "m1", cells, "x = 2\n", path, 20) == highlighted_code("x = 2\n", path, 20)


async def test_a_kept_fragment_is_rendered_again_when_an_input_changes_and_not_past_its_key(
    sealer: Sealer,
) -> None:
    assert sealer.keystore is not None
    owner = member_owner("t1", "u1")
    stored = await sealer.seal(owner, "words", Reply.text, row=ROW)
    written = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC)
    renders: list[str] = []

    def renderer(label: str) -> Callable[[Holes], Awaitable[str]]:
        async def render(holes: Holes) -> str:
            renders.append(label)
            return f'<p>{label} {holes.time(written)}</p><input name="csrf" value="{holes.csrf}">'

        return render

    first = await kept_fragment(sealer, ("item", ROW), ["a", stored], [stored], renderer("one"))
    assert await kept_fragment(sealer, ("item", ROW), ["a", stored], [stored], renderer("two")) is first
    assert renders == ["one"]
    # Another input (a reaction, a name) is another version.
    await kept_fragment(sealer, ("item", ROW), ["b", stored], [stored], renderer("three"))
    assert renders == ["one", "three"]
    # The holes take each viewer's token and the time of each showing; the rest is the kept markup.
    early = fill([first], "tok<en>", written + dt.timedelta(seconds=5))
    later = fill([first], "other", written + dt.timedelta(minutes=5))
    assert early == (
        '<p>one <time datetime="2024-05-01T12:00:00+00:00" title="2024-05-01 12:00:00 UTC">'
        "just now</time></p>"
        '<input name="csrf" value="tok&lt;en&gt;">'
    )
    assert "5 minutes ago</time>" in later
    assert 'value="other"' in later
    assert "\x00" not in early + later
    # Once the key is destroyed (erasure), nothing kept under it is served.
    await sealer.keystore.destroy(owner.kind, owner.id)
    await kept_fragment(sealer, ("item", ROW), ["b", stored], [stored], renderer("four"))
    assert renders == ["one", "three", "four"]


def test_the_holes_cannot_be_written_by_a_text() -> None:
    holes = Holes()
    # A hole is marked with a secret drawn when the process starts: a guess at its form stays text.
    guess = "\x00" + "0" * 32 + ":c\x00"
    fragment = holes.fragment(f"<p>{guess}</p>{holes.csrf}")
    assert fragment == (f"<p>{guess}</p>", CSRF_HOLE)
