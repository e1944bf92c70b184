"""Roles: ownership transfer, the last owner, and the audit trail and events of role changes and removals."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from kibitz.server.audit.models import AuditEvent
from kibitz.server.errors import Forbidden
from kibitz.server.teams import service
from kibitz.server.teams.models import Membership
from tests.server.conftest import Api, Person, one_app_per_module
from tests.server.event_log import head, team_events

# Every test works in teams of its own: one app serves the module.
module_data_dir, module_database_url, module_settings, module_app = one_app_per_module()

# member.joined is audited by the join function; these tests look only at what roles and removals record.
ROLE_ACTIONS = ("member.role_changed", "member.removed", "member.left", "team.ownership_transferred")


async def audit_trail(app: FastAPI, team_id: str) -> list[dict[str, Any]]:
    """Return the team's role and removal audit events, oldest first, as plain dicts."""
    async with app.state.kibitz.sessionmaker() as session:
        rows = await session.scalars(
            select(AuditEvent)
            .where(AuditEvent.team_id == team_id, AuditEvent.action.in_(ROLE_ACTIONS))
            .order_by(AuditEvent.at, AuditEvent.id)
        )
        return [
            {
                "action": row.action,
                "actor": row.actor_id,
                "target": row.target_id,
                "address": row.address,
                **json.loads(row.details),
            }
            for row in rows
        ]


async def roles(http: httpx.AsyncClient, team_id: str, who: Person) -> dict[str, str]:
    """Return {user_id: role} of the team's members."""
    r = await http.get(f"/api/v1/teams/{team_id}/members", headers=who.headers)
    assert r.status_code == 200, r.text
    return {m["user_id"]: m["role"] for m in r.json()}


async def test_transfer_makes_the_member_owner_and_the_caller_admin(
    http: httpx.AsyncClient, api: Api, app: FastAPI
) -> None:
    ada, bo = await api.person("Ada"), await api.person("Bo")
    team = await api.team(ada)
    await api.join(ada, team, bo)
    seen = await head(app, team)

    r = await http.post(f"/api/v1/teams/{team}/transfer", json={"user_id": bo.id}, headers=ada.headers)
    assert r.status_code == 200, r.text
    assert (r.json()["user_id"], r.json()["role"]) == (bo.id, "owner")
    assert await roles(http, team, bo) == {ada.id: "admin", bo.id: "owner"}

    # Both role changes reach the team's log as the members after the change.
    events = await team_events(app, team, seen)
    assert [(e.type, e.data["user_id"], e.data["role"]) for e in events] == [
        ("member.updated", bo.id, "owner"),
        ("member.updated", ada.id, "admin"),
    ]
    trail = await audit_trail(app, team)
    assert trail == [
        {
            "action": "member.role_changed",
            "actor": ada.id,
            "target": bo.id,
            "address": "127.0.0.1",
            "old_role": "member",
            "new_role": "owner",
        },
        {
            "action": "member.role_changed",
            "actor": ada.id,
            "target": ada.id,
            "address": "127.0.0.1",
            "old_role": "owner",
            "new_role": "admin",
        },
        {"action": "team.ownership_transferred", "actor": ada.id, "target": bo.id, "address": "127.0.0.1"},
    ]

    # The former owner is an admin now: they cannot hand the team over again, nor take it back.
    r = await http.post(f"/api/v1/teams/{team}/transfer", json={"user_id": ada.id}, headers=ada.headers)
    assert r.status_code == 403
    r = await http.patch(
        f"/api/v1/teams/{team}/members/{ada.id}", json={"role": "owner"}, headers=ada.headers
    )
    assert r.status_code == 403
    assert await roles(http, team, bo) == {ada.id: "admin", bo.id: "owner"}


