"""Keep the search index in step with codemarks and replies."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, insert
from sqlalchemy.ext.asyncio import AsyncSession

from kibitz.server.search.models import SearchToken
from kibitz.server.search.tokens import tokens


async def index_text(
    session: AsyncSession,
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
        await session.execute(
            insert(SearchToken),
            [
                {
                    "team_id": team_id,
                    "token": word,
                    "codemark_id": codemark_id,
                    "source": source,
                    "codemark_created_at": created_at,
                }
                for word in sorted(words)
            ],
        )


async def unindex(session: AsyncSession, codemark_id: str, source: str) -> None:
    """Forget the words of a codemark's own text or of one reply."""
    await session.execute(
        delete(SearchToken).where(SearchToken.codemark_id == codemark_id, SearchToken.source == source)
    )
