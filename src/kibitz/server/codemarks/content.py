"""The sealed content of codemarks, markers and replies: which cell each value is bound to, and whose key.

Following crypto/registry.py: a codemark's title and text, its markers' path, code and context, and the
versions its edits keep are sealed with the codemark author's membership key (`member_owner`), a reply's
text and its versions with the reply author's; reference paths belong to the team (`team_owner`). The
`row` of an edit is its codemark's (or reply's) id, of a reference its marker's id.

Values are sealed just before they are put on a row and opened into wire objects, never back onto a row:
an ORM row holding plaintext would be flushed with it.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass

from kibitz.server.codemarks.models import Codemark, CodemarkEdit, Marker, MarkerReference, Reply, ReplyEdit
from kibitz.server.crypto.sealer import Cell, SealedColumn, member_owner, team_owner
from kibitz.server.unit_of_work import UnitOfWork

# A codemark and the versions its edits keep share their sealed columns' names, not their tables.
Texts = type[Codemark] | type[CodemarkEdit]
ReplyTexts = type[Reply] | type[ReplyEdit]
# In the order of MarkerContent's fields.
MARKER_COLUMNS: tuple[SealedColumn, ...] = (
    Marker.path,
    Marker.code,
    Marker.context_before,
    Marker.context_after,
)


@dataclass(frozen=True, slots=True)
class MarkerContent:
    """A marker's opened path, code and context."""

    path: str
    code: str
    context_before: str
    context_after: str


async def seal_texts(
    session: UnitOfWork, model: Texts, row: str, team_id: str, author_id: str, title: str, text: str
) -> tuple[str, str]:
    """Seal a codemark's (or a codemark edit's) title and text with the codemark author's key."""
    sealer = session.sealer
    owner = member_owner(team_id, author_id)
    return (
        await sealer.seal(owner, title, model.title, row=row),
        await sealer.seal(owner, text, model.text, row=row),
    )


async def open_texts(session: UnitOfWork, model: Texts, row: str, title: str, text: str) -> tuple[str, str]:
    """Open a codemark's (or a codemark edit's) sealed title and text."""
    sealer = session.sealer
    return await sealer.open(title, model.title, row=row), await sealer.open(text, model.text, row=row)


async def seal_reply_text(
    session: UnitOfWork, model: ReplyTexts, row: str, team_id: str, author_id: str, text: str
) -> str:
    """Seal a reply's (or a reply edit's) text with the reply author's key."""
    return await session.sealer.seal(member_owner(team_id, author_id), text, model.text, row=row)


async def open_reply_text(session: UnitOfWork, model: ReplyTexts, row: str, text: str) -> str:
    """Open a reply's (or a reply edit's) sealed text."""
    return await session.sealer.open(text, model.text, row=row)


async def seal_marker(
    session: UnitOfWork, marker_id: str, team_id: str, author_id: str, content: MarkerContent
) -> MarkerContent:
    """Seal a marker's path, code and context with the codemark author's key."""
    sealer = session.sealer
    owner = member_owner(team_id, author_id)
    sealed = [
        await sealer.seal(owner, getattr(content, column.key), column, row=marker_id)
        for column in MARKER_COLUMNS
    ]
    return MarkerContent(*sealed)


async def seal_marker_path(
    session: UnitOfWork, marker_id: str, team_id: str, author_id: str, path: str
) -> str:
    """Seal a marker's new path (a promotion moves it) with the codemark author's key."""
    return await session.sealer.seal(member_owner(team_id, author_id), path, Marker.path, row=marker_id)


async def open_marker_path(session: UnitOfWork, marker_id: str, path: str) -> str:
    """Open a marker's sealed path."""
    return await session.sealer.open(path, Marker.path, row=marker_id)


async def seal_reference_path(session: UnitOfWork, marker_id: str, team_id: str, path: str) -> str:
    """Seal a reference's path with the team's key (a reference is where the team found the block)."""
    return await session.sealer.seal(team_owner(team_id), path, MarkerReference.path, row=marker_id)


class Opener:
    """Gathers the sealed cells of a page, then opens them in one pass (the keystore caches the keys)."""

    def __init__(self) -> None:
        self._keys: list[Hashable] = []
        self._cells: list[Cell] = []

    def add(self, key: Hashable, sealed: str, column: SealedColumn, *, row: str) -> None:
        """Ask for a cell to be opened; its plaintext will be found under `key`."""
        self._keys.append(key)
        self._cells.append(Cell(sealed, column, row))

    async def open(self, session: UnitOfWork) -> dict[Hashable, str]:
        """Open every cell asked for and return the plaintexts by key."""
        return dict(zip(self._keys, await session.sealer.open_many(self._cells), strict=True))
