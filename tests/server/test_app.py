"""The app as a whole: health, OpenAPI, migrations in step with the models, generic 500s."""

from __future__ import annotations

import logging

import httpx
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from fastapi import FastAPI
from sqlalchemy import Connection

from kibitz.server.models import Base
from kibitz.settings import Settings


async def test_healthz_and_openapi(http: httpx.AsyncClient) -> None:
    r = await http.get("/healthz")
    assert r.json() == {"status": "ok"}
    assert r.headers["x-request-id"]
    r = await http.get("/api/v1/openapi.json")
    assert r.status_code == 200
    paths = r.json()["paths"]
    assert "/api/v1/teams/{team_id}/codemarks" in paths
    assert "/api/v1/codemarks/{codemark_id}/replies" in paths


async def test_migrations_match_the_models(app: FastAPI) -> None:
    def diff(connection: Connection) -> list[object]:
        return list(compare_metadata(MigrationContext.configure(connection), Base.metadata))

    async with app.state.kibitz.engine.connect() as connection:
        assert await connection.run_sync(diff) == []


async def test_migrating_twice_is_harmless(app: FastAPI) -> None:
    from kibitz.server.migrate import upgrade

    await upgrade(app.state.kibitz.engine)


async def test_unexpected_errors_are_generic(
    app: FastAPI, http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    async def boom() -> None:
        raise RuntimeError("secret internals")

    app.add_api_route("/boom", boom)
    with caplog.at_level(logging.ERROR, logger="kibitz.server"):
        r = await http.get("/boom")
    assert r.status_code == 500
    body = r.json()
    assert body["error"]["code"] == "internal_error"
    assert "secret internals" not in r.text
    assert "Traceback" not in r.text
    request_id = body["error"]["details"]["request_id"]
    assert request_id
    assert r.headers["x-request-id"] == request_id
    assert any(getattr(rec, "request_id", None) == request_id for rec in caplog.records)


async def test_data_persists_across_restarts(settings: Settings) -> None:
    from kibitz.server.app import create_app
    from tests.server.conftest import Api

    first = create_app(settings)
    transport = httpx.ASGITransport(app=first)
    async with (
        first.router.lifespan_context(first),
        httpx.AsyncClient(transport=transport, base_url="http://k") as http,
    ):
        person = await Api(http).person()
        team = await Api(http).team(person, "persistent")
    second = create_app(settings)
    transport = httpx.ASGITransport(app=second)
    async with (
        second.router.lifespan_context(second),
        httpx.AsyncClient(transport=transport, base_url="http://k") as http,
    ):
        r = await http.get("/api/v1/teams", headers=person.headers)
    assert [t["id"] for t in r.json()] == [team]


@pytest.mark.databases("sqlite")
async def test_sqlite_runs_in_wal_mode(app: FastAPI, settings: Settings) -> None:
    async with app.state.kibitz.engine.connect() as connection:
        mode = (await connection.exec_driver_sql("PRAGMA journal_mode")).scalar_one()
    assert mode == "wal"
    assert (settings.data_dir / "kibitz.db").exists()
