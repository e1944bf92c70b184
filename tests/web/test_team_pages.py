"""The team's pages in a browser's shoes: feed (filters, pages), inbox (mark read), search, and settings
(members, roles, invites, allowlist, code-free mode, audit trail): who sees what, who may post what, forms
without their CSRF token, and people's text escaped."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.server.conftest import PASSWORD, Api, Person, client_of, one_app_per_module
from tests.web.browser_client import Browser, browser
from tests.web.conftest import HTML

module_data_dir, module_database_url, module_settings, module_app = one_app_per_module()


@pytest.fixture
async def http(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """Return an API client of the module's app (to set the scene and check what the pages did)."""
    async with client_of(app) as client:
        yield client


SCRIPT = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


@dataclass
class Crew:
    """Ada (owner), Bo (admin) and Cy (member) in one team with one repo; Eve owns another team."""

    ada: Person
    bo: Person
    cy: Person
    eve: Person
    team: str
    repo: str
    api: Api

    def url(self, page: str) -> str:
        """Return the address of one of the team's pages."""
        return f"/t/{self.team}/{page}"


async def make_crew(http: httpx.AsyncClient) -> Crew:
    """Sign up the people of a test and build their teams through the API."""
    api = Api(http)
    ada, bo, cy, eve = [await api.person(name) for name in ("Ada", "Bo", "Cy", "Eve")]
    team = await api.team(ada, "web team")
    await api.join(ada, team, bo, "admin")
    await api.join(ada, team, cy)
    await api.team(eve, "elsewhere")
    return Crew(ada, bo, cy, eve, team, await api.repo(ada, team), api)


@asynccontextmanager
async def as_person(app: FastAPI, person: Person) -> AsyncIterator[Browser]:
    """Yield a browser signed in as `person` through the sign-in form."""
    async with browser(app) as b:
        await b.sign_in(person)
        yield b


def ids_on(page: str) -> list[str]:
    """Return the codemark ids a list page links to, in order."""
    return re.findall(r'<a href="/c/([0-9a-z]+)">', page)


async def codemark(crew: Crew, person: Person | None = None, **fields: Any) -> str:
    """Create a codemark through the API and return its id."""
    return str((await crew.api.codemark(person or crew.ada, crew.team, crew.repo, **fields))["id"])


# -- feed -----------------------------------------------------------------------------------------------


async def test_feed_lists_newest_first_with_permalinks_and_escapes_text(
    app: FastAPI, http: httpx.AsyncClient
) -> None:
    crew = await make_crew(http)
    first = await codemark(crew, title="first")
    second = await codemark(crew, crew.cy, title=SCRIPT)
    async with as_person(app, crew.cy) as cy:
        r = await cy.get(crew.url("feed"))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/html")
    assert "no-store" in r.headers["cache-control"]
    assert ids_on(r.text) == [second, first]
    assert ESCAPED in r.text
    assert SCRIPT not in r.text
    assert "src/app.py:3–5" in r.text
    # The rendered rows are kept, but never past a change: a new title shows at once.
    r = await http.patch(f"/api/v1/codemarks/{first}", json={"title": "renamed"}, headers=crew.ada.headers)
    assert r.status_code == 200, r.text
    async with as_person(app, crew.cy) as cy:
        again = await cy.get(crew.url("feed"))
    assert ">renamed</a>" in again.text


