"""Work the server repeats in the background, every so many seconds, from its start until its stop."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable


class Periodic:
    """Runs ``work`` every ``interval`` seconds in a task of its own, between ``start`` and ``stop``.

    ``work`` handles its own failures (each caller logs them its way): one that escapes ends the task.
    """

    def __init__(self, name: str, interval: float, work: Callable[[], Awaitable[None]]) -> None:
        self._name = name
        self._interval = interval
        self._work = work
        self._task: asyncio.Task[None] | None = None

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            await self._work()

    def start(self) -> None:
        """Start the rounds in the background."""
        self._task = asyncio.create_task(self._loop(), name=self._name)

    async def stop(self) -> None:
        """Stop the rounds (one under way is cancelled at its next wait)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
