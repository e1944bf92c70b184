"""What every page of a team shows around its content: the team and the caller's role in it."""

from __future__ import annotations

from dataclasses import dataclass

from kibitz.server.access import role_at_least
from kibitz.server.auth.people import Person
from kibitz.server.caches import Caches
from kibitz.server.repos.service import repo_names
from kibitz.server.teams.allowlist import get_team
from kibitz.server.teams.models import Membership
from kibitz.server.teams.schemas import TeamOut
from kibitz.server.teams.service import list_members, team_out
from kibitz.server.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class TeamPage:
    """The team a page belongs to, as the caller sees it, and which of its pages this is."""

    team: TeamOut
    role: str  # the caller's role in the team
    current: str

    def may(self, role: str) -> bool:
        """Tell whether the caller has at least `role` (what the page offers; the POST checks again)."""
        return role_at_least(self.role, role)

    def url(self, page: str) -> str:
        """Return the address of one of the team's pages."""
        return f"/t/{self.team.id}/{page}"


async def team_page(session: UnitOfWork, membership: Membership, current: str) -> TeamPage:
    """Return the frame of a team page for a membership the access layer returned."""
    team = await get_team(session, membership.team_id)
    return TeamPage(await team_out(session, team, membership.role), membership.role, current)


@dataclass(frozen=True)
class TeamFrame:
    """What a team's pages show around their content, as a member with one role sees it."""

    team: TeamOut
    repos: dict[str, str]
    members: dict[str, Person]


async def team_frame(session: UnitOfWork, team_id: str, role: str, caches: Caches) -> TeamFrame:
    """Return the team, its repos' names and its members for a role the access layer returned.

    Kept for half a second (caches.py), as roles and people are: a burst of pages reads them once, and a
    rename, a new repo or a new member shows within half a second.
    """
    key = (team_id, role)
    kept: TeamFrame | None = caches.team_frames.get(key)
    if kept is None:
        team = await get_team(session, team_id)
        kept = TeamFrame(
            await team_out(session, team, role),
            await repo_names(session, team_id),
            await members_by_id(session, team_id),
        )
        caches.team_frames[key] = kept
    return kept


async def members_by_id(session: UnitOfWork, team_id: str) -> dict[str, Person]:
    """Return the team's members by user id, oldest first (the author and assignee pickers)."""
    return {person.id: person for _membership, person in await list_members(session, team_id)}
