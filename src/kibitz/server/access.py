"""The one door to team-owned objects: every load checks the caller's membership and role.

Objects of a team the caller is not in are reported exactly like missing ones (404), so ids reveal nothing.
A team's IP allowlist is checked in the same breath (the team row is joined into the membership query, so
it costs no extra query): a member calling from outside it gets 403 `address_not_allowed`. So is the cut-off
of an admin's revoke-all, from the same membership row: a token issued before it gets 401 for that team
alone.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging

from sqlalchemy import bindparam, select
from sqlalchemy.exc import SQLAlchemyError

from kibitz.ids import is_id
from kibitz.server.addresses import Network, parse_address, parse_networks, within
from kibitz.server.audit.service import record_audit
from kibitz.server.auth.service import Caller
from kibitz.server.caches import Caches
from kibitz.server.codemarks.models import Codemark, Reply
from kibitz.server.errors import AddressNotAllowed, Forbidden, NotAuthenticated, NotFound
from kibitz.server.repos.models import Repo
from kibitz.server.teams.models import Membership, Team
from kibitz.server.unit_of_work import Sessions, UnitOfWork, transaction

log = logging.getLogger("kibitz.server")

_RANK = {"member": 0, "admin": 1, "owner": 2}


def has_role(membership: Membership, role: str) -> bool:
    """Tell whether the membership's role is at least `role`."""
    return role_at_least(membership.role, role)


def role_at_least(held: str, role: str) -> bool:
    """Tell whether the role `held` is at least `role`."""
    return _RANK[held] >= _RANK[role]


class AddressDenied(AddressNotAllowed):
    """A member's request from outside their team's allowlist (the error handler audits it)."""

    def __init__(self, team_id: str, actor_id: str, address: str | None) -> None:
        super().__init__(details={"team_id": team_id, "address": address})
        self.team_id, self.actor_id, self.address = team_id, actor_id, address


@functools.lru_cache(maxsize=4096)
def allowlist_networks(allowlist: str) -> tuple[Network, ...]:
    """Return the networks of a stored allowlist (space-separated CIDRs); parsed once per distinct list."""
    return tuple(parse_networks(allowlist))


def address_allowed(allowlist: str, address: str | None) -> bool:
    """Tell whether a team with this stored allowlist accepts requests from `address` (empty: everyone)."""
    return not allowlist or within(parse_address(address), allowlist_networks(allowlist))


class TokenRevokedForTeam(NotAuthenticated):
    """The caller's token was issued before a team admin revoked the member's tokens for that team."""

    def __init__(self) -> None:
        super().__init__(
            "An admin of this team revoked your tokens and sessions for it; log in again to reach it."
        )


def token_admitted(revoked_before: dt.datetime | None, issued_at: dt.datetime | None) -> bool:
    """Tell whether a token issued at `issued_at` still opens a team whose admin revoked the member's tokens
    at `revoked_before` (None: never)."""
    return revoked_before is None or (issued_at is not None and issued_at > revoked_before)


def check_token(revoked_before: dt.datetime | None, caller: Caller) -> None:
    """Raise TokenRevokedForTeam if the caller's token was issued before the team's cut-off for them."""
    if not token_admitted(revoked_before, caller.issued_at):
        raise TokenRevokedForTeam()


def check_address(team_id: str, allowlist: str, caller: Caller) -> None:
    """Raise AddressDenied if the caller's address is outside the team's allowlist."""
    if not address_allowed(allowlist, caller.address):
        raise AddressDenied(team_id, caller.user.id, caller.address)


async def record_denial(sessionmaker: Sessions, denied: AddressDenied, via: str, **details: str) -> None:
    """Record a denied address in the audit trail, in a transaction of its own (the request's rolls back)."""
    try:
        async with transaction(sessionmaker) as session:
            record_audit(
                session,
                "address.denied",
                team_id=denied.team_id,
                actor_id=denied.actor_id,
                address=denied.address,
                via=via,
                **details,
            )
    except SQLAlchemyError as exc:
        # The refusal stands either way; a database that cannot take the record must not turn it into a 500.
        log.warning("could not record a denied address: %s", type(exc).__name__)


async def team_allowlist(session: UnitOfWork, team_id: str) -> str:
    """Return a team's stored allowlist ("" if none or no such team)."""
    allowlist = await session.scalar(select(Team.allowlist).where(Team.id == team_id))
    return allowlist or ""


