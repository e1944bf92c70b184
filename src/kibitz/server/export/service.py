"""Build export archives: a person's own data, or a whole team (docs/api.md, "Export archives").

Child rows are listed in the order they were stored (their autoincrement id), which an import reproduces, so
an export of an imported team equals the original export. The archive is built in memory, not streamed
(docs/api.md, "Size").

An archive holds content in the clear (it is what a person or an owner takes away): every sealed value is
opened here, with the (table, column, row) of crypto/registry.py, and never written back onto its row.
Content columns are read in `export_user` (the profile), `codemark_records` (titles, texts, markers' paths,
code and context, references' paths, edits), `reply_records` (texts, edits) and `export_team` (people,
repo names, remote URLs, shared locations' paths). A value that does not open (a destroyed key, a broken
seal) fails the whole export: an archive silently missing content would be worse.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from sqlalchemy import Select, select

import kibitz
from kibitz.server.access import address_allowed
from kibitz.server.audit.service import record_audit
from kibitz.server.auth.models import ApiToken, User
from kibitz.server.auth.people import Person, people_of, person_of
from kibitz.server.auth.service import Caller
from kibitz.server.codemarks.models import (
    Codemark,
    CodemarkAssignee,
    CodemarkEdit,
    CodemarkTag,
    Follower,
    Marker,
    MarkerReference,
    Mention,
    Reaction,
    Relation,
    Reply,
    ReplyEdit,
)
from kibitz.server.crypto.sealer import SealedColumn
from kibitz.server.db import utcnow
from kibitz.server.errors import NotFound
from kibitz.server.export.schemas import (
    CodemarkRecord,
    CodemarkVersionRecord,
    FollowRecord,
    InboxRecord,
    LocationRecord,
    MarkerRecord,
    MemberRecord,
    MembershipRecord,
    ProfileRecord,
    ReactionRecord,
    ReferenceRecord,
    RelationRecord,
    ReplyRecord,
    ReplyVersionRecord,
    RepoRecord,
    TeamExport,
    TeamRecord,
    TokenRecord,
    UserExport,
)
from kibitz.server.inbox.models import InboxItem
from kibitz.server.locations.models import MarkerLocation
from kibitz.server.repos.models import Repo, RepoRemote, RepoRootCommit
from kibitz.server.teams.models import Membership, Team
from kibitz.server.unit_of_work import Sessions, UnitOfWork

T = TypeVar("T")
# Ids per IN (...) list: far below SQLite's and asyncpg's limits on bound parameters.
_CHUNK = 500


def _chunks(ids: Sequence[str]) -> Iterator[list[str]]:
    for start in range(0, len(ids), _CHUNK):
        yield list(ids[start : start + _CHUNK])


async def _rows(session: UnitOfWork, query: Select[T], column: Any, ids: Sequence[str]) -> list[T]:
    """Return the rows of `query` whose `column` is one of `ids`, in the query's order within each chunk."""
    found: list[T] = []
    for chunk in _chunks(ids):
        found.extend(await session.scalars(query.where(column.in_(chunk))))
    return found


@asynccontextmanager
async def snapshot(sessionmaker: Sessions) -> AsyncIterator[UnitOfWork]:
    """Yield a session whose reads all see one state of the database, then roll it back.

    An archive is read in dozens of statements; without one snapshot a reply written meanwhile could name a
    codemark the archive lacks. PostgreSQL gets a read-only REPEATABLE READ transaction; SQLite an explicit
    BEGIN, since its driver starts transactions only before writes (each SELECT would be its own snapshot).
    """
    async with sessionmaker() as session:
        connection = await session.connection()
        if connection.dialect.name == "postgresql":
            await connection.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        else:
            await connection.exec_driver_sql("BEGIN")
        try:
            yield session
        finally:
            await session.rollback()


async def _open(session: UnitOfWork, sealed: str, column: SealedColumn, row: str) -> str:
    """Open one sealed cell (crypto/registry.py says which row each column's values are bound to)."""
    return await session.sealer.open(sealed, column, row=row)


