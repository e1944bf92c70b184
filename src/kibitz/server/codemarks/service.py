"""Codemarks and their replies: create, read, list with filters, change, delete.

Only this module reads or writes the content columns (titles, texts, paths, code, context), so that a later
layer can seal them without touching the routes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Select, and_, delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from kibitz.errors import Conflict, Forbidden, NotFound, ValidationFailed
from kibitz.ids import new_id
from kibitz.server.access import require_author_or_role
from kibitz.server.auth.models import User
from kibitz.server.auth.service import Caller, user_ref
from kibitz.server.codemarks.models import (
    Codemark,
    CodemarkAssignee,
    CodemarkTag,
    Marker,
    MarkerReference,
    Reply,
)
from kibitz.server.codemarks.schemas import (
    BlockAt,
    CodemarkIn,
    CodemarkOut,
    CodemarkPatch,
    MarkerOut,
    ReferenceIn,
    ReferenceOut,
    ReplyOut,
)
from kibitz.server.db import utcnow
from kibitz.server.pagination import decode_cursor, encode_cursor
from kibitz.server.repos.models import Repo
from kibitz.server.teams.models import Membership

MAX_REFERENCES = 20


@dataclass(frozen=True)
class CodemarkFilter:
    """Filters of a codemark listing; None means 'any'."""

    repo_id: str | None = None
    path: str | None = None
    status: str | None = None
    type: str | None = None
    author_id: str | None = None
    assignee_id: str | None = None
    tag: str | None = None


async def _check_members(session: AsyncSession, team_id: str, user_ids: Sequence[str]) -> list[str]:
    wanted = list(dict.fromkeys(user_ids))
    if not wanted:
        return []
    found = set(
        await session.scalars(
            select(Membership.user_id).where(Membership.team_id == team_id, Membership.user_id.in_(wanted))
        )
    )
    unknown = [uid for uid in wanted if uid not in found]
    if unknown:
        raise ValidationFailed(
            "Assignees must be members of the team.", [{"loc": ["body", "assignees"], "unknown": unknown}]
        )
    return wanted


async def _check_repos(session: AsyncSession, team_id: str, repo_ids: Sequence[str]) -> None:
    wanted = set(repo_ids)
    found = set(await session.scalars(select(Repo.id).where(Repo.team_id == team_id, Repo.id.in_(wanted))))
    unknown = sorted(wanted - found)
    if unknown:
        raise ValidationFailed(
            "Markers must name repos of the team.",
            [{"loc": ["body", "markers", "repo_id"], "unknown": unknown}],
        )


async def create_codemark(session: AsyncSession, caller: Caller, team_id: str, data: CodemarkIn) -> Codemark:
    """Create a codemark with its markers, tags and assignees."""
    await _check_repos(session, team_id, [m.repo_id for m in data.markers])
    assignees = await _check_members(session, team_id, data.assignees)
    now = utcnow()
    codemark = Codemark(
        id=new_id(),
        team_id=team_id,
        type=data.type,
        status="open",
        title=data.title,
        text=data.text,
        author_id=caller.user.id,
        created_at=now,
        updated_at=now,
    )
    session.add(codemark)
    await session.flush()
    for position, m in enumerate(data.markers):
        marker_id = new_id()
        session.add(
            Marker(
                id=marker_id,
                codemark_id=codemark.id,
                team_id=team_id,
                repo_id=m.repo_id,
                position=position,
                path=m.path,
                commit=m.commit,
                start_line=m.start_line,
                end_line=m.end_line,
                code=m.code,
                context_before=m.context_before,
                context_after=m.context_after,
                provisional=m.provisional,
            )
        )
        for ref in _distinct_references(m.commit, m.references):
            session.add(_reference_row(marker_id, team_id, ref))
    for tag in dict.fromkeys(data.tags):
        session.add(CodemarkTag(codemark_id=codemark.id, tag=tag, team_id=team_id))
    for user_id in assignees:
        session.add(CodemarkAssignee(codemark_id=codemark.id, user_id=user_id))
    await session.flush()
    return codemark


def _distinct_references(canonical: str, references: Sequence[ReferenceIn]) -> list[ReferenceIn]:
    seen = {canonical}
    distinct = []
    for ref in references:
        if ref.commit not in seen:
            seen.add(ref.commit)
            distinct.append(ref)
    return distinct


def _reference_row(marker_id: str, team_id: str, ref: ReferenceIn) -> MarkerReference:
    return MarkerReference(
        marker_id=marker_id,
        team_id=team_id,
        kind=ref.kind,
        commit=ref.commit,
        path=ref.path,
        start_line=ref.start_line,
        end_line=ref.end_line,
        created_at=utcnow(),
    )


async def codemarks_out(session: AsyncSession, codemarks: Sequence[Codemark]) -> list[CodemarkOut]:
    """Return the wire form of codemarks, loading their parts with one query per kind of part."""
    if not codemarks:
        return []
    ids = [c.id for c in codemarks]
    markers: dict[str, list[Marker]] = defaultdict(list)
    for marker in await session.scalars(
        select(Marker).where(Marker.codemark_id.in_(ids)).order_by(Marker.position)
    ):
        markers[marker.codemark_id].append(marker)
    marker_ids = [m.id for ms in markers.values() for m in ms]
    references: dict[str, list[ReferenceOut]] = defaultdict(list)
    for ref in await session.scalars(
        select(MarkerReference).where(MarkerReference.marker_id.in_(marker_ids)).order_by(MarkerReference.id)
    ):
        references[ref.marker_id].append(
            ReferenceOut(
                kind=ref.kind,
                commit=ref.commit,
                path=ref.path,
                start_line=ref.start_line,
                end_line=ref.end_line,
            )
        )
    tags: dict[str, list[str]] = defaultdict(list)
    for cid, tag in await session.execute(
        select(CodemarkTag.codemark_id, CodemarkTag.tag)
        .where(CodemarkTag.codemark_id.in_(ids))
        .order_by(CodemarkTag.tag)
    ):
        tags[cid].append(tag)
    assignee_ids: dict[str, list[str]] = defaultdict(list)
    for cid, uid in await session.execute(
        select(CodemarkAssignee.codemark_id, CodemarkAssignee.user_id).where(
            CodemarkAssignee.codemark_id.in_(ids)
        )
    ):
        assignee_ids[cid].append(uid)
    counted = await session.execute(
        select(Reply.codemark_id, func.count()).where(Reply.codemark_id.in_(ids)).group_by(Reply.codemark_id)
    )
    replies = {cid: int(n) for cid, n in counted}
    user_ids = {c.author_id for c in codemarks} | {u for us in assignee_ids.values() for u in us}
    users = {u.id: u for u in await session.scalars(select(User).where(User.id.in_(user_ids)))}
    return [
        CodemarkOut.model_validate(
            {
                "id": c.id,
                "team_id": c.team_id,
                "type": c.type,
                "status": c.status,
                "title": c.title,
                "text": c.text,
                "author": user_ref(users[c.author_id]),
                "assignees": sorted((user_ref(users[u]) for u in assignee_ids[c.id]), key=lambda r: r.email),
                "tags": tags[c.id],
                "markers": [_marker_out(m, references[m.id]) for m in markers[c.id]],
                "reply_count": int(replies.get(c.id, 0)),
                "created_at": c.created_at,
                "updated_at": c.updated_at,
            }
        )
        for c in codemarks
    ]


def _marker_out(marker: Marker, references: list[ReferenceOut]) -> MarkerOut:
    return MarkerOut(
        id=marker.id,
        repo_id=marker.repo_id,
        path=marker.path,
        commit=marker.commit,
        start_line=marker.start_line,
        end_line=marker.end_line,
        code=marker.code,
        context_before=marker.context_before,
        context_after=marker.context_after,
        provisional=marker.provisional,
        references=references,
    )


def _filtered(team_id: str, flt: CodemarkFilter) -> Select[Codemark]:
    query = select(Codemark).where(Codemark.team_id == team_id)
    if flt.status is not None:
        query = query.where(Codemark.status == flt.status)
    if flt.type is not None:
        query = query.where(Codemark.type == flt.type)
    if flt.author_id is not None:
        query = query.where(Codemark.author_id == flt.author_id)
    if flt.repo_id is not None or flt.path is not None:
        markers = select(Marker.codemark_id).where(Marker.team_id == team_id)
        if flt.repo_id is not None:
            markers = markers.where(Marker.repo_id == flt.repo_id)
        if flt.path is not None:
            markers = markers.where(Marker.path == flt.path)
        query = query.where(Codemark.id.in_(markers))
    if flt.tag is not None:
        query = query.where(
            Codemark.id.in_(
                select(CodemarkTag.codemark_id).where(
                    CodemarkTag.team_id == team_id, CodemarkTag.tag == flt.tag
                )
            )
        )
    if flt.assignee_id is not None:
        query = query.where(
            Codemark.id.in_(
                select(CodemarkAssignee.codemark_id).where(CodemarkAssignee.user_id == flt.assignee_id)
            )
        )
    return query


async def list_codemarks(
    session: AsyncSession, team_id: str, flt: CodemarkFilter, limit: int, cursor: str | None
) -> tuple[list[CodemarkOut], str | None]:
    """Return one page of a team's codemarks, newest first, and the cursor of the next page."""
    query = _filtered(team_id, flt)
    if cursor is not None:
        when, last_id = decode_cursor(cursor)
        query = query.where(
            or_(Codemark.created_at < when, and_(Codemark.created_at == when, Codemark.id < last_id))
        )
    rows = list(
        await session.scalars(query.order_by(Codemark.created_at.desc(), Codemark.id.desc()).limit(limit + 1))
    )
    next_cursor = encode_cursor(rows[limit - 1].created_at, rows[limit - 1].id) if len(rows) > limit else None
    return await codemarks_out(session, rows[:limit]), next_cursor


