"""Teams: create, invite, join, list members, change roles, remove members."""

from __future__ import annotations

import datetime as dt
import secrets

from sqlalchemy import delete, func, select, update

from kibitz.ids import is_id, new_id
from kibitz.server.access import AddressDenied, address_allowed, has_role
from kibitz.server.audit.service import record_audit
from kibitz.server.auth.models import User
from kibitz.server.auth.people import Person, people_of, person_of
from kibitz.server.auth.service import Caller, hash_token, user_ref
from kibitz.server.crypto.sealer import team_owner
from kibitz.server.db import utcnow
from kibitz.server.errors import Conflict, Forbidden, InviteInvalid, NotFound
from kibitz.server.events.service import record_event
from kibitz.server.teams.models import Invite, Membership, Team
from kibitz.server.teams.schemas import InviteInfoOut, MemberOut, TeamOut
from kibitz.server.unit_of_work import UnitOfWork

INVITE_PREFIX = "kbzi_"


async def seal_team_name(session: UnitOfWork, team_id: str, name: str) -> str:
    """Seal a team's name with the team's key (what its members chose to call it is theirs)."""
    return await session.sealer.seal(team_owner(team_id), name, Team.name, row=team_id)


async def team_name(session: UnitOfWork, team: Team) -> str:
    """Return a team's name, opened."""
    return await session.sealer.open(team.name, Team.name, row=team.id)


async def team_out(session: UnitOfWork, team: Team, role: str) -> TeamOut:
    """Return the wire form of a team as seen by a member with `role`."""
    return TeamOut.model_validate(
        {
            "id": team.id,
            "name": await team_name(session, team),
            "role": role,
            "code_free": team.code_free,
            "created_at": team.created_at,
        }
    )


def member_out(membership: Membership, user: Person) -> MemberOut:
    """Return the wire form of a membership."""
    return MemberOut.model_validate(
        {
            "user_id": user.id,
            "email": user.email,
            "name": user.name,
            "handle": user.handle,
            "role": membership.role,
            "joined_at": membership.created_at,
        }
    )


def invite_out(invite: Invite, maker: Person) -> InviteInfoOut:
    """Return the wire form of an invite as admins list it (never its code)."""
    return InviteInfoOut.model_validate(
        {
            "id": invite.id,
            "role": invite.role,
            "created_by": user_ref(maker),
            "created_at": invite.created_at,
            "expires_at": invite.expires_at,
            "used_at": invite.used_at,
            "used_by": invite.used_by,
        }
    )


async def create_team(session: UnitOfWork, caller: Caller, name: str) -> tuple[Team, Membership]:
    """Create a team with the caller as its owner."""
    now = utcnow()
    team_id = new_id()
    team = Team(id=team_id, name=await seal_team_name(session, team_id, name), event_seq=0, created_at=now)
    membership = Membership(team_id=team.id, user_id=caller.user.id, role="owner", created_at=now)
    session.add(team)
    await session.flush()
    session.add(membership)
    await session.flush()
    return team, membership


async def set_code_free(session: UnitOfWork, caller: Caller, team: Team, on: bool) -> None:
    """Switch the team's code-free mode (its access, admin at least, was checked by the caller).

    It applies to markers written from now on: existing markers keep what they hold.
    """
    old = team.code_free
    if old == on:
        return
    team.code_free = on
    await session.flush()
    record_audit(
        session,
        "team.code_free_changed",
        team_id=team.id,
        actor_id=caller.user.id,
        address=caller.address,
        old=old,
        new=on,
    )


async def list_teams(session: UnitOfWork, caller: Caller) -> list[tuple[Team, Membership]]:
    """Return the caller's teams with their memberships, oldest first."""
    result = await session.execute(
        select(Team, Membership)
        .join(Membership, Membership.team_id == Team.id)
        .where(Membership.user_id == caller.user.id)
        .order_by(Team.created_at, Team.id)
    )
    return [(team, membership) for team, membership in result]


async def list_members(session: UnitOfWork, team_id: str) -> list[tuple[Membership, Person]]:
    """Return a team's members with their opened profiles, oldest membership first."""
    rows = list(
        await session.execute(
            select(Membership, User)
            .join(User, User.id == Membership.user_id)
            .where(Membership.team_id == team_id)
            .order_by(Membership.created_at, User.id)
        )
    )
    people = await people_of(session, [user for _membership, user in rows])
    return [(membership, people[user.id]) for membership, user in rows]


async def create_invite(
    session: UnitOfWork, caller: Caller, membership: Membership, role: str, ttl: dt.timedelta
) -> tuple[str, Invite]:
    """Create a single-use invite and return its code (shown once) and row; only owners invite admins."""
    if role == "admin" and not has_role(membership, "owner"):
        raise Forbidden("Only an owner can invite admins.")
    code = INVITE_PREFIX + secrets.token_urlsafe(24)
    now = utcnow()
    invite = Invite(
        id=new_id(),
        team_id=membership.team_id,
        code_hash=hash_token(code),
        role=role,
        created_by=caller.user.id,
        created_at=now,
        expires_at=now + ttl,
    )
    session.add(invite)
    await session.flush()
    return code, invite


