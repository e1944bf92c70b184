"""Request dependencies: app state, the request's database session and the caller, as Annotated aliases."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from kibitz.errors import NotAuthenticated
from kibitz.server.auth.passwords import Passwords
from kibitz.server.auth.service import Caller, authenticate
from kibitz.server.events.broker import Broker
from kibitz.server.events.hub import StreamHub
from kibitz.server.events.service import forget_pending, take_pending
from kibitz.settings import Settings


@dataclass
class AppState:
    """What one app instance holds: settings, database, password hasher, event broker and stream hub."""

    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    passwords: Passwords
    broker: Broker
    hub: StreamHub


def get_state(request: Request) -> AppState:
    """Return the app's state."""
    state: AppState = request.app.state.kibitz
    return state


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """Give the request one session and transaction: commit if the route returns, roll back if it raises.

    Events recorded in the transaction are announced to the broker only after the commit succeeded.
    """
    state = get_state(request)
    async with state.sessionmaker() as session:
        try:
            yield session
        except BaseException:
            forget_pending(session)
            await session.rollback()
            raise
        else:
            await session.commit()
            for team_id, seq in take_pending(session).items():
                await state.broker.publish(team_id, seq)


_bearer = HTTPBearer(auto_error=False, description="An API token from POST /api/v1/auth/login.")

State = Annotated[AppState, Depends(get_state)]
# scope="function": the transaction commits before the response is sent, so a 2xx means it is stored.
DbSession = Annotated[AsyncSession, Depends(get_session, scope="function")]


async def get_caller(
    session: DbSession, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Caller:
    """Authenticate the request's bearer token."""
    if credentials is None:
        raise NotAuthenticated()
    return await authenticate(session, credentials.credentials)


CurrentCaller = Annotated[Caller, Depends(get_caller)]