def profile_record(person: Person) -> ProfileRecord:
    """Return a person (opened) as the archive records them."""
    return ProfileRecord(
        id=person.id, email=person.email, name=person.name, handle=person.handle, created_at=person.created_at
    )


async def codemark_records(session: UnitOfWork, codemarks: Sequence[Codemark]) -> list[CodemarkRecord]:
    """Return the archive form of codemarks (markers, references, tags, assignees, mentions, history)."""
    ids = [c.id for c in codemarks]
    markers = await _rows(
        session, select(Marker).order_by(Marker.position, Marker.id), Marker.codemark_id, ids
    )
    references: dict[str, list[ReferenceRecord]] = defaultdict(list)
    for ref in await _rows(
        session,
        select(MarkerReference).order_by(MarkerReference.id),
        MarkerReference.marker_id,
        [m.id for m in markers],
    ):
        references[ref.marker_id].append(
            ReferenceRecord(
                kind=ref.kind,
                commit=ref.commit,
                path=await _open(session, ref.path, MarkerReference.path, ref.marker_id),
                start_line=ref.start_line,
                end_line=ref.end_line,
                created_at=ref.created_at,
            )
        )
    by_codemark: dict[str, list[MarkerRecord]] = defaultdict(list)
    for m in markers:
        by_codemark[m.codemark_id].append(
            MarkerRecord(
                id=m.id,
                repo_id=m.repo_id,
                position=m.position,
                path=await _open(session, m.path, Marker.path, m.id),
                commit=m.commit,
                start_line=m.start_line,
                end_line=m.end_line,
                code=await _open(session, m.code, Marker.code, m.id),
                context_before=await _open(session, m.context_before, Marker.context_before, m.id),
                context_after=await _open(session, m.context_after, Marker.context_after, m.id),
                provisional=m.provisional,
                references=references[m.id],
            )
        )
    tags: dict[str, list[str]] = defaultdict(list)
    for tag in await _rows(session, select(CodemarkTag), CodemarkTag.codemark_id, ids):
        tags[tag.codemark_id].append(
            await _open(session, tag.tag, CodemarkTag.tag, f"{tag.codemark_id}/{tag.tag_index}")
        )
    assignees: dict[str, list[str]] = defaultdict(list)
    for assignee in await _rows(session, select(CodemarkAssignee), CodemarkAssignee.codemark_id, ids):
        assignees[assignee.codemark_id].append(assignee.user_id)
    mentions: dict[str, list[str]] = defaultdict(list)
    for mention in await _rows(
        session, select(Mention).where(Mention.reply_id == "").order_by(Mention.id), Mention.codemark_id, ids
    ):
        mentions[mention.codemark_id].append(mention.user_id)
    history: dict[str, list[CodemarkVersionRecord]] = defaultdict(list)
    for edit in await _rows(
        session, select(CodemarkEdit).order_by(CodemarkEdit.id), CodemarkEdit.codemark_id, ids
    ):
        history[edit.codemark_id].append(
            CodemarkVersionRecord(
                editor_id=edit.editor_id,
                title=await _open(session, edit.title, CodemarkEdit.title, edit.codemark_id),
                text=await _open(session, edit.text, CodemarkEdit.text, edit.codemark_id),
                replaced_at=edit.replaced_at,
            )
        )
    return [
        CodemarkRecord(
            id=c.id,
            team_id=c.team_id,
            type=c.type,
            status=c.status,
            title=await _open(session, c.title, Codemark.title, c.id),
            text=await _open(session, c.text, Codemark.text, c.id),
            author_id=c.author_id,
            pinned=c.pinned,
            created_at=c.created_at,
            updated_at=c.updated_at,
            markers=by_codemark[c.id],
            tags=sorted(tags[c.id]),
            assignees=sorted(assignees[c.id]),
            mentions=mentions[c.id],
            history=history[c.id],
        )
        for c in codemarks
    ]


