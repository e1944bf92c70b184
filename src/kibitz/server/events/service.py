"""Writing and reading the event log.

Every change calls `record_event` inside its transaction, which keeps the event in the unit of work. Just
before the transaction commits, `write_events` takes the seqs of all of them at once with
`UPDATE team SET event_seq = event_seq + n … RETURNING`, which holds the team row's lock until the commit,
so seq order is commit order and a rolled-back change leaves no gap; it writes them in one statement and
queues the doorbell with the unit of work's `publish_after_commit`, which rings the broker only once the
transaction commits. The broker carries only "team T has events up to N": readers always take the events
themselves from this table, so a lost doorbell delays an event but never loses it. (A transaction that
reads the log after recording, `head_seq` or `redact_events`, writes its events first.)

At rest a payload is sealed (table "event", column "payload", row "<team_id>/<seq>") with the membership key
of the person whose writing it carries (`author_id`), else with the team's key. People inside it (user
references, members) keep their ids but not their emails, names and handles: those are filled in when the
event is read, from the people as they are now, so an erased person's data is in nobody else's event. An
event whose key was destroyed, or which an erasure replaced by `REDACTED`, reads as `{"redacted": true}`.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from pydantic import BaseModel
from sqlalchemy import ColumnElement, Table, bindparam, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kibitz.server.auth.people import people_by_id
from kibitz.server.crypto.sealer import member_owner, team_owner
from kibitz.server.db import utcnow
from kibitz.server.errors import KeyUnavailable
from kibitz.server.events.models import Event
from kibitz.server.teams.models import Team
from kibitz.server.unit_of_work import PendingEvent, UnitOfWork

# What an erased or otherwise unreadable payload reads as (and what an erasure may store in its place).
REDACTED = '{"redacted":true}'
# The personal fields of a person inside a payload, stored as null and filled in when read.
_PERSONAL = ("email", "name", "handle")

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


# Built once (composing a statement costs more than running it), on the tables rather than the ORM classes
# (no ORM work for rows the session never holds); the update holds the team row until commit.
_TEAM = cast(Table, Team.__table__)
_TAKE_SEQS = (
    update(_TEAM)
    .where(_TEAM.c.id == bindparam("team_id"))
    .values(event_seq=_TEAM.c.event_seq + bindparam("taken"))
    .returning(_TEAM.c.event_seq)
)
_HEAD_SEQ = select(Team.event_seq).where(Team.id == bindparam("team_id"))
_WRITE = insert(cast(Table, Event.__table__))


async def record_event(
    session: UnitOfWork,
    team_id: str,
    type: str,
    data: BaseModel | dict[str, Any],
    *,
    visible_to: str | None = None,
    author_id: str | None = None,
    codemark_id: str | None = None,
    subject_id: str | None = None,
    actor_id: str | None = None,
    changes: Sequence[str] = (),
) -> None:
    """Add an event to the team's log in the current transaction (numbered when the transaction commits).

    `actor_id` is who made the change and `changes` what it was (`resolved`, `assigned`, …), for the words a
    client shows; neither goes into the payload, so the payload stays the object as the API returns it.

    `author_id` names the person whose writing the payload carries (a codemark's author for codemark
    events, a reply's author for reply events): their membership key seals it, so erasing them redacts it.
    `codemark_id` and `subject_id` (the codemark or reply the payload shows) let a deletion redact it.
    """
    assert type in EVENT_TYPES, type
    payload = data.model_dump(mode="json") if isinstance(data, BaseModel) else data
    if not session.pending_events:
        session.before_commit(lambda: write_events(session))
    session.pending_events.append(
        PendingEvent(
            team_id=team_id,
            type=type,
            payload=_dumps(strip_people(payload)),
            owner=member_owner(team_id, author_id) if author_id is not None else team_owner(team_id),
            visible_to=visible_to,
            author_id=author_id,
            codemark_id=codemark_id,
            subject_id=subject_id,
            actor_id=actor_id,
            changes=",".join(changes) or None,
            created_at=utcnow(),
        )
    )


async def write_events(session: UnitOfWork) -> None:
    """Number, seal and write the events recorded in this transaction, and queue their doorbells.

    One seq update per team (teams in id order, so two transactions never wait for each other's teams) and
    one insert for all the events.
    """
    pending, session.pending_events = session.pending_events, []
    if not pending:
        return
    by_team: dict[str, list[PendingEvent]] = {}
    for event in pending:
        by_team.setdefault(event.team_id, []).append(event)
    rows: list[dict[str, Any]] = []
    connection = await session.flushed_connection()
    for team_id in sorted(by_team):
        events = by_team[team_id]
        last = int(
            (await connection.execute(_TAKE_SEQS, {"team_id": team_id, "taken": len(events)})).scalar_one()
        )
        for seq, event in enumerate(events, start=last - len(events) + 1):
            sealed = await session.sealer.seal(
                event.owner, event.payload, Event.payload, row=f"{team_id}/{seq}"
            )
            rows.append(
                {
                    "team_id": team_id,
                    "seq": seq,
                    "type": event.type,
                    "payload": sealed,
                    "visible_to": event.visible_to,
                    "author_id": event.author_id,
                    "codemark_id": event.codemark_id,
                    "subject_id": event.subject_id,
                    "actor_id": event.actor_id,
                    "changes": event.changes,
                    "created_at": event.created_at,
                }
            )
        session.publish_after_commit(team_id, last)
    await connection.execute(_WRITE, rows)


async def head_seq(session: UnitOfWork, team_id: str) -> int:
    """Return the team's newest seq (0 when it has no events), counting those recorded in this transaction."""
    await write_events(session)
    value = await session.scalar(_HEAD_SEQ, {"team_id": team_id})
    return int(value or 0)


@dataclass(frozen=True, slots=True)
class LoggedEvent:
    """An event as read from the log: its payload opened, people filled in (never an ORM row)."""

    team_id: str
    seq: int
    type: str
    # The changed object, and the same as JSON text exactly as it goes on the wire.
    data: Any
    payload: str
    visible_to: str | None
    author_id: str | None
    created_at: dt.datetime
    # Who made the change, as a user reference {id, email, name, handle} (None: unknown or erased), and what.
    actor: dict[str, str] | None = None
    changes: tuple[str, ...] = ()

    @property
    def redacted(self) -> bool:
        """Tell whether the payload was erased (or its key destroyed)."""
        return self.payload == REDACTED


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _is_person(value: dict[str, Any]) -> bool:
    # A user reference {id, email, name, handle} or a member {user_id, email, name, role, joined_at}.
    return "email" in value and "name" in value and ("id" in value or "user_id" in value)


def _people(value: Any) -> Iterator[dict[str, Any]]:
    """Yield every person object inside a JSON value."""
    if isinstance(value, dict):
        if _is_person(value):
            yield value
        for item in value.values():
            yield from _people(item)
    elif isinstance(value, list):
        for item in value:
            yield from _people(item)


def strip_people(payload: Any) -> Any:
    """Return a copy of a JSON payload whose people keep their ids but have null emails, names and handles.

    The keys stay (as null) so that a payload read back has its keys in the order the API wrote them.
    """
    copy = json.loads(_dumps(payload))
    for person in _people(copy):
        for key in _PERSONAL:
            if key in person:
                person[key] = None
    return copy


def _person_id(person: dict[str, Any]) -> str:
    return str(person["id"] if "id" in person else person["user_id"])


async def read_events(
    session: UnitOfWork, team_id: str, after: int, upto: int, limit: int = 500
) -> list[LoggedEvent]:
    """Return the team's events with after < seq <= upto, in order, at most `limit`, opened and filled in.

    People are loaded once for the whole page; a person who no longer exists reads as "" everywhere.
    """
    rows = (
        await session.execute(
            select(
                Event.seq,
                Event.type,
                Event.payload,
                Event.visible_to,
                Event.author_id,
                Event.created_at,
                Event.actor_id,
                Event.changes,
            )
            .where(Event.team_id == team_id, Event.seq > after, Event.seq <= upto)
            .order_by(Event.seq)
            .limit(limit)
        )
    ).all()
    sealer = session.sealer
    opened: list[Any] = []
    for seq, _type, payload, *_rest in rows:
        if payload == REDACTED:
            opened.append(None)
            continue
        try:
            text = await sealer.open(payload, Event.payload, row=f"{team_id}/{seq}")
        except KeyUnavailable:  # the author (or the team) was erased: the event keeps its place, not its data
            opened.append(None)
            continue
        opened.append(json.loads(text))
    found = [person for data in opened for person in _people(data)]
    actors = {row.actor_id for row in rows if row.actor_id}
    people = await people_by_id(session, {_person_id(person) for person in found} | actors)
    for person in found:
        known = people.get(_person_id(person))
        for key in _PERSONAL:
            if key in person:
                person[key] = getattr(known, key) if known is not None else ""
    return [
        LoggedEvent(
            team_id=team_id,
            seq=seq,
            type=type_,
            data={"redacted": True} if data is None else data,
            payload=REDACTED if data is None else _dumps(data),
            visible_to=visible_to,
            author_id=author_id,
            created_at=created_at,
            actor=_reference(actor_id, people),
            changes=tuple(changes.split(",")) if changes else (),
        )
        for (seq, type_, _payload, visible_to, author_id, created_at, actor_id, changes), data in zip(
            rows, opened, strict=True
        )
    ]


def _reference(user_id: str | None, people: Mapping[str, Any]) -> dict[str, str] | None:
    """Return a user reference {id, email, name, handle} for an event's actor, or None if unknown."""
    known = people.get(user_id) if user_id else None
    if user_id is None or known is None:
        return None
    return {"id": user_id, **{key: str(getattr(known, key) or "") for key in _PERSONAL}}


async def redact_events(
    session: AsyncSession, *conditions: ColumnElement[bool], keep_visibility: bool = True
) -> None:
    """Replace the payloads of the events matching any condition by the redaction marker (seqs stay).

    A private event (a bookmark's) stays private unless `keep_visibility` is false: an erasure must clear it,
    as the row would otherwise go with the erased person (a gap in the log).
    """
    if isinstance(session, UnitOfWork):
        await write_events(session)  # the events recorded in this transaction are redacted too
    values: dict[str, Any] = {"payload": REDACTED, "author_id": None}
    if not keep_visibility:
        values["visible_to"] = None
    await session.execute(
        update(Event).where(or_(*conditions)).values(values).execution_options(synchronize_session=False)
    )
