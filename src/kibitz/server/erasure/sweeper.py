"""Finishing erasures: the edge that commits an erasure's second step (destroying its keys).

A request is normally finished by the route that made it (`finish_now`), a moment after its deletion
committed, in a transaction of its own. If the process died in
between (or the keystore was briefly unreachable), the request stays `pending`; every process sweeps every
10 seconds and finishes requests older than 15 seconds (younger ones are probably being finished by their
route), so an erasure completes within a minute. Finishing is idempotent, so two processes finishing the
same request at once do no harm.
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import select

from kibitz.server.db import checkpoint_wal, utcnow
from kibitz.server.erasure.models import ErasureRequest
from kibitz.server.erasure.service import finish_erasure
from kibitz.server.periodic import Periodic
from kibitz.server.unit_of_work import Sessions, transaction
from kibitz.settings import Settings

log = logging.getLogger("kibitz.server.erasure")

SWEEP_SECONDS = 10.0
GRACE = dt.timedelta(seconds=15)


async def finish_now(sessions: Sessions, settings: Settings, request_id: str) -> ErasureRequest | None:
    """Finish a committed request in a transaction of its own; return it, or None if it is not pending.

    On failure it stays pending, for the sweeper (the rows are gone already; it retries within a minute).
    An edge helper: the routes call it once the deletion committed, the sweeper for what they left.
    """
    try:
        async with transaction(sessions) as session:
            request = await session.get(ErasureRequest, request_id)
            if request is None or request.status != "pending":
                return None
            await finish_erasure(session, settings, request)
    except Exception as exc:  # one stuck request must not hold up the answer or the others
        log.warning("erasure %s left for the sweeper: %s", request_id, type(exc).__name__)
        return None
    try:
        await checkpoint_wal(sessions)
    except Exception as exc:  # the erasure is done; a busy log is emptied by the next checkpoint
        log.warning("erasure %s: the write-ahead log was not emptied: %s", request_id, type(exc).__name__)
    return request


async def finish_pending(
    sessions: Sessions, settings: Settings, *, older_than: dt.timedelta = dt.timedelta(0)
) -> int:
    """Finish every pending request made more than `older_than` ago, one transaction each; return how many."""
    cutoff = utcnow() - older_than
    async with sessions() as session:
        ids = list(
            await session.scalars(
                select(ErasureRequest.id)
                .where(ErasureRequest.status == "pending", ErasureRequest.requested_at <= cutoff)
                .order_by(ErasureRequest.requested_at)
            )
        )
    finished = 0
    for request_id in ids:
        finished += await finish_now(sessions, settings, request_id) is not None
    return finished


class ErasureSweeper:
    """Finishes pending erasure requests in the background."""

    def __init__(
        self,
        sessionmaker: Sessions,
        settings: Settings,
        *,
        interval: float = SWEEP_SECONDS,
        grace: dt.timedelta = GRACE,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._settings = settings
        self._grace = grace
        self._every = Periodic("kibitz-erasure-sweep", interval, self._round)

    async def sweep(self, *, grace: dt.timedelta | None = None) -> int:
        """Finish the pending requests older than the grace period; return how many were finished."""
        return await finish_pending(
            self._sessionmaker, self._settings, older_than=self._grace if grace is None else grace
        )

    async def _round(self) -> None:
        try:
            finished = await self.sweep()
        except Exception as exc:  # a database hiccup must not end the sweeper; the next round retries
            log.warning("erasure sweep failed: %s", type(exc).__name__)
            return
        if finished:
            log.info("erasure sweep finished %d pending requests", finished)

    def start(self) -> None:
        """Start sweeping in the background."""
        self._every.start()

    async def stop(self) -> None:
        """Stop sweeping (a sweep under way is cancelled; it is safe to redo)."""
        await self._every.stop()
