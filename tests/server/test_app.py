"""The app as a whole: health, OpenAPI, migrations in step with the models, generic 500s."""

from __future__ import annotations

import logging
import re
from typing import Any

import httpx
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from fastapi import FastAPI
from fastapi.routing import APIRoute, APIWebSocketRoute
from sqlalchemy import Connection, MetaData, inspect, select

from kibitz.server.app import api_routers
from kibitz.server.migrate import alembic_config
from kibitz.server.models import Base
from kibitz.settings import Settings
from tests.server.conftest import Api


@pytest.mark.database_agnostic
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


def schema_and_rows(connection: Connection) -> dict[str, Any]:
    """Return every table's columns, keys, indexes and constraints, and its rows in a stable order."""
    found: dict[str, Any] = {}
    inspector = inspect(connection)
    # Every table reflected at once: one at a time, each reflects again every table its keys refer to.
    tables = MetaData()
    tables.reflect(connection)
    for name in sorted(inspector.get_table_names()):
        table = tables.tables[name]
        found[name] = {
            "columns": [
                (c["name"], str(c["type"]), c["nullable"], c["default"]) for c in inspector.get_columns(name)
            ],
            "primary_key": inspector.get_pk_constraint(name)["constrained_columns"],
            "foreign_keys": sorted(str(fk) for fk in inspector.get_foreign_keys(name)),
            "indexes": sorted(str(index) for index in inspector.get_indexes(name)),
            "unique": sorted(str(unique) for unique in inspector.get_unique_constraints(name)),
            "checks": sorted(str(check) for check in inspector.get_check_constraints(name)),
            "rows": sorted(tuple(str(value) for value in row) for row in connection.execute(select(table))),
        }
    return found


async def test_migrating_twice_is_harmless(app: FastAPI, api: Api) -> None:
    from kibitz.server.migrate import upgrade

    ada = await api.person("Ada")
    team = await api.team(ada)
    await api.codemark(ada, team, await api.repo(ada, team), text="kept across migrations")
    engine = app.state.kibitz.engine
    async with engine.connect() as connection:
        before = await connection.run_sync(schema_and_rows)
    await upgrade(engine)
    async with engine.connect() as connection:
        after = await connection.run_sync(schema_and_rows)
    assert after == before
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert before["alembic_version"]["rows"] == [(head,)]
    for table in ("user_account", "codemark", "marker", "search_token", "event"):
        assert before[table]["rows"], table


def _migrate(connection: Connection, revision: str, down: bool = False) -> None:
    """Move the schema down or up to `revision` with foreign keys off, as the app's own upgrade does."""
    connection.commit()  # what reading the schema began
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        connection.commit()
    with connection.begin():
        (command.downgrade if down else command.upgrade)(alembic_config(connection), revision)
    if sqlite:
        connection.exec_driver_sql("PRAGMA foreign_keys=ON")
        connection.commit()


async def test_search_words_keep_through_the_key_change(app: FastAPI, api: Api) -> None:
    """The search index's key moves to (team, word, time, codemark, source) and back without losing a row."""
    ada = await api.person("Ada")
    team = await api.team(ada)
    codemark = await api.codemark(ada, team, await api.repo(ada, team), text="flaky network retries")
    r = await api.http.post(
        f"/api/v1/codemarks/{codemark['id']}/replies", json={"text": "backoff jitter"}, headers=ada.headers
    )
    assert r.status_code == 201, r.text
    engine = app.state.kibitz.engine
    async with engine.connect() as connection:
        before = await connection.run_sync(schema_and_rows)
        await connection.run_sync(_migrate, "0011", True)
        older = await connection.run_sync(schema_and_rows)
        await connection.run_sync(_migrate, "head")
        after = await connection.run_sync(schema_and_rows)
        if connection.dialect.name == "sqlite":
            shape = await connection.exec_driver_sql(
                "SELECT sql FROM sqlite_master WHERE name = 'search_token'"
            )
            assert "WITHOUT ROWID" in str(shape.scalar_one())
    assert len(before["search_token"]["rows"]) == 5  # flaky, network, retries; backoff, jitter
    assert sorted(older["search_token"]["rows"]) == sorted(before["search_token"]["rows"])
    assert before["search_token"]["primary_key"] == [
        "team_id",
        "token",
        "codemark_created_at",
        "codemark_id",
        "source",
    ]
    assert older["search_token"]["primary_key"] == ["team_id", "token", "codemark_id", "source"]
    assert any("ix_search_token_lookup" in index for index in older["search_token"]["indexes"])
    assert not any("ix_search_token_lookup" in index for index in before["search_token"]["indexes"])
    assert after == before
    for words, found in (
        ("jitter network", [codemark["id"]]),
        ("retries backoff", [codemark["id"]]),
        ("jitter absent", []),
    ):
        r = await api.http.get(f"/api/v1/teams/{team}/search", params={"q": words}, headers=ada.headers)
        assert r.status_code == 200, r.text
        assert [hit["codemark"]["id"] for hit in r.json()["items"]] == found


@pytest.mark.database_agnostic
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


def _sample_path(path: str) -> str:
    """Return a path a request could use for a route's template (each parameter a plain value)."""
    return re.sub(r"\{[^}]+\}", "x", path)


def test_no_two_api_routers_answer_the_same_request() -> None:
    # The routers are tried most used first (app.py); that order may only decide speed, never which route
    # answers a request.
    routers = api_routers()
    routes = [
        (n, route.path, route.path_regex, getattr(route, "methods", None) or {"WEBSOCKET"})
        for n, router in enumerate(routers)
        for route in router.routes
        if isinstance(route, APIRoute | APIWebSocketRoute)
    ]
    assert len({n for n, *_ in routes}) == len(routers)
    clashes = [
        (path_a, path_b)
        for i, path_a, regex_a, methods_a in routes
        for j, path_b, regex_b, methods_b in routes
        if i < j
        and methods_a & methods_b
        and (regex_b.match(_sample_path(path_a)) or regex_a.match(_sample_path(path_b)))
    ]
    assert clashes == []
