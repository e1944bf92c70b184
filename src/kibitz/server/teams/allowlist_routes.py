"""HTTP routes of a team's IP allowlist (docs/security.md, "IP allowlists and client addresses")."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, Field

from kibitz.server.access import access_team
from kibitz.server.auth.schemas import Strict
from kibitz.server.deps import CurrentCaller, DbSession, State
from kibitz.server.teams import allowlist

router = APIRouter(tags=["teams"])

Cidr = Annotated[str, Field(min_length=1, max_length=64)]


class AllowlistIn(Strict):
    # Not capped at MAX_ENTRIES here: repeats are dropped before counting.
    cidrs: Annotated[list[Cidr], Field(max_length=4 * allowlist.MAX_ENTRIES)]


class AllowlistOut(BaseModel):
    # Empty: every address may connect.
    cidrs: list[str]
    # The address this request came from, as the server sees it (after trusted proxies).
    your_address: str | None


@router.get("/teams/{team_id}/allowlist")
async def get_allowlist(team_id: str, session: DbSession, caller: CurrentCaller) -> AllowlistOut:
    """Return the team's IP allowlist and the address the server sees for you."""
    await access_team(session, caller, team_id, "admin")
    team = await allowlist.get_team(session, team_id)
    return AllowlistOut(cidrs=allowlist.stored_cidrs(team), your_address=caller.address)


@router.put("/teams/{team_id}/allowlist")
async def set_allowlist(
    team_id: str, body: AllowlistIn, session: DbSession, caller: CurrentCaller, state: State
) -> AllowlistOut:
    """Replace the team's IP allowlist (IPv4 and IPv6 CIDRs; an empty list lets every address in)."""
    await access_team(session, caller, team_id, "admin")
    team = await allowlist.get_team(session, team_id)
    cidrs = await allowlist.set_allowlist(session, caller, team, body.cidrs)
    # Other processes see the change when their cached copy expires (half a second).
    session.after_commit(lambda: state.caches.forget_allowlist(team_id))
    return AllowlistOut(cidrs=cidrs, your_address=caller.address)
