"""In-process API fixtures: the real app over httpx's ASGI transport, and a small driver for common steps."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from kibitz.server.app import create_app
from kibitz.settings import Settings
from tests.conftest import migrated_database_url

PASSWORD = "correct horse battery staple"
COMMIT = "a" * 40
_emails = itertools.count()


@pytest.fixture
def settings(database_url: str, data_dir: Path) -> Settings:
    """Return settings for an empty migrated database (SQLite in data_dir, or PostgreSQL)."""
    return Settings.load(data_dir=data_dir, database_url=database_url, fast_password_hashing=True)


@asynccontextmanager
async def started(settings: Settings) -> AsyncIterator[FastAPI]:
    """Start the app (migrations included) and stop it on leaving."""
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    """Start the app (migrations included) and stop it after the test."""
    async with started(settings) as application:
        yield application


# --- One app for a whole module, for modules whose tests only create their own people and teams ---


def one_app_per_module(**overrides: Any) -> tuple[Any, Any, Any, Any]:
    """Return module-scoped `data_dir`, `database_url`, `settings` and `app` fixtures for a module to adopt.

    Starting the app once per module (and database) instead of once per test saves its start and the warm-up
    of its first requests. Only for tests that create their own people and teams, and neither change the
    app's settings nor count rows they did not make. Logins are not throttled (every test's people sign in
    from the same address); `overrides` add settings.
    """

    @pytest.fixture(scope="module", name="data_dir")
    def module_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
        return tmp_path_factory.mktemp("module-data")

    @pytest.fixture(scope="module", name="database_url")
    def module_database_url(request: pytest.FixtureRequest, data_dir: Path) -> str:
        return migrated_database_url(request, data_dir)

    @pytest.fixture(scope="module", name="settings")
    def module_settings(database_url: str, data_dir: Path) -> Settings:
        # A keystore of its own for each database: a keystore belongs to one database (crypto/binding.py).
        return Settings.load(
            data_dir=data_dir if not database_url else data_dir / "postgres",
            database_url=database_url,
            fast_password_hashing=True,
            login_rate_limit="100000/minute",
            **overrides,
        )

    @pytest.fixture(scope="module", name="app")
    async def module_app(settings: Settings) -> AsyncIterator[FastAPI]:
        async with started(settings) as application:
            yield application

    return module_data_dir, module_database_url, module_settings, module_app


@asynccontextmanager
async def client_of(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """Yield an HTTP client talking to the app in process; app errors become 500 answers, as on a server."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://kibitz.test") as client:
        yield client


@pytest.fixture
async def http(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """Return an HTTP client talking to the app in process; app errors become 500 answers, as on a server."""
    async with client_of(app) as client:
        yield client


@dataclass
class Person:
    """A signed-up user with a token."""

    id: str
    email: str
    token: str
    headers: dict[str, str] = field(default_factory=dict)


class Api:
    """Common steps through the real API; every step asserts its own success."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def person(self, name: str = "Ada") -> Person:
        """Sign up a new person and log them in."""
        email = f"{name.lower()}{next(_emails)}@example.com"
        r = await self.http.post(
            "/api/v1/auth/signup", json={"email": email, "name": name, "password": PASSWORD}
        )
        assert r.status_code == 201, r.text
        r = await self.http.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
        assert r.status_code == 200, r.text
        body = r.json()
        return Person(body["user"]["id"], email, body["token"], {"Authorization": f"Bearer {body['token']}"})

    async def team(self, owner: Person, name: str = "core") -> str:
        """Create a team owned by `owner` and return its id."""
        r = await self.http.post("/api/v1/teams", json={"name": name}, headers=owner.headers)
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    async def join(self, admin: Person, team_id: str, person: Person, role: str = "member") -> None:
        """Invite `person` with `role` and let them join."""
        r = await self.http.post(
            f"/api/v1/teams/{team_id}/invites", json={"role": role}, headers=admin.headers
        )
        assert r.status_code == 201, r.text
        r = await self.http.post(
            "/api/v1/teams/join", json={"code": r.json()["code"]}, headers=person.headers
        )
        assert r.status_code == 200, r.text

    async def repo(self, person: Person, team_id: str, root: str = "b" * 40) -> str:
        """Match (create) a repo by root commit and return its id."""
        r = await self.http.post(
            f"/api/v1/teams/{team_id}/repos/match", json={"root_commits": [root]}, headers=person.headers
        )
        assert r.status_code in (200, 201), r.text
        return str(r.json()["id"])

    async def codemark(self, person: Person, team_id: str, repo_id: str, **fields: Any) -> dict[str, Any]:
        """Create a codemark on lines 3–5 of src/app.py and return it."""
        body = codemark_body(repo_id, **fields)
        r = await self.http.post(f"/api/v1/teams/{team_id}/codemarks", json=body, headers=person.headers)
        assert r.status_code == 201, r.text
        result: dict[str, Any] = r.json()
        return result


def marker_body(repo: str, **fields: Any) -> dict[str, Any]:
    """Return a valid marker body in `repo`, with `fields` overriding."""
    marker: dict[str, Any] = {
        "repo_id": repo,
        "path": "src/app.py",
        "commit": COMMIT,
        "start_line": 3,
        "end_line": 5,
        "code": "def f():\n    return 1\n\n",
        "context_before": "import os\n",
        "context_after": "\n",
    }
    marker.update(fields)
    return marker


def codemark_body(repo: str, **fields: Any) -> dict[str, Any]:
    """Return a valid codemark body in `repo`; `fields` override, `marker` overrides the marker's fields."""
    marker = marker_body(repo, **fields.pop("marker", {}))
    body: dict[str, Any] = {"type": "comment", "text": "Why does this return 1?", "markers": [marker]}
    body.update(fields)
    return body


@pytest.fixture
def api(http: httpx.AsyncClient) -> Api:
    """Return the step driver."""
    return Api(http)
