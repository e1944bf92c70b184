"""The one door to team-owned objects: every load checks the caller's membership and role.

Objects of a team the caller is not in are reported exactly like missing ones (404), so ids reveal nothing.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kibitz.errors import Forbidden, NotFound
from kibitz.ids import is_id
from kibitz.server.auth.service import Caller
from kibitz.server.codemarks.models import Codemark, Reply
from kibitz.server.repos.models import Repo
from kibitz.server.teams.models import Membership

_RANK = {"member": 0, "admin": 1, "owner": 2}


def has_role(membership: Membership, role: str) -> bool:
    """Tell whether the membership's role is at least `role`."""
    return _RANK[membership.role] >= _RANK[role]


async def access_team(
    session: AsyncSession, caller: Caller, team_id: str, role: str = "member"
) -> Membership:
    """Return the caller's membership of the team; 404 if none, 403 if the role is too weak."""
    membership = await session.get(Membership, (team_id, caller.user.id)) if is_id(team_id) else None
    if membership is None:
        raise NotFound("No such team.")
    if not has_role(membership, role):
        raise Forbidden(f"This needs the {role} role.")
    return membership


async def access_repo(session: AsyncSession, caller: Caller, team_id: str, repo_id: str) -> Repo:
    """Return a repo of a team the caller belongs to."""
    await access_team(session, caller, team_id)
    repo = await session.get(Repo, repo_id) if is_id(repo_id) else None
    if repo is None or repo.team_id != team_id:
        raise NotFound("No such repo.")
    return repo


async def access_codemark(
    session: AsyncSession, caller: Caller, codemark_id: str
) -> tuple[Codemark, Membership]:
    """Return a codemark and the caller's membership of its team."""
    found = None
    if is_id(codemark_id):
        result = await session.execute(
            select(Codemark, Membership)
            .join(Membership, Membership.team_id == Codemark.team_id)
            .where(Codemark.id == codemark_id, Membership.user_id == caller.user.id)
        )
        found = result.one_or_none()
    # Bookmarks are private to their author: to anyone else they do not exist.
    if found is None or not can_see(found[0], caller.user.id):
        raise NotFound("No such codemark.")
    return found[0], found[1]


def can_see(codemark: Codemark, user_id: str) -> bool:
    """Tell whether a member may see a codemark (everyone, except for other people's bookmarks)."""
    return codemark.type != "bookmark" or codemark.author_id == user_id


async def access_reply(
    session: AsyncSession, caller: Caller, reply_id: str
) -> tuple[Reply, Codemark, Membership]:
    """Return a reply, its codemark and the caller's membership of their team."""
    found = None
    if is_id(reply_id):
        result = await session.execute(
            select(Reply, Membership, Codemark)
            .join(Membership, Membership.team_id == Reply.team_id)
            .join(Codemark, Codemark.id == Reply.codemark_id)
            .where(Reply.id == reply_id, Membership.user_id == caller.user.id)
        )
        found = result.one_or_none()
    if found is None or not can_see(found[2], caller.user.id):
        raise NotFound("No such reply.")
    return found[0], found[2], found[1]


def require_author_or_role(
    membership: Membership, author_id: str, caller: Caller, role: str = "admin"
) -> None:
    """Allow the object's author, or a member with at least `role`; otherwise 403."""
    if author_id != caller.user.id and not has_role(membership, role):
        raise Forbidden(f"Only the author or an {role} can do this.")