async def test_transfer_refusals_change_nothing(http: httpx.AsyncClient, api: Api, app: FastAPI) -> None:
    ada, bo, cy, eve = [await api.person(n) for n in ("Ada", "Bo", "Cy", "Eve")]
    team = await api.team(ada)
    await api.join(ada, team, bo, "admin")
    await api.join(ada, team, cy)
    await api.team(eve, "elsewhere")
    before = await roles(http, team, ada)
    seen = await head(app, team)
    url = f"/api/v1/teams/{team}/transfer"

    for who, body, status, code in (
        (bo, {"user_id": cy.id}, 403, "forbidden"),  # an admin cannot hand over the team
        (cy, {"user_id": cy.id}, 403, "forbidden"),  # nor a member
        (ada, {"user_id": eve.id}, 404, "not_found"),  # the new owner must be a member
        (ada, {"user_id": "z" * 16}, 404, "not_found"),
        (ada, {"user_id": ada.id}, 409, "conflict"),  # to yourself: nothing to do
        (eve, {"user_id": eve.id}, 404, "not_found"),  # another team's owner sees no team
        (ada, {}, 422, "validation_failed"),
        (ada, {"user_id": bo.id, "role": "owner"}, 422, "validation_failed"),
    ):
        r = await http.post(url, json=body, headers=who.headers)
        assert (r.status_code, r.json()["error"]["code"]) == (status, code), (body, r.text)
    assert (await http.post(url, json={"user_id": cy.id})).status_code == 401

    assert await roles(http, team, ada) == before
    assert await team_events(app, team, seen) == []
    assert await audit_trail(app, team) == []


async def test_transfer_to_a_second_owner_only_steps_down(
    http: httpx.AsyncClient, api: Api, app: FastAPI
) -> None:
    ada, bo = await api.person("Ada"), await api.person("Bo")
    team = await api.team(ada)
    await api.join(ada, team, bo)
    r = await http.patch(f"/api/v1/teams/{team}/members/{bo.id}", json={"role": "owner"}, headers=ada.headers)
    assert r.status_code == 200
    seen = await head(app, team)
    r = await http.post(f"/api/v1/teams/{team}/transfer", json={"user_id": bo.id}, headers=ada.headers)
    assert r.status_code == 200
    assert await roles(http, team, bo) == {ada.id: "admin", bo.id: "owner"}
    assert [(e.type, e.data["user_id"]) for e in await team_events(app, team, seen)] == [
        ("member.updated", ada.id)
    ]


async def test_last_owner_can_neither_leave_nor_step_down(
    http: httpx.AsyncClient, api: Api, app: FastAPI
) -> None:
    ada, bo = await api.person("Ada"), await api.person("Bo")
    team = await api.team(ada)
    await api.join(ada, team, bo, "admin")
    url = f"/api/v1/teams/{team}/members/{ada.id}"
    seen = await head(app, team)
    assert (await http.delete(url, headers=ada.headers)).status_code == 409
    for role in ("admin", "member"):
        r = await http.patch(url, json={"role": role}, headers=ada.headers)
        assert (r.status_code, r.json()["error"]["code"]) == (409, "conflict")
    # An admin cannot remove or demote the owner either (that needs an owner).
    assert (await http.delete(url, headers=bo.headers)).status_code == 403
    assert (await http.patch(url, json={"role": "member"}, headers=bo.headers)).status_code == 403
    assert await roles(http, team, ada) == {ada.id: "owner", bo.id: "admin"}
    assert await team_events(app, team, seen) == []
    assert await audit_trail(app, team) == []

    # With a second owner, the first may leave; then the second is the last and is held.
    r = await http.patch(f"/api/v1/teams/{team}/members/{bo.id}", json={"role": "owner"}, headers=ada.headers)
    assert r.status_code == 200
    assert (await http.delete(url, headers=ada.headers)).status_code == 204
    assert (await http.delete(f"/api/v1/teams/{team}/members/{bo.id}", headers=bo.headers)).status_code == 409
    assert await roles(http, team, bo) == {bo.id: "owner"}


