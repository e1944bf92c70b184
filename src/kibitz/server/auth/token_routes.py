"""HTTP routes of named tokens and sessions, revoking a member's tokens, and changing a password."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from kibitz.server.access import access_team
from kibitz.server.auth import tokens
from kibitz.server.auth.models import ApiToken
from kibitz.server.auth.schemas import (
    PasswordChangedOut,
    PasswordChangeIn,
    TokenCreatedOut,
    TokenCreateIn,
    TokenOut,
    TokensRevokedOut,
)
from kibitz.server.auth.service import Caller
from kibitz.server.deps import AppState, CurrentCaller, DbSession, State
from kibitz.server.unit_of_work import UnitOfWork

router = APIRouter(tags=["tokens"])


def forget_tokens_after_commit(session: UnitOfWork, state: AppState, rows: list[ApiToken]) -> None:
    """Stop honouring revoked tokens in this process's cache once the revocation is committed."""
    # Once the revocation is committed this process stops honouring them; the others within half a second.
    hashes = [row.token_hash for row in rows]

    def forget() -> None:
        for token_hash in hashes:
            state.caches.forget_token(token_hash)

    session.after_commit(forget)


async def change_own_password(
    session: UnitOfWork, state: AppState, caller: Caller, body: PasswordChangeIn
) -> list[ApiToken]:
    """Change the caller's password (the API's and the account page's way); return the sessions it ended."""
    # Guessing the current password with a stolen session spends the same budget as guessing at login.
    await state.login_throttle.attempt(caller.user.email, caller.address)
    ended = await tokens.change_password(
        session,
        state.passwords,
        caller,
        body.current_password,
        body.new_password,
        min_score=state.settings.password_min_score,
        address=caller.address,
    )
    forget_tokens_after_commit(session, state, ended)
    return ended


@router.get("/tokens")
async def list_tokens(
    session: DbSession,
    caller: CurrentCaller,
    include_inactive: Annotated[bool, Query(alias="all")] = False,
) -> list[TokenOut]:
    """List your own tokens and login sessions (`all=true`: revoked and expired ones too), newest first."""
    rows = await tokens.list_tokens(session, caller, include_inactive=include_inactive)
    return [await tokens.token_out(session, row, caller) for row in rows]


@router.post("/tokens", status_code=status.HTTP_201_CREATED)
async def create_token(
    body: TokenCreateIn, session: DbSession, caller: CurrentCaller, state: State
) -> TokenCreatedOut:
    """Create a named token with a scope and an expiry; the token is shown only in this answer."""
    token, row = await tokens.create_token(
        session, caller, body.name, body.scope, body.expires_days, address=caller.address
    )
    return TokenCreatedOut(token=token, **(await tokens.token_out(session, row, caller)).model_dump())


@router.delete("/tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_token(token_id: str, session: DbSession, caller: CurrentCaller, state: State) -> Response:
    """Revoke one of your own tokens or sessions."""
    row = await tokens.revoke_token(session, caller, token_id, address=caller.address)
    forget_tokens_after_commit(session, state, [row])
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.delete("/teams/{team_id}/members/{user_id}/tokens")
async def revoke_member_tokens(
    team_id: str, user_id: str, session: DbSession, caller: CurrentCaller, state: State
) -> TokensRevokedOut:
    """Close your team to every token and session a member holds now (their other teams keep them); an
    owner's only by an owner."""
    actor = await access_team(session, caller, team_id, "admin")
    rows = await tokens.revoke_member_tokens(session, actor, user_id, address=caller.address)
    # The cut-off travels with the cached role: this process forgets it at once, the others in half a second.
    session.after_commit(lambda: state.caches.forget_member(team_id, user_id))
    return TokensRevokedOut(revoked=len(rows))


@router.post("/auth/password")
async def change_password(
    body: PasswordChangeIn, session: DbSession, caller: CurrentCaller, state: State
) -> PasswordChangedOut:
    """Change your password; every other login session ends, this one and named tokens stay."""
    ended = await change_own_password(session, state, caller, body)
    return PasswordChangedOut(sessions_ended=len(ended))
