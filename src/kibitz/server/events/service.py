"""Writing and reading the event log.

Every change calls `record_event` inside its transaction: it takes the team's next `seq` with
`UPDATE team SET event_seq = event_seq + 1 … RETURNING`, which holds the team row's lock until commit, so
seq order is commit order and a rolled-back change leaves no gap. The session remembers the newest seq per
team; after the commit `publish_after_commit` rings the broker's doorbell. The broker carries only "team T
has events up to N": readers always take the events themselves from this table, so a lost doorbell delays
an event but never loses it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kibitz.server.db import utcnow
from kibitz.server.events.models import Event
from kibitz.server.teams.models import Team

_PENDING = "kibitz.events.pending"

EVENT_TYPES = (
    "codemark.created",
    "codemark.updated",
    "codemark.deleted",
    "reply.added",
    "reply.edited",
    "reply.deleted",
    "reaction.added",
    "reaction.removed",
    "location.stored",
    "member.joined",
    "member.left",
    "member.updated",
)


async def record_event(
    session: AsyncSession,
    team_id: str,
    type: str,
    data: BaseModel | dict[str, Any],
    *,
    visible_to: str | None = None,
    author_id: str | None = None,
) -> int:
    """Append an event to the team's log in the current transaction and return its seq.

    `author_id` names the person whose writing the payload carries (a codemark's author for codemark
    events, a reply's author for reply events): their membership key seals it, so erasing them redacts it.
    """
    assert type in EVENT_TYPES, type
    result = await session.execute(
        update(Team).where(Team.id == team_id).values(event_seq=Team.event_seq + 1).returning(Team.event_seq)
    )
    seq = int(result.scalar_one())
    payload = data.model_dump(mode="json") if isinstance(data, BaseModel) else data
    session.add(
        Event(
            team_id=team_id,
            seq=seq,
            type=type,
            payload=json.dumps(payload, separators=(",", ":")),
            visible_to=visible_to,
            author_id=author_id,
            created_at=utcnow(),
        )
    )
    pending: dict[str, int] = session.info.setdefault(_PENDING, {})
    pending[team_id] = max(seq, pending.get(team_id, 0))
    return seq


def take_pending(session: AsyncSession) -> dict[str, int]:
    """Return and forget the newest seq per team written in this session's transaction."""
    pending: dict[str, int] = session.info.pop(_PENDING, {})
    return pending


def forget_pending(session: AsyncSession) -> None:
    """Drop the doorbells of a rolled-back transaction."""
    session.info.pop(_PENDING, None)


async def head_seq(session: AsyncSession, team_id: str) -> int:
    """Return the team's newest seq (0 when it has no events)."""
    value = await session.scalar(select(Team.event_seq).where(Team.id == team_id))
    return int(value or 0)


async def read_events(
    session: AsyncSession, team_id: str, after: int, upto: int, limit: int = 500
) -> Sequence[Event]:
    """Return the team's events with after < seq <= upto, in order, at most `limit`."""
    rows = await session.scalars(
        select(Event)
        .where(Event.team_id == team_id, Event.seq > after, Event.seq <= upto)
        .order_by(Event.seq)
        .limit(limit)
    )
    return list(rows)
