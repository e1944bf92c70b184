"""Per-team data-key rotation: new writes use new keys, old values stay readable, and reseal rewrites them."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from fastapi import FastAPI
from sqlalchemy import text

from kibitz.server.crypto.envelope import key_id_of
from kibitz.server.crypto.rotation import rotate_team
from kibitz.server.crypto.sealer import is_sealed
from kibitz.settings import Settings
from tests.server.conftest import Api, client_of, started
from tests.server.crypto.test_rotate_kek_cli import operator


async def _key_ids(app: FastAPI, team_id: str) -> set[str]:
    cells: list[str] = []
    async with app.state.kibitz.engine.connect() as connection:
        for statement in (
            "SELECT title, text FROM codemark WHERE team_id = :t",
            "SELECT path, code, context_before, context_after FROM marker WHERE team_id = :t",
            "SELECT text FROM reply WHERE team_id = :t",
            "SELECT payload FROM event WHERE team_id = :t",
            "SELECT name FROM repo WHERE team_id = :t",
        ):
            for row in (await connection.execute(text(statement), {"t": team_id})).all():
                cells.extend(value for value in row if value)
    assert cells
    assert all(is_sealed(value) for value in cells)
    return {key_id_of(value) for value in cells}


async def test_rotation_gives_new_keys_and_reseal_rewrites_every_value(
    app: FastAPI, http: httpx.AsyncClient
) -> None:
    api = Api(http)
    ada, bob = await api.person("Ada"), await api.person("Bob")
    team = await api.team(ada)
    await api.join(ada, team, bob)
    repo = await api.repo(ada, team)
    first = await api.codemark(ada, team, repo, title="before rotation")
    r = await http.post(
        f"/api/v1/codemarks/{first['id']}/replies", json={"text": "a reply before"}, headers=bob.headers
    )
    assert r.status_code == 201, r.text
    before = await _key_ids(app, team)

    state = app.state.kibitz
    result = await rotate_team(state.sessionmaker, state.sealer.keystore, team)
    assert result.rotated_keys >= 3  # the team's key and both memberships' keys
    assert result.resealed == 0
    second = await api.codemark(bob, team, repo, title="after rotation")
    after_write = await _key_ids(app, team)
    assert after_write - before, "new writes use new keys"
    for codemark in (first, second):
        r = await http.get(f"/api/v1/codemarks/{codemark['id']}", headers=ada.headers)
        assert r.status_code == 200, r.text
        assert r.json()["title"] == codemark["title"]

    result = await rotate_team(state.sessionmaker, state.sealer.keystore, team, reseal=True)
    assert result.resealed > 0
    assert not (await _key_ids(app, team)) & (before | after_write), "every value now under the newest keys"
    r = await http.get(f"/api/v1/teams/{team}/codemarks", headers=bob.headers)
    assert r.status_code == 200, r.text
    assert sorted(c["title"] for c in r.json()["items"]) == ["after rotation", "before rotation"]
    r = await http.get(f"/api/v1/codemarks/{first['id']}/replies", headers=ada.headers)
    assert [reply["text"] for reply in r.json()["items"]] == ["a reply before"]
    r = await http.get(f"/api/v1/teams/{team}/search", params={"q": "rotation"}, headers=ada.headers)
    assert len(r.json()["items"]) == 2


async def test_rotate_team_keys_command_takes_the_first_characters_of_a_teams_id(tmp_path: Path) -> None:
    settings = Settings.load(data_dir=tmp_path / "data", fast_password_hashing=True)
    async with started(settings) as app, client_of(app) as http:
        api = Api(http)
        team = await api.team(await api.person("Ada"))
    done = json.loads(
        operator("rotate-team-keys", team[:6].upper(), "--json", data_dir=tmp_path / "data").stdout
    )
    assert done["team_id"] == team
    assert done["rotated_keys"] >= 1  # the team's key (its name is sealed with it)
    operator("rotate-team-keys", team[:3], data_dir=tmp_path / "data", expect=4)  # too short to be one


def test_rotate_team_keys_command_refuses_an_unknown_team(tmp_path: Path) -> None:
    result = operator("rotate-team-keys", "t000000000000000", data_dir=tmp_path / "data", expect=4)
    assert "no team" in result.stderr
