"""A team with something of every kind an export carries, made through the real API (for the export tests)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from tests.server.conftest import Api, Person

CY_BOOKMARK = "cy-private-bookmark-canary"
ADA_BOOKMARK = "ada-own-bookmark-canary"


@dataclass
class Seeded:
    """The people, team and objects of a seeded team."""

    ada: Person  # owner
    bo: Person  # admin
    cy: Person  # member
    team: str
    repo: str
    ada_codemark: dict[str, Any]
    cy_codemark: dict[str, Any]
    ada_reply: dict[str, Any]
    cy_bookmark: dict[str, Any]
    ada_bookmark: dict[str, Any]


async def ok(response: Any, *statuses: int) -> Any:
    """Return the JSON body of a response that must have one of `statuses`."""
    r: httpx.Response = await response
    assert r.status_code in statuses, r.text
    return r.json() if r.content else None


async def seed_team(http: httpx.AsyncClient, api: Api) -> Seeded:
    """Make a team of three where everyone wrote, edited, reacted, followed, related and bookmarked."""
    ada, bo, cy = await api.person("Ada"), await api.person("Bo"), await api.person("Cy")
    team = await api.team(ada, "exported")
    await api.join(ada, team, bo, "admin")
    await api.join(ada, team, cy)
    repo = await ok(
        http.post(
            f"/api/v1/teams/{team}/repos/match",
            json={"root_commits": ["b" * 40], "remotes": ["https://git.example.com/core/app.git"]},
            headers=ada.headers,
        ),
        200,
        201,
    )
    repo_id = repo["id"]
    ada_cm = await api.codemark(
        ada,
        team,
        repo_id,
        title="Retry loop",
        text=f"Why retry here, @{bo.email}?",
        tags=["perf", "net"],
        assignees=[cy.id],
    )
    cy_cm = await api.codemark(cy, team, repo_id, type="question", text="Is fetchUrl_retry still used?")
    h = ada.headers
    await ok(
        http.patch(
            f"/api/v1/codemarks/{ada_cm['id']}", json={"text": f"Why retry twice, @{bo.email}?"}, headers=h
        ),
        200,
    )
    await ok(http.patch(f"/api/v1/codemarks/{ada_cm['id']}", json={"pinned": True}, headers=h), 200)
    await ok(
        http.patch(f"/api/v1/codemarks/{cy_cm['id']}", json={"status": "resolved"}, headers=cy.headers), 200
    )
    ada_reply = await ok(
        http.post(f"/api/v1/codemarks/{cy_cm['id']}/replies", json={"text": "It is, in sync.py"}, headers=h),
        201,
    )
    await ok(
        http.patch(f"/api/v1/replies/{ada_reply['id']}", json={"text": "Yes: sync.py calls it"}, headers=h),
        200,
    )
    bo_reply = await ok(
        http.post(f"/api/v1/codemarks/{cy_cm['id']}/replies", json={"text": "gone soon"}, headers=bo.headers),
        201,
    )
    await ok(http.delete(f"/api/v1/replies/{bo_reply['id']}", headers=bo.headers), 200, 204)
    await ok(
        http.post(f"/api/v1/codemarks/{cy_cm['id']}/replies", json={"text": "Thanks!"}, headers=cy.headers),
        201,
    )
    for who, kind, object_id, emoji in (
        (ada, "codemarks", cy_cm["id"], "👍"),
        (bo, "codemarks", cy_cm["id"], "👍"),
        (cy, "replies", ada_reply["id"], "🎉"),
        (ada, "codemarks", ada_cm["id"], "🚀"),
    ):
        url = f"/api/v1/{kind}/{object_id}/reactions/{quote(emoji, safe='')}"
        await ok(http.put(url, headers=who.headers), 200)
    await ok(http.put(f"/api/v1/codemarks/{cy_cm['id']}/follow", headers=bo.headers), 200)
    await ok(http.put(f"/api/v1/codemarks/{ada_cm['id']}/related/{cy_cm['id']}", headers=h), 200)
    marker = ada_cm["markers"][0]["id"]
    await ok(
        http.post(
            f"/api/v1/codemarks/{ada_cm['id']}/markers/{marker}/references",
            json={
                "kind": "upstream",
                "commit": "c" * 40,
                "path": "src/app.py",
                "start_line": 4,
                "end_line": 6,
            },
            headers=h,
        ),
        200,
        201,
    )
    await ok(
        http.post(
            f"/api/v1/teams/{team}/locations",
            json={
                "commit": "d" * 40,
                "algorithm": "v1",
                "locations": [
                    {
                        "marker_id": marker,
                        "status": "shifted",
                        "confidence": 0.75,
                        "path": "src/app.py",
                        "start_line": 9,
                        "end_line": 11,
                    }
                ],
            },
            headers=cy.headers,
        ),
        200,
        201,
    )
    cy_bookmark = await api.codemark(cy, team, repo_id, type="bookmark", text=CY_BOOKMARK)
    ada_bookmark = await api.codemark(ada, team, repo_id, type="bookmark", text=ADA_BOOKMARK)
    await ok(
        http.put(f"/api/v1/teams/{team}/allowlist", json={"cidrs": ["0.0.0.0/0", "::/0"]}, headers=h), 200
    )
    return Seeded(ada, bo, cy, team, repo_id, ada_cm, cy_cm, ada_reply, cy_bookmark, ada_bookmark)