async def test_feed_filters_as_the_api_does(app: FastAPI, http: httpx.AsyncClient) -> None:
    crew = await make_crew(http)
    plain = await codemark(crew, title="plain")
    issue = await codemark(crew, crew.cy, type="issue", tags=["ui"], assignees=[crew.bo.id])
    other_path = await codemark(crew, marker={"path": "docs/readme.md"})
    r = await http.patch(f"/api/v1/codemarks/{plain}", json={"status": "resolved"}, headers=crew.ada.headers)
    assert r.status_code == 200, r.text
    async with as_person(app, crew.cy) as cy:

        async def listed(**params: str) -> list[str]:
            page = await cy.get(crew.url("feed"), **params)
            assert page.status_code == 200, page.text
            return ids_on(page.text)

        assert await listed(status="resolved") == [plain]
        assert set(await listed(status="open")) == {issue, other_path}
        assert await listed(type="issue") == [issue]
        assert await listed(author=crew.cy.id) == [issue]
        assert await listed(assignee=crew.bo.id) == [issue]
        assert await listed(tag="ui") == [issue]
        assert await listed(path="docs/readme.md") == [other_path]
        assert len(await listed(repo=crew.repo)) == 3
        # A filter form sends its unused fields empty: they mean "any".
        blank = {"status": "", "type": "", "author": "", "assignee": "", "tag": "", "repo": "", "path": ""}
        assert len(await listed(**blank)) == 3
        # A bad value is reported on the page, not turned into a guess.
        bad = await cy.get(crew.url("feed"), type="poem", path="../etc")
        assert bad.status_code == 400
        assert "Type:" in bad.text
        assert "Path:" in bad.text


async def test_feed_pages_with_a_cursor(app: FastAPI, http: httpx.AsyncClient) -> None:
    crew = await make_crew(http)
    made = [await codemark(crew, title=f"n{i}") for i in range(52)]
    async with as_person(app, crew.ada) as ada:
        first = await ada.get(crew.url("feed"))
        assert ids_on(first.text) == made[::-1][:50]
        older = re.search(r'href="([^"]+)" rel="next"', first.text)
        assert older is not None
        second = await ada.get(older.group(1).replace("&amp;", "&"))
    assert ids_on(second.text) == made[::-1][50:]
    assert 'rel="next"' not in second.text


# -- inbox ----------------------------------------------------------------------------------------------


async def test_inbox_shows_mentions_and_marks_them_read(app: FastAPI, http: httpx.AsyncClient) -> None:
    crew = await make_crew(http)
    me = (await http.get("/api/v1/me", headers=crew.cy.headers)).json()["user"]
    first = await codemark(crew, title=SCRIPT, text=f"@{me['handle']} look")
    await codemark(crew, title="second", assignees=[crew.cy.id])
    async with as_person(app, crew.cy) as cy:
        page = await cy.get(crew.url("inbox"))
        assert page.status_code == 200, page.text
        assert "2 unread. <a" in page.text
        assert ESCAPED in page.text
        assert SCRIPT not in page.text
        assert f'href="/c/{first}"' in page.text
        items = re.findall(r'name="item" value="([0-9a-z]+)"', page.text)
        assert len(items) == 2
        # Without its CSRF token the form is refused and nothing changes.
        refused = await cy.post(crew.url("inbox/read"), {"item": items[0]}, csrf=False)
        assert refused.status_code == 403
        assert "2 unread." in (await cy.get(crew.url("inbox"))).text
        done = await cy.post(crew.url("inbox/read"), {"item": items[0]})
        assert (done.status_code, done.headers["location"]) == (303, crew.url("inbox"))
        assert "1 unread." in (await cy.get(crew.url("inbox"))).text
        unread_only = await cy.get(crew.url("inbox"), unread="true")
        assert len(re.findall(r'name="item" value=', unread_only.text)) == 1
        done = await cy.post(crew.url("inbox/read"), {"all": "1"})
        assert done.status_code == 303
        assert "Nothing unread." in (await cy.get(crew.url("inbox"))).text
    r = await http.get(f"/api/v1/teams/{crew.team}/inbox?unread=true", headers=crew.cy.headers)
    assert r.json()["unread"] == 0


# -- search ---------------------------------------------------------------------------------------------


async def test_search_finds_every_word_with_filters(app: FastAPI, http: httpx.AsyncClient) -> None:
    crew = await make_crew(http)
    found = await codemark(crew, title="cache eviction", text="the lru cache evicts too early")
    await codemark(crew, title="unrelated", text="nothing here")
    issue = await codemark(crew, type="issue", title=f"cache {SCRIPT}", text="an issue")
    async with as_person(app, crew.cy) as cy:
        empty = await cy.get(crew.url("search"))
        assert empty.status_code == 200
        assert 'name="q"' in empty.text
        words_only = await cy.get(crew.url("search"), q="cache")
        assert set(ids_on(words_only.text)) == {found, issue}
        assert "<details>" in words_only.text  # the words alone leave the filters folded
        assert ids_on((await cy.get(crew.url("search"), q="cache evicts")).text) == [found]
        filtered = await cy.get(crew.url("search"), q="cache", type="issue")
        assert ids_on(filtered.text) == [issue]
        assert "<details open>" in filtered.text  # a filter in use is shown
        assert ESCAPED in filtered.text
        assert SCRIPT not in filtered.text
        nothing = await cy.get(crew.url("search"), q="zebra")
        assert ids_on(nothing.text) == []
        assert "Nothing holds" in nothing.text


