"""The application factory: `create_app(settings)` wires the routers, the errors and the database."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI

import kibitz
from kibitz.server.audit.routes import router as audit_router
from kibitz.server.auth.passwords import Passwords
from kibitz.server.auth.routes import router as auth_router
from kibitz.server.auth.throttle import LoginThrottle
from kibitz.server.auth.token_routes import router as tokens_router
from kibitz.server.caches import Caches
from kibitz.server.codemarks.routes import router as codemarks_router
from kibitz.server.crypto.legacy import seal_legacy_rows, seal_plaintext_names
from kibitz.server.crypto.sealer import Sealer
from kibitz.server.db import make_engine, sqlite_file
from kibitz.server.deps import AppState
from kibitz.server.erasure.routes import router as erasure_router
from kibitz.server.erasure.sweeper import ErasureSweeper
from kibitz.server.error_handlers import ERROR_RESPONSES, install_error_handlers
from kibitz.server.events.broker import Broker, InProcessBroker, RedisBroker
from kibitz.server.events.hub import StreamHub
from kibitz.server.events.stream import router as stream_router
from kibitz.server.export.routes import router as export_router
from kibitz.server.flat_routes import add_routes
from kibitz.server.headers import SecurityHeaders
from kibitz.server.inbox.routes import router as inbox_router
from kibitz.server.locations.routes import router as locations_router
from kibitz.server.logs import AccessLog
from kibitz.server.metrics import Metrics
from kibitz.server.middleware import RequestGuard
from kibitz.server.migrate import upgrade
from kibitz.server.offline import attach_keystore
from kibitz.server.operations import router as operations_router
from kibitz.server.repos.routes import router as repos_router
from kibitz.server.search.routes import router as search_router
from kibitz.server.storage import StorageHealth, protect_data_directory
from kibitz.server.teams.allowlist_routes import router as allowlist_router
from kibitz.server.teams.routes import router as teams_router
from kibitz.server.unit_of_work import make_sessionmaker, transaction
from kibitz.server.wal_checkpoints import WalCheckpoints
from kibitz.server.web import web_routers
from kibitz.settings import Settings

API_PREFIX = "/api/v1"

log = logging.getLogger(__name__)


# The API's routers, in the order requests try them: codemarks first, as an editor's listing and a thread's
# replies are most of the traffic (each route tried before the right one costs a few microseconds). No two
# routers' routes answer the same method and path (tests/server/test_app.py), so the order decides nothing
# else.
def api_routers() -> tuple[APIRouter, ...]:
    """Return the routers of the `/api/v1` routes, most used first."""
    return (
        codemarks_router,
        auth_router,
        tokens_router,
        teams_router,
        allowlist_router,
        audit_router,
        repos_router,
        locations_router,
        inbox_router,
        search_router,
        stream_router,
        export_router,
        erasure_router,
    )


def create_app(settings: Settings, *, migrate: bool = True) -> FastAPI:
    """Build the ASGI app; the database is opened (and migrated) when the app starts."""
    engine = make_engine(settings)
    sealer = Sealer(enabled=settings.encrypt_at_rest)
    broker: Broker = RedisBroker(settings.redis_url) if settings.redis_url else InProcessBroker()
    metrics = Metrics()

    async def publish(team_id: str, seq: int) -> None:
        await broker.publish(team_id, seq)
        metrics.events.inc()

    sessionmaker = make_sessionmaker(engine, sealer, publish)
    hub = StreamHub(
        sessionmaker, queue_size=settings.stream_queue_size, poll_seconds=settings.stream_poll_seconds
    )
    state = AppState(
        settings=settings,
        engine=engine,
        sessionmaker=sessionmaker,
        sealer=sealer,
        passwords=Passwords(fast=settings.fast_password_hashing),
        broker=broker,
        hub=hub,
        caches=Caches(heads_are_exact=not settings.redis_url),
        trusted_proxies=settings.trusted_proxy_networks(),
        login_throttle=LoginThrottle(settings.login_rate_limit, settings.redis_url, settings.signup_limit()),
        metrics=metrics,
    )

    sealer.on_drop(state.caches.drop_content)

    # Finishes erasures interrupted between their commit and the destruction of their keys.
    erasures = ErasureSweeper(sessionmaker, settings)
    database_file = sqlite_file(settings)
    checkpoints = WalCheckpoints(database_file) if database_file is not None else None
    state.wal_checkpoints = checkpoints

    async def ring(team_id: str, seq: int) -> None:
        state.caches.heard(team_id, seq)
        await hub.ring(team_id, seq)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if migrate:
            await upgrade(engine)
        try:
            keystore = await attach_keystore(settings, sealer, engine)
        except BaseException:
            # A keystore that is not the database's (or unusable) ends the start: close the database too.
            await engine.dispose()
            raise
        # The keystore may have created the data directory (with PostgreSQL for the data).
        protect_data_directory(settings.data_dir)
        if keystore is None:
            log.warning("encryption at rest is off: content is stored in the clear (benchmarks only)")
        async with transaction(sessionmaker) as session:
            if keystore is not None:
                await seal_legacy_rows(session)
            # Team names, tags and token names from before they were sealed (migration 0007).
            await seal_plaintext_names(session)
        await broker.start(ring)
        await hub.start()
        erasures.start()
        if checkpoints is not None:
            checkpoints.start()
        try:
            yield
        finally:
            if checkpoints is not None:
                await checkpoints.stop()
            await erasures.stop()
            await hub.stop()
            await broker.stop()
            await state.login_throttle.close()
            sealer.detach()
            if keystore is not None:
                await keystore.close()
            await engine.dispose()

    app = FastAPI(
        # Kibitz reports through its own log and metrics; FastAPI's OpenTelemetry hook, on by default, looks
        # up the global providers (through the environment) on every request even when none is configured.
        telemetry={"tracing": False, "metrics": False, "logs": False},
        title="Kibitz",
        version=kibitz.__version__,
        summary="Code discussions that stay attached to the code.",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
        responses=ERROR_RESPONSES,
    )
    app.state.kibitz = state
    app.state.erasure_sweeper = erasures
    app.state.storage_health = StorageHealth()
    install_error_handlers(app)
    # Every route in the app's own router, none in an included one (flat_routes.py says why).
    add_routes(app.router, api_routers(), API_PREFIX)
    add_routes(app.router, web_routers())
    add_routes(app.router, [operations_router])

    state.metrics.watch_hub(hub)
    # Outermost last: SecurityHeaders sees every answer, AccessLog every request, RequestGuard the rest.
    app.add_middleware(RequestGuard, max_body_bytes=settings.max_body_bytes)
    app.add_middleware(AccessLog, metrics=state.metrics, trusted=state.trusted_proxies)
    app.add_middleware(SecurityHeaders, hsts_seconds=settings.hsts_seconds, trusted=state.trusted_proxies)
    return app
