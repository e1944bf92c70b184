"""The unit of work: the app's database session, carrying the sealer and what to do once it commits.

Every session the app makes is a `UnitOfWork` (`make_sessionmaker`). Services that seal, open or index take
one, and reach the keystore's keys through `session.sealer`; services that change something record its
event in `pending_events` (events/service.py writes them, numbered, just before the commit, and queues
their doorbell with `publish_after_commit`); routes queue what else must wait for the commit (forgetting
cached callers and roles, so no concurrent request caches the state the commit replaces) with
`after_commit`. The session runs them when its transaction commits and drops them when it rolls back, so
nothing leaves a transaction that did not happen. A plain `AsyncSession` has none of these attributes, so
passing one to such a service is a type error, not a failure at run time.

Only the edges commit: a request (`deps.get_session`), the erasure routes and sweeper, the app's start-up,
refusals' audit records and operator commands, each through `transaction`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, nullcontext
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from kibitz.server.crypto.sealer import Owner, Sealer
from kibitz.server.sqlite_driver import off_the_loop

# Rings the broker: "team T has events up to seq N".
Doorbell = Callable[[str, int], Awaitable[None]]
# Something to do once the transaction is committed (forget a cached role): a function, or a coroutine's.
AfterCommit = Callable[[], Awaitable[None] | None]
# Something to write before the transaction commits (the events recorded in it).
BeforeCommit = Callable[[], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class PendingEvent:
    """An event recorded in a transaction and not written yet: its seq is taken when it is written."""

    team_id: str
    type: str
    # The payload as JSON, people stripped (events/service.py), sealed for `owner` once its seq is known.
    payload: str
    owner: Owner
    visible_to: str | None
    author_id: str | None
    codemark_id: str | None
    subject_id: str | None
    actor_id: str | None
    changes: str | None
    created_at: dt.datetime


class UnitOfWork(AsyncSession):
    """A session made by the app: its sealer, and the doorbells and actions waiting for its commit."""

    def __init__(self, *args: Any, sealer: Sealer, doorbell: Doorbell | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sealer = sealer
        self._doorbell = doorbell
        self._doorbells: dict[str, int] = {}
        self._actions: list[AfterCommit] = []
        self.pending_events: list[PendingEvent] = []
        self._writers: list[BeforeCommit] = []

    async def flushed_connection(self) -> AsyncConnection:
        """Return the transaction's connection, the objects added to the session written first.

        For Core statements on the hot paths: the session's own `execute` costs about twice as much per
        statement, and what it adds is this flush (its autoflush), which the rows written next may need.
        """
        if self.new or self.deleted or self.dirty:
            await self.flush()
        return await self.connection()

    def publish_after_commit(self, team_id: str, seq: int) -> None:
        """Announce the team's log up to `seq` to the broker once this transaction commits (never before)."""
        self._doorbells[team_id] = max(seq, self._doorbells.get(team_id, 0))

    def after_commit(self, action: AfterCommit) -> None:
        """Run `action` once this transaction commits, after its doorbells; a rollback drops it."""
        self._actions.append(action)

    def before_commit(self, writer: BeforeCommit) -> None:
        """Run `writer` in this transaction just before it commits; a rollback drops it."""
        self._writers.append(writer)

    def _take(self) -> tuple[dict[str, int], list[AfterCommit]]:
        taken = self._doorbells, self._actions
        self._doorbells, self._actions = {}, []
        self.pending_events, self._writers = [], []
        return taken

    async def commit(self) -> None:
        """Run the writers, commit, then ring the queued doorbells (in a process without a broker they are
        dropped: other processes poll) and run the queued actions, in order."""
        try:
            while self._writers:
                await self._writers.pop(0)()
            await super().commit()
        finally:
            doorbells, actions = self._take()
        if self._doorbell is not None:
            for team_id, seq in doorbells.items():
                await self._doorbell(team_id, seq)
        for action in actions:
            pending = action()
            if pending is not None:
                await pending

    def begin(self) -> Any:
        """Refused: a transaction is committed with `commit` (or `transaction`), which writes its events."""
        raise TypeError("commit a unit of work with commit() or transaction(), not begin()")

    async def rollback(self) -> None:
        """Roll back and drop what was waiting for the commit."""
        self._take()
        await super().rollback()

    async def close(self) -> None:
        """Close; an uncommitted transaction's doorbells and actions go with it."""
        self._take()
        await super().close()


Sessions = async_sessionmaker[UnitOfWork]


def make_sessionmaker(engine: AsyncEngine, sealer: Sealer, doorbell: Doorbell | None = None) -> Sessions:
    """Return the factory of the app's units of work; objects stay readable after commit for the answers."""
    return async_sessionmaker(
        engine, class_=UnitOfWork, expire_on_commit=False, sealer=sealer, doorbell=doorbell
    )


@asynccontextmanager
async def transaction(sessions: Sessions, *, long: bool = False) -> AsyncIterator[UnitOfWork]:
    """Give one unit of work: commit it when the block ends, roll it back when the block raises.

    `long`: work known to take seconds (an erasure); on SQLite its statements then leave the event loop's
    thread (`sqlite_driver.off_the_loop`), so that other requests are served meanwhile.
    """
    with off_the_loop() if long else nullcontext():
        async with sessions() as session:
            try:
                yield session
            except BaseException:
                await session.rollback()
                raise
            await session.commit()
