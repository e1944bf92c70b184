"""Isolation: listings never show another team's objects.

That another team's members get 404 on every team-owned route (and anonymous callers 401) is checked for
every route of the app by tests/server/test_authz_matrix.py.
"""

from __future__ import annotations

import httpx

from tests.server.conftest import Api, codemark_body


async def test_listing_never_shows_other_teams(http: httpx.AsyncClient, api: Api) -> None:
    ada, eve = await api.person("Ada"), await api.person("Eve")
    team_a, team_e = await api.team(ada), await api.team(eve)
    repo_a = await api.repo(ada, team_a, "5" * 40)
    repo_e = await api.repo(eve, team_e, "5" * 40)
    await api.codemark(ada, team_a, repo_a)
    r = await http.get(f"/api/v1/teams/{team_e}/codemarks", headers=eve.headers)
    assert r.json()["items"] == []
    # Markers cannot point into another team's repo.
    body = codemark_body(repo_a)
    r = await http.post(f"/api/v1/teams/{team_e}/codemarks", json=body, headers=eve.headers)
    assert r.status_code == 422
    assert repo_e != repo_a