async def reply_records(session: UnitOfWork, replies: Sequence[Reply]) -> list[ReplyRecord]:
    """Return the archive form of replies with their mentions and edit history."""
    ids = [r.id for r in replies]
    mentions: dict[str, list[str]] = defaultdict(list)
    for mention in await _rows(session, select(Mention).order_by(Mention.id), Mention.reply_id, ids):
        mentions[mention.reply_id].append(mention.user_id)
    history: dict[str, list[ReplyVersionRecord]] = defaultdict(list)
    for edit in await _rows(session, select(ReplyEdit).order_by(ReplyEdit.id), ReplyEdit.reply_id, ids):
        history[edit.reply_id].append(
            ReplyVersionRecord(
                text=await _open(session, edit.text, ReplyEdit.text, edit.reply_id),
                replaced_at=edit.replaced_at,
            )
        )
    return [
        ReplyRecord(
            id=r.id,
            team_id=r.team_id,
            codemark_id=r.codemark_id,
            author_id=r.author_id,
            text=await _open(session, r.text, Reply.text, r.id),
            created_at=r.created_at,
            updated_at=r.updated_at,
            deleted_at=r.deleted_at,
            mentions=mentions[r.id],
            history=history[r.id],
        )
        for r in replies
    ]


def reaction_record(reaction: Reaction) -> ReactionRecord:
    """Return the archive form of a reaction."""
    return ReactionRecord(
        team_id=reaction.team_id,
        codemark_id=reaction.codemark_id,
        reply_id=reaction.reply_id,
        user_id=reaction.user_id,
        emoji=reaction.emoji,
        created_at=reaction.created_at,
    )


def _counted(archive: UserExport | TeamExport) -> dict[str, int]:
    """Return how many records of each kind the archive holds (for the audit trail: counts, never content)."""
    return {name: len(value) for name, value in archive if isinstance(value, list)}


