"""Run async work from a synchronous operator command, in one transaction of the configured database."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from kibitz.server.offline import opened
from kibitz.server.unit_of_work import UnitOfWork, transaction
from kibitz.settings import Settings

T = TypeVar("T")


def in_transaction(
    settings: Settings, work: Callable[[UnitOfWork], Awaitable[T]], *, migrate: bool = True
) -> T:
    """Run ``work`` in one session of the configured database (migrated first) and commit what it did."""

    async def run() -> T:
        async with opened(settings, migrate=migrate) as db, transaction(db.sessions) as session:
            result = await work(session)
        return result

    return asyncio.run(run())
