"""Per-team IP allowlists: who may set them, what they refuse, and how fast a change holds (docs/security.md).

Requests reach the app from a trusted proxy (10.0.0.1), so each one acts from the address its
X-Forwarded-For names; one test talks to the app directly from an untrusted peer instead.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from kibitz.server.app import create_app
from kibitz.server.audit.models import AuditEvent
from kibitz.server.codemarks.models import Codemark
from kibitz.settings import Settings
from tests.server.conftest import Api, Person, codemark_body, one_app_per_module

PROXY = "10.0.0.1"
OFFICE = "203.0.113.0/24"
INSIDE = "203.0.113.5"
OUTSIDE = "198.51.100.7"


# Every test works in teams of its own: one app, trusting the proxy the test client connects from, serves
# the module.
module_data_dir, module_database_url, module_settings, module_app = one_app_per_module(
    trusted_proxies="10.0.0.0/8"
)


@pytest.fixture
async def http(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """Return a client whose requests come through the trusted proxy."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=(PROXY, 4321))
    async with httpx.AsyncClient(transport=transport, base_url="http://kibitz.test") as client:
        yield client


def at(person: Person, address: str) -> dict[str, str]:
    """Return the person's headers for a request the proxy forwards from `address`."""
    return {**person.headers, "X-Forwarded-For": address}


async def put_allowlist(
    http: httpx.AsyncClient, team: str, who: Person, cidrs: list[str], address: str = INSIDE
) -> httpx.Response:
    return await http.put(f"/api/v1/teams/{team}/allowlist", json={"cidrs": cidrs}, headers=at(who, address))


async def audit(app: FastAPI, team: str, action: str) -> list[dict[str, Any]]:
    """Return the team's stored audit events of one action, oldest first."""
    async with app.state.kibitz.sessionmaker() as session:
        rows = await session.scalars(
            select(AuditEvent)
            .where(AuditEvent.team_id == team, AuditEvent.action == action)
            .order_by(AuditEvent.at, AuditEvent.id)
        )
        return [
            {
                "team": row.team_id,
                "actor": row.actor_id,
                "address": row.address,
                "details": json.loads(row.details),
            }
            for row in rows
        ]


async def setup_team(api: Api) -> tuple[Person, Person, str, str, dict[str, Any]]:
    """Return an owner, a member, their team, a repo and a codemark with one reply."""
    owner, member = await api.person("Olga"), await api.person("Max")
    team = await api.team(owner)
    await api.join(owner, team, member)
    repo = await api.repo(owner, team)
    codemark = await api.codemark(owner, team, repo)
    r = await api.http.post(
        f"/api/v1/codemarks/{codemark['id']}/replies", json={"text": "ok"}, headers=owner.headers
    )
    assert r.status_code == 201, r.text
    return owner, member, team, repo, {**codemark, "reply_id": r.json()["id"]}


def team_reads(team: str, repo: str, codemark: dict[str, Any]) -> list[str]:
    """Return a GET of each door of the access layer: team, repo, codemark (API and permalink), reply."""
    return [
        f"/api/v1/teams/{team}/members",
        f"/api/v1/teams/{team}/codemarks",
        f"/api/v1/teams/{team}/repos/{repo}",
        f"/api/v1/teams/{team}/search?q=return",
        f"/api/v1/teams/{team}/inbox",
        f"/api/v1/codemarks/{codemark['id']}",
        f"/c/{codemark['id']}",
        f"/api/v1/codemarks/{codemark['id']}/replies",
        f"/api/v1/replies/{codemark['reply_id']}/history",
    ]


