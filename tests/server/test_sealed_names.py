"""Team names, tags and token names are sealed like what else people write; tags are found by blind index."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import text

from tests.server.conftest import Api

TEAM_NAME = "Zanzibar platform crew"
TAG = "quokkaflags"
TOKEN_NAME = "laptop of narwhal"


async def stored(app: FastAPI, sql: str) -> list[str]:
    """Return the values a SQL query on the main database answers, as stored."""
    async with app.state.kibitz.sessionmaker() as session:
        return [str(value) for value in (await session.execute(text(sql))).scalars()]


async def test_team_names_tags_and_token_names_are_sealed_and_read_back(
    http: httpx.AsyncClient, app: FastAPI, api: Api
) -> None:
    ada = await api.person("Ada")
    r = await http.post("/api/v1/teams", json={"name": TEAM_NAME}, headers=ada.headers)
    assert r.status_code == 201, r.text
    assert r.json()["name"] == TEAM_NAME
    team = r.json()["id"]
    repo = await api.repo(ada, team)
    # A repeated tag is kept once.
    tagged = await api.codemark(ada, team, repo, tags=[TAG, TAG, "café"])
    other = await api.codemark(ada, team, repo, tags=["other"])
    assert tagged["tags"] == sorted([TAG, "café"])
    r = await http.post("/api/v1/tokens", json={"name": TOKEN_NAME, "scope": "read"}, headers=ada.headers)
    assert r.status_code == 201, r.text
    assert r.json()["name"] == TOKEN_NAME

    names = await stored(app, "SELECT name FROM team")
    tags = await stored(app, "SELECT tag FROM codemark_tag")
    token_names = await stored(app, "SELECT name FROM api_token")
    indexes = await stored(app, "SELECT tag_index FROM codemark_tag")
    for value in [*names, *tags, *token_names]:
        assert value.startswith("kz1."), value
    everything = " ".join([*names, *tags, *token_names, *indexes])
    for plain in (TEAM_NAME, TAG, "café", "other", TOKEN_NAME, "login"):
        assert plain not in everything

    # Read back through every route that shows them; filtered by tag through the blind index.
    r = await http.get("/api/v1/me", headers=ada.headers)
    assert [t["name"] for t in r.json()["teams"]] == [TEAM_NAME]
    r = await http.get("/api/v1/teams", headers=ada.headers)
    assert [t["name"] for t in r.json()] == [TEAM_NAME]
    r = await http.get("/api/v1/tokens", headers=ada.headers)
    assert sorted(t["name"] for t in r.json()) == sorted(["login", TOKEN_NAME])
    listing = await tagged_ids(http, ada.headers, team, TAG)
    assert listing == [tagged["id"]]
    assert await tagged_ids(http, ada.headers, team, "café") == [tagged["id"]]
    assert await tagged_ids(http, ada.headers, team, "nothing") == []
    r = await http.patch(f"/api/v1/codemarks/{other['id']}", json={"tags": [TAG]}, headers=ada.headers)
    assert r.status_code == 200, r.text
    assert r.json()["tags"] == [TAG]
    assert sorted(await tagged_ids(http, ada.headers, team, TAG)) == sorted([tagged["id"], other["id"]])
    r = await http.get(f"/api/v1/teams/{team}/export", headers=ada.headers)
    assert r.status_code == 200, r.text
    assert TEAM_NAME in r.text
    assert TAG in r.text
    # A team is deleted by repeating its (opened) name.
    r = await http.request("DELETE", f"/api/v1/teams/{team}", json={"confirm": "wrong"}, headers=ada.headers)
    assert r.status_code == 422
    r = await http.request(
        "DELETE", f"/api/v1/teams/{team}", json={"confirm": TEAM_NAME}, headers=ada.headers
    )
    assert r.status_code in (200, 202), r.text


async def tagged_ids(http: httpx.AsyncClient, headers: dict[str, str], team: str, tag: str) -> list[Any]:
    """Return the ids of the team's codemarks with this tag."""
    r = await http.get(f"/api/v1/teams/{team}/codemarks", params={"tag": tag}, headers=headers)
    assert r.status_code == 200, r.text
    return [item["id"] for item in r.json()["items"]]
