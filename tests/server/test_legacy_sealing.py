"""Rows written before encryption at rest are sealed when the server first starts after migration 0005.

Team names and tags, written in the clear before migration 0007, are sealed at that start too.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import httpx
from alembic import command
from sqlalchemy import Connection, text

from kibitz.server.app import create_app
from kibitz.server.auth.passwords import Passwords
from kibitz.server.db import make_engine
from kibitz.server.migrate import alembic_config
from kibitz.settings import Settings
from tests.server.conftest import PASSWORD

NOW = dt.datetime(2026, 1, 2, 3, 4, 5)
IDS = {
    "u": "a000000000000001",
    "t": "b000000000000001",
    "r": "d000000000000001",
    "c": "c000000000000001",
    "m": "e000000000000001",
    "p": "f000000000000001",
}
PLAIN = {
    "email": "legacy.person@example.com",
    "name": "Legacy Person",
    "handle": "legacyhandle",
    "title": "legacytitle about parsing",
    "text": "legacytext mentions zebrafish",
    "path": "src/legacypath.py",
    "code": "def legacycode():\n    pass\n",
    "before": "legacybefore = 1\n",
    "after": "legacyafter = 2\n",
    "reply": "legacyreply with walrus",
    "remote": "example.com/legacy/legacyremote",
    "team": "legacyteamname",
    "tag": "legacytagword",
}


def _old_schema_and_rows(connection: Connection, password_hash: str) -> None:
    command.upgrade(alembic_config(connection), "0004")
    rows = [
        (
            "INSERT INTO user_account (id, email, name, handle, password_hash, status, created_at) "
            "VALUES (:u, :email, :name, :handle, :hash, 'active', :now)"
        ),
        "INSERT INTO team (id, name, event_seq, allowlist, created_at) VALUES (:t, :team, 1, '', :now)",
        "INSERT INTO membership (team_id, user_id, role, created_at) VALUES (:t, :u, 'owner', :now)",
        "INSERT INTO repo (id, team_id, name, created_at) VALUES (:r, :t, 'legacyremote', :now)",
        "INSERT INTO repo_remote (team_id, repo_id, url) VALUES (:t, :r, :remote)",
        (
            "INSERT INTO codemark (id, team_id, type, status, title, text, author_id, pinned, created_at, "
            "updated_at) VALUES (:c, :t, 'comment', 'open', :title, :text, :u, false, :now, :now)"
        ),
        (
            'INSERT INTO marker (id, codemark_id, team_id, repo_id, position, path, "commit", start_line, '
            "end_line, code, context_before, context_after, provisional) VALUES (:m, :c, :t, :r, 0, "
            ":path, :commit, 3, 4, :code, :before, :after, false)"
        ),
        "INSERT INTO codemark_tag (codemark_id, tag, team_id) VALUES (:c, :tag, :t)",
        (
            "INSERT INTO reply (id, codemark_id, team_id, author_id, text, created_at, updated_at) "
            "VALUES (:p, :c, :t, :u, :reply, :now, :now)"
        ),
        (
            "INSERT INTO event (team_id, seq, type, payload, created_at) VALUES (:t, 1, 'reply.added', "
            ":payload, :now)"
        ),
    ]
    params = {
        **PLAIN,
        "hash": password_hash,
        "now": NOW,
        "commit": "a" * 40,
        **IDS,
        "payload": '{"id":"f000000000000001","text":"legacyreply with walrus","author":'
        '{"id":"a000000000000001","email":"legacy.person@example.com","name":"Legacy Person",'
        '"handle":"legacyhandle"}}',
    }
    for statement in rows:
        connection.execute(text(statement), params)


async def test_rows_from_before_sealing_are_sealed_at_start(
    unmigrated_database_url: str, data_dir: Path
) -> None:
    settings = Settings.load(
        data_dir=data_dir, database_url=unmigrated_database_url, fast_password_hashing=True
    )
    engine = make_engine(settings)
    password_hash = await Passwords(fast=True).hash(PASSWORD)
    async with engine.begin() as connection:
        await connection.run_sync(_old_schema_and_rows, password_hash)
    await engine.dispose()

    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://kibitz.test") as http:
            r = await http.post(
                "/api/v1/auth/login", json={"email": "Legacy.Person@example.com", "password": PASSWORD}
            )
            assert r.status_code == 200, r.text
            assert r.json()["user"]["name"] == PLAIN["name"]
            headers = {"Authorization": f"Bearer {r.json()['token']}"}
            r = await http.get(
                "/api/v1/teams/b000000000000001/codemarks", params={"path": PLAIN["path"]}, headers=headers
            )
            assert r.status_code == 200, r.text
            [codemark] = r.json()["items"]
            assert codemark["text"] == PLAIN["text"]
            assert codemark["tags"] == [PLAIN["tag"]]
            r = await http.get(
                "/api/v1/teams/b000000000000001/codemarks", params={"tag": PLAIN["tag"]}, headers=headers
            )
            assert [item["id"] for item in r.json()["items"]] == ["c000000000000001"]
            r = await http.get("/api/v1/teams", headers=headers)
            assert [team["name"] for team in r.json()] == [PLAIN["team"]]
            assert codemark["markers"][0]["code"] == PLAIN["code"]
            r = await http.get(
                "/api/v1/teams/b000000000000001/search", params={"q": "walrus"}, headers=headers
            )
            assert r.status_code == 200, r.text
            assert [hit["codemark"]["id"] for hit in r.json()["items"]] == ["c000000000000001"]
            r = await http.get("/api/v1/teams/b000000000000001/repos", headers=headers)
            assert r.status_code == 200, r.text

        values: list[str] = []
        async with app.state.kibitz.engine.connect() as connection:
            for table in (
                "user_account",
                "team",
                "codemark",
                "codemark_tag",
                "api_token",
                "marker",
                "reply",
                "repo",
                "repo_remote",
                "event",
            ):
                rows = (await connection.execute(text(f"SELECT * FROM {table}"))).all()  # noqa: S608
                values += [str(value) for row in rows for value in row]
            memberships = (await connection.execute(text("SELECT count(*) FROM membership"))).scalar_one()
    assert memberships == 1, "the migration kept the rows that refer to copied tables"
    dump = " ".join(values)
    for value in PLAIN.values():
        assert value not in dump