# -- who may see the team's pages -----------------------------------------------------------------------


async def test_another_team_gets_404_and_a_signed_out_browser_signs_in(
    app: FastAPI, http: httpx.AsyncClient
) -> None:
    crew = await make_crew(http)
    pages = ["feed", "inbox", "search", "settings", "settings/audit"]
    async with as_person(app, crew.eve) as eve:
        for name in pages:
            assert (await eve.get(crew.url(name))).status_code == 404, name
        for form in ["inbox/read", "settings/invites", "settings/allowlist", "settings/code-free"]:
            assert (await eve.post(crew.url(form), {"all": "1", "role": "member"})).status_code == 404, form
    async with browser(app) as anonymous:
        for name in pages:
            r = await anonymous.get(crew.url(name))
            assert r.status_code == 303, name
            assert r.headers["location"].startswith("/signin?next=/t/"), name


# -- settings -------------------------------------------------------------------------------------------


async def test_a_member_sees_the_members_and_nothing_they_cannot_do(
    app: FastAPI, http: httpx.AsyncClient
) -> None:
    crew = await make_crew(http)
    async with as_person(app, crew.cy) as cy:
        page = await cy.get(crew.url("settings"))
        assert page.status_code == 200, page.text
        for person in (crew.ada, crew.bo, crew.cy):
            assert person.email in page.text
        assert "Create an invite" not in page.text
        assert "allowlist" not in page.text.lower()
        assert "Change role" not in page.text
        assert "Leave the team" in page.text
        assert (await cy.get(crew.url("settings/audit"))).status_code == 403
        # The forms refuse a member even when posted by hand.
        refused = {
            "settings/invites": {"role": "member"},
            "settings/allowlist": {"cidrs": "10.0.0.0/8"},
            "settings/code-free": {"code_free": "on"},
            f"settings/members/{crew.bo.id}/role": {"role": "member"},
            f"settings/members/{crew.bo.id}/remove": {},
        }
        for form, fields in refused.items():
            assert (await cy.post(crew.url(form), fields)).status_code == 403, form
    members = (await http.get(f"/api/v1/teams/{crew.team}/members", headers=crew.ada.headers)).json()
    assert {m["user_id"]: m["role"] for m in members}[crew.bo.id] == "admin"


async def test_an_admin_invites_and_revokes_but_only_an_owner_makes_admins(
    app: FastAPI, http: httpx.AsyncClient
) -> None:
    crew = await make_crew(http)
    async with as_person(app, crew.bo) as bo:
        page = await bo.get(crew.url("settings"))
        assert "Create an invite" in page.text
        invite_form = page.text.split('settings/invites"', 1)[1].split("</form>", 1)[0]
        assert '<option value="member">' in invite_form
        assert '<option value="admin">' not in invite_form
        assert (await bo.post(crew.url("settings/invites"), {"role": "admin"})).status_code == 403
        assert (
            await bo.post(crew.url("settings/invites"), {"role": "member"}, csrf=False)
        ).status_code == 403
        made = await bo.post(crew.url("settings/invites"), {"role": "member"})
        # Post/redirect/get: the code is never in an address; the page the browser goes to shows it.
        assert (made.status_code, made.headers["location"]) == (303, crew.url("settings") + "#new-invite")
        shown = await bo.get(crew.url("settings"))
        assert "no-store" in shown.headers["cache-control"]  # the page holds a secret
        code = re.search(r'<code class="secret">([^<]+)</code>', shown.text)
        assert code is not None
        assert code.group(1) not in made.headers["set-cookie"]  # sealed, not merely carried
        assert code.group(1) not in shown.headers.get("set-cookie", "")
        # A reload shows it no more and makes no other invite.
        listed = await bo.get(crew.url("settings"))
        assert code.group(1) not in listed.text  # shown once, never listed
        assert "New invite" not in listed.text
        invite_ids = re.findall(r"/invites/([0-9a-z]+)/revoke", listed.text)
        assert len(invite_ids) == 1
        revoked = await bo.post(crew.url(f"settings/invites/{invite_ids[0]}/revoke"))
        assert revoked.status_code == 303
        assert "The invite was revoked" in (await bo.get(revoked.headers["location"])).text
    newcomer = await crew.api.person("Dee")
    r = await http.post("/api/v1/teams/join", json={"code": code.group(1)}, headers=newcomer.headers)
    assert r.status_code == 410, r.text


