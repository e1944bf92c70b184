"""Login throttling: at most N attempts per account and per client address in a moving window; sign-ups
likewise, per client address.

Built on the `limits` library. The counters live in this process's memory by default, or in Redis when
`KIBITZ_REDIS_URL` is set, so that every server process behind a load balancer shares them. The moving window
(not a fixed one) is used because a fixed window lets an attacker spend the limit twice around a window's
boundary (10 attempts at 12:00:59 and 10 more at 12:01:00); the moving window counts the last 60 seconds
exactly, and its cost (one timestamp per attempt, at most N per key) is small at login rates.

An IPv6 client is counted by its /64 network: one subscriber or host usually holds a whole /64, so counting
single IPv6 addresses would let it take a fresh one for every guess.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import math
import time
from typing import Any

from cachetools import TTLCache
from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from redis.asyncio import ConnectionPool

from kibitz.server.errors import TooManyAttempts

KEY_PREFIX = "kibitz-login"
IPV6_PREFIX = 64


def address_key(address: str) -> str:
    """Return what an address is counted as: itself for IPv4, its /64 network for IPv6."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(parsed, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((parsed, IPV6_PREFIX), strict=False))
    return address


class LoginThrottle:
    """Counts login attempts per account (normalised email) and per client address."""

    def __init__(self, limit: str, redis_url: str = "", signup_limit: str | None = None) -> None:
        self.limit: RateLimitItem = parse(limit)
        # Sign-ups are counted per address alone (there is no account yet), in the same storage.
        self.signup_limit: RateLimitItem = parse(signup_limit or limit)
        self._pool: ConnectionPool | None = None
        self.storage: Storage
        if redis_url:
            # Our own pool, so that `close` can let go of its connections; redis-py is already a dependency
            # (the event broker), and limits would otherwise want coredis.
            self._pool = ConnectionPool.from_url(redis_url, socket_connect_timeout=5)
            options: dict[str, Any] = {"connection_pool": self._pool}
            self.storage = RedisStorage(
                "async+" + redis_url, implementation="redispy", key_prefix=KEY_PREFIX, **options
            )
        else:
            self.storage = MemoryStorage()
        self._limiter = MovingWindowRateLimiter(self.storage)
        # Which (account, address) pairs this process has reported throttled in the current window.
        self._reported: TTLCache[tuple[str, str | None], bool] = TTLCache(
            maxsize=100_000, ttl=self.limit.get_expiry()
        )

    async def close(self) -> None:
        """Let go of the Redis connections, or stop the in-memory storage's expiry task."""
        if self._pool is not None:
            await self._pool.aclose()
        elif isinstance(self.storage, MemoryStorage) and self.storage.timer is not None:
            self.storage.timer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.storage.timer

    def _keys(self, email: str, address: str | None) -> list[tuple[str, str]]:
        # An unknown address (a Unix socket, say) is not counted: every such request would share one bucket.
        keys = [("account", email)]
        if address:
            keys.append(("address", address_key(address)))
        return keys

    async def attempt(self, email: str, address: str | None) -> None:
        """Count one attempt, or raise TooManyAttempts (with the seconds to wait) if either limit is spent.

        A refused attempt is not counted, so the wait ends when the oldest counted attempt leaves the window.
        """
        keys = self._keys(email, address)
        for kind, value in keys:
            if not await self._limiter.test(self.limit, kind, value):
                raise TooManyAttempts(await self._retry_after(kind, value), self._message(kind))
        for kind, value in keys:
            # `hit` checks and counts atomically: a concurrent attempt may have spent the last slot.
            if not await self._limiter.hit(self.limit, kind, value):
                raise TooManyAttempts(await self._retry_after(kind, value), self._message(kind))

    async def attempt_signup(self, address: str | None) -> None:
        """Count one sign-up from `address`; over the limit, raise TooManyAttempts with the seconds to wait.

        Unknown addresses are not counted, as for logins.
        """
        if not address:
            return
        key = address_key(address)
        if not await self._limiter.hit(self.signup_limit, "signup-address", key):
            stats = await self._limiter.get_window_stats(self.signup_limit, "signup-address", key)
            raise TooManyAttempts(
                max(1, math.ceil(stats.reset_time - time.time())),
                "Too many sign-ups from your address; wait before trying again.",
            )

    async def _retry_after(self, kind: str, value: str) -> int:
        stats = await self._limiter.get_window_stats(self.limit, kind, value)
        return max(1, math.ceil(stats.reset_time - time.time()))

    def _message(self, kind: str) -> str:
        what = "this account" if kind == "account" else "your address"
        return f"Too many login attempts for {what}; wait before trying again."

    def first_refusal(self, email: str, address: str | None) -> bool:
        """Tell whether this is this process's first refusal of this account and address in this window."""
        # So that a flood of refused attempts leaves one audit record, not thousands.
        if (email, address) in self._reported:
            return False
        self._reported[(email, address)] = True
        return True
