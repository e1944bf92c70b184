"""Named, scoped, expiring tokens; login sessions; revocation by their owner and by admins; password changes;
disabled accounts; and the stream hub's revocation sweep. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import or_, select, update

from kibitz.server.audit.models import AuditEvent
from kibitz.server.auth.models import ApiToken
from kibitz.server.auth.tokens import set_user_status
from kibitz.server.db import utcnow
from kibitz.server.deps import AppState
from kibitz.settings import Settings
from tests.server.conftest import PASSWORD, Api, Person, client_of, codemark_body, one_app_per_module, started
from tests.server.test_authz_matrix import subscribe

NEW_PASSWORD = "a brand new passphrase"
# Longer than the half second a process may keep a token it has just seen (kibitz.server.caches).
CACHE_SECONDS = 0.6

# Every test works with people and teams of its own: one app serves the module.
module_data_dir, module_database_url, module_settings, module_app = one_app_per_module()


def bearer(token: str) -> dict[str, str]:
    """Return the Authorization header of a token."""
    return {"Authorization": f"Bearer {token}"}


def state_of(app: FastAPI) -> AppState:
    """Return the app's state (its database sessions and stream hub)."""
    state: AppState = app.state.kibitz
    return state


async def create_token(
    http: httpx.AsyncClient, who: dict[str, str], scope: str, name: str = "ci", **fields: Any
) -> dict[str, Any]:
    """Create a named token and return the answer (with the token)."""
    r = await http.post("/api/v1/tokens", json={"name": name, "scope": scope, **fields}, headers=who)
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


async def login(http: httpx.AsyncClient, email: str, password: str = PASSWORD) -> httpx.Response:
    """Log in and return the raw answer."""
    return await http.post("/api/v1/auth/login", json={"email": email, "password": password})


async def audit(app: FastAPI, action: str, about: Person) -> list[AuditEvent]:
    """Return the audit events of one action done by or to a person, oldest first."""
    async with state_of(app).sessionmaker() as session:
        rows = await session.scalars(
            select(AuditEvent)
            .where(
                AuditEvent.action == action,
                or_(AuditEvent.actor_id == about.id, AuditEvent.target_id == about.id),
            )
            .order_by(AuditEvent.at)
        )
        return list(rows)


@pytest.mark.database_agnostic
async def test_scopes_are_enforced(http: httpx.AsyncClient, api: Api) -> None:
    owner = await api.person("Owner")
    team_id = await api.team(owner)
    repo_id = await api.repo(owner, team_id)
    read = await create_token(http, owner.headers, "read", "reader")
    write = await create_token(http, owner.headers, "write", "writer")
    admin = await create_token(http, owner.headers, "admin", "admin")
    assert (read["scopes"], write["scopes"], admin["scopes"]) == (
        ["read"],
        ["read", "write"],
        ["read", "write", "admin"],
    )
    assert read["kind"] == "token"
    assert read["token"].startswith("kbz_")

    # A read token reads, and cannot write: 403 naming the scope it lacks, and nothing is stored.
    r = await http.get(f"/api/v1/teams/{team_id}/codemarks", headers=bearer(read["token"]))
    assert r.status_code == 200, r.text
    r = await http.post(
        f"/api/v1/teams/{team_id}/codemarks", json=codemark_body(repo_id), headers=bearer(read["token"])
    )
    assert r.status_code == 403, r.text
    assert r.json()["error"]["code"] == "forbidden"
    assert r.json()["error"]["details"] == {"needed_scope": "write"}
    r = await http.get(f"/api/v1/teams/{team_id}/codemarks", headers=owner.headers)
    assert r.json()["items"] == []

    # A write token writes, and cannot invite, change roles or mint tokens.
    r = await http.post(
        f"/api/v1/teams/{team_id}/codemarks", json=codemark_body(repo_id), headers=bearer(write["token"])
    )
    assert r.status_code == 201, r.text
    r = await http.post(f"/api/v1/teams/{team_id}/invites", json={}, headers=bearer(write["token"]))
    assert r.status_code == 403, r.text
    assert r.json()["error"]["details"] == {"needed_scope": "admin"}, r.text
    r = await http.post(
        "/api/v1/tokens", json={"name": "more", "scope": "admin"}, headers=bearer(write["token"])
    )
    assert r.status_code == 403, r.text
    assert r.json()["error"]["details"] == {"needed_scope": "admin"}, r.text
    r = await http.post(
        "/api/v1/auth/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=bearer(write["token"]),
    )
    assert r.status_code == 403, r.text

    # An admin token does what its owner's role allows, including minting more tokens.
    r = await http.post(f"/api/v1/teams/{team_id}/invites", json={}, headers=bearer(admin["token"]))
    assert r.status_code == 201, r.text
    minted = await create_token(http, bearer(admin["token"]), "write", "minted")
    assert minted["scopes"] == ["read", "write"]
    # A token never widens its owner's role: a member's admin token still cannot invite.
    member = await api.person("Member")
    await api.join(owner, team_id, member)
    member_admin = await create_token(http, member.headers, "admin")
    r = await http.post(f"/api/v1/teams/{team_id}/invites", json={}, headers=bearer(member_admin["token"]))
    assert r.status_code == 403, r.text
    assert r.json()["error"]["details"] is None, r.text