async def test_an_admin_sets_reads_and_clears_the_allowlist(http: httpx.AsyncClient, api: Api) -> None:
    owner, _member, team, _repo, _cm = await setup_team(api)
    r = await http.get(f"/api/v1/teams/{team}/allowlist", headers=at(owner, INSIDE))
    assert r.status_code == 200, r.text
    assert r.json() == {"cidrs": [], "your_address": INSIDE}

    # Normalised: host bits cleared, bare addresses become /32 and /128, repeats dropped, order kept.
    cidrs = ["203.0.113.77/24", "2001:DB8:1::5/48", "198.51.100.1", "203.0.113.0/24", "2001:db8::1"]
    r = await put_allowlist(http, team, owner, cidrs)
    assert r.status_code == 200, r.text
    expected = ["203.0.113.0/24", "2001:db8:1::/48", "198.51.100.1/32", "2001:db8::1/128"]
    assert r.json() == {"cidrs": expected, "your_address": INSIDE}
    r = await http.get(f"/api/v1/teams/{team}/allowlist", headers=at(owner, INSIDE))
    assert r.json()["cidrs"] == expected

    r = await put_allowlist(http, team, owner, [])
    assert r.status_code == 200, r.text
    assert r.json()["cidrs"] == []
    r = await http.get(f"/api/v1/teams/{team}/members", headers=at(owner, OUTSIDE))
    assert r.status_code == 200, r.text


@pytest.mark.database_agnostic
async def test_every_door_refuses_an_outside_address(http: httpx.AsyncClient, api: Api, app: FastAPI) -> None:
    owner, member, team, repo, codemark = await setup_team(api)
    # Warm the listing's caches from outside first: a cached role must not let the next request through.
    r = await http.get(f"/api/v1/teams/{team}/codemarks", headers=at(member, OUTSIDE))
    assert r.status_code == 200, r.text
    assert (await put_allowlist(http, team, owner, [OFFICE])).status_code == 200

    for path in team_reads(team, repo, codemark):
        # Inside first: the listing then answers the outsider from its caches, which must still refuse.
        r = await http.get(path, headers=at(member, INSIDE))
        assert r.status_code == 200, (path, r.text)
        r = await http.get(path, headers=at(member, OUTSIDE))
        assert r.status_code == 403, (path, r.text)
        error = r.json()["error"]
        assert error["code"] == "address_not_allowed", path
        assert error["details"] == {"team_id": team, "address": OUTSIDE}

    denied = await audit(app, team, "address.denied")
    assert len(denied) == len(team_reads(team, repo, codemark))
    assert {(d["team"], d["actor"], d["address"]) for d in denied} == {(team, member.id, OUTSIDE)}
    assert {d["details"]["via"] for d in denied} == {"api"}


async def test_a_refused_write_changes_nothing(http: httpx.AsyncClient, api: Api, app: FastAPI) -> None:
    owner, member, team, repo, codemark = await setup_team(api)
    assert (await put_allowlist(http, team, owner, [OFFICE])).status_code == 200

    async def count() -> int:
        async with app.state.kibitz.sessionmaker() as session:
            counted = select(func.count()).select_from(Codemark).where(Codemark.team_id == team)
            return int(await session.scalar(counted) or 0)

    before = await count()
    r = await http.post(
        f"/api/v1/teams/{team}/codemarks", json=codemark_body(repo), headers=at(member, OUTSIDE)
    )
    assert r.status_code == 403, r.text
    assert r.json()["error"]["code"] == "address_not_allowed"
    r = await http.patch(
        f"/api/v1/codemarks/{codemark['id']}", json={"title": "hijacked"}, headers=at(owner, OUTSIDE)
    )
    assert r.status_code == 403, r.text
    assert await count() == before
    r = await http.get(f"/api/v1/codemarks/{codemark['id']}", headers=at(owner, INSIDE))
    assert r.json().get("title") != "hijacked"
    # Both refusals are on record although their transactions rolled back.
    assert [d["actor"] for d in await audit(app, team, "address.denied")] == [member.id, owner.id]


@pytest.mark.database_agnostic
async def test_ipv6_and_ipv4_mapped_addresses(http: httpx.AsyncClient, api: Api) -> None:
    owner, member, team, _repo, _cm = await setup_team(api)
    r = await put_allowlist(http, team, owner, ["2001:db8:1::/48", OFFICE], address="2001:db8:1::99")
    assert r.status_code == 200, r.text
    members = f"/api/v1/teams/{team}/members"
    assert (await http.get(members, headers=at(member, "2001:db8:1:2::5"))).status_code == 200
    assert (await http.get(members, headers=at(member, "2001:db8:2::5"))).status_code == 403
    # An IPv4 client seen through an IPv6 socket is compared as the IPv4 address it is.
    assert (await http.get(members, headers=at(member, "::ffff:203.0.113.9"))).status_code == 200
    assert (await http.get(members, headers=at(member, "::ffff:198.51.100.9"))).status_code == 403


