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


async def test_admins_rename_and_remove_repos_members_and_other_teams_cannot(
    http: httpx.AsyncClient, api: Api
) -> None:
    owner, admin, member, stranger = [await api.person(n) for n in ("Olga", "Adam", "Mia", "Sid")]
    team = await api.team(owner)
    await api.join(owner, team, admin, "admin")
    await api.join(owner, team, member)
    elsewhere = await api.team(stranger)
    widget = await api.repo(owner, team, root="a" * 40)
    gadget = await api.repo(owner, team, root="c" * 40)
    url = f"/api/v1/teams/{team}/repos"

    # A member, and someone of another team (even naming their own team), cannot rename or remove it.
    r = await http.patch(f"{url}/{widget}", json={"name": "mine"}, headers=member.headers)
    assert r.status_code == 403
    assert (await http.delete(f"{url}/{widget}", headers=member.headers)).status_code == 403
    r = await http.patch(f"{url}/{widget}", json={"name": "mine"}, headers=stranger.headers)
    assert r.status_code == 404
    assert (await http.delete(f"{url}/{widget}", headers=stranger.headers)).status_code == 404
    foreign = f"/api/v1/teams/{elsewhere}/repos/{widget}"
    assert (await http.patch(foreign, json={"name": "x"}, headers=stranger.headers)).status_code == 404
    assert (await http.delete(foreign, headers=stranger.headers)).status_code == 404

    # An admin renames; names are unique in the team (case aside), and bad names change nothing.
    r = await http.patch(f"{url}/{widget}", json={"name": "widget"}, headers=admin.headers)
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "widget"
    r = await http.patch(f"{url}/{gadget}", json={"name": "Widget"}, headers=admin.headers)
    assert r.status_code == 409
    assert "another repo named" in r.json()["error"]["message"]
    for bad in ({"name": ""}, {"name": "x" * 101}, {}, {"name": "w", "extra": 1}):
        assert (await http.patch(f"{url}/{gadget}", json=bad, headers=admin.headers)).status_code == 422
    names = {repo["id"]: repo["name"] for repo in (await http.get(url, headers=member.headers)).json()}
    assert names[widget] == "widget"
    assert names[gadget] != "Widget"

    # A repo with codemarks is kept; one without goes, with its identities (matching them makes a new one).
    await api.codemark(owner, team, widget)
    r = await http.delete(f"{url}/{widget}", headers=admin.headers)
    assert r.status_code == 409
    assert "pinned" in r.json()["error"]["message"]
    assert (await http.delete(f"{url}/{gadget}", headers=admin.headers)).status_code == 204
    assert [repo["id"] for repo in (await http.get(url, headers=owner.headers)).json()] == [widget]
    assert (await http.get(f"{url}/{gadget}", headers=owner.headers)).status_code == 404
    r = await http.post(f"{url}/match", json={"root_commits": ["c" * 40]}, headers=owner.headers)
    assert r.status_code == 201
    assert r.json()["id"] != gadget
    r = await http.get(f"/api/v1/teams/{team}/audit", params={"action": "repo"}, headers=owner.headers)
    assert [event["action"] for event in r.json()["items"]] == ["repo.removed", "repo.renamed"]
    assert {event["target_id"] for event in r.json()["items"]} == {widget, gadget}
