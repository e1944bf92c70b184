"""Inbox: what a person should look at — mentions, assignments, replies on codemarks they follow."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import cast

from sqlalchemy import Table, and_, func, insert, or_, select, update

from kibitz.ids import new_id
from kibitz.server.auth.people import people_by_id
from kibitz.server.auth.service import user_ref
from kibitz.server.codemarks.models import Codemark
from kibitz.server.db import utcnow
from kibitz.server.inbox.models import InboxItem
from kibitz.server.inbox.schemas import InboxItemOut
from kibitz.server.pagination import decode_cursor, encode_cursor
from kibitz.server.unit_of_work import UnitOfWork

_INSERT_ITEMS = insert(cast(Table, InboxItem.__table__))


async def notify(
    session: UnitOfWork,
    codemark: Codemark,
    user_ids: Iterable[str],
    kind: str,
    actor_id: str,
    reply_id: str = "",
) -> None:
    """Put an item in the inbox of each person, except the one who acted (and, for bookmarks, anyone)."""
    if not codemark.shared:
        return
    now = utcnow()
    rows = [
        {
            "id": new_id(),
            "team_id": codemark.team_id,
            "user_id": user_id,
            "kind": kind,
            "codemark_id": codemark.id,
            "reply_id": reply_id,
            "actor_id": actor_id,
            "created_at": now,
            "read_at": None,
        }
        for user_id in dict.fromkeys(user_ids)
        if user_id != actor_id
    ]
    if rows:
        # On the table, not as objects: nothing in the request reads them back, and the ORM's flush of new
        # objects costs several times the INSERT.
        await (await session.flushed_connection()).execute(_INSERT_ITEMS, rows)


async def list_inbox(
    session: UnitOfWork, team_id: str, user_id: str, unread_only: bool, limit: int, cursor: str | None
) -> tuple[list[InboxItemOut], str | None]:
    """Return one page of a person's inbox in a team, newest first."""
    query = select(InboxItem, Codemark).join(Codemark, Codemark.id == InboxItem.codemark_id)
    query = query.where(InboxItem.user_id == user_id, InboxItem.team_id == team_id)
    if unread_only:
        query = query.where(InboxItem.read_at.is_(None))
    if cursor is not None:
        when, last_id = decode_cursor(cursor)
        query = query.where(
            or_(InboxItem.created_at < when, and_(InboxItem.created_at == when, InboxItem.id < last_id))
        )
    rows = list(
        await session.execute(
            query.order_by(InboxItem.created_at.desc(), InboxItem.id.desc()).limit(limit + 1)
        )
    )
    page = rows[:limit]
    actors = await people_by_id(session, (i.actor_id for i, _ in page))
    sealer = session.sealer
    items = []
    for item, codemark in page:
        # Sealed columns of the codemark (crypto/registry.py): opened here, never written back to the row.
        title = await sealer.open(codemark.title, Codemark.title, row=codemark.id)
        if not title:
            text = await sealer.open(codemark.text, Codemark.text, row=codemark.id)
            title = text.split("\n", 1)[0][:200]
        items.append(
            InboxItemOut(
                id=item.id,
                kind=item.kind,
                codemark_id=item.codemark_id,
                reply_id=item.reply_id or None,
                codemark_title=title,
                actor=user_ref(actors[item.actor_id]),
                created_at=item.created_at,
                read_at=item.read_at,
            )
        )
    last = page[-1][0] if page else None
    next_cursor = encode_cursor(last.created_at, last.id) if last is not None and len(rows) > limit else None
    return items, next_cursor


async def mark_read(
    session: UnitOfWork, team_id: str, user_id: str, ids: list[str] | None, now: dt.datetime | None = None
) -> int:
    """Mark some (or, with `ids` None, all) of a person's unread items read; return how many changed."""
    statement = (
        update(InboxItem)
        .where(InboxItem.user_id == user_id, InboxItem.team_id == team_id, InboxItem.read_at.is_(None))
        .values(read_at=now or utcnow())
    )
    if ids is not None:
        statement = statement.where(InboxItem.id.in_(ids))
    result = await session.execute(statement)
    return int(getattr(result, "rowcount", 0) or 0)


async def unread_count(session: UnitOfWork, team_id: str, user_id: str) -> int:
    """Return how many of a person's inbox items in a team are unread."""
    count = await session.scalar(
        select(func.count())
        .select_from(InboxItem)
        .where(InboxItem.user_id == user_id, InboxItem.team_id == team_id, InboxItem.read_at.is_(None))
    )
    return int(count or 0)