async def test_list_and_revoke_your_own(http: httpx.AsyncClient, api: Api, app: FastAPI) -> None:
    ada = await api.person("Ada")
    bo = await api.person("Bo")
    made = await create_token(http, ada.headers, "read", "laptop", expires_days=7)
    assert made["expires_at"] > made["created_at"]
    assert dt.datetime.fromisoformat(made["expires_at"]) - dt.datetime.fromisoformat(
        made["created_at"]
    ) == dt.timedelta(days=7)

    r = await http.get("/api/v1/tokens", headers=ada.headers)
    assert r.status_code == 200, r.text
    listed = r.json()
    assert [(t["name"], t["kind"], t["current"]) for t in listed] == [
        ("laptop", "token", False),
        ("login", "session", True),
    ]
    assert all(set(t) == set(listed[0]) for t in listed)
    assert not {"token", "token_hash"} & set(listed[0])
    assert made["token"] not in r.text
    # The same listing through an admin-scoped named token marks that one as current; Bo sees only his own.
    admin_token = await create_token(http, ada.headers, "admin", "laptop admin")
    r = await http.get("/api/v1/tokens", headers=bearer(admin_token["token"]))
    assert [t["current"] for t in r.json()] == [True, False, False]
    r = await http.delete(f"/api/v1/tokens/{admin_token['id']}", headers=ada.headers)
    assert r.status_code == 204, r.text
    r = await http.get("/api/v1/tokens", headers=bo.headers)
    assert [t["kind"] for t in r.json()] == ["session"]

    # Bo cannot revoke Ada's token: it is missing to him, and keeps working.
    r = await http.delete(f"/api/v1/tokens/{made['id']}", headers=bo.headers)
    assert r.status_code == 404, r.text
    for garbage in ("0" * 16, "not-an-id", "x" * 200):
        r = await http.delete(f"/api/v1/tokens/{garbage}", headers=ada.headers)
        assert r.status_code == 404, r.text
    r = await http.get("/api/v1/me", headers=bearer(made["token"]))
    assert r.status_code == 200, r.text

    # Ada revokes it: it stops at once; a second revocation changes nothing.
    r = await http.delete(f"/api/v1/tokens/{made['id']}", headers=ada.headers)
    assert r.status_code == 204, r.text
    r = await http.get("/api/v1/me", headers=bearer(made["token"]))
    assert r.status_code == 401, r.text
    r = await http.delete(f"/api/v1/tokens/{made['id']}", headers=ada.headers)
    assert r.status_code == 204, r.text
    r = await http.get("/api/v1/tokens", headers=ada.headers)
    assert [t["name"] for t in r.json()] == ["login"]
    r = await http.get("/api/v1/tokens", params={"all": "true"}, headers=ada.headers)
    revoked = [t for t in r.json() if t["id"] == made["id"]]
    assert len(r.json()) == 3
    assert len(revoked) == 1
    assert revoked[0]["revoked_at"] is not None

    [created, _admin] = await audit(app, "token.created", ada)
    assert (created.actor_id, created.target_id, created.address) == (ada.id, made["id"], "127.0.0.1")
    assert json.loads(created.details)["scopes"] == "read"
    [_admin, gone] = await audit(app, "token.revoked", ada)
    assert (gone.actor_id, gone.target_id) == (ada.id, made["id"])
    details = json.loads(gone.details)
    assert details == {"by": ada.id, "kind": "token", "scopes": "read", "token_id": made["id"]}
    assert made["token"] not in gone.details + created.details

    # Revoking the session you are using signs you out, like logging out.
    session_id = listed[1]["id"]
    r = await http.delete(f"/api/v1/tokens/{session_id}", headers=ada.headers)
    assert r.status_code == 204, r.text
    r = await http.get("/api/v1/me", headers=ada.headers)
    assert r.status_code == 401, r.text


