"""Run async work from a synchronous operator command, in one transaction of the configured database."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from kibitz.server.offline import opened
from kibitz.settings import Settings

T = TypeVar("T")


def in_transaction(
    settings: Settings, work: Callable[[AsyncSession], Awaitable[T]], *, migrate: bool = True
) -> T:
    """Run ``work`` in one session of the configured database (migrated first) and commit what it did."""

    async def run() -> T:
        async with opened(settings, migrate=migrate) as db, db.sessions() as session:
            result = await work(session)
            await session.commit()
            return result

    return asyncio.run(run())