async def export_user(session: UnitOfWork, caller: Caller, reader: UnitOfWork | None = None) -> UserExport:
    """Return the caller's archive and audit it: profile, memberships, tokens' metadata, what they wrote.

    Content comes only from teams the caller is still a member of and whose allowlist admits the address of
    the request (the API would refuse to show it otherwise); other memberships are listed without content.
    Reads go through `reader` (a `snapshot`) when given; the audit event goes into `session`.
    """
    db = reader or session
    user = await db.get(User, caller.user.id)
    if user is None:  # the account went away after authentication
        raise NotFound("No such account.")
    memberships = []
    teams: list[str] = []
    for membership, team in await db.execute(
        select(Membership, Team)
        .join(Team, Team.id == Membership.team_id)
        .where(Membership.user_id == user.id)
        .order_by(Membership.team_id)
    ):
        included = address_allowed(team.allowlist, caller.address)
        if included:
            teams.append(team.id)
        memberships.append(
            MembershipRecord(
                team_id=team.id,
                team_name=await _open(db, team.name, Team.name, team.id),
                role=membership.role,
                joined_at=membership.created_at,
                content_included=included,
            )
        )
    tokens = [
        TokenRecord(
            id=t.id,
            name=await _open(db, t.name, ApiToken.name, t.id),
            kind=t.kind,
            scopes=t.scopes.split(),
            created_at=t.created_at,
            expires_at=t.expires_at,
            revoked_at=t.revoked_at,
        )
        for t in await db.scalars(
            select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.created_at, ApiToken.id)
        )
    ]
    codemarks = await _rows(
        db,
        select(Codemark).where(Codemark.author_id == user.id).order_by(Codemark.created_at, Codemark.id),
        Codemark.team_id,
        teams,
    )
    codemarks.sort(key=lambda c: (c.created_at, c.id))
    # Replies on anyone's codemark (someone else's bookmark can hold none of theirs).
    replies = await _rows(
        db,
        select(Reply)
        .join(Codemark, Codemark.id == Reply.codemark_id)
        .where(Reply.author_id == user.id, Codemark.visible_to(user.id))
        .order_by(Reply.created_at, Reply.id),
        Reply.team_id,
        teams,
    )
    replies.sort(key=lambda r: (r.created_at, r.id))
    reactions = await _rows(
        db,
        select(Reaction)
        .join(Codemark, Codemark.id == Reaction.codemark_id)
        .where(Reaction.user_id == user.id, Codemark.visible_to(user.id))
        .order_by(Reaction.id),
        Reaction.team_id,
        teams,
    )
    reactions.sort(key=lambda r: r.id)
    follows = await _rows(
        db,
        select(Follower)
        .join(Codemark, Codemark.id == Follower.codemark_id)
        .where(Follower.user_id == user.id, Codemark.visible_to(user.id)),
        Codemark.team_id,
        teams,
    )
    inbox = await _rows(
        db,
        select(InboxItem)
        .join(Codemark, Codemark.id == InboxItem.codemark_id)
        .where(InboxItem.user_id == user.id, Codemark.visible_to(user.id)),
        InboxItem.team_id,
        teams,
    )
    inbox.sort(key=lambda i: (i.created_at, i.id))
    archive = UserExport(
        exported_at=utcnow(),
        server_version=kibitz.__version__,
        user=profile_record(await person_of(db, user)),
        memberships=memberships,
        tokens=tokens,
        codemarks=await codemark_records(db, codemarks),
        replies=await reply_records(db, replies),
        reactions=[reaction_record(r) for r in reactions],
        follows=sorted(
            (FollowRecord(codemark_id=f.codemark_id, user_id=f.user_id) for f in follows),
            key=lambda f: (f.codemark_id, f.user_id),
        ),
        inbox=[
            InboxRecord(
                id=i.id,
                team_id=i.team_id,
                kind=i.kind,
                codemark_id=i.codemark_id,
                reply_id=i.reply_id,
                actor_id=i.actor_id,
                created_at=i.created_at,
                read_at=i.read_at,
            )
            for i in inbox
        ],
    )
    record_audit(
        session,
        "export.made",
        actor_id=user.id,
        target_id=user.id,
        address=caller.address,
        kind="user",
        counts=_counted(archive),
    )
    return archive


def _people_of(records: Iterable[Any]) -> set[str]:
    ids: set[str] = set()
    for record in records:
        for field in ("author_id", "user_id", "editor_id", "computed_by", "actor_id"):
            value = getattr(record, field, None)
            if isinstance(value, str):
                ids.add(value)
        for field in ("assignees", "mentions"):
            ids.update(getattr(record, field, ()))
        ids.update(
            v.editor_id for v in getattr(record, "history", ()) if isinstance(v, CodemarkVersionRecord)
        )
    return ids