async def test_weaker_tokens_cannot_list_or_revoke_other_tokens(http: httpx.AsyncClient, api: Api) -> None:
    ada = await api.person("Ada")
    read = await create_token(http, ada.headers, "read", "reader")
    write = await create_token(http, ada.headers, "write", "writer")
    for weak in (read, write):
        # Listing would show what else the person holds; revoking another would let a leaked read-only
        # token sign its owner out of everything.
        r = await http.get("/api/v1/tokens", headers=bearer(weak["token"]))
        assert r.status_code == 403, r.text
        assert r.json()["error"]["details"] == {"needed_scope": "admin"}
        for victim in (read, write):
            r = await http.delete(f"/api/v1/tokens/{victim['id']}", headers=bearer(weak["token"]))
            assert r.status_code == 403, r.text
    # Nothing was revoked, and a weaker token still signs itself out.
    for weak in (read, write):
        r = await http.get("/api/v1/me", headers=bearer(weak["token"]))
        assert r.status_code == 200, r.text
    r = await http.post("/api/v1/auth/logout", headers=bearer(read["token"]))
    assert r.status_code == 204, r.text
    r = await http.get("/api/v1/me", headers=bearer(read["token"]))
    assert r.status_code == 401, r.text


@pytest.mark.database_agnostic
async def test_bad_token_requests_change_nothing(http: httpx.AsyncClient, api: Api) -> None:
    ada = await api.person("Ada")
    bad_bodies: list[dict[str, Any]] = [
        {"name": "x", "scope": "root"},
        {"name": "x", "scope": "read", "expires_days": 0},
        {"name": "x", "scope": "read", "expires_days": 3651},
        {"name": "", "scope": "read"},
        {"name": "x" * 101, "scope": "read"},
        {"scope": "read"},
        {"name": "x"},
        {"name": "x", "scope": "read", "token": "kbz_mine"},
    ]
    for body in bad_bodies:
        r = await http.post("/api/v1/tokens", json=body, headers=ada.headers)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["error"]["code"] == "validation_failed"
    r = await http.post("/api/v1/tokens", json={"name": "x", "scope": "read"})
    assert r.status_code == 401, r.text
    r = await http.get("/api/v1/tokens", params={"all": "true"}, headers=ada.headers)
    assert [t["kind"] for t in r.json()] == ["session"]
    longest = await create_token(http, ada.headers, "read", expires_days=3650)
    assert longest["scopes"] == ["read"]


