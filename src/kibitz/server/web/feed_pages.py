"""The team's feed: its newest codemarks, filtered like the API's listing, a page at a time."""

from __future__ import annotations

import hashlib
import time

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from kibitz.server.access import access_team_cached
from kibitz.server.caches import Caches
from kibitz.server.codemarks.page import cached_codemark_page
from kibitz.server.codemarks.schemas import CodemarkPage
from kibitz.server.deps import DbSession, State
from kibitz.server.web.filters import ListingQuery, read_query
from kibitz.server.web.pages import page
from kibitz.server.web.render import render_page
from kibitz.server.web.sessions import SignedIn
from kibitz.server.web.team_context import TeamPage, team_frame

router = APIRouter(include_in_schema=False)

FEED_PAGE_SIZE = 50
CODEMARK_TYPES = ("comment", "question", "issue", "bookmark", "link")
STATUSES = ("all", "open", "resolved", "archived")


def feed_rows(caches: Caches, body: bytes, repos: dict[str, str]) -> tuple[str, str | None]:
    """Return the rendered rows of a listing answer and its next cursor, kept for the minute.

    Parsing the answer and rendering fifty rows costs several times what the cached answer itself does; the
    rows depend only on the answer (which holds what the caller may see, so the key is per person), the
    repos' names and the minute their relative times are shown in.
    """
    minute = int(time.time() // 60)
    key = (hashlib.blake2b(body, digest_size=16).digest(), tuple(sorted(repos.items())), minute)
    kept = caches.feed_rows.get(key)
    if kept is None:
        listing = CodemarkPage.model_validate_json(body)
        kept = (render_page("feed/_rows.html", codemarks=listing.items, repos=repos), listing.next_cursor)
        caches.feed_rows[key] = kept
    return kept


@router.get("/t/{team_id}/feed", response_class=HTMLResponse)
async def feed(
    team_id: str, request: Request, session: DbSession, caller: SignedIn, state: State
) -> HTMLResponse:
    """Show the team's newest codemarks, with filters (query parameters) and a link to the next page."""
    # As the API's listing does: the role and the allowlist from half-second caches, the caller's address
    # and the cut-off of an admin's revoke-all checked every time.
    role = await access_team_cached(session, caller, team_id, state.caches)
    query, problems = read_query(ListingQuery, request.query_params)
    body = await cached_codemark_page(
        session, caller, team_id, query.codemark_filter(), FEED_PAGE_SIZE, query.cursor, state.caches
    )
    shown = await team_frame(session, team_id, role, state.caches)
    rows, next_cursor = feed_rows(state.caches, body, shown.repos)
    return page(
        request,
        state,
        caller,
        "feed/feed.html",
        status=400 if problems else 200,
        team_id=team_id,
        frame=TeamPage(shown.team, role, "feed"),
        query=query,
        problems=problems,
        rows=Markup(rows),  # noqa: S704 - rendered by the autoescaping environment
        next_cursor=next_cursor,
        members=shown.members,
        repos=shown.repos,
        types=CODEMARK_TYPES,
        statuses=STATUSES,
    )