async def list_invites(
    session: UnitOfWork, team_id: str, *, include_inactive: bool = False
) -> list[tuple[Invite, Person]]:
    """Return a team's invites with their makers, newest first; used and expired ones only when asked."""
    query = select(Invite, User).join(User, User.id == Invite.created_by).where(Invite.team_id == team_id)
    if not include_inactive:
        query = query.where(Invite.used_at.is_(None), Invite.expires_at > utcnow())
    rows = list(await session.execute(query.order_by(Invite.created_at.desc(), Invite.id.desc())))
    people = await people_of(session, [user for _invite, user in rows])
    return [(invite, people[user.id]) for invite, user in rows]


async def revoke_invite(
    session: UnitOfWork, actor: Membership, invite_id: str, address: str | None = None
) -> None:
    """Revoke an unused invite of the actor's team (an admin's); only an owner revokes one that makes admins.

    The row goes: its code then answers like an unknown one. A used invite is history, not revocable (409).
    """
    invite = await session.get(Invite, invite_id) if is_id(invite_id) else None
    if invite is None or invite.team_id != actor.team_id:
        raise NotFound("No such invite.")
    if invite.role == "admin" and not has_role(actor, "owner"):
        raise Forbidden("Only an owner can revoke an invite that makes admins.")
    if invite.used_at is not None:
        raise Conflict("This invite was used already; remove the member instead.")
    await session.delete(invite)
    await session.flush()
    record_audit(
        session,
        "invite.revoked",
        team_id=actor.team_id,
        actor_id=actor.user_id,
        target_id=invite.id,
        address=address,
        role=invite.role,
        created_by=invite.created_by,
    )


async def _drop_invites_of(session: UnitOfWork, team_id: str, user_id: str, role: str | None) -> None:
    """Delete the unused invites a person made in a team that their role (None: gone) no longer allows."""
    # An invite speaks with its maker's authority: it must not outlive it (an admin removed or demoted
    # cannot keep letting people in through codes handed out before).
    if role == "owner":
        return
    query = delete(Invite).where(
        Invite.team_id == team_id, Invite.created_by == user_id, Invite.used_at.is_(None)
    )
    if role == "admin":  # an admin may still invite members, but no longer admins
        query = query.where(Invite.role == "admin")
    await session.execute(query.execution_options(synchronize_session=False))


async def join_team(session: UnitOfWork, caller: Caller, code: str) -> tuple[Team, Membership]:
    """Join the team of an invite code; a member joining again keeps their role and the code stays unused."""
    return await join_with_invite(session, caller.user, caller.address, code)


async def join_with_invite(
    session: UnitOfWork, person: Person, address: str | None, code: str
) -> tuple[Team, Membership]:
    """Let `person`, calling from `address`, join the team of an invite code (see `join_team`)."""
    result = await session.execute(select(Invite).where(Invite.code_hash == hash_token(code.strip())))
    invite = result.scalar_one_or_none()
    now = utcnow()
    if invite is None or invite.used_at is not None or invite.expires_at <= now:
        raise InviteInvalid()
    team = await session.get(Team, invite.team_id)
    if team is None:
        raise InviteInvalid()
    # A team's allowlist holds for joining too: an invite code used from outside it stays unused.
    if not address_allowed(team.allowlist, address):
        raise AddressDenied(team.id, person.id, address)
    existing = await session.get(Membership, (team.id, person.id))
    if existing is not None:
        return team, existing
    # The guarded update makes the code single-use even when two people redeem it at the same moment.
    claimed = await session.execute(
        update(Invite)
        .where(Invite.id == invite.id, Invite.used_at.is_(None))
        .values(used_at=now, used_by=person.id)
    )
    if getattr(claimed, "rowcount", 0) != 1:
        raise InviteInvalid()
    membership = Membership(team_id=team.id, user_id=person.id, role=invite.role, created_at=now)
    session.add(membership)
    await session.flush()
    await record_event(session, team.id, "member.joined", member_out(membership, person))
    record_audit(
        session,
        "member.joined",
        team_id=team.id,
        actor_id=person.id,
        target_id=person.id,
        address=address,
        role=invite.role,
        invite_id=invite.id,
        invited_by=invite.created_by,
    )
    return team, membership


