"""Erasing a person or a team, in two steps.

1. In the main database, in the caller's transaction (`erase_user`, `erase_team`): a ledger row
   (`ErasureRequest`, status `pending`) and set-based statements that hard-delete what the subject wrote
   or owned. One statement per table, never a loop over rows: erasing a person who wrote 10,000 replies
   costs a handful of statements.
2. After that commit (`finish_erasure`): the subject's data keys are destroyed in the keystore (which
   makes every copy of what they sealed unreadable, in every backup of the main database), the keystore
   backups are purged of them, and the request is marked `done`.

Both steps run in the caller's transaction; the edges (`erasure.sweeper`: the routes, right after the
deletion committed, and the app's sweeper) commit them. Step 2 is idempotent and works from the ledger
alone, so when a process dies between the two steps the sweeper finishes the request within a minute.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Select, case, delete, func, literal, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from kibitz.ids import new_id
from kibitz.server.audit.service import record_audit
from kibitz.server.auth.models import ApiToken, User
from kibitz.server.backup.purge import purge_destroyed_from_backups
from kibitz.server.codemarks.models import Codemark, CodemarkEdit, Mention, Reaction, Reply
from kibitz.server.crypto.keystore import OwnerKind
from kibitz.server.db import utcnow
from kibitz.server.erasure.models import ErasureRequest
from kibitz.server.erasure.schemas import ErasureOut
from kibitz.server.errors import Conflict
from kibitz.server.events.models import Event
from kibitz.server.events.service import record_event, redact_events
from kibitz.server.inbox.models import InboxItem
from kibitz.server.search.models import SearchToken
from kibitz.server.teams.models import Membership, Team
from kibitz.server.unit_of_work import UnitOfWork
from kibitz.settings import Settings

log = logging.getLogger("kibitz.server.erasure")

# The longest an erasure may take by policy; in practice it is done within the request, or within a minute.
POLICY_DELAY = dt.timedelta(days=7)
# Bulk statements leave the session's identity map alone: nothing loaded is used again.
_BULK = {"synchronize_session": False}

Owner = tuple[OwnerKind, str]


@dataclass(frozen=True)
class UserErased:
    """What the edge needs after erasing a person's rows: the request, and what to forget from caches."""

    request: ErasureRequest
    token_hashes: list[str]
    team_ids: list[str]


def _new_request(kind: str, subject_id: str, team_ids: Sequence[str], requested_by: str) -> ErasureRequest:
    now = utcnow()
    return ErasureRequest(
        id=new_id(),
        subject_kind=kind,
        subject_id=subject_id,
        team_ids=" ".join(team_ids),
        requested_by=requested_by,
        requested_at=now,
        due_at=now + POLICY_DELAY,
        status="pending",
        completed_at=None,
    )


def _audit_teams(team_ids: list[str]) -> list[str | None]:
    # One audit event per team, so each team's admins see it; an account in no team gets one of no team.
    return [*team_ids] if team_ids else [None]


async def erase_user(
    session: UnitOfWork, user_id: str, *, requested_by: str, address: str | None = None
) -> UserErased:
    """Hard-delete a person's rows and record the request (the caller commits, then `finish_erasure`).

    Refused (409) while they are the last owner of a team that has other members. Teams where they are the
    only member go with them.
    """
    roles = dict(
        (
            await session.execute(
                select(Membership.team_id, Membership.role).where(Membership.user_id == user_id)
            )
        ).all()
    )
    team_ids = sorted(roles)
    if team_ids:
        # Locked (PostgreSQL) so nobody joins or is made owner between the check and the deletion.
        await session.execute(select(Team.id).where(Team.id.in_(team_ids)).with_for_update())
    counts = await session.execute(
        select(
            Membership.team_id,
            func.count(),
            func.sum(case((Membership.role == "owner", 1), else_=0)),
        )
        .where(Membership.team_id.in_(team_ids))
        .group_by(Membership.team_id)
    )
    alone: list[str] = []
    blocking: list[str] = []
    for team_id, members, owners in counts:
        if members == 1:
            alone.append(team_id)
        elif roles[team_id] == "owner" and int(owners or 0) <= 1:
            blocking.append(team_id)
    if blocking:
        raise Conflict(
            "You are the last owner of a team that has other members: transfer ownership or delete the team "
            "first.",
            {"team_ids": sorted(blocking)},
        )
    request = _new_request("user", user_id, team_ids, requested_by)
    session.add(request)
    token_hashes = list(await session.scalars(select(ApiToken.token_hash).where(ApiToken.user_id == user_id)))
    await delete_user_rows(session, user_id, alone)
    for team_id in team_ids:
        if team_id not in alone:
            # Tells the team's clients (and closes the person's streams): the member is gone.
            await record_event(session, team_id, "member.left", {"team_id": team_id, "user_id": user_id})
    for team_id in _audit_teams(team_ids):
        record_audit(
            session,
            "erasure.requested",
            team_id=team_id,
            actor_id=requested_by,
            target_id=request.id,
            address=address,
            subject_kind="user",
            subject_id=user_id,
        )
    await session.flush()
    return UserErased(request, token_hashes, team_ids)


