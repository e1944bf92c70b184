"""Replies: the thread of a codemark. Deleting one leaves a tombstone; edits keep the previous text."""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table, and_, bindparam, delete, insert, or_, select

from kibitz.ids import new_id
from kibitz.server.access import require_author_or_role
from kibitz.server.auth.service import Caller, user_ref
from kibitz.server.codemarks import content
from kibitz.server.codemarks.models import Codemark, Follower, Mention, Reaction, Reply, ReplyEdit
from kibitz.server.codemarks.page import kept_codemark
from kibitz.server.codemarks.render import replies_out
from kibitz.server.codemarks.schemas import ReplyOut, ReplyVersion
from kibitz.server.codemarks.service import (
    follow,
    publish_codemark,
    record_codemark_event,
    resolve_mentions,
)
from kibitz.server.db import utcnow
from kibitz.server.errors import Conflict, Forbidden
from kibitz.server.events.models import Event
from kibitz.server.events.service import record_event, redact_events
from kibitz.server.inbox.service import notify
from kibitz.server.pagination import decode_cursor, encode_cursor
from kibitz.server.search.index import index_text, unindex
from kibitz.server.teams.models import Membership
from kibitz.server.unit_of_work import UnitOfWork


async def _publish(
    session: UnitOfWork,
    codemark: Codemark,
    reply: Reply,
    type: str,
    out: ReplyOut | None = None,
    *,
    actor_id: str | None = None,
) -> ReplyOut:
    await session.flush()
    out = out or (await replies_out(session, [reply]))[0]
    await record_event(
        session,
        codemark.team_id,
        type,
        out,
        visible_to=codemark.private_to,
        author_id=reply.author_id,
        codemark_id=codemark.id,
        subject_id=reply.id,
        actor_id=actor_id,
    )
    return out


async def _set_mentions(
    session: UnitOfWork, codemark: Codemark, reply: Reply, user_ids: list[str]
) -> list[str]:
    """Store a reply's mentions and return those that are new."""
    before = set(await session.scalars(select(Mention.user_id).where(Mention.reply_id == reply.id)))
    await session.execute(delete(Mention).where(Mention.reply_id == reply.id))
    for user_id in user_ids:
        session.add(
            Mention(team_id=codemark.team_id, codemark_id=codemark.id, reply_id=reply.id, user_id=user_id)
        )
    return [u for u in user_ids if u not in before]


# The codemark's followers, and its revision once this transaction's writes so far are in (see add_reply).
_FOLLOWERS = (
    select(Codemark.revision, Follower.user_id)
    .select_from(Codemark)
    .outerjoin(Follower, Follower.codemark_id == Codemark.id)
    .where(Codemark.id == bindparam("codemark_id"))
)


_REPLY = cast(Table, Reply.__table__)
_INSERT_REPLY = insert(_REPLY)


def _row(reply: Reply) -> dict[str, object]:
    return {column.key: getattr(reply, column.key) for column in _REPLY.columns}


async def add_reply(session: UnitOfWork, caller: Caller, codemark: Codemark, text: str) -> ReplyOut:
    """Add a reply; the replier and the people it mentions follow the codemark, followers are told."""
    if codemark.type == "link":
        raise Conflict("A link codemark has no thread.")
    mentioned = await resolve_mentions(session, codemark.team_id, text)
    now = utcnow()
    reply_id = new_id()
    reply = Reply(
        id=reply_id,
        codemark_id=codemark.id,
        team_id=codemark.team_id,
        author_id=caller.user.id,
        text=await content.seal_reply_text(session, Reply, reply_id, codemark.team_id, caller.user.id, text),
        created_at=now,
        updated_at=now,
        deleted_at=None,
    )
    # Written at once on the session's connection, not through the ORM's unit of work, which costs more than
    # the INSERT itself; nothing in this request reads the reply back as an entity.
    await (await session.connection()).execute(_INSERT_REPLY, _row(reply))
    for user_id in mentioned:
        session.add(
            Mention(team_id=codemark.team_id, codemark_id=codemark.id, reply_id=reply.id, user_id=user_id)
        )
    # Runs after the reply and its mentions are flushed: each bumped the codemark's revision by one.
    connection = await session.flushed_connection()
    rows = (await connection.execute(_FOLLOWERS, {"codemark_id": codemark.id})).all()
    followers = [user_id for _revision, user_id in rows if user_id is not None]
    untouched = bool(rows) and rows[0][0] == codemark.revision + 1 + len(mentioned)
    await notify(session, codemark, mentioned, "mention", caller.user.id, reply.id)
    # Someone mentioned here hears of it once, as a mention, not again as a reply.
    await notify(
        session, codemark, [f for f in followers if f not in mentioned], "reply", caller.user.id, reply.id
    )
    new_followers = await follow(session, codemark.id, [caller.user.id, *mentioned])
    await index_text(session, codemark.team_id, codemark.id, codemark.created_at, reply.id, text, fresh=True)
    # A new reply has no edits or reactions yet: its wire form needs no queries.
    fresh = ReplyOut(
        id=reply.id,
        codemark_id=codemark.id,
        author=user_ref(caller.user),
        text=text,
        deleted=False,
        edited=False,
        mentions=mentioned,
        reactions=[],
        created_at=now,
        updated_at=now,
    )
    out = await _publish(session, codemark, reply, "reply.added", fresh)
    if new_followers:
        await _publish_followed(session, codemark, new_followers, untouched)
    return out


