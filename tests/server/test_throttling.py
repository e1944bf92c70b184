"""Login throttling: N attempts per account and per client address in a moving window, then 429 with
Retry-After, before the password is looked at; every outcome is audited (docs/security.md)."""

from __future__ import annotations

import asyncio
import ipaddress
import itertools
import json
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import ValidationError
from sqlalchemy import func, select

from kibitz.server.app import create_app
from kibitz.server.audit.models import AuditEvent
from kibitz.server.auth.models import ApiToken
from kibitz.settings import Settings
from tests.server.conftest import PASSWORD, started

PROXY = "10.0.0.1"
_emails = itertools.count()

# The counters live in memory or in Redis, never in the database.
pytestmark = pytest.mark.database_agnostic


@pytest.fixture
def settings(database_url: str, data_dir: Path) -> Settings:
    """Return settings that trust the proxy the test client connects from; the default limit (10/minute)."""
    return Settings.load(
        data_dir=data_dir,
        database_url=database_url,
        fast_password_hashing=True,
        trusted_proxies="10.0.0.0/8",
    )


@asynccontextmanager
async def client_of(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """Yield a client whose requests come through the trusted proxy."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=(PROXY, 4321))
    async with httpx.AsyncClient(transport=transport, base_url="http://kibitz.test") as client:
        yield client


@pytest.fixture
async def http(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with client_of(app) as client:
        yield client


def random_address() -> str:
    """Return an address no other test (nor an earlier run sharing Redis) uses."""
    # In the canonical form the server records (no leading zeros).
    return str(
        ipaddress.ip_address(
            f"2001:db8:{secrets.token_hex(2)}:{secrets.token_hex(2)}::{secrets.token_hex(2)}"
        )
    )


async def signup(http: httpx.AsyncClient, address: str | None = None) -> tuple[str, str]:
    """Create an account (without logging in, which would count) from `address` (default: a fresh one, as
    sign-ups are counted per address too) and return its id and email."""
    email = f"t{next(_emails)}-{secrets.token_hex(4)}@example.com"
    r = await http.post(
        "/api/v1/auth/signup",
        json={"email": email, "name": "T", "password": PASSWORD},
        headers={"X-Forwarded-For": address or random_address()},
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"]), email


def login(http: httpx.AsyncClient, email: str, address: str, password: str = PASSWORD) -> Any:
    return http.post(
        "/api/v1/auth/login",
        json={"email": email, "password": password},
        headers={"X-Forwarded-For": address},
    )


async def audit(app: FastAPI, action: str) -> list[AuditEvent]:
    async with app.state.kibitz.sessionmaker() as session:
        return list(
            await session.scalars(
                select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.at, AuditEvent.id)
            )
        )


async def tokens_of(app: FastAPI, user_id: str) -> int:
    async with app.state.kibitz.sessionmaker() as session:
        count = await session.scalar(
            select(func.count()).select_from(ApiToken).where(ApiToken.user_id == user_id)
        )
        return int(count or 0)


def assert_throttled(r: httpx.Response, window: int = 60) -> int:
    assert r.status_code == 429, r.text
    assert r.json()["error"]["code"] == "too_many_attempts"
    wait = int(r.headers["Retry-After"])
    assert 1 <= wait <= window
    assert r.json()["error"]["details"] == {"retry_after": wait}
    return wait


async def test_the_eleventh_attempt_in_a_minute_is_refused(http: httpx.AsyncClient, app: FastAPI) -> None:
    user_id, email = await signup(http)
    here = random_address()
    for attempt in range(10):
        wrong = attempt % 2 == 0
        r = await login(http, email, here, "wrong password" if wrong else PASSWORD)
        assert r.status_code == (401 if wrong else 200), r.text
    assert await tokens_of(app, user_id) == 5

    # The right password does not help: the attempt is refused before the password is checked.
    assert_throttled(await login(http, email, here))
    for _ in range(20):
        assert_throttled(await login(http, email, here, "wrong password"))
    assert await tokens_of(app, user_id) == 5

    failed = await audit(app, "login.failed")
    succeeded = await audit(app, "login.succeeded")
    throttled = await audit(app, "login.throttled")
    # A flood of refusals leaves one record per account and address and window, not one per attempt.
    assert (len(failed), len(succeeded), len(throttled)) == (5, 5, 1)
    assert {(e.actor_id, e.address) for e in failed + succeeded + throttled} == {(user_id, here)}
    assert {json.loads(e.details)["reason"] for e in failed} == {"wrong_password"}
    assert json.loads(throttled[0].details)["limit"] == "10/minute"
    for event in failed + succeeded + throttled:
        assert email not in event.details
        assert PASSWORD not in event.details


async def test_accounts_and_addresses_are_counted_apart(http: httpx.AsyncClient) -> None:
    _x, account = await signup(http)
    _y, other_account = await signup(http)
    here, there = random_address(), random_address()
    for _ in range(10):
        assert (await login(http, account, here, "nope")).status_code == 401
    assert_throttled(await login(http, account, here))
    # The account is spent from every address, and this address for every account...
    assert_throttled(await login(http, account, there))
    assert_throttled(await login(http, other_account, here))
    # ... but another account from another address is unaffected.
    assert (await login(http, other_account, there)).status_code == 200


async def test_an_ipv6_client_is_counted_by_its_slash_64(http: httpx.AsyncClient, app: FastAPI) -> None:
    network = f"2001:db8:{secrets.randbelow(0xFFFF) + 1:x}:{secrets.randbelow(0xFFFF) + 1:x}"
    for n in range(10):
        _id, email = await signup(http)
        # A fresh address and account for every guess: only the /64 ties them together.
        assert (await login(http, email, f"{network}::{n + 1:x}", "nope")).status_code == 401
    _id, email = await signup(http)
    assert_throttled(await login(http, email, f"{network}:ffff:ffff:ffff:ffff"))
    assert (await login(http, email, random_address())).status_code == 200
    # Each refused pair of account and address is on record once, with the address as it was.
    [throttled] = await audit(app, "login.throttled")
    assert throttled.address == f"{network}:ffff:ffff:ffff:ffff"


async def test_unknown_accounts_are_counted_and_audited_without_the_email(
    http: httpx.AsyncClient, app: FastAPI
) -> None:
    nobody = f"nobody-{secrets.token_hex(4)}@example.com"
    here = random_address()
    for _ in range(10):
        r = await login(http, nobody, here)
        assert r.status_code == 401
        assert r.json()["error"]["code"] == "invalid_credentials"
    assert_throttled(await login(http, nobody, here))
    failed = await audit(app, "login.failed")
    assert len(failed) == 10
    assert {(e.actor_id, e.address, json.loads(e.details)["reason"]) for e in failed} == {
        (None, here, "unknown_account")
    }
    assert all(nobody not in e.details for e in failed)
    [throttled] = await audit(app, "login.throttled")
    assert throttled.actor_id is None


async def test_the_account_is_counted_by_its_normalised_email(http: httpx.AsyncClient) -> None:
    _id, email = await signup(http)
    here = random_address()
    for n in range(10):
        variant = email.upper() if n % 2 else email
        assert (await login(http, variant, random_address() if n % 3 else here)).status_code == 200
    assert_throttled(await login(http, email.upper(), random_address()))


async def test_the_window_moves(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"login_rate_limit": "3 per 2 seconds"}))
    async with app.router.lifespan_context(app), client_of(app) as http:
        _id, email = await signup(http)
        here = random_address()
        for _ in range(3):
            assert (await login(http, email, here)).status_code == 200
        wait = assert_throttled(await login(http, email, here), window=2)
        await asyncio.sleep(wait + 0.1)
        assert (await login(http, email, here)).status_code == 200


async def test_a_shared_redis_counts_for_every_process(settings: Settings, redis_url: str) -> None:
    shared = settings.model_copy(update={"redis_url": redis_url})
    first, second = create_app(shared), create_app(shared, migrate=False)
    async with (
        first.router.lifespan_context(first),
        second.router.lifespan_context(second),
        client_of(first) as a,
        client_of(second) as b,
    ):
        _id, email = await signup(a)
        here = random_address()
        for n in range(10):
            assert (await login(a if n % 2 else b, email, here)).status_code == 200
        assert_throttled(await login(a, email, here))
        assert_throttled(await login(b, email, here))
        _id, other = await signup(b)
        assert (await login(b, other, random_address())).status_code == 200


@pytest.mark.parametrize("limit", ["lots", "10/fortnight", ""])
def test_a_bad_limit_is_refused_at_start(limit: str, tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="login_rate_limit"):
        Settings.load(data_dir=tmp_path, login_rate_limit=limit)


def test_the_default_is_ten_a_minute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KIBITZ_LOGIN_RATE_LIMIT", raising=False)
    assert Settings.load(data_dir=tmp_path).login_rate_limit == "10/minute"


async def test_sign_ups_are_counted_per_address(http: httpx.AsyncClient, app: FastAPI) -> None:
    here = random_address()
    # The limit is the login limit's (10/minute) unless KIBITZ_SIGNUP_RATE_LIMIT says otherwise.
    for _ in range(10):
        await signup(http, here)
    email = f"late-{secrets.token_hex(4)}@example.com"
    body = {"email": email, "name": "Late", "password": PASSWORD}
    r = await http.post("/api/v1/auth/signup", json=body, headers={"X-Forwarded-For": here})
    assert_throttled(r)
    assert "sign-ups" in r.json()["error"]["message"]
    # Nothing was created: the same email signs up from elsewhere, and logs in.
    r = await http.post("/api/v1/auth/signup", json=body, headers={"X-Forwarded-For": random_address()})
    assert r.status_code == 201, r.text
    assert (await login(http, email, here)).status_code == 200


async def test_the_sign_up_limit_has_its_own_setting(settings: Settings) -> None:
    changed = settings.model_copy(update={"signup_rate_limit": "2/minute"})
    async with started(changed) as app, client_of(app) as http:
        here = random_address()
        await signup(http, here)
        await signup(http, here)
        body = {"email": f"x-{secrets.token_hex(4)}@example.com", "name": "X", "password": PASSWORD}
        r = await http.post("/api/v1/auth/signup", json=body, headers={"X-Forwarded-For": here})
        assert_throttled(r)
