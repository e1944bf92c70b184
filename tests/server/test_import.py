"""Importing a team export into another server: equal after the round trip, all or nothing (docs/api.md).

Server A is the usual in-process app; server B is a second app on a second fresh database of the same kind
(SQLite or PostgreSQL), importing through the same service `kibitz server import` calls.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, text

from kibitz.ids import new_id
from kibitz.server.auth.models import User
from kibitz.server.auth.passwords import Passwords
from kibitz.server.auth.people import seal_profile
from kibitz.server.codemarks.models import Codemark, Reply
from kibitz.server.db import utcnow
from kibitz.server.errors import Conflict, InvalidRequest, NotFound, ValidationFailed
from kibitz.server.export.accounts import set_password
from kibitz.server.export.importer import ImportSummary, import_team, parse_archive
from kibitz.server.search.models import SearchToken
from kibitz.server.teams.models import Membership, Team
from kibitz.settings import Settings
from tests.conftest import fresh_postgres_database
from tests.server.conftest import PASSWORD, Api, one_app_per_module, started
from tests.server.export_seed import seed_team

NEW_PASSWORD = "a brand new passphrase"


# Every test imports a team of its own: server A and server B each serve the whole module.
module_data_dir, module_database_url, module_settings, module_app = one_app_per_module()


@pytest.fixture(scope="module")
def settings_b(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """Settings of server B: a second fresh database of the same kind as server A's."""
    data_dir = tmp_path_factory.mktemp("b")
    if settings.is_sqlite:
        yield settings.model_copy(update={"data_dir": data_dir})
        return
    with fresh_postgres_database() as url:
        yield settings.model_copy(update={"data_dir": data_dir, "database_url": url})


@pytest.fixture(scope="module")
async def app_b(settings_b: Settings) -> AsyncIterator[FastAPI]:
    async with started(settings_b) as application:
        yield application


