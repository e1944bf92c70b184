"""Isolation: a member of another team gets 'not found' on every team-owned route of the first team.

The routes are taken from the app's route table, so a new team-owned route is covered (or makes this test fail
until it is given an object to aim at).
"""

from __future__ import annotations

import re
from typing import Any

import httpx
from fastapi import FastAPI

from tests.server.conftest import Api, codemark_body

# Routes that belong to no team: reachable by anyone signed in (or by anyone at all).
TEAMLESS = {
    ("POST", "/api/v1/auth/signup"),
    ("POST", "/api/v1/auth/login"),
    ("POST", "/api/v1/auth/logout"),
    ("GET", "/api/v1/me"),
    ("POST", "/api/v1/teams"),
    ("GET", "/api/v1/teams"),
    ("POST", "/api/v1/teams/join"),
    ("GET", "/healthz"),
    ("GET", "/api/v1/stream"),
}

BODIES: dict[tuple[str, str], Any] = {
    ("POST", "/api/v1/teams/{team_id}/invites"): {"role": "member"},
    ("PATCH", "/api/v1/teams/{team_id}/members/{user_id}"): {"role": "admin"},
    ("POST", "/api/v1/teams/{team_id}/repos/match"): {"root_commits": ["9" * 40]},
    ("PATCH", "/api/v1/codemarks/{codemark_id}"): {"status": "resolved"},
    ("POST", "/api/v1/codemarks/{codemark_id}/replies"): {"text": "sneaky"},
    ("PATCH", "/api/v1/replies/{reply_id}"): {"text": "sneaky"},
    ("POST", "/api/v1/codemarks/{codemark_id}/markers/{marker_id}/references"): {
        "commit": "8" * 40,
        "path": "x.py",
        "start_line": 1,
        "end_line": 2,
    },
    ("POST", "/api/v1/codemarks/{codemark_id}/markers/{marker_id}/promote"): {
        "commit": "8" * 40,
        "path": "x.py",
        "start_line": 1,
        "end_line": 2,
    },
    ("POST", "/api/v1/teams/{team_id}/inbox/read"): {"all": True},
}
# Required query parameters, so that the request reaches the access check instead of failing validation.
QUERIES: dict[tuple[str, str], dict[str, str]] = {
    ("GET", "/api/v1/teams/{team_id}/search"): {"q": "sneaky"},
}


def team_routes(app: FastAPI) -> list[tuple[str, str]]:
    """Return (method, path) of every route that is not team-less, read from the app's OpenAPI route table."""
    found = []
    for path, operations in app.openapi()["paths"].items():
        for method in operations:
            if (method.upper(), path) not in TEAMLESS:
                found.append((method.upper(), path))
    return found


async def test_other_team_gets_not_found_everywhere(http: httpx.AsyncClient, api: Api, app: FastAPI) -> None:
    ada, bo = await api.person("Ada"), await api.person("Bo")
    team = await api.team(ada)
    await api.join(ada, team, bo)
    repo = await api.repo(ada, team)
    cm = await api.codemark(ada, team, repo)
    reply = (
        await http.post(f"/api/v1/codemarks/{cm['id']}/replies", json={"text": "x"}, headers=bo.headers)
    ).json()

    eve = await api.person("Eve")
    await api.team(eve, "evil")  # Eve is an owner elsewhere: roles in her own team must not leak across.
    ids = {
        "team_id": team,
        "user_id": bo.id,
        "repo_id": repo,
        "codemark_id": cm["id"],
        "reply_id": reply["id"],
    }

    marker = cm["markers"][0]["id"]
    ids["marker_id"] = marker
    ids["other_id"] = (await api.codemark(ada, team, repo))["id"]
    ids["emoji"] = "%F0%9F%91%8D"
    bodies = {
        **BODIES,
        ("POST", "/api/v1/teams/{team_id}/codemarks"): codemark_body(repo),
        ("POST", "/api/v1/teams/{team_id}/locations"): {
            "commit": "7" * 40,
            "algorithm": "v1",
            "locations": [{"marker_id": marker, "status": "deleted", "confidence": 0.5}],
        },
        ("POST", "/api/v1/teams/{team_id}/locations/query"): {
            "commit": "7" * 40,
            "algorithm": "v1",
            "marker_ids": [marker],
        },
    }
    routes = team_routes(app)
    assert len(routes) >= 14
    for method, template in routes:
        names = re.findall(r"{(\w+)}", template)
        assert names, (
            f"{method} {template} has no team-owned object in its path: add it to TEAMLESS or test it"
        )
        assert all(n in ids for n in names), f"no object for {names} of {method} {template}: extend this test"
        path = template.format(**ids)
        body, query = bodies.get((method, template)), QUERIES.get((method, template))
        r = await http.request(method, path, json=body, params=query, headers=eve.headers)
        assert r.status_code == 404, (method, path, r.text)
        assert r.json()["error"]["code"] == "not_found"
        # Anonymous callers are told to sign in, before anything about the object.
        r = await http.request(method, path, json=body, params=query)
        assert r.status_code == 401, (method, path)

    # Nothing changed for the first team.
    r = await http.get(f"/api/v1/codemarks/{cm['id']}", headers=ada.headers)
    assert r.json()["status"] == "open"
    assert r.json()["reply_count"] == 1
    r = await http.get(f"/api/v1/teams/{team}/members", headers=ada.headers)
    assert [m["role"] for m in r.json()] == ["owner", "member"]


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
