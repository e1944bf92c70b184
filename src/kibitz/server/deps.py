"""Request dependencies: app state, the request's database session and the caller, as Annotated aliases."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncEngine

from kibitz.server.addresses import HeaderLines, Network, client_address
from kibitz.server.auth.passwords import Passwords
from kibitz.server.auth.service import Caller, authenticate, hash_token
from kibitz.server.auth.throttle import LoginThrottle
from kibitz.server.caches import Caches
from kibitz.server.crypto.sealer import Sealer
from kibitz.server.db import utcnow
from kibitz.server.errors import Forbidden, NotAuthenticated
from kibitz.server.events.broker import Broker
from kibitz.server.events.hub import StreamHub
from kibitz.server.metrics import Metrics
from kibitz.server.permissions import allows, rule_for_request
from kibitz.server.unit_of_work import Sessions, UnitOfWork, transaction
from kibitz.server.wal_checkpoints import WalCheckpoints
from kibitz.settings import Settings


@dataclass
class AppState:
    """What one app instance holds: settings, database, password hasher, event broker and stream hub."""

    settings: Settings
    engine: AsyncEngine
    sessionmaker: Sessions
    sealer: Sealer
    passwords: Passwords
    broker: Broker
    hub: StreamHub
    caches: Caches
    # SQLite allows one writer at a time; queueing writers here, in order, replaces SQLite's busy-wait
    # (sleeps of up to 100 ms) and so removes the long tail of write latency under concurrency.
    write_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    # Parsed once per app: the proxies whose X-Forwarded-For counts (settings.trusted_proxy_networks()).
    trusted_proxies: list[Network] = field(default_factory=list)
    login_throttle: LoginThrottle = field(default_factory=lambda: LoginThrottle("10/minute"))
    metrics: Metrics = field(default_factory=Metrics)
    # SQLite's log copied into its file in the background (None on PostgreSQL or in memory).
    wal_checkpoints: WalCheckpoints | None = None

    def client_address(self, peer: str | None, headers: HeaderLines) -> str | None:
        """Return the address a request comes from (forwarded headers count only from trusted proxies)."""
        address = client_address(peer, headers, self.trusted_proxies)
        return str(address) if address is not None else None


def app_state(request: Request) -> AppState:
    """Return the app's state."""
    state: AppState = request.app.state.kibitz
    return state


async def get_state(request: Request) -> AppState:
    """Return the app's state (async, so FastAPI does not hand it to a worker thread)."""
    return app_state(request)


_WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Hashing a password takes tens of milliseconds on purpose; holding the write lock meanwhile would make every
# writer wait for every login, so these write without it (SQLite's busy timeout still orders them).
_SLOW_AUTH_PATHS = frozenset({"/api/v1/auth/login", "/api/v1/auth/signup"})


async def get_session(request: Request) -> AsyncIterator[UnitOfWork]:
    """Give the request one session and transaction: commit if the route returns, roll back if it raises.

    Events recorded in the transaction are announced to the broker only after the commit succeeded.
    """
    state = app_state(request)
    serialise = (
        state.settings.is_sqlite
        and request.method in _WRITE_METHODS
        and request.url.path not in _SLOW_AUTH_PATHS
    )
    async with (
        state.write_lock if serialise else contextlib.nullcontext(),
        transaction(state.sessionmaker) as work,
    ):
        yield work


_bearer = HTTPBearer(auto_error=False, description="An API token from POST /api/v1/auth/login.")

State = Annotated[AppState, Depends(get_state)]
# The bearer token of a request, if it sent one (for routes that also answer browsers, like the permalink).
BearerCredentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
# scope="function": the transaction commits before the response is sent, so a 2xx means it is stored.
DbSession = Annotated[UnitOfWork, Depends(get_session, scope="function")]


def required_scope(request: Request) -> str:
    """Return the token scope the matched route needs (docs/security.md's permission matrix).

    A route not in the table needs a scope no token has, so a route added without a rule is refused, not open.
    """
    route = request.scope.get("route")
    rule = rule_for_request(request.method, request.url.path, getattr(route, "path", ""))
    return rule.scope if rule is not None else "unlisted"


async def get_caller(request: Request, session: DbSession, credentials: BearerCredentials) -> Caller:
    """Authenticate the bearer token and check its scope against the route's rule.

    A token seen in the last half second is not looked up again.
    """
    if credentials is None:
        raise NotAuthenticated()
    state = app_state(request)  # not a dependency of its own: each costs more than this
    caller = state.caches.callers.get(hash_token(credentials.credentials))
    if caller is None or caller.expires_at <= utcnow():
        caller = await authenticate(session, credentials.credentials)
        state.caches.callers[caller.token_hash] = caller
    needed = required_scope(request)
    if not allows(caller.scopes, needed):
        raise Forbidden(f"This token lacks the {needed} scope.", {"needed_scope": needed})
    # The address belongs to this request, not to the token: it is added after the cache, never stored in it.
    peer = request.client.host if request.client else None
    return dataclasses.replace(caller, address=state.client_address(peer, request.headers))


CurrentCaller = Annotated[Caller, Depends(get_caller)]