@pytest.fixture
async def http_b(app_b: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app_b, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://b.kibitz.test") as client:
        yield client


async def team_archive(http: httpx.AsyncClient, team: str, headers: dict[str, str]) -> bytes:
    r = await http.get(f"/api/v1/teams/{team}/export", headers=headers)
    assert r.status_code == 200, r.text
    return r.content


async def load(app: FastAPI, data: bytes) -> ImportSummary:
    """Import an archive into `app`'s database in one transaction, as `kibitz server import` does."""
    async with app.state.kibitz.sessionmaker() as session:
        try:
            summary = await import_team(session, parse_archive(data))
            await session.commit()
        except BaseException:
            await session.rollback()
            raise
    return summary


async def activate(app: FastAPI, email: str) -> None:
    async with app.state.kibitz.sessionmaker() as session:
        await set_password(session, Passwords(fast=True), email, NEW_PASSWORD)
        await session.commit()


async def login(http: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await http.post("/api/v1/auth/login", json={"email": email, "password": password})


async def bearer(http: httpx.AsyncClient, email: str, password: str = NEW_PASSWORD) -> dict[str, str]:
    r = await login(http, email, password)
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def comparable(data: bytes) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(data)
    del body["exported_at"], body["server_version"]
    return body


async def row_counts(app: FastAPI) -> dict[str, int]:
    async with app.state.kibitz.sessionmaker() as session:
        return {
            table.__tablename__: int(await session.scalar(select(func.count()).select_from(table)) or 0)
            for table in (User, Team, Membership, Codemark, Reply, SearchToken)
        }


async def test_round_trip_is_equal(
    http: httpx.AsyncClient, api: Api, app_b: FastAPI, http_b: httpx.AsyncClient
) -> None:
    s = await seed_team(http, api)
    original = await team_archive(http, s.team, s.ada.headers)
    summary = await load(app_b, original)
    assert summary.team_id == s.team
    assert sorted(summary.created_accounts) == sorted([s.ada.email, s.bo.email, s.cy.email])
    assert summary.counts["codemarks"] == 2
    # Imported accounts cannot log in until an operator sets a password.
    r = await login(http_b, s.ada.email, PASSWORD)
    assert r.status_code == 401
    await activate(app_b, s.ada.email)
    ada_b = await bearer(http_b, s.ada.email)
    again = await team_archive(http_b, s.team, ada_b)
    assert comparable(again) == comparable(original)
    # Byte for byte, apart from the time of export.
    first, second = json.loads(original), json.loads(again)
    assert original.replace(first["exported_at"].encode(), b"") == again.replace(
        second["exported_at"].encode(), b""
    )

    # The search index was rebuilt for the imported texts (codemark and reply).
    r = await http_b.get(f"/api/v1/teams/{s.team}/search", params={"q": "fetchurl"}, headers=ada_b)
    assert [hit["codemark"]["id"] for hit in r.json()["items"]] == [s.cy_codemark["id"]]
    r = await http_b.get(f"/api/v1/teams/{s.team}/search", params={"q": "sync"}, headers=ada_b)
    assert [m["id"] for hit in r.json()["items"] for m in hit["matches"]] == [s.ada_reply["id"]]
    # Permalinks keep working, threads and reactions come along.
    r = await http_b.get(f"/api/v1/codemarks/{s.cy_codemark['id']}/replies", headers=ada_b)
    assert [reply["text"] for reply in r.json()["items"]] == ["Yes: sync.py calls it", "", "Thanks!"]

    # The event log starts empty and new events continue after the exporting server's last seq.
    seq = first["team"]["event_seq"]
    r = await http_b.post(
        f"/api/v1/codemarks/{s.ada_codemark['id']}/replies", json={"text": "on B now"}, headers=ada_b
    )
    assert r.status_code == 201, r.text
    after = json.loads(await team_archive(http_b, s.team, ada_b))
    assert after["team"]["event_seq"] == seq + 1


async def test_accounts_are_matched_by_email(
    http: httpx.AsyncClient, api: Api, app_b: FastAPI, http_b: httpx.AsyncClient
) -> None:
    s = await seed_team(http, api)
    original = await team_archive(http, s.team, s.ada.headers)
    # Bo already has an account on B, with another id and his own password.
    r = await http_b.post(
        "/api/v1/auth/signup", json={"email": s.bo.email, "name": "Bo B", "password": PASSWORD}
    )
    assert r.status_code == 201, r.text
    bo_on_b = r.json()["id"]
    assert bo_on_b != s.bo.id
    summary = await load(app_b, original)
    assert summary.matched_accounts == [s.bo.email]
    assert sorted(summary.created_accounts) == sorted([s.ada.email, s.cy.email])
    bo_b = await bearer(http_b, s.bo.email, PASSWORD)
    r = await http_b.get(f"/api/v1/teams/{s.team}/members", headers=bo_b)
    assert {(m["user_id"], m["role"]) for m in r.json()} == {
        (s.ada.id, "owner"),
        (bo_on_b, "admin"),
        (s.cy.id, "member"),
    }
    # His reply's tombstone, his reaction and his follow are his B account's now.
    await activate(app_b, s.ada.email)
    archive = json.loads(await team_archive(http_b, s.team, await bearer(http_b, s.ada.email)))
    assert s.bo.id not in json.dumps(archive)
    assert [r["author_id"] for r in archive["replies"]] == [s.ada.id, bo_on_b, s.cy.id]
    assert {p["id"]: p["name"] for p in archive["people"]}[bo_on_b] == "Bo B"


async def test_refusing_duplicates_changes_nothing(
    http: httpx.AsyncClient, api: Api, app: FastAPI, app_b: FastAPI
) -> None:
    s = await seed_team(http, api)
    original = await team_archive(http, s.team, s.ada.headers)
    # Into the server it came from: the team id is in use.
    before = await row_counts(app)
    with pytest.raises(Conflict, match="team with the id"):
        await load(app, original)
    assert await row_counts(app) == before
    # Under a new team id, its codemarks', markers' and replies' ids are still in use.
    renamed = json.loads(original)
    renamed["team"]["id"] = new_id()
    for record in (*renamed["codemarks"], *renamed["replies"], *renamed["reactions"]):
        record["team_id"] = renamed["team"]["id"]
    with pytest.raises(Conflict, match=r"2 codemarks.*3 replies") as refused:
        await load(app, json.dumps(renamed).encode())
    assert refused.value.details == {"repos": 1, "codemarks": 2, "markers": 2, "replies": 3}
    assert await row_counts(app) == before
    # Twice into B: the second import is refused whole.
    await load(app_b, original)
    after_first = await row_counts(app_b)
    with pytest.raises(Conflict):
        await load(app_b, original)
    assert await row_counts(app_b) == after_first


async def test_an_account_id_in_use_by_another_email_is_refused(
    http: httpx.AsyncClient, api: Api, app_b: FastAPI
) -> None:
    s = await seed_team(http, api)
    original = await team_archive(http, s.team, s.ada.headers)
    # Someone else on B happens to hold Cy's id.
    async with app_b.state.kibitz.sessionmaker() as session:
        someone = User(id=s.cy.id, password_hash="x", status="active", created_at=utcnow())
        await seal_profile(session, someone, email="someone@example.org", name="Someone", handle="someone")
        session.add(someone)
        await session.commit()
    before = await row_counts(app_b)
    with pytest.raises(Conflict, match=f"account id {s.cy.id}"):
        await load(app_b, original)
    assert await row_counts(app_b) == before


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda a: b"not json at all", "not JSON"),
        (lambda a: json.dumps([1, 2]).encode(), "not a Kibitz export"),
        (lambda a: json.dumps({**a, "format": "other"}).encode(), "not a Kibitz export"),
        (lambda a: json.dumps({**a, "version": 2}).encode(), "format version 2; this server reads version 1"),
        (lambda a: json.dumps({**a, "kind": "user"}).encode(), "only a team export"),
        (lambda a: json.dumps({**a, "team": {**a["team"], "name": None}}).encode(), "team.name"),
        (lambda a: json.dumps({**a, "surprise": 1}).encode(), "surprise"),
        (lambda a: json.dumps({**a, "people": []}).encode(), "inconsistent"),
        (lambda a: json.dumps({**a, "repos": []}).encode(), "unknown repo"),
        (
            lambda a: json.dumps({**a, "codemarks": [{**a["codemarks"][0], "type": "rant"}]}).encode(),
            "unknown type",
        ),
        (
            lambda a: json.dumps(
                {**a, "members": [m for m in a["members"] if m["role"] != "owner"]}
            ).encode(),
            "no owner",
        ),
    ],
)
async def test_malformed_archives_are_refused_clearly(
    http: httpx.AsyncClient, api: Api, app_b: FastAPI, change: Any, message: str
) -> None:
    ada = await api.person("Ada")
    team = await api.team(ada)
    repo = await api.repo(ada, team)
    await api.codemark(ada, team, repo)
    original = json.loads(await team_archive(http, team, ada.headers))
    before = await row_counts(app_b)
    with pytest.raises(InvalidRequest, match=message):
        await load(app_b, change(original))
    assert await row_counts(app_b) == before


