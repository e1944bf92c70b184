"""The unit of work: an event's doorbell and after-commit actions leave a transaction only when it commits.

Observed through the real app and its in-process broker: the broker's doorbells reach the app's caches
(the newest seq heard per team) and its `kibitz_events_published` counter.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy import select

import kibitz.server
from kibitz.server.deps import AppState
from kibitz.server.events.models import Event
from kibitz.server.events.service import REDACTED, head_seq, record_event, redact_events
from kibitz.server.teams.models import Team
from kibitz.server.unit_of_work import transaction
from tests.server.conftest import Api


def published(state: AppState) -> float:
    """Return how many doorbells the app has published."""
    value = state.metrics.registry.get_sample_value("kibitz_events_published_total")
    assert value is not None
    return value


async def test_a_rolled_back_transaction_publishes_nothing_and_a_committed_one_publishes_once(
    api: Api, app: FastAPI
) -> None:
    ada = await api.person("Ada")
    team = await api.team(ada)
    state: AppState = app.state.kibitz
    count, heard = published(state), state.caches.heads.get(team, 0)
    async with state.sessionmaker() as session:
        start = await head_seq(session, team)
    actions: list[str] = []

    async def act() -> None:
        actions.append("ran")

    async with state.sessionmaker() as session:
        await record_event(session, team, "member.updated", {"team_id": team, "user_id": ada.id})
        session.after_commit(act)
        await session.rollback()

    async def failing_route() -> None:
        async with transaction(state.sessionmaker) as session:
            await record_event(session, team, "member.updated", {"team_id": team, "user_id": ada.id})
            session.after_commit(act)
            raise RuntimeError("the route failed")

    with pytest.raises(RuntimeError):
        await failing_route()
    # Closed without a commit: nothing was stored, so nothing is announced.
    async with state.sessionmaker() as session:
        await record_event(session, team, "member.updated", {"team_id": team, "user_id": ada.id})
        session.after_commit(act)
    assert (published(state), state.caches.heads.get(team, 0), actions) == (count, heard, [])

    async with transaction(state.sessionmaker) as session:
        await record_event(session, team, "member.updated", {"team_id": team, "user_id": ada.id})
        await record_event(session, team, "member.updated", {"team_id": team, "user_id": ada.id})
        session.after_commit(act)
        session.after_commit(lambda: actions.append("then this"))
        assert (published(state), state.caches.heads.get(team, 0), actions) == (count, heard, [])
    # Both written, numbered one after the other; one doorbell for the team, at its newest seq, then the
    # actions in order.
    seq = start + 2
    assert (published(state), state.caches.heads[team], actions) == (count + 1, seq, ["ran", "then this"])
    async with state.sessionmaker() as session:
        assert await head_seq(session, team) == seq


def test_only_the_unit_of_work_commits_a_session() -> None:
    # Routes and services never commit; the edges do, through `transaction` (migrations commit their own
    # connection, outside any session).
    server = Path(kibitz.server.__file__).parent
    committing = sorted(
        path.relative_to(server).as_posix()
        for path in server.rglob("*.py")
        if "migrations" not in path.parts and ".commit()" in path.read_text(encoding="utf-8")
    )
    assert committing == ["migrate.py", "unit_of_work.py"]


async def test_events_are_numbered_when_written_and_a_transaction_reading_the_log_sees_its_own(
    api: Api, app: FastAPI
) -> None:
    ada = await api.person("Ada")
    first, second = await api.team(ada, "first"), await api.team(ada, "second")
    state: AppState = app.state.kibitz
    async with state.sessionmaker() as session:
        starts = {team: await head_seq(session, team) for team in (first, second)}
    async with transaction(state.sessionmaker) as session:
        for team in (second, first, second):
            await record_event(
                session, team, "reply.added", {"id": "r1", "text": "kept"}, author_id=ada.id, subject_id="r1"
            )
        # Reading the log writes what this transaction recorded first: the seqs are taken, gaplessly.
        assert await head_seq(session, second) == starts[second] + 2
        await record_event(
            session, first, "reply.added", {"id": "r2", "text": "gone"}, author_id=ada.id, subject_id="r2"
        )
        # A redaction reaches an event recorded in the same transaction, not written yet.
        await redact_events(session, Event.subject_id == "r2")
    async with state.sessionmaker() as session:
        rows = (
            await session.execute(
                select(Event.team_id, Event.seq, Event.payload)
                .where(Event.team_id.in_([first, second]), Event.type == "reply.added")
                .order_by(Event.team_id, Event.seq)
            )
        ).all()
        heads = {team: await head_seq(session, team) for team in (first, second)}
    assert heads == {first: starts[first] + 2, second: starts[second] + 2}
    seqs = {team: [seq for t, seq, _payload in rows if t == team] for team in (first, second)}
    assert seqs == {team: [starts[team] + 1, starts[team] + 2] for team in (first, second)}
    redacted = [(t, seq) for t, seq, payload in rows if payload == REDACTED]
    assert redacted == [(first, starts[first] + 2)]


async def test_a_unit_of_work_refuses_begin(app: FastAPI) -> None:
    # `begin()` commits through SQLAlchemy's transaction object, which would skip writing the events.
    state: AppState = app.state.kibitz
    async with state.sessionmaker() as session:
        with pytest.raises(TypeError, match="commit"):
            session.begin()


async def test_a_flushed_connection_sees_what_the_session_changed_in_memory(api: Api, app: FastAPI) -> None:
    ada = await api.person("Ada")
    team = await api.team(ada)
    state: AppState = app.state.kibitz
    seq = Team.__table__.c.event_seq
    async with state.sessionmaker() as session:
        row = await session.get(Team, team)
        assert row is not None
        before = row.event_seq
        row.event_seq = before + 1000
        connection = await session.flushed_connection()
        # A Core statement on the connection reads a change the session had only in memory: it was flushed.
        assert await connection.scalar(select(seq).where(Team.__table__.c.id == team)) == before + 1000
        assert not session.dirty
        await session.rollback()
    async with state.sessionmaker() as session:
        assert await session.scalar(select(seq).where(Team.__table__.c.id == team)) == before