async def _lock_team(session: UnitOfWork, actor: Membership) -> None:
    """Lock the team's row, then re-read the actor's role (a change made while waiting is what counts)."""
    # Serialises role changes per team on PostgreSQL so two owners cannot demote each other at once.
    await session.execute(select(Team.id).where(Team.id == actor.team_id).with_for_update())
    fresh = await session.scalar(
        select(Membership)
        .where(Membership.team_id == actor.team_id, Membership.user_id == actor.user_id)
        .execution_options(populate_existing=True)
    )
    if fresh is None:  # removed meanwhile: the team is gone for them, as for anyone outside it
        raise NotFound("No such team.")


async def _owner_count(session: UnitOfWork, team_id: str) -> int:
    result = await session.execute(
        select(func.count())
        .select_from(Membership)
        .where(Membership.team_id == team_id, Membership.role == "owner")
    )
    return int(result.scalar_one())


async def _target(session: UnitOfWork, team_id: str, user_id: str) -> tuple[Membership, Person]:
    membership = await session.get(Membership, (team_id, user_id))
    user = await session.get(User, user_id) if membership is not None else None
    if membership is None or user is None:
        raise NotFound("No such member.")
    return membership, await person_of(session, user)


async def change_role(
    session: UnitOfWork, actor: Membership, user_id: str, role: str, address: str | None = None
) -> tuple[Membership, Person]:
    """Set a member's role: admins manage members and admins, only owners touch owners."""
    await _lock_team(session, actor)
    if not has_role(actor, "admin"):
        raise Forbidden("This needs the admin role.")
    target, user = await _target(session, actor.team_id, user_id)
    if (target.role == "owner" or role == "owner") and not has_role(actor, "owner"):
        raise Forbidden("Only an owner can grant or take away the owner role.")
    if target.role == "owner" and role != "owner" and await _owner_count(session, actor.team_id) <= 1:
        raise Conflict("A team needs at least one owner; make someone else owner first.")
    if target.role != role:
        await _set_role(session, actor, target, user, role, address)
    return target, user


async def _set_role(
    session: UnitOfWork, actor: Membership, target: Membership, user: Person, role: str, address: str | None
) -> None:
    """Change a role, announce it to the team and leave it in the audit trail."""
    old, target.role = target.role, role
    await session.flush()
    await _drop_invites_of(session, target.team_id, target.user_id, role)
    await record_event(
        session, target.team_id, "member.updated", member_out(target, user), actor_id=actor.user_id
    )
    record_audit(
        session,
        "member.role_changed",
        team_id=target.team_id,
        actor_id=actor.user_id,
        target_id=target.user_id,
        address=address,
        old_role=old,
        new_role=role,
    )


async def transfer_ownership(
    session: UnitOfWork, actor: Membership, user_id: str, address: str | None = None
) -> tuple[Membership, Person]:
    """Make a member the owner and the calling owner an admin; return the new owner's membership."""
    await _lock_team(session, actor)
    if not has_role(actor, "owner"):
        raise Forbidden("Only an owner can hand over the team.")
    target, user = await _target(session, actor.team_id, user_id)
    if target.user_id == actor.user_id:
        raise Conflict("You own this team already; name the member who should own it.")
    if target.role != "owner":
        await _set_role(session, actor, target, user, "owner", address)
    # The target is an owner now, so the caller is never the last one when stepping down.
    caller = await session.get(User, actor.user_id)
    assert caller is not None  # the caller's membership row references it
    await _set_role(session, actor, actor, await person_of(session, caller), "admin", address)
    record_audit(
        session,
        "team.ownership_transferred",
        team_id=actor.team_id,
        actor_id=actor.user_id,
        target_id=target.user_id,
        address=address,
    )
    return target, user


async def remove_member(
    session: UnitOfWork, actor: Membership, user_id: str, address: str | None = None
) -> None:
    """Remove a member (or let a member leave); their tokens stop working for the team at once."""
    await _lock_team(session, actor)
    target, _user = await _target(session, actor.team_id, user_id)
    leaving = target.user_id == actor.user_id
    if not leaving and not has_role(actor, "admin"):
        raise Forbidden("Only an admin or owner can remove members.")
    if not leaving and target.role == "owner" and not has_role(actor, "owner"):
        raise Forbidden("Only an owner can remove an owner.")
    if target.role == "owner" and await _owner_count(session, actor.team_id) <= 1:
        raise Conflict("A team needs at least one owner; make someone else owner first.")
    role = target.role
    # Access is checked against membership on every request, so deleting the row revokes everything at once;
    # the event also closes the person's open streams.
    await session.delete(target)
    await session.flush()
    await _drop_invites_of(session, actor.team_id, user_id, None)
    await record_event(
        session,
        actor.team_id,
        "member.left",
        {"team_id": actor.team_id, "user_id": user_id},
        actor_id=actor.user_id,
        changes=() if leaving else ("removed",),
    )
    record_audit(
        session,
        "member.left" if leaving else "member.removed",
        team_id=actor.team_id,
        actor_id=actor.user_id,
        target_id=user_id,
        address=address,
        role=role,
    )
