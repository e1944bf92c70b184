"""Repos are matched by any root commit or any normalised remote."""

from __future__ import annotations

import httpx

from tests.server.conftest import Api

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
    for body in ({}, {"root_commits": [], "remotes": []}, {"root_commits": ["abc"]}, {"remotes": ["::::"]}):
        r = await http.post(url, json=body, headers=ada.headers)
        assert r.status_code == 422, body
    r = await http.get(f"/api/v1/teams/{team}/repos", headers=ada.headers)
    assert r.json() == []
