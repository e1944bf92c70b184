"""Fixtures shared by every test: fresh SQLite and PostgreSQL databases, and the local Redis."""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import sqlite3
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, closing, contextmanager
from pathlib import Path
from typing import Any

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
def postgres_url(scratch_postgres_database: str) -> str:
    """Return an empty PostgreSQL database for one test: this process's scratch database, emptied."""
    asyncio.run(_empty_schema(scratch_postgres_database))
    return scratch_postgres_database


@pytest.fixture(scope="session")
def scratch_postgres_database(postgres_available: bool) -> Iterator[str]:
    """Create a PostgreSQL database for this test process to empty before each test that uses it."""
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


# --- The databases a test runs on: both by default, one where the behaviour does not depend on it ---

DATABASES = ("sqlite", "postgres")


def pytest_configure(config: pytest.Config) -> None:
    """Declare the database markers and forget the developer's own settings, before any test; start test
    servers and `kibitz` commands from a warm parent (tests/warm_start.py)."""
    forget_developer_settings()
    from tests import warm_start

    warm_start.enable()
    config.addinivalue_line(
        "markers",
        'databases(*names): run only on these of the databases ("sqlite", "postgres"), because what the '
        "test checks exists only there",
    )
    config.addinivalue_line(
        "markers",
        "database_agnostic: run on SQLite alone, because what the test checks is decided before or outside "
        "the database (docs/architecture.md, Testing)",
    )


def databases_of(definition: pytest.Item) -> tuple[str, ...]:
    """Return the databases a test runs on, by its `databases` or `database_agnostic` marker."""
    chosen = definition.get_closest_marker("databases")
    if chosen is not None:
        unknown = set(chosen.args) - set(DATABASES)
        if not chosen.args or unknown:
            raise pytest.UsageError(f"{definition.nodeid}: databases() takes some of {DATABASES}")
        return tuple(chosen.args)
    if definition.get_closest_marker("database_agnostic") is not None:
        return ("sqlite",)
    return DATABASES


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # Only the parametrisations that run are built: no test item exists just to be skipped.
    for name in ("database_url", "unmigrated_database_url"):
        if name in metafunc.fixturenames:
            metafunc.parametrize(name, databases_of(metafunc.definition), indirect=True)


# The modules that take longest (tens of seconds each on two cores), run first: pytest-xdist hands whole
# files to its workers in the order they were collected, and one of these started last would leave the
# other workers idle at the end of the run. Every other module keeps its place.
LONGEST_FIRST = (
    "tests/server/test_schemathesis.py",
    "tests/e2e/test_concurrent_keys.py",
    "tests/server/test_authz_matrix.py",
    "tests/e2e/test_realtime.py",
    "tests/e2e/test_server_log_format.py",
    "tests/e2e/test_terminal_safety.py",
    "tests/lsp/test_kept_places.py",
    "tests/server/test_backup.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the longest modules first (a stable sort: tests keep their order within a module)."""
    rank = {path: place for place, path in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::", 1)[0], len(rank)))


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """Return the test's data directory, where its SQLite database lives."""
    return tmp_path / "data"


@pytest.fixture
def database_url(request: pytest.FixtureRequest, data_dir: Path) -> str:
    """Return an empty, migrated database: "" for SQLite (a copy in `data_dir`), or a PostgreSQL URL."""
    return migrated_database_url(request, data_dir)


def migrated_database_url(request: pytest.FixtureRequest, data_dir: Path) -> str:
    """Make the empty, migrated database that the request's parameter names; return its URL ("" = SQLite)."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("migrated_sqlite_file")
        data_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(template, data_dir / "kibitz.db")
        return ""
    url: str = request.getfixturevalue("migrated_postgres_database")
    asyncio.run(_empty(url))
    return url


@pytest.fixture
def unmigrated_database_url(request: pytest.FixtureRequest) -> str:
    """Return a database with no schema at all (for tests of the migrations): "" for SQLite, or a URL."""
    if request.param == "sqlite":
        return ""
    url: str = request.getfixturevalue("postgres_url")
    return url


# --- Migrate once: a migrated SQLite file to copy, a migrated PostgreSQL database to empty ---
#
# Every migration on a fresh database costs about 0.2 s, and CREATE DATABASE on PostgreSQL about 0.4 s even
# from a migrated template (it copies the catalogues); deleting the rows of a migrated database costs
# milliseconds. So SQLite tests copy a file migrated once per session, and PostgreSQL tests share one migrated
# database per test process, emptied before each test.


@pytest.fixture(scope="session")
def migrated_sqlite_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a SQLite database file migrated to the newest revision, for tests to copy."""
    from kibitz.server.operator.database import migrate
    from kibitz.settings import Settings

    directory = tmp_path_factory.mktemp("migrated-sqlite")
    migrate(Settings.load(data_dir=directory, database_url=""))
    path = directory / "kibitz.db"
    # Fold the write-ahead log into the file, so that the file alone is the whole database.
    with closing(sqlite3.connect(path)) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


@pytest.fixture(scope="session")
def migrated_postgres_database(
    postgres_available: bool, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """Create a PostgreSQL database migrated to the newest revision for this test process; drop it after."""
    from kibitz.server.operator.database import migrate
    from kibitz.settings import Settings

    if not postgres_available:
        pytest.skip("PostgreSQL is not reachable at 127.0.0.1:5432 (set KIBITZ_REQUIRE_POSTGRES=1 to fail)")
    with fresh_postgres_database() as url:
        scratch = tmp_path_factory.mktemp("migrated-postgres")
        migrate(Settings.load(data_dir=scratch, database_url=url))
        yield url


async def _empty(url: str) -> None:
    """Delete every row of a migrated database, as if it were freshly created and migrated."""
    from kibitz.server.models import Base

    async with _alone_in(url) as connection, connection.transaction():
        for table in reversed(Base.metadata.sorted_tables):
            await connection.execute(f'DELETE FROM "{table.name}"')  # noqa: S608 (names from the models)


async def _empty_schema(url: str) -> None:
    """Drop everything a database holds (its public schema), as if it were freshly created."""
    async with _alone_in(url) as connection:
        await connection.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")


@asynccontextmanager
async def _alone_in(url: str) -> AsyncIterator[Any]:
    """Connect to a database after ending every other connection to it (as DROP DATABASE … WITH (FORCE))."""
    import asyncpg

    connection = await asyncpg.connect(url, timeout=5)
    try:
        await connection.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        yield connection
    finally:
        await connection.close()


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
    {
        "KIBITZ_REQUIRE_POSTGRES",
        "KIBITZ_REQUIRE_REDIS",
        "KIBITZ_REQUIRE_NEOVIM",
        "KIBITZ_TEST_POSTGRES_URL",
        "KIBITZ_TEST_REDIS_URL",
        # The browser tests: a missing Chromium (or axe-core) fails instead of skipping (CI).
        "KIBITZ_REQUIRE_CHROMIUM",
    }
)


def forget_developer_settings() -> None:
    """Remove every KIBITZ_* variable but the harness's from this process's environment."""
    for name in [name for name in os.environ if name.startswith("KIBITZ_")]:
        if name not in HARNESS_VARIABLES:
            del os.environ[name]