async def update_codemark(
    session: AsyncSession, caller: Caller, membership: Membership, codemark: Codemark, patch: CodemarkPatch
) -> Codemark:
    """Change a codemark's title, text, status, tags or assignees (its author or an admin)."""
    require_author_or_role(membership, codemark.author_id, caller)
    if patch.assignees is not None:
        assignees = await _check_members(session, codemark.team_id, patch.assignees)
        await session.execute(delete(CodemarkAssignee).where(CodemarkAssignee.codemark_id == codemark.id))
        for user_id in assignees:
            session.add(CodemarkAssignee(codemark_id=codemark.id, user_id=user_id))
    if patch.tags is not None:
        await session.execute(delete(CodemarkTag).where(CodemarkTag.codemark_id == codemark.id))
        for tag in dict.fromkeys(patch.tags):
            session.add(CodemarkTag(codemark_id=codemark.id, tag=tag, team_id=codemark.team_id))
    if patch.title is not None:
        codemark.title = patch.title
    if patch.text is not None:
        codemark.text = patch.text
    if not codemark.text.strip() and not codemark.title.strip():
        raise ValidationFailed("A codemark needs a text or a title.", [{"loc": ["body", "text"]}])
    if patch.status is not None:
        codemark.status = patch.status
    codemark.updated_at = utcnow()
    await session.flush()
    return codemark


