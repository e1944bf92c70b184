"""Wire forms of codemarks and replies, loading their parts with one query per kind of part."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from kibitz.server.auth.models import User
from kibitz.server.auth.service import user_ref
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
from kibitz.server.codemarks.schemas import CodemarkOut, MarkerOut, ReactionOut, ReferenceOut, ReplyOut


def permalink(codemark_id: str) -> str:
    """Return the permanent path of a codemark on its server."""
    return f"/c/{codemark_id}"


async def _users(session: AsyncSession, ids: set[str]) -> dict[str, User]:
    if not ids:
        return {}
    return {u.id: u for u in await session.scalars(select(User).where(User.id.in_(ids)))}


async def _reactions(
    session: AsyncSession, codemark_ids: Sequence[str], reply_ids: Sequence[str] | None
) -> dict[tuple[str, str], list[ReactionOut]]:
    """Return reaction summaries keyed by (codemark id, reply id or '')."""
    query = select(Reaction).order_by(Reaction.id)
    if reply_ids is None:
        query = query.where(Reaction.codemark_id.in_(codemark_ids), Reaction.reply_id == "")
    else:
        query = query.where(Reaction.reply_id.in_(reply_ids))
    grouped: dict[tuple[str, str], dict[str, list[str]]] = defaultdict(dict)
    for reaction in await session.scalars(query):
        grouped[(reaction.codemark_id, reaction.reply_id)].setdefault(reaction.emoji, []).append(
            reaction.user_id
        )
    return {
        key: [ReactionOut(emoji=e, count=len(users), users=users) for e, users in emojis.items()]
        for key, emojis in grouped.items()
    }


async def reactions_of(session: AsyncSession, codemark_id: str, reply_id: str) -> list[ReactionOut]:
    """Return the reaction summary of a codemark (reply_id '') or of one reply."""
    found = await _reactions(session, [codemark_id], None if not reply_id else [reply_id])
    return found.get((codemark_id, reply_id), [])


async def codemarks_out(session: AsyncSession, codemarks: Sequence[Codemark]) -> list[CodemarkOut]:
    """Return the wire form of codemarks."""
    if not codemarks:
        return []
    ids = [c.id for c in codemarks]
    markers: dict[str, list[Marker]] = defaultdict(list)
    for marker in await session.scalars(
        select(Marker).where(Marker.codemark_id.in_(ids)).order_by(Marker.position)
    ):
        markers[marker.codemark_id].append(marker)
    references: dict[str, list[ReferenceOut]] = defaultdict(list)
    marker_ids = [m.id for ms in markers.values() for m in ms]
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
    assignees: dict[str, list[str]] = defaultdict(list)
    for cid, uid in await session.execute(
        select(CodemarkAssignee.codemark_id, CodemarkAssignee.user_id).where(
            CodemarkAssignee.codemark_id.in_(ids)
        )
    ):
        assignees[cid].append(uid)
    mentions: dict[str, list[str]] = defaultdict(list)
    for cid, uid in await session.execute(
        select(Mention.codemark_id, Mention.user_id)
        .where(Mention.codemark_id.in_(ids), Mention.reply_id == "")
        .order_by(Mention.id)
    ):
        mentions[cid].append(uid)
    followers: dict[str, list[str]] = defaultdict(list)
    for cid, uid in await session.execute(
        select(Follower.codemark_id, Follower.user_id)
        .where(Follower.codemark_id.in_(ids))
        .order_by(Follower.user_id)
    ):
        followers[cid].append(uid)
    related: dict[str, list[str]] = defaultdict(list)
    for first, second in await session.execute(
        select(Relation.first_id, Relation.second_id).where(
            or_(Relation.first_id.in_(ids), Relation.second_id.in_(ids))
        )
    ):
        related[first].append(second)
        related[second].append(first)
    counted = await session.execute(
        select(Reply.codemark_id, func.count())
        .where(Reply.codemark_id.in_(ids), Reply.deleted_at.is_(None))
        .group_by(Reply.codemark_id)
    )
    replies = {cid: int(n) for cid, n in counted}
    edited = set(
        await session.scalars(select(CodemarkEdit.codemark_id).where(CodemarkEdit.codemark_id.in_(ids)))
    )
    reactions = await _reactions(session, ids, None)
    users = await _users(
        session, {c.author_id for c in codemarks} | {u for us in assignees.values() for u in us}
    )
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
                "assignees": sorted((user_ref(users[u]) for u in assignees[c.id]), key=lambda r: r.email),
                "tags": tags[c.id],
                "markers": [marker_out(m, references[m.id]) for m in markers[c.id]],
                "reply_count": replies.get(c.id, 0),
                "pinned": c.pinned,
                "permalink": permalink(c.id),
                "mentions": mentions[c.id],
                "reactions": reactions.get((c.id, ""), []),
                "followers": followers[c.id],
                "related": sorted(related[c.id]),
                "edited": c.id in edited,
                "created_at": c.created_at,
                "updated_at": c.updated_at,
            }
        )
        for c in codemarks
    ]


def marker_out(marker: Marker, references: list[ReferenceOut]) -> MarkerOut:
    """Return the wire form of a marker."""
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


async def replies_out(session: AsyncSession, replies: Sequence[Reply]) -> list[ReplyOut]:
    """Return the wire form of replies (tombstones for deleted ones)."""
    if not replies:
        return []
    ids = [r.id for r in replies]
    users = await _users(session, {r.author_id for r in replies})
    mentions: dict[str, list[str]] = defaultdict(list)
    for rid, uid in await session.execute(
        select(Mention.reply_id, Mention.user_id).where(Mention.reply_id.in_(ids)).order_by(Mention.id)
    ):
        mentions[rid].append(uid)
    edited = set(await session.scalars(select(ReplyEdit.reply_id).where(ReplyEdit.reply_id.in_(ids))))
    reactions = await _reactions(session, [], ids)
    return [
        ReplyOut(
            id=r.id,
            codemark_id=r.codemark_id,
            author=user_ref(users[r.author_id]),
            text=r.text,
            deleted=r.deleted_at is not None,
            edited=r.id in edited,
            mentions=mentions[r.id],
            reactions=reactions.get((r.codemark_id, r.id), []),
            created_at=r.created_at,
            updated_at=r.updated_at,
        )
        for r in replies
    ]