async def _publish_followed(
    session: UnitOfWork, codemark: Codemark, new_followers: list[str], untouched: bool
) -> None:
    """Record `codemark.updated` for a reply that made people follow the codemark.

    The codemark's answer as it was when it was read for this request, if it is kept (a listing built it),
    is that answer with one more reply and these followers, provided nobody else changed the codemark since
    (`untouched`: its revision moved only by this reply's writes; from here on this transaction's writes
    hold it). Else it is built again.
    """
    before = await kept_codemark(session.sealer, codemark.id, codemark.revision) if untouched else None
    if before is None:
        await publish_codemark(session, codemark, "codemark.updated")
        return
    before["reply_count"] += 1
    before["followers"] = sorted({*before["followers"], *new_followers})
    await record_codemark_event(session, codemark, "codemark.updated", before)


async def list_replies(
    session: UnitOfWork, codemark: Codemark, limit: int, cursor: str | None
) -> tuple[list[ReplyOut], str | None]:
    """Return one page of a codemark's replies (tombstones included), oldest first, and the next cursor."""
    query = select(Reply).where(Reply.codemark_id == codemark.id)
    if cursor is not None:
        when, last_id = decode_cursor(cursor)
        query = query.where(or_(Reply.created_at > when, and_(Reply.created_at == when, Reply.id > last_id)))
    rows = list(await session.scalars(query.order_by(Reply.created_at, Reply.id).limit(limit + 1)))
    next_cursor = encode_cursor(rows[limit - 1].created_at, rows[limit - 1].id) if len(rows) > limit else None
    return await replies_out(session, rows[:limit]), next_cursor


async def edit_reply(
    session: UnitOfWork, caller: Caller, codemark: Codemark, reply: Reply, text: str
) -> ReplyOut:
    """Change a reply's text (its author only), keeping the previous text in its history."""
    # Editing puts words in someone's mouth, so unlike deletion admins may not do it.
    if reply.author_id != caller.user.id:
        raise Forbidden("Only the author can edit a reply.")
    if reply.deleted_at is not None:
        raise Conflict("The reply was deleted.")
    old_text = await content.open_reply_text(session, Reply, reply.id, reply.text)
    if text == old_text:
        return (await replies_out(session, [reply]))[0]
    mentioned = await resolve_mentions(session, codemark.team_id, text)
    kept = await content.seal_reply_text(
        session, ReplyEdit, reply.id, reply.team_id, reply.author_id, old_text
    )
    session.add(ReplyEdit(reply_id=reply.id, team_id=reply.team_id, text=kept, replaced_at=utcnow()))
    reply.text = await content.seal_reply_text(session, Reply, reply.id, reply.team_id, reply.author_id, text)
    reply.updated_at = utcnow()
    newly = await _set_mentions(session, codemark, reply, mentioned)
    new_followers = await follow(session, codemark.id, newly)
    await notify(session, codemark, newly, "mention", caller.user.id, reply.id)
    await index_text(session, codemark.team_id, codemark.id, codemark.created_at, reply.id, text)
    out = await _publish(session, codemark, reply, "reply.edited")
    if new_followers:
        await publish_codemark(session, codemark, "codemark.updated")
    return out


async def reply_history(session: UnitOfWork, reply: Reply) -> list[ReplyVersion]:
    """Return the previous texts of a reply, newest first."""
    return (await reply_histories(session, [reply.id])).get(reply.id, [])


async def reply_histories(session: UnitOfWork, reply_ids: list[str]) -> dict[str, list[ReplyVersion]]:
    """Return the previous texts of each of these replies that has some, newest first, in one query."""
    if not reply_ids:
        return {}
    rows = await session.scalars(
        select(ReplyEdit).where(ReplyEdit.reply_id.in_(reply_ids)).order_by(ReplyEdit.id.desc())
    )
    found: dict[str, list[ReplyVersion]] = {}
    for r in rows:
        text = await content.open_reply_text(session, ReplyEdit, r.reply_id, r.text)
        found.setdefault(r.reply_id, []).append(ReplyVersion(text=text, replaced_at=r.replaced_at))
    return found


async def delete_reply(
    session: UnitOfWork, caller: Caller, membership: Membership, codemark: Codemark, reply: Reply
) -> ReplyOut:
    """Delete a reply (its author or an admin): a tombstone stays, its words, history and reactions go."""
    require_author_or_role(membership, reply.author_id, caller)
    if reply.deleted_at is not None:
        return (await replies_out(session, [reply]))[0]
    for table in (ReplyEdit, Mention, Reaction):
        await session.execute(delete(table).where(table.reply_id == reply.id))
    await unindex(session, codemark.id, reply.id)
    # The log's copies of its text (added, edited, reactions on it) go too; the seqs stay.
    await redact_events(session, Event.subject_id == reply.id)
    reply.text = ""
    reply.deleted_at = reply.updated_at = utcnow()
    return await _publish(session, codemark, reply, "reply.deleted", actor_id=caller.user.id)
