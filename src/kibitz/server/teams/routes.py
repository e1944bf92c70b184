"""HTTP routes of teams, members and invites."""

from __future__ import annotations

import datetime as dt
import functools
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from kibitz.server.access import access_team
from kibitz.server.deps import CurrentCaller, DbSession, State
from kibitz.server.teams import service
from kibitz.server.teams.allowlist import get_team
from kibitz.server.teams.schemas import (
    InviteIn,
    InviteInfoOut,
    InviteOut,
    JoinIn,
    MemberOut,
    RoleIn,
    TeamCreateIn,
    TeamOut,
    TeamSettingsIn,
    TransferIn,
)

router = APIRouter(tags=["teams"])


@router.post("/teams", status_code=status.HTTP_201_CREATED)
async def create_team(body: TeamCreateIn, session: DbSession, caller: CurrentCaller) -> TeamOut:
    """Create a team; the caller becomes its owner."""
    team, membership = await service.create_team(session, caller, body.name)
    return await service.team_out(session, team, membership.role)


@router.get("/teams")
async def list_teams(session: DbSession, caller: CurrentCaller) -> list[TeamOut]:
    """List the caller's teams."""
    return [
        await service.team_out(session, team, m.role) for team, m in await service.list_teams(session, caller)
    ]


@router.post("/teams/join")
async def join_team(body: JoinIn, session: DbSession, caller: CurrentCaller) -> TeamOut:
    """Join a team with an invite code."""
    team, membership = await service.join_team(session, caller, body.code)
    return await service.team_out(session, team, membership.role)


@router.patch("/teams/{team_id}")
async def change_settings(
    team_id: str, body: TeamSettingsIn, session: DbSession, caller: CurrentCaller
) -> TeamOut:
    """Change a team's settings: code-free mode (the server keeps no code, only a keyed fingerprint)."""
    membership = await access_team(session, caller, team_id, "admin")
    team = await get_team(session, team_id)
    await service.set_code_free(session, caller, team, body.code_free)
    return await service.team_out(session, team, membership.role)


@router.get("/teams/{team_id}/members")
async def list_members(team_id: str, session: DbSession, caller: CurrentCaller) -> list[MemberOut]:
    """List a team's members."""
    await access_team(session, caller, team_id)
    return [service.member_out(m, user) for m, user in await service.list_members(session, team_id)]


@router.post("/teams/{team_id}/invites", status_code=status.HTTP_201_CREATED)
async def create_invite(
    team_id: str, body: InviteIn, session: DbSession, caller: CurrentCaller, state: State
) -> InviteOut:
    """Create a single-use invite code that expires."""
    membership = await access_team(session, caller, team_id, "admin")
    ttl = dt.timedelta(hours=state.settings.invite_ttl_hours)
    code, invite = await service.create_invite(session, caller, membership, body.role, ttl)
    return InviteOut(id=invite.id, code=code, role=body.role, expires_at=invite.expires_at)


@router.get("/teams/{team_id}/invites")
async def list_invites(
    team_id: str,
    session: DbSession,
    caller: CurrentCaller,
    include_inactive: Annotated[bool, Query(alias="all")] = False,
) -> list[InviteInfoOut]:
    """List the team's pending invites (`all=true`: used and expired ones too), newest first; never codes."""
    await access_team(session, caller, team_id, "admin")
    found = await service.list_invites(session, team_id, include_inactive=include_inactive)
    return [service.invite_out(invite, maker) for invite, maker in found]


@router.delete("/teams/{team_id}/invites/{invite_id}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_invite(team_id: str, invite_id: str, session: DbSession, caller: CurrentCaller) -> Response:
    """Revoke an unused invite: its code stops working at once."""
    actor = await access_team(session, caller, team_id, "admin")
    await service.revoke_invite(session, actor, invite_id, caller.address)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.patch("/teams/{team_id}/members/{user_id}")
async def change_role(
    team_id: str,
    user_id: str,
    body: RoleIn,
    session: DbSession,
    caller: CurrentCaller,
    state: State,
) -> MemberOut:
    """Change a member's role."""
    actor = await access_team(session, caller, team_id, "admin")
    session.after_commit(lambda: state.caches.forget_member(team_id, user_id))
    membership, user = await service.change_role(session, actor, user_id, body.role, caller.address)
    return service.member_out(membership, user)


@router.delete("/teams/{team_id}/members/{user_id}", status_code=status.HTTP_204_NO_CONTENT)
async def remove_member(
    team_id: str, user_id: str, session: DbSession, caller: CurrentCaller, state: State
) -> Response:
    """Remove a member from the team, or leave it."""
    actor = await access_team(session, caller, team_id)
    session.after_commit(lambda: state.caches.forget_member(team_id, user_id))
    await service.remove_member(session, actor, user_id, caller.address)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/teams/{team_id}/transfer")
async def transfer_ownership(
    team_id: str, body: TransferIn, session: DbSession, caller: CurrentCaller, state: State
) -> MemberOut:
    """Make another member the owner; the caller becomes an admin. Returns the new owner."""
    actor = await access_team(session, caller, team_id, "owner")
    for user_id in (caller.user.id, body.user_id):
        session.after_commit(functools.partial(state.caches.forget_member, team_id, user_id))
    membership, user = await service.transfer_ownership(session, actor, body.user_id, caller.address)
    return service.member_out(membership, user)