async def delete_user_rows(session: AsyncSession, user_id: str, alone: Sequence[str]) -> None:
    """Delete and redact everything of a person with one statement per table."""
    if alone:
        # Cascades to everything in those teams (codemarks, replies, events, repos, search words, ...).
        await session.execute(delete(Team).where(Team.id.in_(alone)), execution_options=_BULK)
    # Events keep their place in the log (every subscriber counts seqs) but lose what the person wrote, and
    # every event about their codemarks (others' replies and reactions in those threads go with them);
    # events only they could see (their bookmarks) would otherwise be deleted with them, leaving gaps.
    await redact_events(
        session,
        Event.author_id == user_id,
        Event.visible_to == user_id,
        Event.codemark_id.in_(select(Codemark.id).where(Codemark.author_id == user_id)),
        keep_visibility=False,
    )
    # What they did (resolved, assigned, removed someone) stays in the log, but no longer says it was them.
    await session.execute(
        update(Event)
        .where(Event.actor_id == user_id)
        .values(actor_id=None)
        .execution_options(synchronize_session=False)
    )
    # Their codemarks, with what hangs on them: markers (and references, shared locations), tags, replies of
    # anyone, edits, reactions, mentions, followers, relations, search words, inbox items.
    await session.execute(delete(Codemark).where(Codemark.author_id == user_id), execution_options=_BULK)
    # Their replies on other people's codemarks. What points at a reply without a foreign key (search words,
    # reactions, mentions, inbox items) goes first; edits cascade.
    theirs = select(Reply.codemark_id, Reply.id).where(Reply.author_id == user_id)
    await session.execute(
        delete(SearchToken).where(tuple_(SearchToken.codemark_id, SearchToken.source).in_(theirs)),
        execution_options=_BULK,
    )
    await session.execute(
        delete(Reaction).where(Reaction.reply_id.in_(select(Reply.id).where(Reply.author_id == user_id))),
        execution_options=_BULK,
    )
    await session.execute(
        delete(Mention).where(tuple_(Mention.codemark_id, Mention.reply_id).in_(theirs)),
        execution_options=_BULK,
    )
    await session.execute(
        delete(InboxItem).where(tuple_(InboxItem.codemark_id, InboxItem.reply_id).in_(theirs)),
        execution_options=_BULK,
    )
    await session.execute(delete(Reply).where(Reply.author_id == user_id), execution_options=_BULK)
    # Their reactions, mentions of them, follows, assignments and inbox items cascade from the user row;
    # these are explicit because they carry their words or actions, not only their id.
    await session.execute(
        delete(CodemarkEdit).where(CodemarkEdit.editor_id == user_id), execution_options=_BULK
    )
    await session.execute(delete(Reaction).where(Reaction.user_id == user_id), execution_options=_BULK)
    await session.execute(
        delete(InboxItem).where((InboxItem.user_id == user_id) | (InboxItem.actor_id == user_id)),
        execution_options=_BULK,
    )
    await session.execute(delete(ApiToken).where(ApiToken.user_id == user_id), execution_options=_BULK)
    await session.execute(delete(Membership).where(Membership.user_id == user_id), execution_options=_BULK)
    await session.execute(delete(User).where(User.id == user_id), execution_options=_BULK)


