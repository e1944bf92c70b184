"""The team's feed: its newest codemarks, filtered like the API's listing, a page at a time."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from kibitz.server.access import access_team
from kibitz.server.codemarks.page import cached_codemark_page
from kibitz.server.codemarks.schemas import CodemarkPage
from kibitz.server.deps import DbSession, State
from kibitz.server.repos.service import repo_names
from kibitz.server.web.filters import ListingQuery, read_query
from kibitz.server.web.pages import page
from kibitz.server.web.sessions import SignedIn
from kibitz.server.web.team_context import members_by_id, team_page

router = APIRouter(include_in_schema=False)

FEED_PAGE_SIZE = 50
CODEMARK_TYPES = ("comment", "question", "issue", "bookmark", "link")
STATUSES = ("all", "open", "resolved", "archived")


@router.get("/t/{team_id}/feed", response_class=HTMLResponse)
async def feed(
    team_id: str, request: Request, session: DbSession, caller: SignedIn, state: State
) -> HTMLResponse:
    """Show the team's newest codemarks, with filters (query parameters) and a link to the next page."""
    membership = await access_team(session, caller, team_id)
    query, problems = read_query(ListingQuery, request.query_params)
    body = await cached_codemark_page(
        session, caller, team_id, query.codemark_filter(), FEED_PAGE_SIZE, query.cursor, state.caches
    )
    listing = CodemarkPage.model_validate_json(body)
    return page(
        request,
        state,
        caller,
        "feed/feed.html",
        status=400 if problems else 200,
        team_id=team_id,
        frame=await team_page(session, membership, "feed"),
        query=query,
        problems=problems,
        codemarks=listing.items,
        next_cursor=listing.next_cursor,
        members=await members_by_id(session, team_id),
        repos=await repo_names(session, team_id),
        types=CODEMARK_TYPES,
        statuses=STATUSES,
    )