# The access checks' statements are built once: composing one cost more than running it.
_MEMBERSHIP = (
    select(Membership, Team.allowlist)
    .join(Team, Team.id == Membership.team_id)
    .where(Membership.team_id == bindparam("team_id"), Membership.user_id == bindparam("user_id"))
)
_CODEMARK = (
    select(Codemark, Membership, Team.allowlist)
    .join(Membership, Membership.team_id == Codemark.team_id)
    .join(Team, Team.id == Codemark.team_id)
    .where(Codemark.id == bindparam("codemark_id"), Membership.user_id == bindparam("user_id"))
)
_REPLY = (
    select(Reply, Membership, Codemark, Team.allowlist)
    .join(Membership, Membership.team_id == Reply.team_id)
    .join(Codemark, Codemark.id == Reply.codemark_id)
    .join(Team, Team.id == Reply.team_id)
    .where(Reply.id == bindparam("reply_id"), Membership.user_id == bindparam("user_id"))
)


async def _membership(session: UnitOfWork, caller: Caller, team_id: str) -> tuple[Membership, str]:
    found = None
    if is_id(team_id):
        result = await session.execute(_MEMBERSHIP, {"team_id": team_id, "user_id": caller.user.id})
        found = result.one_or_none()
    if found is None:
        raise NotFound("No such team.")
    return found[0], found[1]


async def access_team(session: UnitOfWork, caller: Caller, team_id: str, role: str = "member") -> Membership:
    """Return the caller's membership of the team; 404 if none, 401 with a token the team's admin revoked,
    403 outside its allowlist or below `role`."""
    membership, allowlist = await _membership(session, caller, team_id)
    check_token(membership.tokens_revoked_at, caller)
    check_address(team_id, allowlist, caller)
    if not has_role(membership, role):
        raise Forbidden(f"This needs the {role} role.")
    return membership


async def access_team_cached(session: UnitOfWork, caller: Caller, team_id: str, caches: Caches) -> str:
    """Return the caller's role like `access_team`, from half-second caches (for the hot listing path)."""
    # Only the lookups are cached: the caller's address is checked against the allowlist every time.
    cached = caches.roles.get((team_id, caller.user.id))
    allowlist = caches.allowlists.get(team_id)
    if cached is None or allowlist is None:
        membership, allowlist = await _membership(session, caller, team_id)
        cached = (membership.role, membership.tokens_revoked_at)
        caches.roles[(team_id, caller.user.id)] = cached
        caches.allowlists[team_id] = allowlist
    role, revoked_before = cached
    check_token(revoked_before, caller)
    check_address(team_id, allowlist, caller)
    return role


async def access_repo(session: UnitOfWork, caller: Caller, team_id: str, repo_id: str) -> Repo:
    """Return a repo of a team the caller belongs to."""
    await access_team(session, caller, team_id)
    repo = await session.get(Repo, repo_id) if is_id(repo_id) else None
    if repo is None or repo.team_id != team_id:
        raise NotFound("No such repo.")
    return repo


async def access_codemark(
    session: UnitOfWork, caller: Caller, codemark_id: str
) -> tuple[Codemark, Membership]:
    """Return a codemark and the caller's membership of its team."""
    found = None
    if is_id(codemark_id):
        result = await session.execute(_CODEMARK, {"codemark_id": codemark_id, "user_id": caller.user.id})
        found = result.one_or_none()
    # Bookmarks are private to their author: to anyone else they do not exist.
    if found is None or not found[0].visible_to(caller.user.id):
        raise NotFound("No such codemark.")
    check_token(found[1].tokens_revoked_at, caller)
    check_address(found[0].team_id, found[2], caller)
    return found[0], found[1]


async def access_reply(
    session: UnitOfWork, caller: Caller, reply_id: str
) -> tuple[Reply, Codemark, Membership]:
    """Return a reply, its codemark and the caller's membership of their team."""
    found = None
    if is_id(reply_id):
        result = await session.execute(_REPLY, {"reply_id": reply_id, "user_id": caller.user.id})
        found = result.one_or_none()
    if found is None or not found[2].visible_to(caller.user.id):
        raise NotFound("No such reply.")
    check_token(found[1].tokens_revoked_at, caller)
    check_address(found[0].team_id, found[3], caller)
    return found[0], found[2], found[1]


def require_author_or_role(
    membership: Membership, author_id: str, caller: Caller, role: str = "admin"
) -> None:
    """Allow the object's author, or a member with at least `role`; otherwise 403."""
    if author_id != caller.user.id and not has_role(membership, role):
        raise Forbidden(f"Only the author or an {role} can do this.")
