"""The search page: the team's codemarks and replies holding every word asked for, with the feed's filters."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from kibitz.server.access import access_team
from kibitz.server.deps import DbSession, State
from kibitz.server.repos.service import repo_names
from kibitz.server.search import service
from kibitz.server.search.schemas import SearchHit
from kibitz.server.web.feed_pages import CODEMARK_TYPES, STATUSES
from kibitz.server.web.filters import SearchQuery, read_query
from kibitz.server.web.pages import page
from kibitz.server.web.sessions import SignedIn
from kibitz.server.web.team_context import members_by_id, team_page

router = APIRouter(include_in_schema=False)

SEARCH_PAGE_SIZE = 20


@router.get("/t/{team_id}/search", response_class=HTMLResponse)
async def search(
    team_id: str, request: Request, session: DbSession, caller: SignedIn, state: State
) -> HTMLResponse:
    """Show the search form and, once words are given (`q`), the codemarks that hold them, newest first."""
    membership = await access_team(session, caller, team_id)
    query, problems = read_query(SearchQuery, request.query_params)
    hits: list[SearchHit] = []
    next_cursor: str | None = None
    if query.q and query.q.strip():
        hits, next_cursor = await service.search(
            session,
            caller.user.id,
            team_id,
            query.q,
            query.codemark_filter(),
            None,
            None,
            SEARCH_PAGE_SIZE,
            query.cursor,
        )
    return page(
        request,
        state,
        caller,
        "search/search.html",
        status=400 if problems else 200,
        team_id=team_id,
        frame=await team_page(session, membership, "search"),
        query=query,
        problems=problems,
        hits=hits,
        next_cursor=next_cursor,
        members=await members_by_id(session, team_id),
        repos=await repo_names(session, team_id),
        types=CODEMARK_TYPES,
        statuses=STATUSES,
    )