async def test_an_invite_code_is_shown_only_to_the_session_and_team_that_made_it(
    app: FastAPI, http: httpx.AsyncClient
) -> None:
    crew = await make_crew(http)
    other_team = await crew.api.team(crew.bo, "bo's own")
    async with as_person(app, crew.bo) as bo, as_person(app, crew.bo) as bo_elsewhere:
        made = await bo.post(crew.url("settings/invites"), {"role": "member"})
        assert made.status_code == 303
        sealed = bo.client.cookies.get("kibitz_flash")
        assert sealed
        # Bo's other browser session, handed the cookie, cannot open it.
        bo_elsewhere.client.cookies.set("kibitz_flash", sealed)
        assert '<code class="secret">' not in (await bo_elsewhere.get(crew.url("settings"))).text
        # Another team's settings page does not show it, nor use it up.
        assert '<code class="secret">' not in (await bo.get(f"/t/{other_team}/settings")).text
        assert '<code class="secret">' in (await bo.get(crew.url("settings"))).text
    invites = await http.get(f"/api/v1/teams/{crew.team}/invites", headers=crew.ada.headers)
    assert len(invites.json()) == 1


async def test_roles_and_removal_follow_the_api_rules(app: FastAPI, http: httpx.AsyncClient) -> None:
    crew = await make_crew(http)
    async with as_person(app, crew.bo) as bo:
        # An admin may not touch the owner, nor make owners.
        assert (
            await bo.post(crew.url(f"settings/members/{crew.ada.id}/role"), {"role": "member"})
        ).status_code == 403
        assert (
            await bo.post(crew.url(f"settings/members/{crew.cy.id}/role"), {"role": "owner"})
        ).status_code == 403
        assert (
            await bo.post(crew.url(f"settings/members/{crew.cy.id}/role"), {"role": "boss"})
        ).status_code == 422
        r = await bo.post(crew.url(f"settings/members/{crew.cy.id}/role"), {"role": "admin"}, csrf=False)
        assert r.status_code == 403
        r = await bo.post(crew.url(f"settings/members/{crew.cy.id}/role"), {"role": "admin"})
        assert (r.status_code, r.headers["location"]) == (303, crew.url("settings") + "?done=role")
        r = await bo.post(crew.url(f"settings/members/{crew.cy.id}/remove"))
        assert r.status_code == 303
    members = (await http.get(f"/api/v1/teams/{crew.team}/members", headers=crew.ada.headers)).json()
    assert {m["user_id"] for m in members} == {crew.ada.id, crew.bo.id}
    async with as_person(app, crew.cy) as cy:
        assert (await cy.get(crew.url("feed"))).status_code == 404  # removed: the team is gone for them
    async with as_person(app, crew.ada) as ada:
        # The last owner cannot leave.
        assert (await ada.post(crew.url(f"settings/members/{crew.ada.id}/remove"))).status_code == 409


