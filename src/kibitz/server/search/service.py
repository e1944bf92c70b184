"""Answer text searches from the search index, combined with the listing filters."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import aliased

from kibitz.server.codemarks.models import Codemark
from kibitz.server.codemarks.render import codemarks_out
from kibitz.server.codemarks.service import CodemarkFilter, filter_conditions, filter_params, with_path_index
from kibitz.server.errors import ValidationFailed
from kibitz.server.pagination import decode_cursor, encode_cursor
from kibitz.server.search.index import word_indexes
from kibitz.server.search.models import SearchToken
from kibitz.server.search.schemas import SearchHit, SearchMatch
from kibitz.server.search.tokens import tokens
from kibitz.server.unit_of_work import UnitOfWork


async def _posting_size(session: UnitOfWork, team_id: str, token: str, cap: int = 5_000) -> int:
    capped = select(SearchToken.codemark_id).where(SearchToken.team_id == team_id, SearchToken.token == token)
    return int(await session.scalar(select(func.count()).select_from(capped.limit(cap).subquery())) or 0)


async def search(
    session: UnitOfWork,
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
    words = tokens(query_text)
    if not words:
        raise ValidationFailed(
            "Search for at least one word of two or more letters or digits.", [{"loc": ["query", "q"]}]
        )
    # The index holds keyed words: the query's words are keyed the same way (distinct words, distinct keys).
    terms = sorted((await word_indexes(session, team_id, words)).values())
    flt = await with_path_index(session, team_id, flt)
    params = filter_params(team_id, flt)
    sizes = {term: await _posting_size(session, team_id, term) for term in terms}
    if min(sizes.values()) == 0:
        return [], None
    # Walk the rarest word's postings newest first straight off the table's key and stop after one page;
    # the other words and every filter are per-codemark probes (each a seek on the whole key). Joining a
    # DISTINCT list of all the word's codemarks and sorting it instead cost time in proportion to how
    # common the word is.
    driver, *others = sorted(terms, key=lambda t: (sizes[t], t))
    posting = aliased(SearchToken)
    query = (
        select(posting.codemark_id, posting.codemark_created_at)
        .join(Codemark, Codemark.id == posting.codemark_id)
        .where(posting.team_id == team_id, posting.token == driver)
        .where(Codemark.visible_to(caller_id), *filter_conditions(params))
    )
    for term in others:
        other = aliased(SearchToken)
        query = query.where(
            exists().where(
                other.team_id == team_id,
                other.token == term,
                other.codemark_created_at == posting.codemark_created_at,
                other.codemark_id == posting.codemark_id,
            )
        )
    if since is not None:
        query = query.where(posting.codemark_created_at >= since)
    if until is not None:
        query = query.where(posting.codemark_created_at < until)
    if cursor is not None:
        when, last_id = decode_cursor(cursor)
        query = query.where(
            or_(
                posting.codemark_created_at < when,
                and_(posting.codemark_created_at == when, posting.codemark_id < last_id),
            )
        )
    found = list(
        await session.execute(
            query.distinct()
            .order_by(posting.codemark_created_at.desc(), posting.codemark_id.desc())
            .limit(limit + 1),
            params,
        )
    )
    ids = [codemark_id for codemark_id, _ in found[:limit]]
    loaded = {c.id: c for c in await session.scalars(select(Codemark).where(Codemark.id.in_(ids)))}
    page = [loaded[i] for i in ids if i in loaded]
    next_cursor = encode_cursor(page[-1].created_at, page[-1].id) if len(found) > limit and page else None
    return await _hits(session, team_id, page, terms), next_cursor


async def _hits(
    session: UnitOfWork, team_id: str, codemarks: list[Codemark], terms: list[str]
) -> list[SearchHit]:
    words: dict[tuple[str, str], set[str]] = defaultdict(set)
    # Named along the key (team, word, time, codemark): a seek per word and creation time of the page's
    # codemarks. Naming the codemarks alone lets SQLite walk every posting of each word instead.
    for codemark_id, source, token in await session.execute(
        select(SearchToken.codemark_id, SearchToken.source, SearchToken.token).where(
            SearchToken.team_id == team_id,
            SearchToken.token.in_(terms),
            SearchToken.codemark_created_at.in_(sorted({c.created_at for c in codemarks})),
            SearchToken.codemark_id.in_([c.id for c in codemarks]),
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
