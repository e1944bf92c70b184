"""Wire forms of codemarks and replies, loading their parts with one query per kind of part."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import BindParameter, CompoundSelect, bindparam, func, literal, select, union_all

from kibitz.server.auth.people import people_by_id
from kibitz.server.auth.service import user_ref
from kibitz.server.codemarks.content import (
    MARKER_COLUMNS,
    MarkerContent,
    Opener,
)
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
from kibitz.server.codemarks.schemas import (
    CodemarkOut,
    CodemarkStatus,
    CodemarkType,
    MarkerOut,
    ReactionOut,
    ReferenceKind,
    ReferenceOut,
    ReplyOut,
)
from kibitz.server.unit_of_work import UnitOfWork


def permalink(codemark_id: str) -> str:
    """Return the permanent path of a codemark on its server."""
    return f"/c/{codemark_id}"


async def _reactions(
    session: UnitOfWork, codemark_ids: Sequence[str], reply_ids: Sequence[str] | None
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


async def reactions_of(session: UnitOfWork, codemark_id: str, reply_id: str) -> list[ReactionOut]:
    """Return the reaction summary of a codemark (reply_id '') or of one reply."""
    found = await _reactions(session, [codemark_id], None if not reply_id else [reply_id])
    return found.get((codemark_id, reply_id), [])


def _parts_query(ids: BindParameter[Any]) -> CompoundSelect[Any]:
    """Return one query for every small part of the codemarks `ids`, as rows (kind, codemark id, a, b, order).

    One round trip instead of eight: each statement costs far more in the async driver than in SQL.
    """
    return union_all(
        select(
            literal("tag"), CodemarkTag.codemark_id, CodemarkTag.tag, CodemarkTag.tag_index, literal(0)
        ).where(CodemarkTag.codemark_id.in_(ids)),
        select(
            literal("assignee"),
            CodemarkAssignee.codemark_id,
            CodemarkAssignee.user_id,
            literal(""),
            literal(0),
        ).where(CodemarkAssignee.codemark_id.in_(ids)),
        select(literal("mention"), Mention.codemark_id, Mention.user_id, literal(""), Mention.id).where(
            Mention.codemark_id.in_(ids), Mention.reply_id == ""
        ),
        select(literal("follower"), Follower.codemark_id, Follower.user_id, literal(""), literal(0)).where(
            Follower.codemark_id.in_(ids)
        ),
        select(literal("related"), Relation.first_id, Relation.second_id, literal(""), literal(0)).where(
            Relation.first_id.in_(ids)
        ),
        select(literal("related"), Relation.second_id, Relation.first_id, literal(""), literal(0)).where(
            Relation.second_id.in_(ids)
        ),
        select(literal("replies"), Reply.codemark_id, literal(""), literal(""), func.count())
        .where(Reply.codemark_id.in_(ids), Reply.deleted_at.is_(None))
        .group_by(Reply.codemark_id),
        select(literal("edited"), CodemarkEdit.codemark_id, literal(""), literal(""), func.count())
        .where(CodemarkEdit.codemark_id.in_(ids))
        .group_by(CodemarkEdit.codemark_id),
        select(
            literal("reaction"), Reaction.codemark_id, Reaction.emoji, Reaction.user_id, Reaction.id
        ).where(Reaction.codemark_id.in_(ids), Reaction.reply_id == ""),
    )


# Built once: composing these costs more than running them on a page of 50.
_PARTS = _parts_query(bindparam("ids", expanding=True))
_MARKERS = (
    select(Marker, MarkerReference)
    .outerjoin(MarkerReference, MarkerReference.marker_id == Marker.id)
    .where(Marker.codemark_id.in_(bindparam("ids", expanding=True)))
    .order_by(Marker.position, MarkerReference.id)
)


async def codemarks_out(session: UnitOfWork, codemarks: Sequence[Codemark]) -> list[CodemarkOut]:
    """Return the wire form of codemarks."""
    return [out for out, _sealed in await rendered_codemarks(session, codemarks)]


async def rendered_codemarks(
    session: UnitOfWork, codemarks: Sequence[Codemark]
) -> list[tuple[CodemarkOut, list[str]]]:
    """Return the wire form of codemarks, each with the sealed cells it was opened from."""
    if not codemarks:
        return []
    ids = [c.id for c in codemarks]
    markers: dict[str, list[Marker]] = defaultdict(list)
    references: dict[str, list[MarkerReference]] = defaultdict(list)
    sealed: dict[str, list[str]] = {c.id: [c.title, c.text] for c in codemarks}
    seen: set[str] = set()
    # Every sealed cell of the page is opened in one pass once the rows are in.
    opener = Opener()
    for c in codemarks:
        opener.add((Codemark.title, c.id), c.title, Codemark.title, row=c.id)
        opener.add((Codemark.text, c.id), c.text, Codemark.text, row=c.id)
    for marker, ref in await session.execute(_MARKERS, {"ids": ids}):
        if marker.id not in seen:
            seen.add(marker.id)
            markers[marker.codemark_id].append(marker)
            for column in MARKER_COLUMNS:
                value = getattr(marker, column.key)
                opener.add((column, marker.id), value, column, row=marker.id)
                sealed[marker.codemark_id].append(value)
        if ref is not None:
            references[marker.id].append(ref)
            opener.add((MarkerReference.path, ref.id), ref.path, MarkerReference.path, row=marker.id)
            sealed[marker.codemark_id].append(ref.path)
    parts: dict[str, dict[str, list[tuple[str, str, int]]]] = defaultdict(lambda: defaultdict(list))
    rows: Any = await session.execute(_PARTS, {"ids": ids})
    for kind, codemark_id, a, b, order in rows:
        parts[kind][codemark_id].append((a, b, int(order)))
    for cid, rows in parts["tag"].items():
        for sealed_tag, index, _ in rows:
            opener.add((CodemarkTag.tag, cid, index), sealed_tag, CodemarkTag.tag, row=f"{cid}/{index}")
            sealed[cid].append(sealed_tag)
    assignees = {cid: [a for a, _, _ in rows] for cid, rows in parts["assignee"].items()}
    mentions = {
        cid: [a for a, _, _ in sorted(rows, key=lambda r: r[2])] for cid, rows in parts["mention"].items()
    }
    followers = {cid: sorted(a for a, _, _ in rows) for cid, rows in parts["follower"].items()}
    related = {cid: sorted(a for a, _, _ in rows) for cid, rows in parts["related"].items()}
    replies = {cid: rows[0][2] for cid, rows in parts["replies"].items()}
    reactions: dict[str, list[ReactionOut]] = {}
    for cid, rows in parts["reaction"].items():
        by_emoji: dict[str, list[str]] = {}
        for emoji, user_id, _ in sorted(rows, key=lambda r: r[2]):
            by_emoji.setdefault(emoji, []).append(user_id)
        reactions[cid] = [
            ReactionOut.model_construct(emoji=e, count=len(us), users=us) for e, us in by_emoji.items()
        ]
    opened = await opener.open(session)
    tags = {
        cid: sorted(opened[(CodemarkTag.tag, cid, index)] for _, index, _ in rows)
        for cid, rows in parts["tag"].items()
    }
    people = await people_by_id(
        session, [c.author_id for c in codemarks] + [u for us in assignees.values() for u in us]
    )
    # A page names the same few people many times: one wire form each.
    refs = {person_id: user_ref(person) for person_id, person in people.items()}

    def marker_of(marker: Marker) -> MarkerOut:
        content = MarkerContent(*(opened[(column, marker.id)] for column in MARKER_COLUMNS))
        found = [
            ReferenceOut.model_construct(
                kind=cast(ReferenceKind, ref.kind),
                commit=ref.commit,
                path=opened[(MarkerReference.path, ref.id)],
                start_line=ref.start_line,
                end_line=ref.end_line,
            )
            for ref in references[marker.id]
        ]
        return marker_out(marker, content, found)

    # Built without validation: every value comes from our own rows, written only from validated input
    # (types, statuses and kinds too), and validating a page of them cost more than the rest of building it.
    return [
        (
            CodemarkOut.model_construct(
                id=c.id,
                team_id=c.team_id,
                type=cast(CodemarkType, c.type),
                status=cast(CodemarkStatus, c.status),
                title=opened[(Codemark.title, c.id)],
                text=opened[(Codemark.text, c.id)],
                author=refs[c.author_id],
                assignees=sorted((refs[u] for u in assignees.get(c.id, [])), key=lambda r: r.email),
                tags=tags.get(c.id, []),
                markers=[marker_of(m) for m in markers[c.id]],
                reply_count=replies.get(c.id, 0),
                pinned=c.pinned,
                permalink=permalink(c.id),
                mentions=mentions.get(c.id, []),
                reactions=reactions.get(c.id, []),
                followers=followers.get(c.id, []),
                related=related.get(c.id, []),
                edited=c.id in parts["edited"],
                created_at=c.created_at,
                updated_at=c.updated_at,
            ),
            sealed[c.id],
        )
        for c in codemarks
    ]


def marker_out(marker: Marker, content: MarkerContent, references: list[ReferenceOut]) -> MarkerOut:
    """Return the wire form of a marker from its row and its opened content."""
    return MarkerOut.model_construct(
        id=marker.id,
        repo_id=marker.repo_id,
        path=content.path,
        commit=marker.commit,
        start_line=marker.start_line,
        end_line=marker.end_line,
        code=content.code,
        context_before=content.context_before,
        context_after=content.context_after,
        # A code-free team's markers keep only the code's fingerprint: the client rebuilds the code from git.
        code_free=not marker.code and bool(marker.code_fingerprint),
        provisional=marker.provisional,
        references=references,
    )


async def replies_out(session: UnitOfWork, replies: Sequence[Reply]) -> list[ReplyOut]:
    """Return the wire form of replies (tombstones for deleted ones)."""
    if not replies:
        return []
    ids = [r.id for r in replies]
    people = await people_by_id(session, [r.author_id for r in replies])
    opener = Opener()
    for r in replies:
        opener.add(r.id, r.text, Reply.text, row=r.id)
    texts = await opener.open(session)
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
            author=user_ref(people[r.author_id]),
            text=texts[r.id],
            deleted=r.deleted_at is not None,
            edited=r.id in edited,
            mentions=mentions[r.id],
            reactions=reactions.get((r.codemark_id, r.id), []),
            created_at=r.created_at,
            updated_at=r.updated_at,
        )
        for r in replies
    ]