async def test_expired_token_is_refused(http: httpx.AsyncClient, api: Api, app: FastAPI) -> None:
    ada = await api.person("Ada")
    made = await create_token(http, ada.headers, "read", expires_days=1)
    r = await http.get("/api/v1/me", headers=bearer(made["token"]))
    assert r.status_code == 200, r.text
    # A day passes (moved in the database: the server's clock is real).
    async with state_of(app).sessionmaker() as session:
        await session.execute(
            update(ApiToken)
            .where(ApiToken.id == made["id"])
            .values(expires_at=utcnow() - dt.timedelta(seconds=1))
        )
        await session.commit()
    await asyncio.sleep(CACHE_SECONDS)
    r = await http.get("/api/v1/me", headers=bearer(made["token"]))
    assert r.status_code == 401, r.text
    assert r.json()["error"]["code"] == "not_authenticated"
    r = await http.get("/api/v1/tokens", headers=ada.headers)
    assert made["id"] not in [t["id"] for t in r.json()]


async def test_admins_revoke_a_members_tokens(http: httpx.AsyncClient, api: Api, app: FastAPI) -> None:
    owner = await api.person("Owner")
    admin = await api.person("Admin")
    member = await api.person("Member")
    outsider = await api.person("Out")
    team_id = await api.team(owner)
    await api.join(owner, team_id, admin, "admin")
    await api.join(owner, team_id, member)
    other_team = await api.team(outsider, "other")
    named = await create_token(http, member.headers, "write", "ci")
    second = (await login(http, member.email)).json()["token"]

    def revoke(who: Person, user_id: str, team: str = team_id) -> Any:
        return http.delete(f"/api/v1/teams/{team}/members/{user_id}/tokens", headers=who.headers)

    # Refusals: a plain member, yourself, an owner's tokens by an admin, non-members, other teams.
    r = await revoke(member, admin.id)
    assert r.status_code == 403, r.text
    r = await revoke(admin, admin.id)
    assert r.status_code == 400, r.text
    assert "/tokens" in r.json()["error"]["message"], r.text
    r = await revoke(admin, owner.id)
    assert r.status_code == 403, r.text
    assert "owner" in r.json()["error"]["message"], r.text
    r = await revoke(admin, outsider.id)
    assert r.status_code == 404, r.text
    r = await revoke(admin, "0" * 16)
    assert r.status_code == 404, r.text
    r = await revoke(admin, outsider.id, other_team)
    assert r.status_code == 404, r.text
    r = await revoke(outsider, member.id)
    assert r.status_code == 404, r.text
    for token in (owner.token, member.token, named["token"], second):
        r = await http.get("/api/v1/me", headers=bearer(token))
        assert r.status_code == 200, r.text
    assert await audit(app, "member.tokens_revoked", member) == []

    # The member is in a team of their own too, with a codemark, which is not this admin's to close.
    own_team = await api.team(member, "own")
    repo = await api.repo(member, own_team)
    own_mark = (await api.codemark(member, own_team, repo))["id"]
    team_mark = (await api.codemark(owner, team_id, await api.repo(owner, team_id)))["id"]

    # The admin revokes every token and session of the member for this team: all three stop here, with
    # 401 on the team, its codemarks and its stream, and go on working in the member's own team.
    r = await revoke(admin, member.id)
    assert r.status_code == 200, r.text
    assert r.json() == {"revoked": 3}
    for token in (member.token, named["token"], second):
        for path in (f"/api/v1/teams/{team_id}/members", f"/api/v1/codemarks/{team_mark}"):
            r = await http.get(path, headers=bearer(token))
            assert r.status_code == 401, r.text
            assert "log in again" in r.json()["error"]["message"]
        assert (await subscribe(app, team_id, token)).status == 401
        for path in ("/api/v1/me", f"/api/v1/teams/{own_team}/members", f"/api/v1/codemarks/{own_mark}"):
            r = await http.get(path, headers=bearer(token))
            assert r.status_code == 200, r.text
        assert (await subscribe(app, own_team, token)).status == 200
    r = await http.get(f"/api/v1/teams/{team_id}/members", headers=admin.headers)
    assert r.status_code == 200, r.text
    [event] = await audit(app, "member.tokens_revoked", member)
    assert (event.team_id, event.actor_id, event.target_id) == (team_id, admin.id, member.id)
    assert json.loads(event.details)["revoked"] == 3
    # The member logs in again and is still a member; the owner may revoke an admin's tokens.
    again = (await login(http, member.email)).json()["token"]
    r = await http.get(f"/api/v1/teams/{team_id}/members", headers=bearer(again))
    assert r.status_code == 200, r.text
    r = await revoke(owner, admin.id)
    assert r.json() == {"revoked": 1}
    r = await http.get(f"/api/v1/teams/{team_id}/members", headers=admin.headers)
    assert r.status_code == 401, r.text