async def export_team(
    session: UnitOfWork, caller: Caller, team_id: str, reader: UnitOfWork | None = None
) -> TeamExport:
    """Return a whole team's archive and audit it (the caller must be its owner: checked by the route).

    Reads go through `reader` (a `snapshot`) when given; the audit event goes into `session`.
    """
    db = reader or session
    team = await db.get(Team, team_id)
    if team is None:
        raise NotFound("No such team.")
    members = list(
        await db.scalars(select(Membership).where(Membership.team_id == team_id).order_by(Membership.user_id))
    )
    repos = list(
        await db.scalars(select(Repo).where(Repo.team_id == team_id).order_by(Repo.created_at, Repo.id))
    )
    commits: dict[str, list[str]] = defaultdict(list)
    for root in await db.scalars(
        select(RepoRootCommit).where(RepoRootCommit.team_id == team_id).order_by(RepoRootCommit.id)
    ):
        commits[root.repo_id].append(root.commit)
    remotes: dict[str, list[str]] = defaultdict(list)
    for remote in await db.scalars(
        select(RepoRemote).where(RepoRemote.team_id == team_id).order_by(RepoRemote.id)
    ):
        remotes[remote.repo_id].append(await _open(db, remote.url, RepoRemote.url, remote.repo_id))
    codemarks = list(
        await db.scalars(
            select(Codemark)
            .where(Codemark.team_id == team_id, Codemark.shared)
            .order_by(Codemark.created_at, Codemark.id)
        )
    )
    replies = list(
        await db.scalars(
            select(Reply)
            .join(Codemark, Codemark.id == Reply.codemark_id)
            .where(Reply.team_id == team_id, Codemark.shared)
            .order_by(Reply.created_at, Reply.id)
        )
    )
    reactions = list(
        await db.scalars(
            select(Reaction)
            .join(Codemark, Codemark.id == Reaction.codemark_id)
            .where(Reaction.team_id == team_id, Codemark.shared)
            .order_by(Reaction.id)
        )
    )
    follows = list(
        await db.scalars(
            select(Follower)
            .join(Codemark, Codemark.id == Follower.codemark_id)
            .where(Codemark.team_id == team_id, Codemark.shared)
            .order_by(Follower.codemark_id, Follower.user_id)
        )
    )
    shared_ids = {c.id for c in codemarks}
    relations = [
        r
        for r in await db.scalars(
            select(Relation)
            .where(Relation.team_id == team_id)
            .order_by(Relation.first_id, Relation.second_id)
        )
        if r.first_id in shared_ids and r.second_id in shared_ids
    ]
    locations = list(
        await db.scalars(
            select(MarkerLocation)
            .join(Marker, Marker.id == MarkerLocation.marker_id)
            .join(Codemark, Codemark.id == Marker.codemark_id)
            .where(MarkerLocation.team_id == team_id, Codemark.shared)
            .order_by(MarkerLocation.id)
        )
    )
    codemark_out = await codemark_records(db, codemarks)
    reply_out = await reply_records(db, replies)
    reaction_out = [reaction_record(r) for r in reactions]
    location_out = [
        LocationRecord(
            marker_id=loc.marker_id,
            commit=loc.commit,
            algorithm=loc.algorithm,
            path=await _open(db, loc.path, MarkerLocation.path, loc.marker_id)
            if loc.path is not None
            else None,
            start_line=loc.start_line,
            end_line=loc.end_line,
            status=loc.status,
            confidence=loc.confidence,
            computed_by=loc.computed_by,
            created_at=loc.created_at,
        )
        for loc in locations
    ]
    follow_out = [FollowRecord(codemark_id=f.codemark_id, user_id=f.user_id) for f in follows]
    person_ids = {m.user_id for m in members} | _people_of(
        [*codemark_out, *reply_out, *reaction_out, *location_out, *follow_out]
    )
    people = await _rows(db, select(User).order_by(User.id), User.id, sorted(person_ids))
    people.sort(key=lambda u: u.id)
    opened = await people_of(db, people)
    archive = TeamExport(
        exported_at=utcnow(),
        server_version=kibitz.__version__,
        team=TeamRecord(
            id=team.id,
            name=await _open(db, team.name, Team.name, team.id),
            created_at=team.created_at,
            allowlist=team.allowlist.split(),
            event_seq=team.event_seq,
            code_free=team.code_free,
        ),
        people=[profile_record(opened[u.id]) for u in people],
        members=[MemberRecord(user_id=m.user_id, role=m.role, joined_at=m.created_at) for m in members],
        repos=[
            RepoRecord(
                id=r.id,
                name=await _open(db, r.name, Repo.name, r.id),
                created_at=r.created_at,
                root_commits=commits[r.id],
                remotes=remotes[r.id],
            )
            for r in repos
        ],
        codemarks=codemark_out,
        replies=reply_out,
        reactions=reaction_out,
        follows=follow_out,
        relations=[RelationRecord(first_id=r.first_id, second_id=r.second_id) for r in relations],
        locations=location_out,
    )
    record_audit(
        session,
        "export.made",
        team_id=team_id,
        actor_id=caller.user.id,
        target_id=team_id,
        address=caller.address,
        kind="team",
        counts=_counted(archive),
    )
    return archive
