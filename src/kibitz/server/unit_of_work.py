"""The unit of work: the app's database session, carrying the sealer and what to do once it commits.

Every session the app makes is a `UnitOfWork` (`make_sessionmaker`). Services that seal, open or index take
one, and reach the keystore's keys through `session.sealer`; services that change something queue its
event's doorbell with `publish_after_commit`; routes queue what else must wait for the commit (forgetting
cached callers and roles, so no concurrent request caches the state the commit replaces) with
`after_commit`. The session runs them when its transaction commits and drops them when it rolls back, so
nothing leaves a transaction that did not happen. A plain `AsyncSession` has neither attribute, so passing
one to such a service is a type error, not a failure at run time.

Only the edges commit: a request (`deps.get_session`), the erasure routes and sweeper, the app's start-up,
refusals' audit records and operator commands, each through `transaction`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from kibitz.server.crypto.sealer import Sealer

# Rings the broker: "team T has events up to seq N".
Doorbell = Callable[[str, int], Awaitable[None]]
# Something to do once the transaction is committed (forget a cached role): a function, or a coroutine's.
AfterCommit = Callable[[], Awaitable[None] | None]


class UnitOfWork(AsyncSession):
    """A session made by the app: its sealer, and the doorbells and actions waiting for its commit."""

    def __init__(self, *args: Any, sealer: Sealer, doorbell: Doorbell | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sealer = sealer
        self._doorbell = doorbell
        self._doorbells: dict[str, int] = {}
        self._actions: list[AfterCommit] = []

    def publish_after_commit(self, team_id: str, seq: int) -> None:
        """Announce the team's log up to `seq` to the broker once this transaction commits (never before)."""
        self._doorbells[team_id] = max(seq, self._doorbells.get(team_id, 0))

    def after_commit(self, action: AfterCommit) -> None:
        """Run `action` once this transaction commits, after its doorbells; a rollback drops it."""
        self._actions.append(action)

    def _take(self) -> tuple[dict[str, int], list[AfterCommit]]:
        taken = self._doorbells, self._actions
        self._doorbells, self._actions = {}, []
        return taken

    async def commit(self) -> None:
        """Commit, then ring the queued doorbells (in a process without a broker they are dropped: other
        processes poll) and run the queued actions, in order."""
        try:
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
async def transaction(sessions: Sessions) -> AsyncIterator[UnitOfWork]:
    """Give one unit of work: commit it when the block ends, roll it back when the block raises."""
    async with sessions() as session:
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise
        await session.commit()
