"""Rendered Markdown and highlighted code kept per stored cell: never stale, never past their key."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from kibitz.server.codemarks.models import Reply
from kibitz.server.crypto.keystore import Keystore
from kibitz.server.crypto.sealer import Sealer, member_owner
from kibitz.server.web.kept_html import kept_code, kept_markdown
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
