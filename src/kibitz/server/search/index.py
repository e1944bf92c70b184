"""Keep the search index in step with codemarks and replies.

The index holds no words: each word is stored as its keyed blind index under the team's index key
(`SEARCH_PURPOSE`), and a query hashes its words the same way, so equality is all search needs.
"""

from __future__ import annotations

import datetime as dt
from typing import cast

from sqlalchemy import Table, delete, insert

from kibitz.server.search.models import SearchToken
from kibitz.server.search.tokens import tokens
from kibitz.server.unit_of_work import UnitOfWork

SEARCH_PURPOSE = "search.word"
# On the table, not the ORM class: the rows are never objects in the session, and the ORM's bulk insert
# costs more than the statement.
_INSERT = insert(cast(Table, SearchToken.__table__))


async def word_indexes(session: UnitOfWork, team_id: str, words: set[str]) -> dict[str, str]:
    """Return the keyed index of each word (what `search_token.token` holds), by word."""
    sealer = session.sealer
    return {word: await sealer.index(team_id, SEARCH_PURPOSE, word) for word in sorted(words)}


async def index_text(
    session: UnitOfWork,
    team_id: str,
    codemark_id: str,
    created_at: dt.datetime,
    source: str,
    *texts: str,
    fresh: bool = False,
) -> None:
    """(Re)index the words of a codemark (source '') or a reply (source = its id); `fresh`: new text."""
    if not fresh:
        await unindex(session, codemark_id, source)
    words: set[str] = set()
    for text in texts:
        words |= tokens(text)
    if words:
        keyed = sorted(set((await word_indexes(session, team_id, words)).values()))
        await (await session.flushed_connection()).execute(
            _INSERT,
            [
                {
                    "team_id": team_id,
                    "token": token,
                    "codemark_id": codemark_id,
                    "source": source,
                    "codemark_created_at": created_at,
                }
                for token in keyed
            ],
        )


async def unindex(session: UnitOfWork, codemark_id: str, source: str) -> None:
    """Forget the words of a codemark's own text or of one reply."""
    await session.execute(
        delete(SearchToken).where(SearchToken.codemark_id == codemark_id, SearchToken.source == source)
    )
