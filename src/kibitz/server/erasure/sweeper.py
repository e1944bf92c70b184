"""The app's erasure sweeper: finishes requests whose deletion committed but whose keys are not destroyed yet.

A request is normally finished by the route that made it, a moment after its commit. If the process died in
between (or the keystore was briefly unreachable), the request stays `pending`; every process sweeps every
10 seconds and finishes requests older than 15 seconds (younger ones are probably being finished by their
route), so an erasure completes within a minute. Finishing is idempotent, so two processes finishing the
same request at once do no harm.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging

from kibitz.server.crypto.sealer import Sealer
from kibitz.server.erasure.service import finish_pending
from kibitz.server.unit_of_work import Sessions
from kibitz.settings import Settings

log = logging.getLogger("kibitz.server.erasure")

SWEEP_SECONDS = 10.0
GRACE = dt.timedelta(seconds=15)


class ErasureSweeper:
    """Finishes pending erasure requests in the background."""

    def __init__(
        self,
        sessionmaker: Sessions,
        settings: Settings,
        sealer: Sealer,
        *,
        interval: float = SWEEP_SECONDS,
        grace: dt.timedelta = GRACE,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._settings = settings
        self._sealer = sealer
        self._interval = interval
        self._grace = grace
        self._task: asyncio.Task[None] | None = None

    async def sweep(self, *, grace: dt.timedelta | None = None) -> int:
        """Finish the pending requests older than the grace period; return how many were finished."""
        return await finish_pending(
            self._sessionmaker,
            self._settings,
            self._sealer,
            older_than=self._grace if grace is None else grace,
        )

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                finished = await self.sweep()
            except Exception as exc:  # a database hiccup must not end the sweeper; the next round retries
                log.warning("erasure sweep failed: %s", type(exc).__name__)
                continue
            if finished:
                log.info("erasure sweep finished %d pending requests", finished)

    def start(self) -> None:
        """Start sweeping in the background."""
        self._task = asyncio.create_task(self._loop(), name="kibitz-erasure-sweep")

    async def stop(self) -> None:
        """Stop sweeping (a sweep under way is cancelled; it is safe to redo)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
