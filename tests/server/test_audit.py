"""The audit trail's read side: GET /api/v1/teams/{id}/audit for admins, newest first, with cursor pages,
action filters, the team's events and its current members' account events (docs/security.md)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.server.conftest import PASSWORD, Api, Person, one_app_per_module

PROXY = "10.0.0.1"
HOME = "203.0.113.5"
CAFE = "198.51.100.7"


# Every test works in teams of its own: one app, trusting the proxy the test client connects from, serves
# the module.
module_data_dir, module_database_url, module_settings, module_app = one_app_per_module(
    trusted_proxies="10.0.0.0/8"
)


@pytest.fixture
async def http(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=(PROXY, 4321))
    async with httpx.AsyncClient(transport=transport, base_url="http://kibitz.test") as client:
        yield client


def at(person: Person, address: str) -> dict[str, str]:
    return {**person.headers, "X-Forwarded-For": address}


async def trail(
    http: httpx.AsyncClient, team: str, who: Person, **params: Any
) -> tuple[list[dict[str, Any]], str | None]:
    r = await http.get(f"/api/v1/teams/{team}/audit", params=params, headers=at(who, HOME))
    assert r.status_code == 200, r.text
    body = r.json()
    return body["items"], body["next_cursor"]


async def login(http: httpx.AsyncClient, email: str, address: str, password: str = PASSWORD) -> int:
    r = await http.post(
        "/api/v1/auth/login",
        json={"email": email, "password": password},
        headers={"X-Forwarded-For": address},
    )
    return r.status_code


async def test_admins_read_the_teams_security_story(http: httpx.AsyncClient, api: Api) -> None:
    owner, member, outsider = await api.person("Olga"), await api.person("Max"), await api.person("Ola")
    team = await api.team(owner)
    await api.join(owner, team, member)
    assert await login(http, member.email, CAFE, "wrong") == 401
    assert await login(http, member.email, HOME) == 200
    assert await login(http, outsider.email, HOME) == 200  # not a member: not in this team's trail
    r = await http.put(
        f"/api/v1/teams/{team}/allowlist", json={"cidrs": ["203.0.113.0/24"]}, headers=at(owner, HOME)
    )
    assert r.status_code == 200, r.text
    assert (await http.get(f"/api/v1/teams/{team}/members", headers=at(member, CAFE))).status_code == 403

    items, next_cursor = await trail(http, team, owner)
    assert next_cursor is None
    actions = [(i["action"], i["actor"]["id"] if i["actor"] else None, i["address"]) for i in items]
    assert actions == [
        ("address.denied", member.id, CAFE),
        ("allowlist.changed", owner.id, HOME),
        ("login.succeeded", member.id, HOME),
        ("login.failed", member.id, CAFE),
        ("member.joined", member.id, PROXY),
        ("login.succeeded", member.id, PROXY),
        ("login.succeeded", owner.id, PROXY),
    ]
    denied, changed, _ok, failed, joined, _m, _o = items
    assert denied["details"] == {"via": "api", "method": "GET"}
    assert changed["details"] == {"old": [], "new": ["203.0.113.0/24"]}
    assert failed["details"] == {"reason": "wrong_password"}
    assert joined["target_id"] == member.id
    assert joined["details"]["role"] == "member"
    assert joined["actor"]["handle"]
    assert set(items[0]) == {"id", "at", "action", "actor", "target_id", "address", "details"}
    assert [i["at"] for i in items] == sorted((i["at"] for i in items), reverse=True)
    # Nothing secret or personal: no email, no password.
    text = str(items)
    assert member.email not in text
    assert owner.email not in text
    assert PASSWORD not in text


async def test_pages_follow_the_cursor(http: httpx.AsyncClient, api: Api) -> None:
    owner = await api.person("Olga")
    team = await api.team(owner)
    for _ in range(6):
        assert await login(http, owner.email, HOME) == 200
    everything, none_left = await trail(http, team, owner, limit=200)
    assert none_left is None
    assert len(everything) == 7

    seen: list[dict[str, Any]] = []
    cursor = None
    while True:
        page, cursor = await trail(http, team, owner, limit=3, **({"cursor": cursor} if cursor else {}))
        assert len(page) <= 3
        seen.extend(page)
        if cursor is None:
            break
    assert [i["id"] for i in seen] == [i["id"] for i in everything]


async def test_filters_by_action_or_family(http: httpx.AsyncClient, api: Api) -> None:
    owner, member = await api.person("Olga"), await api.person("Max")
    team = await api.team(owner)
    await api.join(owner, team, member)
    assert await login(http, member.email, CAFE, "wrong") == 401

    items, _ = await trail(http, team, owner, action="login.failed")
    assert [(i["action"], i["actor"]["id"]) for i in items] == [("login.failed", member.id)]
    items, _ = await trail(http, team, owner, action="login")
    assert {i["action"] for i in items} == {"login.failed", "login.succeeded"}
    assert len(items) == 3
    items, _ = await trail(http, team, owner, action="member.joined")
    assert [i["target_id"] for i in items] == [member.id]

    for bad in ("login.", "nonsense", "login.%", "%"):
        r = await http.get(f"/api/v1/teams/{team}/audit", params={"action": bad}, headers=at(owner, HOME))
        assert r.status_code == 422, (bad, r.text)
        assert r.json()["error"]["code"] == "validation_failed"


async def test_former_members_and_other_teams_stay_out(http: httpx.AsyncClient, api: Api) -> None:
    owner, member, other_owner = await api.person("Olga"), await api.person("Max"), await api.person("Ian")
    team, other_team = await api.team(owner), await api.team(other_owner, "other")
    await api.join(owner, team, member)
    r = await http.delete(f"/api/v1/teams/{team}/members/{member.id}", headers=at(owner, HOME))
    assert r.status_code == 204, r.text
    assert await login(http, member.email, CAFE) == 200

    items, _ = await trail(http, team, owner, action="login")
    assert {i["actor"]["id"] for i in items} == {owner.id}
    # The team's own events about them stay.
    items, _ = await trail(http, team, owner, action="member")
    assert [i["action"] for i in items] == ["member.removed", "member.joined"]
    items, _ = await trail(http, other_team, other_owner)
    assert {i["actor"]["id"] for i in items} == {other_owner.id}


async def test_only_admins_may_read_it(http: httpx.AsyncClient, api: Api) -> None:
    owner, admin, member, stranger = [await api.person(n) for n in ("Olga", "Ana", "Max", "Stan")]
    team = await api.team(owner)
    await api.join(owner, team, admin, role="admin")
    await api.join(owner, team, member)
    await api.team(stranger, "elsewhere")
    path = f"/api/v1/teams/{team}/audit"

    assert (await http.get(path, headers=at(admin, HOME))).status_code == 200
    r = await http.get(path, headers=at(member, HOME))
    assert r.status_code == 403, r.text
    assert r.json()["error"]["code"] == "forbidden"
    r = await http.get(path, headers=at(stranger, HOME))
    assert r.status_code == 404, r.text
    assert (await http.get(path)).status_code == 401
    assert (await http.get("/api/v1/teams/nonexistent/audit", headers=at(owner, HOME))).status_code == 404


@pytest.mark.parametrize(
    "params", [{"cursor": "not-a-cursor"}, {"limit": 0}, {"limit": 201}, {"action": "x" * 49}]
)
@pytest.mark.database_agnostic
async def test_bad_queries_are_refused(http: httpx.AsyncClient, api: Api, params: dict[str, Any]) -> None:
    owner = await api.person("Olga")
    team = await api.team(owner)
    r = await http.get(f"/api/v1/teams/{team}/audit", params=params, headers=at(owner, HOME))
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "validation_failed"
