"""Repos are matched by any root commit or any normalised remote."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from sqlalchemy import text

from kibitz.server.crypto.sealer import is_sealed
from tests.server.conftest import Api, one_app_per_module

# Every test works in teams of its own: one app serves the module.
module_data_dir, module_database_url, module_settings, module_app = one_app_per_module()

ROOT_A, ROOT_B = "1" * 40, "2" * 64


async def test_match_by_root_commit_or_remote_form(http: httpx.AsyncClient, api: Api) -> None:
    ada = await api.person()
    team = await api.team(ada)
    url = f"/api/v1/teams/{team}/repos/match"
    r = await http.post(
        url,
        json={"root_commits": [ROOT_A], "remotes": ["git@GitHub.com:acme/widget.git"]},
        headers=ada.headers,
    )
    assert r.status_code == 201
    repo = r.json()
    assert repo["remotes"] == ["github.com/acme/widget"]
    assert repo["name"] == "widget"

    # Every spelling of the same remote, with no root commit, finds the same repo.
    for remote in (
        "https://github.com/acme/widget",
        "https://user:secret@GITHUB.com/acme/widget.git/",
        "ssh://git@github.com/acme/widget.git",
        "git@github.com:acme/widget",
    ):
        r = await http.post(url, json={"remotes": [remote]}, headers=ada.headers)
        assert r.status_code == 200, remote
        assert r.json()["id"] == repo["id"]
        assert "secret" not in r.text

    # A mirror with another remote but the same root commit is the same repo, and its remote is learned.
    r = await http.post(
        url,
        json={"root_commits": [ROOT_A.upper()], "remotes": ["https://gitlab.example/m/widget"]},
        headers=ada.headers,
    )
    assert r.status_code == 200
    assert r.json()["id"] == repo["id"]
    r = await http.post(url, json={"remotes": ["gitlab.example:m/widget.git"]}, headers=ada.headers)
    assert r.json()["id"] == repo["id"]

    # Something else is a new repo.
    r = await http.post(url, json={"root_commits": [ROOT_B]}, headers=ada.headers)
    assert r.status_code == 201
    assert r.json()["id"] != repo["id"]

    r = await http.get(f"/api/v1/teams/{team}/repos", headers=ada.headers)
    assert len(r.json()) == 2
    r = await http.get(f"/api/v1/teams/{team}/repos/{repo['id']}", headers=ada.headers)
    assert sorted(r.json()["remotes"]) == ["github.com/acme/widget", "gitlab.example/m/widget"]


async def test_same_repo_in_two_teams_is_two_repos(http: httpx.AsyncClient, api: Api) -> None:
    ada, bo = await api.person("Ada"), await api.person("Bo")
    one, two = await api.team(ada), await api.team(bo)
    assert await api.repo(ada, one, ROOT_A) != await api.repo(bo, two, ROOT_A)


async def test_match_needs_an_identity(http: httpx.AsyncClient, api: Api) -> None:
    ada = await api.person()
    team = await api.team(ada)
    url = f"/api/v1/teams/{team}/repos/match"
    bodies: list[dict[str, list[str]]] = [
        {},
        {"root_commits": [], "remotes": []},
        {"root_commits": ["abc"]},
        {"remotes": ["::::"]},
    ]
    for body in bodies:
        r = await http.post(url, json=body, headers=ada.headers)
        assert r.status_code == 422, body
    r = await http.get(f"/api/v1/teams/{team}/repos", headers=ada.headers)
    assert r.json() == []


async def test_names_and_remotes_are_sealed_and_found_by_blind_index(
    http: httpx.AsyncClient, api: Api, app: FastAPI
) -> None:
    ada = await api.person()
    team, other_team = await api.team(ada), await api.team(ada, "other")
    url = f"/api/v1/teams/{team}/repos/match"
    r = await http.post(url, json={"remotes": ["git@github.com:acme/sprocketworks.git"]}, headers=ada.headers)
    assert r.status_code == 201, r.text
    repo = r.json()
    async with app.state.kibitz.sessionmaker() as session:
        [(name,)] = (
            await session.execute(text("SELECT name FROM repo WHERE id = :id"), {"id": repo["id"]})
        ).all()
        remotes = (
            await session.execute(
                text("SELECT url, url_index FROM repo_remote WHERE team_id = :t"), {"t": team}
            )
        ).all()
    assert is_sealed(name)
    assert "sprocketworks" not in name
    [(sealed_url, index)] = remotes
    assert is_sealed(sealed_url)
    assert "sprocketworks" not in sealed_url
    assert len(index) == 64
    # Found again by its index; the same remote in another team is another repo (another index key).
    r = await http.post(url, json={"remotes": ["https://github.com/acme/sprocketworks"]}, headers=ada.headers)
    assert (r.status_code, r.json()) == (200, repo)
    r = await http.post(
        f"/api/v1/teams/{other_team}/repos/match",
        json={"remotes": ["https://github.com/acme/sprocketworks"]},
        headers=ada.headers,
    )
    assert r.status_code == 201
    async with app.state.kibitz.sessionmaker() as session:
        other_index = await session.scalar(
            text("SELECT url_index FROM repo_remote WHERE team_id = :t"), {"t": other_team}
        )
    assert other_index != index