def _same_reaction_twice(archive: dict[str, Any]) -> None:
    archive["reactions"].append(archive["reactions"][0])


def _same_tag_twice(archive: dict[str, Any]) -> None:
    archive["codemarks"][0]["tags"].append(archive["codemarks"][0]["tags"][0])


@pytest.mark.parametrize("spoil", [_same_reaction_twice, _same_tag_twice])
async def test_what_the_database_refuses_is_refused_whole(
    http: httpx.AsyncClient, api: Api, app_b: FastAPI, spoil: Any
) -> None:
    s = await seed_team(http, api)
    archive = json.loads(await team_archive(http, s.team, s.ada.headers))
    # The archive checks pass; the database refuses a row (at the end, or midway), and nothing stays.
    spoil(archive)
    before = await row_counts(app_b)
    with pytest.raises(InvalidRequest, match="database refused"):
        await load(app_b, json.dumps(archive).encode())
    assert await row_counts(app_b) == before


async def test_set_password_activates_only_imported_accounts(
    http: httpx.AsyncClient, api: Api, app: FastAPI
) -> None:
    ada = await api.person("Ada")
    async with app.state.kibitz.sessionmaker() as session:
        with pytest.raises(NotFound):
            await set_password(session, Passwords(fast=True), "nobody@example.com", NEW_PASSWORD)
        with pytest.raises(ValidationFailed, match="password is not acceptable"):
            await set_password(session, Passwords(fast=True), ada.email, "short")
        activated, ended = await set_password(session, Passwords(fast=True), ada.email, NEW_PASSWORD)
        await session.commit()
    assert (activated, ended) == (False, 1)
    # Her login session ended; the new password works.
    r = await http.get("/api/v1/me", headers=ada.headers)
    assert r.status_code == 401
    assert (await login(http, ada.email, NEW_PASSWORD)).status_code == 200