@pytest.mark.database_agnostic
async def test_a_spoofed_forwarded_header_from_an_untrusted_peer_is_ignored(
    app: FastAPI, http: httpx.AsyncClient, api: Api
) -> None:
    owner, member, team, _repo, _cm = await setup_team(api)
    assert (await put_allowlist(http, team, owner, [OFFICE])).status_code == 200
    direct = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=(OUTSIDE, 5555))
    async with httpx.AsyncClient(transport=direct, base_url="http://kibitz.test") as outsider:
        r = await outsider.get(f"/api/v1/teams/{team}/members", headers=at(member, INSIDE))
        assert r.status_code == 403, r.text
        assert r.json()["error"]["details"]["address"] == OUTSIDE


async def test_an_admin_cannot_lock_themselves_out(http: httpx.AsyncClient, api: Api, app: FastAPI) -> None:
    owner, _member, team, _repo, _cm = await setup_team(api)
    assert (await put_allowlist(http, team, owner, ["2001:db8::/32", OFFICE])).status_code == 200

    r = await put_allowlist(http, team, owner, ["2001:db8::/32"], address=INSIDE)
    assert r.status_code == 409, r.text
    assert r.json()["error"]["code"] == "conflict"
    assert INSIDE in r.json()["error"]["message"]
    assert r.json()["error"]["details"] == {"address": INSIDE}
    r = await http.get(f"/api/v1/teams/{team}/allowlist", headers=at(owner, INSIDE))
    assert r.json()["cidrs"] == ["2001:db8::/32", OFFICE]
    assert len(await audit(app, team, "allowlist.changed")) == 1


@pytest.mark.parametrize(
    ("cidrs", "bad"),
    [
        (["203.0.113.0/24", "not-a-network"], [1]),
        (["10.0.0.0/33", "fe80::/129", OFFICE], [0, 1]),
        (["::ffff:203.0.113.0/120"], [0]),
        ([""], None),
        ([OFFICE, 7], None),
        ([f"10.{i // 250}.{i % 250}.0/24" for i in range(101)] + [OFFICE], None),
    ],
)
@pytest.mark.database_agnostic
async def test_a_bad_list_is_refused_and_nothing_changes(
    http: httpx.AsyncClient, api: Api, app: FastAPI, cidrs: list[Any], bad: list[int] | None
) -> None:
    owner, _member, team, _repo, _cm = await setup_team(api)
    assert (await put_allowlist(http, team, owner, [OFFICE])).status_code == 200
    r = await put_allowlist(http, team, owner, cidrs)
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["code"] == "validation_failed"
    if bad is not None:
        assert [d["loc"] for d in error["details"]] == [["body", "cidrs", i] for i in bad]
    r = await http.get(f"/api/v1/teams/{team}/allowlist", headers=at(owner, INSIDE))
    assert r.json()["cidrs"] == [OFFICE]
    assert len(await audit(app, team, "allowlist.changed")) == 1


async def test_only_the_teams_admins_may_read_or_change_it(http: httpx.AsyncClient, api: Api) -> None:
    owner, member, team, _repo, _cm = await setup_team(api)
    admin, stranger = await api.person("Ana"), await api.person("Stan")
    await api.join(owner, team, admin, role="admin")
    await api.team(stranger, "elsewhere")
    path = f"/api/v1/teams/{team}/allowlist"

    for who, status in ((member, 403), (stranger, 404)):
        assert (await http.get(path, headers=at(who, INSIDE))).status_code == status
        assert (await put_allowlist(http, team, who, [OFFICE])).status_code == status
    assert (await http.get(path)).status_code == 401
    assert (await http.put(path, json={"cidrs": [OFFICE]})).status_code == 401
    r = await http.get(path, headers=at(owner, INSIDE))
    assert r.json()["cidrs"] == []

    assert (await put_allowlist(http, team, admin, [OFFICE])).status_code == 200
    # From outside the list, even the owner cannot change it (nor read anything else of the team).
    r = await put_allowlist(http, team, owner, [], address=OUTSIDE)
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "address_not_allowed"