async def test_password_change_ends_the_other_sessions(
    http: httpx.AsyncClient, api: Api, app: FastAPI
) -> None:
    ada = await api.person("Ada")
    other = (await login(http, ada.email)).json()["token"]
    named = await create_token(http, ada.headers, "read", "ci")

    # Wrong current password, or a new one too short: nothing changes.
    r = await http.post(
        "/api/v1/auth/password",
        json={"current_password": "not my password", "new_password": NEW_PASSWORD},
        headers=ada.headers,
    )
    assert r.status_code == 403, r.text
    assert r.json()["error"]["details"] == {"field": "current_password"}
    assert "current password" in r.json()["error"]["message"]
    r = await http.post(
        "/api/v1/auth/password",
        json={"current_password": PASSWORD, "new_password": "short"},
        headers=ada.headers,
    )
    assert r.status_code == 422, r.text
    r = await http.get("/api/v1/me", headers=bearer(other))
    assert r.status_code == 200, r.text
    assert (await login(http, ada.email, NEW_PASSWORD)).status_code == 401
    assert await audit(app, "password.changed", ada) == []

    r = await http.post(
        "/api/v1/auth/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=ada.headers,
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"sessions_ended": 1}
    # This session and the named token go on; the other session ends (across processes: within the cache).
    for token, expected in ((ada.token, 200), (named["token"], 200), (other, 401)):
        r = await http.get("/api/v1/me", headers=bearer(token))
        assert r.status_code == expected, (token == other, r.text)
    assert (await login(http, ada.email, PASSWORD)).status_code == 401
    assert (await login(http, ada.email, NEW_PASSWORD)).status_code == 200
    [event] = await audit(app, "password.changed", ada)
    assert (event.actor_id, json.loads(event.details)) == (ada.id, {"sessions_ended": 1})
    assert PASSWORD not in event.details
    assert NEW_PASSWORD not in event.details


async def test_disabled_accounts_are_shut_out(http: httpx.AsyncClient, api: Api, app: FastAPI) -> None:
    ada = await api.person("Ada")
    bo = await api.person("Bo")
    named = await create_token(http, ada.headers, "read")
    sessionmaker = state_of(app).sessionmaker

    async with sessionmaker() as session:
        user, revoked = await set_user_status(session, ada.email.upper(), "disabled")
        await session.commit()
    assert user.id == ada.id
    assert len(revoked) == 2
    await asyncio.sleep(CACHE_SECONDS)
    for token in (ada.token, named["token"]):
        r = await http.get("/api/v1/me", headers=bearer(token))
        assert r.status_code == 401, r.text
    assert (await login(http, ada.email)).status_code == 401
    r = await http.get("/api/v1/me", headers=bo.headers)
    assert r.status_code == 200, r.text

    # Enabling lets the person log in again; the revoked tokens stay revoked.
    async with sessionmaker() as session:
        await set_user_status(session, ada.email, "active")
        await session.commit()
    r = await login(http, ada.email)
    assert r.status_code == 200, r.text
    r = await http.get("/api/v1/me", headers=bearer(named["token"]))
    assert r.status_code == 401, r.text
    [disabled] = await audit(app, "user.disabled", ada)
    [enabled] = await audit(app, "user.enabled", ada)
    assert disabled.target_id == enabled.target_id == ada.id
    assert json.loads(disabled.details) == {"by": "operator", "tokens_revoked": 2}
    # Disabling twice records nothing more.
    async with sessionmaker() as session:
        await set_user_status(session, ada.email, "active")
        await session.commit()
    assert len(await audit(app, "user.enabled", ada)) == 1