async def delete_codemark(
    session: AsyncSession, caller: Caller, membership: Membership, codemark: Codemark
) -> None:
    """Delete a codemark with its markers and thread (its author or an admin)."""
    require_author_or_role(membership, codemark.author_id, caller)
    # Markers, references, locations, tags, assignees and replies go by ON DELETE CASCADE (SQLite has
    # foreign keys switched on for every connection, see db.make_engine).
    await session.execute(delete(Codemark).where(Codemark.id == codemark.id))
    await session.flush()


async def add_reply(session: AsyncSession, caller: Caller, codemark: Codemark, text: str) -> Reply:
    """Add a reply to a codemark's thread."""
    now = utcnow()
    reply = Reply(
        id=new_id(),
        codemark_id=codemark.id,
        team_id=codemark.team_id,
        author_id=caller.user.id,
        text=text,
        created_at=now,
        updated_at=now,
    )
    session.add(reply)
    await session.flush()
    return reply


async def replies_out(session: AsyncSession, replies: Sequence[Reply]) -> list[ReplyOut]:
    """Return the wire form of replies."""
    users = {
        u.id: u
        for u in await session.scalars(select(User).where(User.id.in_({r.author_id for r in replies})))
    }
    return [
        ReplyOut(
            id=r.id,
            codemark_id=r.codemark_id,
            author=user_ref(users[r.author_id]),
            text=r.text,
            created_at=r.created_at,
            updated_at=r.updated_at,
        )
        for r in replies
    ]