async def test_the_change_is_audited_with_the_old_and_new_lists(
    http: httpx.AsyncClient, api: Api, app: FastAPI
) -> None:
    owner, _member, team, _repo, _cm = await setup_team(api)
    assert (await put_allowlist(http, team, owner, [OFFICE])).status_code == 200
    assert (await put_allowlist(http, team, owner, [OFFICE])).status_code == 200  # no change, no event
    assert (await put_allowlist(http, team, owner, [OFFICE, "2001:db8::/32"])).status_code == 200
    assert (await put_allowlist(http, team, owner, [])).status_code == 200
    changes = await audit(app, team, "allowlist.changed")
    assert [(c["details"]["old"], c["details"]["new"]) for c in changes] == [
        ([], [OFFICE]),
        ([OFFICE], [OFFICE, "2001:db8::/32"]),
        ([OFFICE, "2001:db8::/32"], []),
    ]
    assert {(c["team"], c["actor"], c["address"]) for c in changes} == {(team, owner.id, INSIDE)}


async def test_joining_from_outside_is_refused_and_the_invite_stays_usable(
    http: httpx.AsyncClient, api: Api, app: FastAPI
) -> None:
    owner, _member, team, _repo, _cm = await setup_team(api)
    newcomer = await api.person("Nina")
    assert (await put_allowlist(http, team, owner, [OFFICE])).status_code == 200
    r = await http.post(f"/api/v1/teams/{team}/invites", json={"role": "member"}, headers=at(owner, INSIDE))
    code = r.json()["code"]
    r = await http.post("/api/v1/teams/join", json={"code": code}, headers=at(newcomer, OUTSIDE))
    assert r.status_code == 403, r.text
    assert r.json()["error"]["code"] == "address_not_allowed"
    r = await http.post("/api/v1/teams/join", json={"code": code}, headers=at(newcomer, INSIDE))
    assert r.status_code == 200, r.text
    [joined] = [j for j in await audit(app, team, "member.joined") if j["actor"] == newcomer.id]
    assert (joined["team"], joined["address"], joined["details"]["role"]) == (team, INSIDE, "member")


async def test_another_process_sees_a_change_within_a_second(
    settings: Settings, http: httpx.AsyncClient, api: Api
) -> None:
    owner, member, team, _repo, _cm = await setup_team(api)
    # A second app instance on the same database stands for another server process.
    other = create_app(settings, migrate=False)
    async with other.router.lifespan_context(other):
        transport = httpx.ASGITransport(app=other, raise_app_exceptions=False, client=(PROXY, 4321))
        async with httpx.AsyncClient(transport=transport, base_url="http://kibitz.test") as there:
            listing = f"/api/v1/teams/{team}/codemarks"
            assert (await there.get(listing, headers=at(member, OUTSIDE))).status_code == 200
            assert (await put_allowlist(http, team, owner, [OFFICE])).status_code == 200
            changed = time.monotonic()
            while (await there.get(listing, headers=at(member, OUTSIDE))).status_code == 200:
                assert time.monotonic() - changed < 1.0, "the other process still lets the outsider in"
                await asyncio.sleep(0.02)
            assert (await there.get(listing, headers=at(member, INSIDE))).status_code == 200


async def test_open_streams_outside_a_new_allowlist_are_cut(
    http: httpx.AsyncClient, api: Api, app: FastAPI
) -> None:
    owner, _member, team, _repo, _cm = await setup_team(api)
    hub = app.state.kibitz.hub
    r = await http.get("/api/v1/tokens", headers=at(owner, INSIDE))
    assert r.status_code == 200, r.text
    token_id = next(t["id"] for t in r.json() if t["current"])
    inside = await hub.subscribe(owner.id, team, 0, token_id=token_id, address=INSIDE)
    outside = await hub.subscribe(owner.id, team, 0, token_id=token_id, address=OUTSIDE)
    try:
        await hub.sweep()
        assert (inside.cut, outside.cut) == (None, None)
        r = await put_allowlist(http, team, owner, [OFFICE])
        assert r.status_code == 200, r.text
        await hub.sweep()
        assert (inside.cut, outside.cut) == (None, "address")
        assert outside.wake.is_set()
    finally:
        hub.unsubscribe(inside)
        hub.unsubscribe(outside)