async def test_an_import_seals_what_it_writes_and_indexes_it(
    http: httpx.AsyncClient, api: Api, app_b: FastAPI, http_b: httpx.AsyncClient
) -> None:
    s = await seed_team(http, api)
    r = await http.patch(f"/api/v1/teams/{s.team}", json={"code_free": True}, headers=s.ada.headers)
    assert r.status_code == 200, r.text
    original = await team_archive(http, s.team, s.ada.headers)
    archive = json.loads(original)
    assert archive["team"]["code_free"] is True
    await load(app_b, original)

    markers = [m for c in archive["codemarks"] for m in c["markers"]]
    plain = [
        *(p[f] for p in archive["people"] for f in ("email", "name", "handle")),
        *(c[f] for c in archive["codemarks"] for f in ("title", "text")),
        *(m[f] for m in markers for f in ("path", "code", "context_before", "context_after")),
        *(ref["path"] for m in markers for ref in m["references"]),
        *(r["text"] for r in archive["replies"]),
        *(v["text"] for c in archive["codemarks"] for v in c["history"]),
        *(url for repo in archive["repos"] for url in repo["remotes"]),
        *(repo["name"] for repo in archive["repos"]),
    ]
    # Short values could turn up inside ciphertext by chance; the long ones are the telling ones anyway.
    plain = [value for value in plain if len(value) >= 8]
    assert len(plain) > 10
    async with app_b.state.kibitz.engine.connect() as connection:
        for table in (
            "user_account",
            "codemark",
            "codemark_edit",
            "marker",
            "marker_reference",
            "marker_location",
            "reply",
            "reply_edit",
            "repo",
            "repo_remote",
        ):
            dump = repr((await connection.execute(text(f"SELECT * FROM {table}"))).all())  # noqa: S608
            leaked = [value for value in plain if value in dump]
            assert leaked == [], f"{table} holds plaintext"

    await activate(app_b, s.ada.email)
    ada_b = await bearer(http_b, s.ada.email)
    r = await http_b.get("/api/v1/teams", headers=ada_b)
    assert [(t["id"], t["code_free"]) for t in r.json()] == [(s.team, True)]
    # The blind indexes were computed with B's keys: lookups by remote and by path find the imported rows.
    repo = archive["repos"][0]
    r = await http_b.post(
        f"/api/v1/teams/{s.team}/repos/match", json={"remotes": repo["remotes"][:1]}, headers=ada_b
    )
    assert r.status_code == 200, r.text
    assert r.json()["id"] == repo["id"]
    path = markers[0]["path"]
    r = await http_b.get(f"/api/v1/teams/{s.team}/codemarks", params={"path": path}, headers=ada_b)
    assert r.status_code == 200, r.text
    expected = {c["id"] for c in archive["codemarks"] if any(m["path"] == path for m in c["markers"])}
    assert {c["id"] for c in r.json()["items"]} == expected
