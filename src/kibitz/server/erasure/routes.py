"""HTTP routes of erasure: delete your account, delete a team, and the ledger a team's admins read."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response, status

from kibitz.server.access import access_team
from kibitz.server.auth.models import User
from kibitz.server.auth.service import Caller
from kibitz.server.deps import AppState, CurrentCaller, DbSession, State
from kibitz.server.erasure import service
from kibitz.server.erasure.models import ErasureRequest
from kibitz.server.erasure.schemas import AccountDeleteIn, ErasureOut, TeamDeleteIn
from kibitz.server.erasure.sweeper import finish_now
from kibitz.server.errors import InvalidCredentials, NotFound, ValidationFailed
from kibitz.server.teams.models import Team
from kibitz.server.teams.service import team_name
from kibitz.server.unit_of_work import UnitOfWork, transaction

router = APIRouter(tags=["erasure"])

_ANSWERS: dict[int | str, dict[str, Any]] = {
    202: {"description": "The rows are deleted; the keys are destroyed within a minute."}
}


@router.delete("/me", responses=_ANSWERS)
async def delete_account(
    body: AccountDeleteIn, response: Response, session: DbSession, caller: CurrentCaller, state: State
) -> ErasureOut:
    """Erase your account and everything you wrote, for good; your password confirms it."""
    request = await erase_account(session, caller, state, body.password)
    return await _finish(response, state, request)


async def erase_account(
    session: UnitOfWork, caller: Caller, state: AppState, password: str
) -> ErasureRequest:
    """Erase the caller's account once their password confirms it; return the committed request (the API
    and the account page)."""
    # Guessing the password with a stolen session spends the same budget as guessing at login.
    await state.login_throttle.attempt(caller.user.email, caller.address)
    user = await session.get(User, caller.user.id)
    if (
        user is None
        or user.status != "active"
        or not await state.passwords.verify(user.password_hash, password)
    ):
        raise InvalidCredentials("The password is wrong; nothing was erased.")
    # A transaction of its own, committed at the end of the block: the keys can only be destroyed once the
    # rows are gone for good, and the answer says whether they were (the request's transaction commits only
    # after the answer is built).
    async with transaction(state.sessionmaker, long=True) as work:
        erased = await service.erase_user(work, user.id, requested_by=user.id, address=caller.address)
    for token_hash in erased.token_hashes:
        state.caches.forget_token(token_hash)
    for team_id in erased.team_ids:
        state.caches.forget_member(team_id, user.id)
    return erased.request


@router.delete("/teams/{team_id}", responses=_ANSWERS)
async def delete_team(
    team_id: str,
    body: TeamDeleteIn,
    response: Response,
    session: DbSession,
    caller: CurrentCaller,
    state: State,
) -> ErasureOut:
    """Erase a team with everything in it, for good (owners); `confirm` repeats the team's name."""
    await access_team(session, caller, team_id, "owner")
    team = await session.get(Team, team_id)
    if team is None:  # deleted since the access check
        raise NotFound("No such team.")
    if body.confirm != await team_name(session, team):
        raise ValidationFailed(
            "Type the team's name to confirm.",
            [{"loc": ["body", "confirm"], "msg": "must be the team's name"}],
        )
    async with transaction(state.sessionmaker, long=True) as work:  # committed before the keys go, as above
        request, member_ids = await service.erase_team(
            work, team, requested_by=caller.user.id, address=caller.address
        )
    state.caches.forget_allowlist(team_id)
    for user_id in member_ids:
        state.caches.forget_member(team_id, user_id)
    return await _finish(response, state, request)


async def _finish(response: Response, state: AppState, request: ErasureRequest) -> ErasureOut:
    """Destroy a committed request's keys now and answer 200, or leave it to the sweeper and answer 202."""
    finished = await finish_now(state.sessionmaker, state.settings, request.id)
    response.status_code = status.HTTP_200_OK if finished is not None else status.HTTP_202_ACCEPTED
    return service.erasure_out(finished or request)


@router.get("/teams/{team_id}/erasures")
async def list_erasures(team_id: str, session: DbSession, caller: CurrentCaller) -> list[ErasureOut]:
    """List the erasure requests of the team's members and the team, newest first (admins)."""
    await access_team(session, caller, team_id, "admin")
    return [service.erasure_out(request) for request in await service.team_erasures(session, team_id)]