async def test_the_sweep_cuts_revoked_subscribers(http: httpx.AsyncClient, api: Api, app: FastAPI) -> None:
    owner = await api.person("Owner")
    member = await api.person("Member")
    leaver = await api.person("Leaver")
    team_id = await api.team(owner)
    await api.join(owner, team_id, member)
    await api.join(owner, team_id, leaver)
    named = await create_token(http, member.headers, "read")
    hub = state_of(app).hub

    async def token_id(person: Person) -> str:
        r = await http.get("/api/v1/tokens", headers=person.headers)
        return str(next(t["id"] for t in r.json() if t["current"]))

    subs = {
        "owner": await hub.subscribe(owner.id, team_id, 0, token_id=await token_id(owner)),
        "session": await hub.subscribe(member.id, team_id, 0, token_id=await token_id(member)),
        "named": await hub.subscribe(member.id, team_id, 0, token_id=named["id"]),
        "leaver": await hub.subscribe(leaver.id, team_id, 0, token_id=await token_id(leaver)),
        "unknown": await hub.subscribe(owner.id, team_id, 0, token_id="0" * 16),
    }
    # The app's own sweep runs in the background too: whichever gets there first, these are the verdicts.
    try:
        await hub.sweep()
        assert {name: sub.cut for name, sub in subs.items()} == {
            "owner": None,
            "session": None,
            "named": None,
            "leaver": None,
            "unknown": "revoked",
        }
        r = await http.delete(f"/api/v1/tokens/{named['id']}", headers=member.headers)
        assert r.status_code == 204, r.text
        r = await http.delete(f"/api/v1/teams/{team_id}/members/{leaver.id}", headers=owner.headers)
        assert r.status_code == 204, r.text
        await hub.sweep()
        assert (subs["named"].cut, subs["leaver"].cut, subs["session"].cut) == ("revoked", "removed", None)
        assert subs["named"].wake.is_set()
        r = await http.delete(f"/api/v1/teams/{team_id}/members/{member.id}/tokens", headers=owner.headers)
        assert r.status_code == 200, r.text
        await hub.sweep()
        assert (subs["session"].cut, subs["owner"].cut) == ("revoked", None)
        assert await hub.sweep() == 0
    finally:
        for sub in subs.values():
            hub.unsubscribe(sub)


@pytest.mark.database_agnostic
async def test_password_guesses_are_throttled(settings: Settings) -> None:
    # The module's app does not throttle logins: this test starts one with the default budget.
    default = settings.model_copy(update={"login_rate_limit": "10/minute"})
    async with started(default) as app, client_of(app) as http:
        await guess_passwords(http, Api(http), app)


async def guess_passwords(http: httpx.AsyncClient, api: Api, app: FastAPI) -> None:
    """Guess Ada's password until her account's budget runs out; the right one must wait too."""
    ada = await api.person("Ada")
    other = (await login(http, ada.email)).json()["token"]
    wrong = {"current_password": "not my password", "new_password": NEW_PASSWORD}
    answers = []
    for _ in range(12):
        r = await http.post("/api/v1/auth/password", json=wrong, headers=ada.headers)
        answers.append(r.status_code)
        if r.status_code == 429:
            break
    # The account's budget (10 a minute) is shared with its two logins.
    assert answers == [403] * 8 + [429], answers
    assert int(r.headers["Retry-After"]) > 0
    right = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    r = await http.post("/api/v1/auth/password", json=right, headers=ada.headers)
    assert r.status_code == 429, r.text
    r = await http.get("/api/v1/me", headers=bearer(other))
    assert r.status_code == 200, r.text
    assert await audit(app, "password.changed", ada) == []
