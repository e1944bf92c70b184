"""Teams: create, invite, join, members, roles, removal."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
from sqlalchemy import update

from kibitz.server.teams.models import Invite
from tests.server.conftest import Api, Person, one_app_per_module

# Every test works in teams of its own: one app serves the module.
module_data_dir, module_database_url, module_settings, module_app = one_app_per_module()


async def test_create_invite_join_members(http: httpx.AsyncClient, api: Api) -> None:
    ada, bo = await api.person("Ada"), await api.person("Bo")
    team = await api.team(ada)
    r = await http.post(f"/api/v1/teams/{team}/invites", json={}, headers=ada.headers)
    assert r.status_code == 201
    code = r.json()["code"]
    assert r.json()["role"] == "member"

    r = await http.post("/api/v1/teams/join", json={"code": code}, headers=bo.headers)
    assert r.status_code == 200
    assert r.json() == {**r.json(), "id": team, "role": "member"}

    r = await http.get(f"/api/v1/teams/{team}/members", headers=bo.headers)
    assert r.status_code == 200
    assert [(m["email"], m["role"]) for m in r.json()] == [(ada.email, "owner"), (bo.email, "member")]

    # Single use: a third person cannot reuse the code.
    cy = await api.person("Cy")
    r = await http.post("/api/v1/teams/join", json={"code": code}, headers=cy.headers)
    assert r.status_code == 410
    assert r.json()["error"]["code"] == "invite_invalid"


async def test_expired_and_unknown_invites_are_refused(
    http: httpx.AsyncClient, api: Api, app: object
) -> None:
    ada, bo = await api.person("Ada"), await api.person("Bo")
    team = await api.team(ada)
    code = (await http.post(f"/api/v1/teams/{team}/invites", json={}, headers=ada.headers)).json()["code"]
    async with app.state.kibitz.sessionmaker() as session:  # type: ignore[attr-defined]
        past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
        await session.execute(update(Invite).values(expires_at=past))
        await session.commit()
    for attempt in (code, "kbzi_unknown", "x" * 200):
        r = await http.post("/api/v1/teams/join", json={"code": attempt}, headers=bo.headers)
        assert r.status_code == 410, attempt
    r = await http.get("/api/v1/teams", headers=bo.headers)
    assert r.json() == []


async def test_members_cannot_invite_and_admins_cannot_invite_admins(
    http: httpx.AsyncClient, api: Api
) -> None:
    ada, bo, cy = await api.person("Ada"), await api.person("Bo"), await api.person("Cy")
    team = await api.team(ada)
    await api.join(ada, team, bo, "member")
    await api.join(ada, team, cy, "admin")
    r = await http.post(f"/api/v1/teams/{team}/invites", json={}, headers=bo.headers)
    assert r.status_code == 403
    r = await http.post(f"/api/v1/teams/{team}/invites", json={"role": "admin"}, headers=cy.headers)
    assert r.status_code == 403
    r = await http.post(f"/api/v1/teams/{team}/invites", json={"role": "member"}, headers=cy.headers)
    assert r.status_code == 201
    r = await http.post(f"/api/v1/teams/{team}/invites", json={"role": "owner"}, headers=ada.headers)
    assert r.status_code == 422


async def test_role_changes(http: httpx.AsyncClient, api: Api) -> None:
    ada, bo, cy = await api.person("Ada"), await api.person("Bo"), await api.person("Cy")
    team = await api.team(ada)
    await api.join(ada, team, bo)
    await api.join(ada, team, cy, "admin")
    url = f"/api/v1/teams/{team}/members"
    # A member cannot change roles.
    r = await http.patch(f"{url}/{cy.id}", json={"role": "member"}, headers=bo.headers)
    assert r.status_code == 403
    # An admin can promote a member to admin, not to owner, and cannot touch the owner.
    assert (await http.patch(f"{url}/{bo.id}", json={"role": "admin"}, headers=cy.headers)).status_code == 200
    assert (await http.patch(f"{url}/{bo.id}", json={"role": "owner"}, headers=cy.headers)).status_code == 403
    assert (
        await http.patch(f"{url}/{ada.id}", json={"role": "member"}, headers=cy.headers)
    ).status_code == 403
    # The last owner cannot step down; after making another owner they can.
    r = await http.patch(f"{url}/{ada.id}", json={"role": "admin"}, headers=ada.headers)
    assert r.status_code == 409
    assert (
        await http.patch(f"{url}/{bo.id}", json={"role": "owner"}, headers=ada.headers)
    ).status_code == 200
    r = await http.patch(f"{url}/{ada.id}", json={"role": "admin"}, headers=ada.headers)
    assert r.status_code == 200
    assert r.json()["role"] == "admin"
    assert (
        await http.patch(f"{url}/{'z' * 16}", json={"role": "admin"}, headers=bo.headers)
    ).status_code == 404


async def test_removed_member_loses_access_at_once(http: httpx.AsyncClient, api: Api) -> None:
    ada, bo = await api.person("Ada"), await api.person("Bo")
    team = await api.team(ada)
    await api.join(ada, team, bo)
    repo = await api.repo(ada, team)
    codemark = await api.codemark(ada, team, repo)
    assert (await http.get(f"/api/v1/codemarks/{codemark['id']}", headers=bo.headers)).status_code == 200

    assert (
        await http.delete(f"/api/v1/teams/{team}/members/{bo.id}", headers=ada.headers)
    ).status_code == 204
    # The same token, with no re-login: every team route now answers 404.
    for method, path in (
        ("GET", f"/api/v1/codemarks/{codemark['id']}"),
        ("GET", f"/api/v1/teams/{team}/members"),
        ("GET", f"/api/v1/teams/{team}/codemarks"),
        ("POST", f"/api/v1/codemarks/{codemark['id']}/replies"),
    ):
        r = await http.request(
            method, path, headers=bo.headers, json={"text": "hi"} if method == "POST" else None
        )
        assert r.status_code == 404, (method, path)
    # The token still works outside the team.
    assert (await http.get("/api/v1/me", headers=bo.headers)).status_code == 200


async def test_leaving_and_last_owner(http: httpx.AsyncClient, api: Api) -> None:
    ada, bo, cy = await api.person("Ada"), await api.person("Bo"), await api.person("Cy")
    team = await api.team(ada)
    await api.join(ada, team, bo)
    await api.join(ada, team, cy)
    url = f"/api/v1/teams/{team}/members"
    assert (await http.delete(f"{url}/{cy.id}", headers=bo.headers)).status_code == 403
    assert (await http.delete(f"{url}/{bo.id}", headers=bo.headers)).status_code == 204
    r = await http.delete(f"{url}/{ada.id}", headers=ada.headers)
    assert r.status_code == 409
    r = await http.get(url, headers=ada.headers)
    assert [m["email"] for m in r.json()] == [ada.email, cy.email]


async def test_joining_twice_keeps_role_and_code(http: httpx.AsyncClient, api: Api) -> None:
    ada = await api.person("Ada")
    team = await api.team(ada)
    code = (await http.post(f"/api/v1/teams/{team}/invites", json={}, headers=ada.headers)).json()["code"]
    r = await http.post("/api/v1/teams/join", json={"code": code}, headers=ada.headers)
    assert r.status_code == 200
    assert r.json()["role"] == "owner"


async def test_code_free_mode_is_an_admin_setting(http: httpx.AsyncClient, api: Api) -> None:
    owner, admin, member, stranger = [await api.person(n) for n in ("Ada", "Bo", "Cy", "Di")]
    team = await api.team(owner)
    await api.join(owner, team, admin, "admin")
    await api.join(owner, team, member)
    other = await api.team(stranger, "elsewhere")
    url = f"/api/v1/teams/{team}"

    r = await http.get("/api/v1/teams", headers=owner.headers)
    assert [t["code_free"] for t in r.json()] == [False]
    r = await http.patch(url, json={"code_free": True}, headers=member.headers)
    assert r.status_code == 403, r.text
    r = await http.patch(url, json={"code_free": True}, headers=stranger.headers)
    assert r.status_code == 404, r.text
    for body in ({}, {"code_free": "yes"}, {"code_free": 1}, {"code_free": True, "name": "x"}):
        r = await http.patch(url, json=body, headers=owner.headers)
        assert r.status_code == 422, (body, r.text)

    r = await http.patch(url, json={"code_free": True}, headers=owner.headers)
    assert r.status_code == 200, r.text
    assert (r.json()["id"], r.json()["code_free"], r.json()["role"]) == (team, True, "owner")
    r = await http.get("/api/v1/teams", headers=member.headers)
    assert [t["code_free"] for t in r.json()] == [True]
    # Setting it to what it is changes nothing and records nothing; an admin may switch it back.
    assert (await http.patch(url, json={"code_free": True}, headers=admin.headers)).status_code == 200
    r = await http.patch(url, json={"code_free": False}, headers=admin.headers)
    assert r.json()["code_free"] is False
    # Neither refusal touched the other team.
    r = await http.get("/api/v1/teams", headers=stranger.headers)
    assert [(t["id"], t["code_free"]) for t in r.json()] == [(other, False)]

    r = await http.get(f"{url}/audit", params={"action": "team.code_free_changed"}, headers=owner.headers)
    events = r.json()["items"]
    assert [(e["actor"]["id"], e["details"]) for e in events] == [
        (admin.id, {"old": True, "new": False}),
        (owner.id, {"old": False, "new": True}),
    ]


async def invite(http: httpx.AsyncClient, who: Person, team: str, role: str = "member") -> dict[str, Any]:
    """Create an invite and return the answer (with its id and code)."""
    r = await http.post(f"/api/v1/teams/{team}/invites", json={"role": role}, headers=who.headers)
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


async def test_admins_list_and_revoke_invites(http: httpx.AsyncClient, api: Api) -> None:
    owner, admin, member, outsider = [await api.person(n) for n in ("Owner", "Admin", "Member", "Out")]
    team = await api.team(owner)
    await api.join(owner, team, admin, "admin")
    await api.join(owner, team, member)
    other = await api.team(outsider, "other")
    mine = await invite(http, admin, team)
    owners = await invite(http, owner, team, "admin")
    foreign = await invite(http, outsider, other)

    # Admins see the pending invites, newest first, with who made them and never a code.
    r = await http.get(f"/api/v1/teams/{team}/invites", headers=admin.headers)
    assert r.status_code == 200, r.text
    listed = r.json()
    assert [(i["id"], i["role"], i["created_by"]["id"]) for i in listed] == [
        (owners["id"], "admin", owner.id),
        (mine["id"], "member", admin.id),
    ]
    assert mine["code"] not in r.text
    assert owners["code"] not in r.text
    assert "code" not in listed[0]
    # A member and another team cannot list them; `all=true` adds the two used to join.
    r = await http.get(f"/api/v1/teams/{team}/invites", headers=member.headers)
    assert r.status_code == 403, r.text
    r = await http.get(f"/api/v1/teams/{team}/invites", headers=outsider.headers)
    assert r.status_code == 404, r.text
    r = await http.get(f"/api/v1/teams/{team}/invites", params={"all": "true"}, headers=owner.headers)
    used = [i for i in r.json() if i["used_at"] is not None]
    assert {i["used_by"] for i in used} == {admin.id, member.id}

    # Refusals change nothing: a member, another team's admin, another team's invite, an admin on an
    # owner's admin invite, a used invite, an unknown id.
    def revoke(who: Person, invite_id: str, team_id: str = team) -> Any:
        return http.delete(f"/api/v1/teams/{team_id}/invites/{invite_id}", headers=who.headers)

    assert (await revoke(member, mine["id"])).status_code == 403
    assert (await revoke(outsider, mine["id"])).status_code == 404
    assert (await revoke(outsider, mine["id"], other)).status_code == 404
    assert (await revoke(admin, foreign["id"])).status_code == 404
    r = await revoke(admin, owners["id"])
    assert r.status_code == 403, r.text
    assert "owner" in r.json()["error"]["message"], r.text
    assert (await revoke(owner, used[0]["id"])).status_code == 409
    for garbage in ("0" * 16, "not-an-id"):
        assert (await revoke(owner, garbage)).status_code == 404
    r = await http.get(f"/api/v1/teams/{team}/invites", headers=admin.headers)
    assert len(r.json()) == 2

    # Revoked, a code answers like an unknown one; the rest still work.
    assert (await revoke(admin, mine["id"])).status_code == 204
    assert (await revoke(owner, owners["id"])).status_code == 204
    late = await api.person("Late")
    for code in (mine["code"], owners["code"]):
        r = await http.post("/api/v1/teams/join", json={"code": code}, headers=late.headers)
        assert r.status_code == 410, r.text
    r = await http.post("/api/v1/teams/join", json={"code": foreign["code"]}, headers=late.headers)
    assert r.status_code == 200, r.text
    r = await http.get(f"/api/v1/teams/{team}/invites", headers=admin.headers)
    assert r.json() == []


async def test_invites_die_with_the_admin_who_made_them(http: httpx.AsyncClient, api: Api) -> None:
    owner, admin, demoted = await api.person("Owner"), await api.person("Admin"), await api.person("Demoted")
    team = await api.team(owner)
    await api.join(owner, team, admin, "admin")
    await api.join(owner, team, demoted, "admin")
    by_admin = await invite(http, admin, team)
    by_demoted = await invite(http, demoted, team)
    by_owner = await invite(http, owner, team)

    # Removing an admin revokes the invites they made; demoting one to member, likewise.
    r = await http.delete(f"/api/v1/teams/{team}/members/{admin.id}", headers=owner.headers)
    assert r.status_code == 204, r.text
    r = await http.patch(
        f"/api/v1/teams/{team}/members/{demoted.id}", json={"role": "member"}, headers=owner.headers
    )
    assert r.status_code == 200, r.text
    r = await http.get(f"/api/v1/teams/{team}/invites", headers=owner.headers)
    assert [i["id"] for i in r.json()] == [by_owner["id"]]
    late = await api.person("Late")
    for code in (by_admin["code"], by_demoted["code"]):
        r = await http.post("/api/v1/teams/join", json={"code": code}, headers=late.headers)
        assert r.status_code == 410, r.text
    r = await http.post("/api/v1/teams/join", json={"code": by_owner["code"]}, headers=late.headers)
    assert r.status_code == 200, r.text