async def list_replies(
    session: AsyncSession, codemark: Codemark, limit: int, cursor: str | None
) -> tuple[list[ReplyOut], str | None]:
    """Return one page of a codemark's replies, oldest first, and the cursor of the next page."""
    query = select(Reply).where(Reply.codemark_id == codemark.id)
    if cursor is not None:
        when, last_id = decode_cursor(cursor)
        query = query.where(or_(Reply.created_at > when, and_(Reply.created_at == when, Reply.id > last_id)))
    rows = list(await session.scalars(query.order_by(Reply.created_at, Reply.id).limit(limit + 1)))
    next_cursor = encode_cursor(rows[limit - 1].created_at, rows[limit - 1].id) if len(rows) > limit else None
    return await replies_out(session, rows[:limit]), next_cursor


async def edit_reply(
    session: AsyncSession, caller: Caller, membership: Membership, reply: Reply, text: str
) -> Reply:
    """Change a reply's text (its author only)."""
    # Editing puts words in someone's mouth, so unlike deletion admins may not do it.
    if reply.author_id != caller.user.id:
        raise Forbidden("Only the author can edit a reply.")
    reply.text = text
    reply.updated_at = utcnow()
    await session.flush()
    return reply


async def delete_reply(session: AsyncSession, caller: Caller, membership: Membership, reply: Reply) -> None:
    """Delete a reply (its author or an admin)."""
    require_author_or_role(membership, reply.author_id, caller)
    await session.delete(reply)
    await session.flush()


async def _marker_of(session: AsyncSession, codemark: Codemark, marker_id: str) -> Marker:
    marker = await session.get(Marker, marker_id)
    if marker is None or marker.codemark_id != codemark.id:
        raise NotFound("No such marker.")
    return marker


async def add_reference(session: AsyncSession, codemark: Codemark, marker_id: str, ref: ReferenceIn) -> bool:
    """Record where a marker's block is at another commit; return False if that commit was already known."""
    marker = await _marker_of(session, codemark, marker_id)
    known = set(
        await session.scalars(select(MarkerReference.commit).where(MarkerReference.marker_id == marker.id))
    )
    if ref.commit in known or ref.commit == marker.commit:
        return False
    if len(known) >= MAX_REFERENCES:
        raise Conflict(f"A marker keeps at most {MAX_REFERENCES} references.")
    session.add(_reference_row(marker.id, marker.team_id, ref))
    await session.flush()
    return True


async def promote_marker(session: AsyncSession, codemark: Codemark, marker_id: str, block: BlockAt) -> None:
    """Make a provisional marker's canonical reference a commit that contains its code."""
    marker = await _marker_of(session, codemark, marker_id)
    if not marker.provisional:
        raise Conflict("The marker is not provisional (it was promoted already).")
    # The provisional place is kept as a reference: it still helps a client that has only that HEAD.
    session.add(
        _reference_row(
            marker.id,
            marker.team_id,
            ReferenceIn(
                kind="other",
                commit=marker.commit,
                path=marker.path,
                start_line=marker.start_line,
                end_line=marker.end_line,
            ),
        )
    )
    await session.execute(
        delete(MarkerReference).where(
            MarkerReference.marker_id == marker.id, MarkerReference.commit == block.commit
        )
    )
    marker.commit, marker.path = block.commit, block.path
    marker.start_line, marker.end_line = block.start_line, block.end_line
    marker.provisional = False
    await session.flush()
