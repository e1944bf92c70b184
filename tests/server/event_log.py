"""Read a team's event log from the database (opened, people filled in), and fold it into a client's state."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI
from sqlalchemy import func, select

from kibitz.server.events.models import Event
from kibitz.server.events.service import head_seq, read_events


@dataclass(frozen=True)
class LoggedEvent:
    """One row of the event log, with its payload decoded."""

    seq: int
    type: str
    data: dict[str, Any]
    visible_to: str | None


async def team_events(app: FastAPI, team_id: str, after: int = 0) -> list[LoggedEvent]:
    """Return the team's events after `after`, in seq order."""
    async with app.state.kibitz.sessionmaker() as session:
        upto = await head_seq(session, team_id)
        rows = await read_events(session, team_id, after, upto, limit=1_000_000)
        return [LoggedEvent(e.seq, e.type, json.loads(e.payload), e.visible_to) for e in rows]


async def head(app: FastAPI, team_id: str) -> int:
    """Return the seq of the team's newest event row (0 when there is none)."""
    # The highest seq in the log itself, not the team's counter, and without opening every payload: tests
    # call this around each request, and the log grows with them.
    async with app.state.kibitz.sessionmaker() as session:
        newest = await session.scalar(select(func.max(Event.seq)).where(Event.team_id == team_id))
        return int(newest or 0)


def assert_gap_free(events: list[LoggedEvent], after: int = 0) -> None:
    """Check that the seqs run after+1, after+2, … without a gap or a repeat."""
    assert [e.seq for e in events] == list(range(after + 1, after + 1 + len(events)))


@dataclass
class ClientState:
    """What a client that applies every event it sees knows about codemarks and replies."""

    codemarks: dict[str, dict[str, Any]] = field(default_factory=dict)
    replies: dict[str, dict[str, Any]] = field(default_factory=dict)

    def apply(self, event: LoggedEvent) -> None:
        """Apply one event the way a live client would."""
        data = event.data
        if data.get("redacted"):
            # Its codemark or reply was deleted since (an event saying so follows), or its writer erased.
            return
        if event.type in ("codemark.created", "codemark.updated"):
            self.codemarks[data["id"]] = data
        elif event.type == "codemark.deleted":
            self.codemarks.pop(data["id"], None)
            self.replies = {k: r for k, r in self.replies.items() if r["codemark_id"] != data["id"]}
        elif event.type in ("reply.added", "reply.edited", "reply.deleted"):
            # A reply event carries the reply; the thread's count follows from it.
            codemark = self.codemarks.get(data["codemark_id"])
            if codemark is not None:
                was_live = data["id"] in self.replies and not self.replies[data["id"]]["deleted"]
                codemark["reply_count"] += int(not data["deleted"]) - int(was_live)
            self.replies[data["id"]] = data
        elif event.type in ("reaction.added", "reaction.removed"):
            target = (
                self.replies.get(data["reply_id"])
                if data["reply_id"]
                else self.codemarks.get(data["codemark_id"])
            )
            if target is not None:
                target["reactions"] = data["reactions"]
