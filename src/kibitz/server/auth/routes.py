"""HTTP routes of accounts and sessions."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Response, status

from kibitz.server.auth import service
from kibitz.server.auth.schemas import LoginIn, LoginOut, SignupIn, UserOut
from kibitz.server.deps import CurrentCaller, DbSession, State
from kibitz.server.teams.schemas import MeOut
from kibitz.server.teams.service import list_teams, team_out

router = APIRouter(tags=["accounts"])


@router.post("/auth/signup", status_code=status.HTTP_201_CREATED)
async def signup(body: SignupIn, session: DbSession, state: State) -> UserOut:
    """Create an account."""
    user = await service.signup(session, state.passwords, body.email, body.name, body.password, body.handle)
    return service.user_out(user)


@router.post("/auth/login")
async def login(body: LoginIn, session: DbSession, state: State) -> LoginOut:
    """Exchange email and password for an API token (shown once)."""
    ttl = dt.timedelta(days=state.settings.token_ttl_days)
    token, row, user = await service.login(session, state.passwords, body.email, body.password, ttl)
    return LoginOut(token=token, expires_at=row.expires_at, user=service.user_out(user))


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(session: DbSession, caller: CurrentCaller, state: State) -> Response:
    """Revoke the token used for this request."""
    await service.logout(session, caller)
    state.caches.forget_token(caller.token_hash)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/me")
async def me(session: DbSession, caller: CurrentCaller) -> MeOut:
    """Return the caller and their teams."""
    teams = [team_out(team, m.role) for team, m in await list_teams(session, caller)]
    return MeOut(user=service.user_out(caller.user), teams=teams)