async def erase_team(
    session: UnitOfWork, team: Team, *, requested_by: str, address: str | None = None
) -> tuple[ErasureRequest, list[str]]:
    """Hard-delete a team with everything in it and record the request (the caller commits, then finishes).

    Returns the request and the ids of the members the team had (for the caches to forget).
    """
    member_ids = list(await session.scalars(select(Membership.user_id).where(Membership.team_id == team.id)))
    request = _new_request("team", team.id, [team.id], requested_by)
    session.add(request)
    record_audit(
        session,
        "erasure.requested",
        team_id=team.id,
        actor_id=requested_by,
        target_id=request.id,
        address=address,
        subject_kind="team",
        subject_id=team.id,
    )
    await session.execute(delete(Team).where(Team.id == team.id), execution_options=_BULK)
    await session.flush()
    return request, member_ids


async def owners_to_destroy(session: UnitOfWork, request: ErasureRequest) -> list[Owner]:
    """Return every keystore owner whose keys the request destroys (known from the ledger and the keystore).

    For a person: their user key and their membership key in every team, including teams they left long ago
    (found in the keystore). Teams erased with them (gone from the database) and an erased team: the team's
    key, its index key and every membership key in it.
    """
    team_ids = request.team_ids.split()
    keystore = session.sealer.keystore
    owners: list[Owner] = []
    erased_teams: list[str]
    if request.subject_kind == "user":
        user_id = request.subject_id
        owners.append((OwnerKind.USER, user_id))
        memberships = {f"{team_id}:{user_id}" for team_id in team_ids}
        if keystore is not None:
            memberships.update(await keystore.owner_ids(OwnerKind.MEMBERSHIP, suffix=f":{user_id}"))
        owners += [(OwnerKind.MEMBERSHIP, owner_id) for owner_id in sorted(memberships)]
        existing = set(await session.scalars(select(Team.id).where(Team.id.in_(team_ids))))
        erased_teams = [team_id for team_id in team_ids if team_id not in existing]
    else:
        erased_teams = [request.subject_id]
    for team_id in erased_teams:
        owners += [(OwnerKind.TEAM, team_id), (OwnerKind.INDEX, team_id)]
        if keystore is not None:
            members = await keystore.owner_ids(OwnerKind.MEMBERSHIP, prefix=f"{team_id}:")
            owners += [(OwnerKind.MEMBERSHIP, owner_id) for owner_id in members]
    return list(dict.fromkeys(owners))


async def finish_erasure(session: UnitOfWork, settings: Settings, request: ErasureRequest) -> None:
    """Destroy the request's keys, purge them from keystore backups and mark it done (the caller commits).

    Run only after the rows' deletion committed; safe to run again after a failure at any point.
    """
    sealer = session.sealer
    owners = await owners_to_destroy(session, request)
    if sealer.keystore is not None:
        await sealer.keystore.destroy_many(owners)
    # Opened values kept in memory would no longer be served (their keys are gone), but must not linger.
    sealer.drop_plaintexts()
    for kind, owner_id in owners:
        if kind == OwnerKind.INDEX:
            sealer.forget_index_key(owner_id)
    await purge_destroyed_from_backups(settings, [(str(kind), owner_id) for kind, owner_id in owners])
    request.status = "done"
    request.completed_at = utcnow()
    for team_id in _audit_teams(request.team_ids.split()):
        record_audit(
            session,
            "erasure.completed",
            team_id=team_id,
            target_id=request.id,
            subject_kind=request.subject_kind,
            subject_id=request.subject_id,
            keys_destroyed=len(owners),
        )
    await session.flush()


def _ledger() -> Select[ErasureRequest]:
    return select(ErasureRequest).order_by(ErasureRequest.requested_at.desc(), ErasureRequest.id.desc())


async def team_erasures(session: UnitOfWork, team_id: str) -> list[ErasureRequest]:
    """Return the requests that concern a team (its members' and its own), newest first."""
    padded = literal(" ") + ErasureRequest.team_ids + literal(" ")
    return list(await session.scalars(_ledger().where(padded.contains(f" {team_id} ", autoescape=True))))


async def all_erasures(session: UnitOfWork) -> list[ErasureRequest]:
    """Return the whole ledger, newest first (for operators)."""
    return list(await session.scalars(_ledger()))


def erasure_out(request: ErasureRequest) -> ErasureOut:
    """Return the wire form of a request."""
    return ErasureOut(
        id=request.id,
        subject_kind="team" if request.subject_kind == "team" else "user",
        subject_id=request.subject_id,
        requested_at=request.requested_at,
        due_at=request.due_at,
        status="done" if request.status == "done" else "pending",
        completed_at=request.completed_at,
    )
