"""Doorbells between server processes: "team T has events up to seq N".

In-process by default; Redis pub/sub when `KIBITZ_REDIS_URL` is set, so that every process behind a load
balancer hears about every commit. The broker is only a hint: the log in the database is the truth, and
subscribers also poll it, so a lost message (or a Redis outage) only delays delivery.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

log = logging.getLogger("kibitz.server.broker")

Ring = Callable[[str, int], Awaitable[None]]
CHANNEL = "kibitz:events"


class Broker(Protocol):
    """Carries doorbells to every server process, this one included."""

    async def start(self, ring: Ring) -> None:
        """Start delivering doorbells to `ring`."""

    async def publish(self, team_id: str, seq: int) -> None:
        """Announce that the team's log reaches `seq`."""

    async def stop(self) -> None:
        """Stop delivering and release connections."""


class InProcessBroker:
    """The broker of a single server process."""

    def __init__(self) -> None:
        self._ring: Ring | None = None

    async def start(self, ring: Ring) -> None:
        """Start delivering doorbells to `ring`."""
        self._ring = ring

    async def publish(self, team_id: str, seq: int) -> None:
        """Ring this process's subscribers directly."""
        if self._ring is not None:
            await self._ring(team_id, seq)

    async def stop(self) -> None:
        """Stop delivering."""
        self._ring = None


class RedisBroker:
    """A broker shared by every process through one Redis pub/sub channel."""

    def __init__(self, url: str) -> None:
        from redis.asyncio import Redis

        self._redis = Redis.from_url(url, socket_connect_timeout=5, health_check_interval=15)
        self._task: asyncio.Task[None] | None = None
        self._ring: Ring | None = None

    async def start(self, ring: Ring) -> None:
        """Subscribe to the channel and deliver what arrives to `ring`, reconnecting after failures."""
        self._ring = ring
        await self._redis.ping()
        self._task = asyncio.create_task(self._listen(), name="kibitz-redis-broker")

    async def _listen(self) -> None:
        delay = 0.5
        while True:
            try:
                async with self._redis.pubsub() as pubsub:
                    await pubsub.subscribe(CHANNEL)
                    delay = 0.5
                    async for message in pubsub.listen():
                        if message.get("type") != "message":
                            continue
                        await self._deliver(message.get("data"))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the poll fallback covers the outage; keep trying
                log.warning("redis broker disconnected: %s", type(exc).__name__)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)

    async def _deliver(self, data: object) -> None:
        text = data.decode() if isinstance(data, bytes) else str(data)
        team_id, _, seq = text.partition(":")
        if self._ring is not None and seq.isdigit():
            await self._ring(team_id, int(seq))

    async def publish(self, team_id: str, seq: int) -> None:
        """Publish the doorbell; a failure is logged, never raised: the commit already happened."""
        try:
            await self._redis.publish(CHANNEL, f"{team_id}:{seq}")
        except Exception as exc:
            log.warning("redis publish failed: %s", type(exc).__name__)

    async def stop(self) -> None:
        """Stop listening and close the connection."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._redis.aclose()
