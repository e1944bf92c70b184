"""The front page: the signed-in person's teams, each leading to its feed."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from kibitz.server.deps import DbSession, State
from kibitz.server.teams.service import list_teams, team_out
from kibitz.server.web.pages import page
from kibitz.server.web.sessions import SignedIn

router = APIRouter(include_in_schema=False)


@router.get("/")
async def home(request: Request, session: DbSession, state: State, caller: SignedIn) -> Response:
    """List the caller's teams."""
    teams = [await team_out(session, team, m.role) for team, m in await list_teams(session, caller)]
    return page(request, state, caller, "home.html", teams=teams)
