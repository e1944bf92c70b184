"""Many people signing up at once, each needing fresh data keys, against a real server process."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.conftest import fresh_postgres_database
from tests.e2e.conftest import PASSWORD
from tests.server_process import kibitz_server

SIGNUPS = 128
CONCURRENCY = 16


@contextmanager
def _serve(data_dir: Path, env: dict[str, str]) -> Iterator[str]:
    # Production password hashing: its threads take the CPU from the keystore's transactions, as on a real
    # server, which is what made key creation time out.
    settings = {"data_dir": data_dir, "fast_password_hashing": False}
    # Every sign-up comes from this one address: lift the per-address sign-up limit.
    env = {**env, "KIBITZ_SIGNUP_RATE_LIMIT": "100000/minute"}
    with kibitz_server(data_dir.parent / "server.log", settings=settings, env=env) as server:
        yield server.url


@pytest.fixture(params=["sqlite", "postgres"])
def served(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Serve a fresh data directory, its database SQLite or a fresh PostgreSQL one (keystore.db beside)."""
    if request.param == "sqlite":
        with _serve(tmp_path / "data", {}) as url:
            yield url
        return
    if not request.getfixturevalue("postgres_available"):
        pytest.skip("PostgreSQL is not reachable (set KIBITZ_REQUIRE_POSTGRES=1 to fail)")
    with (
        fresh_postgres_database() as database_url,
        _serve(tmp_path / "data", {"KIBITZ_DATABASE_URL": database_url}) as url,
    ):
        yield url


async def _sign_up_everyone(url: str) -> list[str]:
    """Sign up SIGNUPS people, CONCURRENCY at a time; return a description of every failure."""
    failures: list[str] = []
    gate = asyncio.Semaphore(CONCURRENCY)
    limits = httpx.Limits(max_connections=CONCURRENCY)

    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:

        async def sign_up(number: int) -> None:
            async with gate:
                body = {
                    "email": f"person{number}@example.com",
                    "name": f"Person {number}",
                    "password": PASSWORD,
                }
                try:
                    answer = await client.post("/api/v1/auth/signup", json=body)
                except httpx.HTTPError as error:
                    failures.append(f"{number}: {type(error).__name__}: {error}")
                    return
                if answer.status_code != 201:
                    failures.append(f"{number}: {answer.status_code} {answer.text[:200]}")

        await asyncio.gather(*(sign_up(number) for number in range(SIGNUPS)))
    return failures


def test_concurrent_signups_all_succeed(served: str) -> None:
    assert asyncio.run(_sign_up_everyone(served)) == []