async def test_role_changes_removals_and_leaving_are_audited(
    http: httpx.AsyncClient, api: Api, app: FastAPI
) -> None:
    ada, bo, cy, di = [await api.person(n) for n in ("Ada", "Bo", "Cy", "Di")]
    team = await api.team(ada)
    for person in (bo, cy, di):
        await api.join(ada, team, person)
    members = f"/api/v1/teams/{team}/members"
    seen = await head(app, team)

    r = await http.patch(f"{members}/{bo.id}", json={"role": "admin"}, headers=ada.headers)
    assert r.status_code == 200
    # Setting the role someone has already changes nothing and records nothing.
    r = await http.patch(f"{members}/{bo.id}", json={"role": "admin"}, headers=ada.headers)
    assert (r.status_code, r.json()["role"]) == (200, "admin")
    assert (await http.delete(f"{members}/{cy.id}", headers=bo.headers)).status_code == 204
    assert (await http.delete(f"{members}/{di.id}", headers=di.headers)).status_code == 204
    # Refused attempts leave no trace.
    assert (await http.delete(f"{members}/{ada.id}", headers=bo.headers)).status_code == 403
    assert (
        await http.patch(f"{members}/{bo.id}", json={"role": "owner"}, headers=bo.headers)
    ).status_code == 403

    assert await audit_trail(app, team) == [
        {
            "action": "member.role_changed",
            "actor": ada.id,
            "target": bo.id,
            "address": "127.0.0.1",
            "old_role": "member",
            "new_role": "admin",
        },
        {
            "action": "member.removed",
            "actor": bo.id,
            "target": cy.id,
            "address": "127.0.0.1",
            "role": "member",
        },
        {"action": "member.left", "actor": di.id, "target": di.id, "address": "127.0.0.1", "role": "member"},
    ]
    assert [(e.type, e.data["user_id"]) for e in await team_events(app, team, seen)] == [
        ("member.updated", bo.id),
        ("member.left", cy.id),
        ("member.left", di.id),
    ]
    assert await roles(http, team, ada) == {ada.id: "owner", bo.id: "admin"}


async def test_audit_address_comes_from_trusted_proxies_only(
    http: httpx.AsyncClient, api: Api, app: FastAPI
) -> None:
    ada, bo = await api.person("Ada"), await api.person("Bo")
    team = await api.team(ada)
    await api.join(ada, team, bo)
    # The in-process client is not a trusted proxy: a forged X-Forwarded-For is ignored.
    r = await http.patch(
        f"/api/v1/teams/{team}/members/{bo.id}",
        json={"role": "admin"},
        headers={**ada.headers, "X-Forwarded-For": "203.0.113.9"},
    )
    assert r.status_code == 200
    [changed] = await audit_trail(app, team)
    assert changed["address"] == "127.0.0.1"


async def test_two_owners_demoting_each_other_leave_one_owner(
    http: httpx.AsyncClient, api: Api, app: FastAPI
) -> None:
    ada, bo = await api.person("Ada"), await api.person("Bo")
    team = await api.team(ada)
    await api.join(ada, team, bo)
    members = f"/api/v1/teams/{team}/members"
    assert (
        await http.patch(f"{members}/{bo.id}", json={"role": "owner"}, headers=ada.headers)
    ).status_code == 200
    # At the same time (truly so on PostgreSQL): whoever waits for the other's lock acts with the role they
    # have once it is theirs, so the second is no owner any more and is refused.
    answers = await asyncio.gather(
        http.patch(f"{members}/{bo.id}", json={"role": "admin"}, headers=ada.headers),
        http.patch(f"{members}/{ada.id}", json={"role": "admin"}, headers=bo.headers),
    )
    assert sorted(r.status_code for r in answers) == [200, 403], [r.text for r in answers]
    assert sorted((await roles(http, team, ada)).values()) == ["admin", "owner"]


async def test_an_actor_demoted_meanwhile_acts_with_the_new_role(
    http: httpx.AsyncClient, api: Api, app: FastAPI
) -> None:
    ada, bo, cy = [await api.person(n) for n in ("Ada", "Bo", "Cy")]
    team = await api.team(ada)
    await api.join(ada, team, bo)
    await api.join(ada, team, cy)
    members = f"/api/v1/teams/{team}/members"
    assert (
        await http.patch(f"{members}/{bo.id}", json={"role": "owner"}, headers=ada.headers)
    ).status_code == 200
    sessionmaker = app.state.kibitz.sessionmaker
    async with sessionmaker() as session:
        # Bo's request has read Bo's membership (an owner) ...
        actor = await session.get(Membership, (team, bo.id))
        assert actor is not None
        assert actor.role == "owner"
        # ... when Ada makes Bo a plain member and that commits first.
        r = await http.patch(f"{members}/{bo.id}", json={"role": "member"}, headers=ada.headers)
        assert r.status_code == 200
        with pytest.raises(Forbidden):
            await service.transfer_ownership(session, actor, cy.id)
        with pytest.raises(Forbidden):
            await service.change_role(session, actor, cy.id, "admin")
        await session.rollback()
    assert await roles(http, team, ada) == {ada.id: "owner", bo.id: "member", cy.id: "member"}