async def test_allowlist_and_code_free_mode(app: FastAPI, http: httpx.AsyncClient) -> None:
    crew = await make_crew(http)
    async with as_person(app, crew.bo) as bo:
        page = await bo.get(crew.url("settings"))
        assert "The server sees you at <code>127.0.0.1</code>" in page.text
        # A list that leaves out the admin's own address is refused.
        assert (await bo.post(crew.url("settings/allowlist"), {"cidrs": "10.0.0.0/8"})).status_code == 409
        assert (await bo.post(crew.url("settings/allowlist"), {"cidrs": "not-a-network"})).status_code == 422
        saved = await bo.post(crew.url("settings/allowlist"), {"cidrs": "127.0.0.0/8\n10.0.0.0/8"})
        assert saved.status_code == 303
        assert "127.0.0.0/8\n10.0.0.0/8</textarea>" in (await bo.get(crew.url("settings"))).text
        on = await bo.post(crew.url("settings/code-free"), {"code_free": "on"})
        assert on.status_code == 303
        page = await bo.get(crew.url("feed"))
        assert "the code lives only in the developers' clones" in page.text
        audit = await bo.get(crew.url("settings/audit"))
        assert audit.status_code == 200
        assert "team.code_free_changed" in audit.text
        assert "allowlist" in audit.text
        logins = await bo.get(crew.url("settings/audit"), action="login")
        assert "login.succeeded" in logins.text
        assert "team.code_free_changed" not in logins.text
    r = await http.get(f"/api/v1/teams/{crew.team}/allowlist", headers=crew.ada.headers)
    assert r.json()["cidrs"] == ["127.0.0.0/8", "10.0.0.0/8"]
    teams = (await http.get("/api/v1/teams", headers=crew.ada.headers)).json()
    assert [t["code_free"] for t in teams if t["id"] == crew.team] == [True]


async def test_settings_escape_names(app: FastAPI, http: httpx.AsyncClient) -> None:
    crew = await make_crew(http)
    email = f"mallory.{crew.team}@example.com"
    r = await http.post("/api/v1/auth/signup", json={"email": email, "name": SCRIPT, "password": PASSWORD})
    assert r.status_code == 201, r.text
    r = await http.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    token = r.json()["token"]
    mallory = Person(r.json()["user"]["id"], email, token, {"Authorization": f"Bearer {token}"})
    await crew.api.join(crew.ada, crew.team, mallory)
    async with as_person(app, crew.bo) as bo:
        page = await bo.get(crew.url("settings"))
    assert ESCAPED in page.text
    assert SCRIPT not in page.text


async def test_the_allowlist_applies_to_every_team_page(app: FastAPI, http: httpx.AsyncClient) -> None:
    crew = await make_crew(http)
    r = await http.put(
        f"/api/v1/teams/{crew.team}/allowlist", json={"cidrs": ["127.0.0.1/32"]}, headers=crew.ada.headers
    )
    assert r.status_code == 200, r.text
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=("203.0.113.9", 4000))
    async with httpx.AsyncClient(transport=transport, base_url="http://kibitz.test", headers=HTML) as client:
        outside = Browser(client)
        await outside.sign_in(crew.bo)  # the account page is not the team's: it opens from anywhere
        for name in ["feed", "inbox", "search", "settings", "settings/audit"]:
            denied = await outside.get(crew.url(name))
            assert denied.status_code == 403, name
            assert "network address" in denied.text
        assert (await outside.post(crew.url("settings/code-free"), {"code_free": "on"})).status_code == 403
    teams = (await http.get("/api/v1/teams", headers=crew.ada.headers)).json()
    assert [t["code_free"] for t in teams if t["id"] == crew.team] == [False]
    audit = await http.get(
        f"/api/v1/teams/{crew.team}/audit", params={"action": "address"}, headers=crew.ada.headers
    )
    assert audit.json()["items"], "denied addresses are audited"


async def test_bad_cursors_and_words_are_refused_as_pages(app: FastAPI, http: httpx.AsyncClient) -> None:
    crew = await make_crew(http)
    await codemark(crew, title="cache", assignees=[crew.bo.id])
    async with as_person(app, crew.bo) as bo:
        for page in ("feed", "inbox", "search", "settings/audit"):
            r = await bo.get(crew.url(page), q="cache", cursor="not-a-cursor")
            assert r.status_code == 422, page
            assert r.headers["content-type"].startswith("text/html"), page
            assert "The cursor is not valid." in r.text, page
        r = await bo.get(crew.url("search"), q="x" * 501)
        assert r.status_code == 400
        assert "Words:" in r.text
        assert (await bo.get(crew.url("inbox"), unread="perhaps")).status_code == 422
