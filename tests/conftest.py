"""Fixtures shared by every test: fresh SQLite and PostgreSQL databases, and the local Redis."""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

POSTGRES_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
REDIS_URL = "redis://127.0.0.1:6379/0"


def postgres_admin_url() -> str:
    """Return the URL of a PostgreSQL database where tests may create and drop databases."""
    return os.environ.get("KIBITZ_TEST_POSTGRES_URL", POSTGRES_ADMIN_URL)


async def _admin(statement: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(postgres_admin_url(), timeout=5)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def _postgres_reachable() -> str | None:
    try:
        asyncio.run(_admin("SELECT 1"))
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


@pytest.fixture(scope="session")
def postgres_available() -> bool:
    """Tell whether PostgreSQL is reachable; fail instead of skipping when KIBITZ_REQUIRE_POSTGRES is set."""
    problem = _postgres_reachable()
    if problem is None:
        return True
    if os.environ.get("KIBITZ_REQUIRE_POSTGRES"):
        pytest.fail(f"PostgreSQL is required (KIBITZ_REQUIRE_POSTGRES) but unreachable: {problem}")
    return False


@pytest.fixture
def postgres_url(postgres_available: bool) -> Iterator[str]:
    """Create a fresh PostgreSQL database for one test and drop it afterwards."""
    if not postgres_available:
        pytest.skip("PostgreSQL is not reachable at 127.0.0.1:5432 (set KIBITZ_REQUIRE_POSTGRES=1 to fail)")
    with fresh_postgres_database() as url:
        yield url


@contextmanager
def fresh_postgres_database() -> Iterator[str]:
    """Create a fresh PostgreSQL database, yield its URL and drop it (for fixtures of any scope)."""
    name = "kibitz_test_" + secrets.token_hex(6)
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    base = postgres_admin_url().rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Yield a fresh database URL, once for SQLite and once for PostgreSQL."""
    if request.param == "sqlite":
        return ""
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture(scope="session")
def redis_url() -> str:
    """Return the URL of the local Redis (KIBITZ_TEST_REDIS_URL overrides it).

    Skips when Redis is unreachable, or fails instead when KIBITZ_REQUIRE_REDIS is set. Tests share its
    pub/sub channel with whatever else runs, so they must only look at traffic of teams they created.
    """
    import redis

    url = os.environ.get("KIBITZ_TEST_REDIS_URL", REDIS_URL)
    client = redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3)
    try:
        client.ping()
    except redis.RedisError as exc:
        if os.environ.get("KIBITZ_REQUIRE_REDIS"):
            pytest.fail(f"Redis is required (KIBITZ_REQUIRE_REDIS) but unreachable at {url}: {exc}")
        pytest.skip(f"Redis is not reachable at {url} (set KIBITZ_REQUIRE_REDIS=1 to fail): {exc}")
    finally:
        client.close()
    return url


# ----------------------------------------------------------------------------------------------------
# No developer's own KIBITZ_* settings reach a test: only the harness's own variables are kept.

HARNESS_VARIABLES = frozenset(
    {"KIBITZ_REQUIRE_POSTGRES", "KIBITZ_REQUIRE_REDIS", "KIBITZ_TEST_POSTGRES_URL", "KIBITZ_TEST_REDIS_URL"}
)


def pytest_configure(config: pytest.Config) -> None:
    """Remove every KIBITZ_* variable but the harness's from this process's environment, before any test."""
    for name in [name for name in os.environ if name.startswith("KIBITZ_")]:
        if name not in HARNESS_VARIABLES:
            del os.environ[name]
