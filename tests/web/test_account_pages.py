"""The account page in a browser's shoes: profile and teams, password change, tokens (create, revoke), export
download, and erasing the account behind the password; every form refused without its CSRF token."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from tests.server.conftest import PASSWORD, Api, client_of, one_app_per_module
from tests.web.browser_client import browser

module_data_dir, module_database_url, module_settings, module_app = one_app_per_module()


@pytest.fixture
async def http(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """Return an API client of the module's app (to set the scene and check what the pages did)."""
    async with client_of(app) as client:
        yield client


SCRIPT = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
# The revoke form whose button signs this browser out.
THIS_SESSION = re.compile(r"/account/tokens/([0-9a-z]+)/revoke[^>]*>\s*<input[^>]*>\s*<button[^>]*>Sign out")


async def test_profile_teams_and_tokens(app: FastAPI, http: httpx.AsyncClient) -> None:
    api = Api(http)
    ada = await api.person("Ada")
    team = await api.team(ada, SCRIPT)
    async with browser(app) as b:
        assert (await b.get("/account")).status_code == 303  # signed out: to the sign-in page
        await b.sign_in(ada)
        page = await b.get("/account")
        assert page.status_code == 200, page.text
        assert "no-store" in page.headers["cache-control"]
        assert ada.email in page.text
        assert f'href="/t/{team}/feed"' in page.text
        assert ESCAPED in page.text
        assert SCRIPT not in page.text
        assert "(this browser)" in page.text

        fields = {"name": SCRIPT, "scope": "read", "expires_days": "7"}
        assert (await b.post("/account/tokens", fields, csrf=False)).status_code == 403
        assert (await b.post("/account/tokens", {**fields, "scope": "root"})).status_code == 422
        made = await b.post("/account/tokens", fields)
        # Post/redirect/get: the account page shows the token once; it is never in an address.
        assert (made.status_code, made.headers["location"]) == (303, "/account#tokens")
        shown = await b.get("/account")
        assert "no-store" in shown.headers["cache-control"]  # the page holds a secret
        secret = re.search(r'<code class="secret">([^<]+)</code>', shown.text)
        assert secret is not None
        assert ESCAPED in shown.text
        assert SCRIPT not in shown.text
        token = secret.group(1)
        assert token not in made.headers["set-cookie"]  # sealed, not merely carried
        # The token works for programs, with the scope it was given.
        me = await http.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200
        listed = await b.get("/account")
        assert token not in listed.text  # shown once
        tokens = (await http.get("/api/v1/tokens", headers=ada.headers)).json()
        token_id = next(t["id"] for t in tokens if t["name"] == SCRIPT)
        assert (await b.post(f"/account/tokens/{token_id}/revoke", csrf=False)).status_code == 403
        revoked = await b.post(f"/account/tokens/{token_id}/revoke")
        assert (revoked.status_code, revoked.headers["location"]) == (303, "/account?done=revoked")
        me = await http.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 401
        # Someone else's token is not yours to revoke: it does not exist for you.
        bo = await api.person("Bo")
        bo_tokens = (await http.get("/api/v1/tokens", headers=bo.headers)).json()
        assert (await b.post(f"/account/tokens/{bo_tokens[0]['id']}/revoke")).status_code == 404
        # Revoking this browser's own session signs it out.
        current = re.search(
            r"/account/tokens/([0-9a-z]+)/revoke[^>]*>\s*<input[^>]*>\s*<button[^>]*>Sign out", listed.text
        )
        assert current is not None
        out = await b.post(f"/account/tokens/{current.group(1)}/revoke")
        assert (out.status_code, out.headers["location"]) == (303, "/signin")
        assert (await b.get("/account")).status_code == 303


async def test_password_change_ends_other_sessions(app: FastAPI, http: httpx.AsyncClient) -> None:
    ada = await Api(http).person("Ada")
    async with browser(app) as other, browser(app) as b:
        await other.sign_in(ada)
        await b.sign_in(ada)
        new = PASSWORD + " again"
        fields = {"current_password": PASSWORD, "new_password": new}
        assert (await b.post("/account/password", fields, csrf=False)).status_code == 403
        wrong = await b.post("/account/password", {**fields, "current_password": "not my password at all"})
        assert wrong.status_code == 403
        assert "The current password is wrong" in wrong.text
        assert (await b.post("/account/password", {**fields, "new_password": "short"})).status_code == 422
        changed = await b.post("/account/password", fields)
        assert changed.status_code == 200, changed.text
        assert "Your password was changed" in changed.text
        assert (await b.get("/account")).status_code == 200  # this session stays
        assert (await other.get("/account")).status_code == 303  # the other one ended
    r = await http.post("/api/v1/auth/login", json={"email": ada.email, "password": new})
    assert r.status_code == 200


async def test_export_downloads_your_archive(app: FastAPI, http: httpx.AsyncClient) -> None:
    api = Api(http)
    ada = await api.person("Ada")
    team = await api.team(ada)
    await api.codemark(ada, team, await api.repo(ada, team), title="mine")
    async with browser(app) as b:
        await b.sign_in(ada)
        r = await b.get("/account/export")
    assert r.status_code == 200
    assert "attachment" in r.headers["content-disposition"]
    assert "no-store" in r.headers["cache-control"]
    archive = json.loads(r.content)
    assert archive["kind"] == "user"
    assert "mine" in r.text


async def test_delete_account_needs_the_password(app: FastAPI, http: httpx.AsyncClient) -> None:
    api = Api(http)
    ada, bo = await api.person("Ada"), await api.person("Bo")
    team = await api.team(ada)
    await api.join(ada, team, bo)
    async with browser(app) as b:
        await b.sign_in(bo)
        assert (await b.post("/account/delete", {"password": PASSWORD}, csrf=False)).status_code == 403
        wrong = await b.post("/account/delete", {"password": "not my password at all"})
        assert wrong.status_code == 401
        assert "The password is wrong; nothing was erased." in wrong.text
        assert (await b.get("/account")).status_code == 200  # nothing was erased
        gone = await b.post("/account/delete", {"password": PASSWORD})
        assert gone.status_code == 200, gone.text
        assert "Your account is deleted" in gone.text
        assert (await b.get("/account")).status_code == 303
    r = await http.post("/api/v1/auth/login", json={"email": bo.email, "password": PASSWORD})
    assert r.status_code == 401
    members = (await http.get(f"/api/v1/teams/{team}/members", headers=ada.headers)).json()
    assert [m["user_id"] for m in members] == [ada.id]
