"""Answer text searches from the search index, combined with the listing filters."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from kibitz.errors import ValidationFailed
from kibitz.server.codemarks.models import Codemark
from kibitz.server.codemarks.render import codemarks_out
from kibitz.server.codemarks.service import CodemarkFilter, apply_filter, visible_codemarks
from kibitz.server.pagination import decode_cursor, encode_cursor
from kibitz.server.search.models import SearchToken
from kibitz.server.search.schemas import SearchHit, SearchMatch
from kibitz.server.search.tokens import tokens


async def _posting_size(session: AsyncSession, team_id: str, token: str, cap: int = 20_000) -> int:
    capped = select(SearchToken.codemark_id).where(SearchToken.team_id == team_id, SearchToken.token == token)
    return int(await session.scalar(select(func.count()).select_from(capped.limit(cap).subquery())) or 0)


async def search(
    session: AsyncSession,
    caller_id: str,
    team_id: str,
    query_text: str,
    flt: CodemarkFilter,
    since: dt.datetime | None,
    until: dt.datetime | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[SearchHit], str | None]:
    """Return codemarks whose title, text or replies contain every word of the query, newest first."""
    terms = sorted(tokens(query_text))
    if not terms:
        raise ValidationFailed(
            "Search for at least one word of two or more letters or digits.", [{"loc": ["query", "q"]}]
        )
    sizes = {term: await _posting_size(session, team_id, term) for term in terms}
    if min(sizes.values()) == 0:
        return [], None
    # Walk the rarest word's postings newest first; the other words are index probes per candidate.
    driver, *others = sorted(terms, key=lambda t: (sizes[t], t))
    posting = aliased(SearchToken)
    candidates = (
        select(posting.codemark_id, posting.codemark_created_at)
        .where(posting.team_id == team_id, posting.token == driver)
        .distinct()
    )
    for term in others:
        other = aliased(SearchToken)
        candidates = candidates.where(
            exists().where(
                other.team_id == team_id, other.token == term, other.codemark_id == posting.codemark_id
            )
        )
    if since is not None:
        candidates = candidates.where(posting.codemark_created_at >= since)
    if until is not None:
        candidates = candidates.where(posting.codemark_created_at < until)
    if cursor is not None:
        when, last_id = decode_cursor(cursor)
        candidates = candidates.where(
            or_(
                posting.codemark_created_at < when,
                and_(posting.codemark_created_at == when, posting.codemark_id < last_id),
            )
        )
    found = candidates.subquery()
    query = apply_filter(visible_codemarks(team_id, caller_id), team_id, flt).join(
        found, found.c.codemark_id == Codemark.id
    )
    rows = list(
        await session.scalars(query.order_by(Codemark.created_at.desc(), Codemark.id.desc()).limit(limit + 1))
    )
    page = rows[:limit]
    next_cursor = encode_cursor(page[-1].created_at, page[-1].id) if len(rows) > limit else None
    return await _hits(session, page, terms), next_cursor


async def _hits(session: AsyncSession, codemarks: list[Codemark], terms: list[str]) -> list[SearchHit]:
    words: dict[tuple[str, str], set[str]] = defaultdict(set)
    for codemark_id, source, token in await session.execute(
        select(SearchToken.codemark_id, SearchToken.source, SearchToken.token).where(
            SearchToken.codemark_id.in_([c.id for c in codemarks]), SearchToken.token.in_(terms)
        )
    ):
        words[(codemark_id, source)].add(token)
    outs = await codemarks_out(session, codemarks)
    hits = []
    for out in outs:
        matches = [
            SearchMatch(kind="reply" if source else "codemark", id=source or cid)
            for (cid, source), found in sorted(words.items())
            if cid == out.id and len(found) == len(terms)
        ]
        hits.append(SearchHit(codemark=out, matches=matches))
    return hits
