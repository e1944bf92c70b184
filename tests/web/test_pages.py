"""The pages through the in-process app: sessions and their cookies, CSRF, headers, the permalink's two
answers, the codemark page's content and forms, and the security rules that apply to pages."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update

from kibitz.server.auth.models import ApiToken
from kibitz.server.auth.service import hash_token
from kibitz.server.db import utcnow
from kibitz.server.unit_of_work import Sessions, transaction
from kibitz.server.web.errors import wants_json
from kibitz.server.web.pages import safe_next, sign_in_url
from kibitz.server.web.sessions import extended_expiry
from kibitz.settings import Settings
from tests.server.conftest import PASSWORD, Api, Person, client_of, one_app_per_module, started
from tests.web.conftest import browser_client, csrf_of, page_csrf, sign_in

data_dir, database_url, settings, app = one_app_per_module()


@pytest.fixture
async def http(app: FastAPI) -> Any:
    async with client_of(app) as client:
        yield client


@pytest.fixture
def api(http: httpx.AsyncClient) -> Api:
    return Api(http)


async def crew(api: Api) -> tuple[Person, Person, str, str]:
    """Return Ada (owner) and Bo (member) of a team with a repo."""
    ada, bo = await api.person("Ada"), await api.person("Bo")
    team = await api.team(ada)
    await api.join(ada, team, bo)
    return ada, bo, team, await api.repo(ada, team)


# -- pure rules -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/c/abcdefghjkmnpqrs", "/c/abcdefghjkmnpqrs"),
        ("/t/x/feed?status=open", "/t/x/feed?status=open"),
        ("//evil.example/", "/"),
        ("/\\evil.example/", "/"),
        ("https://evil.example/", "/"),
        ("javascript:alert(1)", "/"),
        ("c/relative", "/"),
        ("/ spaces", "/"),
        ("", "/"),
        (None, "/"),
    ],
)
def test_only_paths_of_this_site_are_return_targets(target: str | None, expected: str) -> None:
    assert safe_next(target) == expected


def test_sign_in_url_carries_the_return_path() -> None:
    assert sign_in_url("/c/abc") == "/signin?next=/c/abc"
    assert sign_in_url("//evil") == "/signin"


@pytest.mark.parametrize(
    ("accept", "json"),
    [
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", False),
        ("application/json", True),
        ("*/*", True),
        ("", True),
        ("application/json, text/html", True),
    ],
)
def test_browsers_get_pages_and_programs_json(accept: str, json: bool) -> None:
    assert wants_json(accept) is json


def test_idle_expiry_moves_forward_but_not_past_the_token_lifetime() -> None:
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    idle, most = dt.timedelta(minutes=60), dt.timedelta(days=1)
    # Extended only when it gains at least a minute: a page and its assets do not each write.
    assert extended_expiry(start + dt.timedelta(seconds=30), start + idle, start, idle, most) is None
    later = start + dt.timedelta(minutes=30)
    assert extended_expiry(later, start + idle, start, idle, most) == later + idle
    near_end = start + most - dt.timedelta(minutes=10)
    assert extended_expiry(near_end, near_end, start, idle, most) == start + most


# -- signing in and out ---------------------------------------------------------------------------------


async def test_sign_in_sets_a_strict_cookie_and_leads_back(app: FastAPI, api: Api) -> None:
    ada = await api.person("Ada")
    async with browser_client(app) as browser:
        answer = await sign_in(browser, ada, "/c/abcdefghjkmnpqrs")
        assert answer.status_code == 303
        assert answer.headers["location"] == "/c/abcdefghjkmnpqrs"
        cookie = answer.headers["set-cookie"]
        assert cookie.startswith("kibitz_session=kbz_")
        assert "HttpOnly" in cookie
        assert "SameSite=lax" in cookie
        assert "Path=/" in cookie
        assert "Secure" not in cookie  # plain HTTP (loopback); see the HTTPS test
        assert answer.headers["cache-control"] == "no-store"
        home = await browser.get("/")
        assert home.status_code == 200
        assert home.headers["cache-control"] == "no-store"
        assert "Your teams" in home.text


async def test_over_https_the_cookie_is_secure_and_host_only(app: FastAPI, api: Api) -> None:
    ada = await api.person("Ada")
    async with browser_client(app, "https://kibitz.test") as browser:
        answer = await sign_in(browser, ada)
        cookie = answer.headers["set-cookie"]
        assert cookie.startswith("__Host-kibitz_session=kbz_")
        assert "Secure" in cookie
        assert "HttpOnly" in cookie
        assert (await browser.get("/")).status_code == 200


async def test_an_open_redirect_is_refused(app: FastAPI, api: Api) -> None:
    ada = await api.person("Ada")
    async with browser_client(app) as browser:
        answer = await sign_in(browser, ada, "//evil.example/")
        assert answer.headers["location"] == "/"


async def test_a_wrong_password_shows_the_form_again(app: FastAPI, api: Api) -> None:
    ada = await api.person("Ada")
    async with browser_client(app) as browser:
        form = await browser.get("/signin")
        answer = await browser.post(
            "/signin", data={"csrf": csrf_of(form.text), "email": ada.email, "password": "wrong " * 3}
        )
        assert answer.status_code == 401
        assert "The email or the password is wrong." in answer.text
        assert "kibitz_session" not in answer.headers.get("set-cookie", "")
        # The email typed stays; the password does not.
        assert f'value="{ada.email}"' in answer.text
        assert "wrong wrong" not in answer.text


async def test_forms_without_their_csrf_token_are_refused(app: FastAPI, api: Api) -> None:
    ada, bo, team, repo = await crew(api)
    cm = await api.codemark(ada, team, repo)
    async with browser_client(app) as browser:
        refused = await browser.post("/signin", data={"email": ada.email, "password": PASSWORD})
        assert refused.status_code == 403
        assert "CSRF" in refused.text
        await sign_in(browser, ada)
        for data in ({"text": "no token"}, {"text": "wrong token", "csrf": "x" * 64}):
            answer = await browser.post(f"/c/{cm['id']}/reply", data=data)
            assert answer.status_code == 403, answer.text
        # Another session's token is no good either.
        async with browser_client(app) as other:
            await sign_in(other, bo)
            foreign = await page_csrf(other, cm["permalink"])
        answer = await browser.post(f"/c/{cm['id']}/reply", data={"text": "foreign", "csrf": foreign})
        assert answer.status_code == 403
    r = await api.http.get(f"/api/v1/codemarks/{cm['id']}/replies", headers=ada.headers)
    assert r.json()["items"] == []


async def test_sign_out_revokes_the_session(app: FastAPI, api: Api) -> None:
    ada = await api.person("Ada")
    async with browser_client(app) as browser:
        await sign_in(browser, ada)
        token = browser.cookies["kibitz_session"]
        csrf = await page_csrf(browser, "/")
        out = await browser.post("/signout", data={"csrf": csrf})
        assert out.status_code == 303
        assert out.headers["location"] == "/signin"
    async with browser_client(app) as replay:
        replay.cookies.set("kibitz_session", token)
        answer = await replay.get("/")
        assert answer.status_code == 303
        assert answer.headers["location"] == "/signin"
    # It was a token of the API's machinery: as a bearer token it is refused too.
    r = await api.http.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401


async def test_signing_in_again_rotates_the_session(app: FastAPI, api: Api) -> None:
    ada = await api.person("Ada")
    async with browser_client(app) as browser:
        await sign_in(browser, ada)
        first = browser.cookies["kibitz_session"]
        await sign_in(browser, ada)
        second = browser.cookies["kibitz_session"]
    assert first != second
    r = await api.http.get("/api/v1/me", headers={"Authorization": f"Bearer {first}"})
    assert r.status_code == 401
    r = await api.http.get("/api/v1/me", headers={"Authorization": f"Bearer {second}"})
    assert r.status_code == 200


async def test_a_password_change_ends_browser_sessions(app: FastAPI, api: Api) -> None:
    ada = await api.person("Ada")
    async with browser_client(app) as browser:
        await sign_in(browser, ada)
        assert (await browser.get("/")).status_code == 200
        r = await api.http.post(
            "/api/v1/auth/password",
            json={"current_password": PASSWORD, "new_password": PASSWORD + " again"},
            headers=ada.headers,
        )
        assert r.status_code == 200, r.text
        answer = await browser.get("/")
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/signin")


async def test_sign_up_creates_an_account_and_signs_it_in(app: FastAPI) -> None:
    async with browser_client(app) as browser:
        form = await browser.get("/signup")
        assert form.status_code == 200
        data = {"csrf": csrf_of(form.text), "email": "new@example.com", "name": "New", "password": PASSWORD}
        answer = await browser.post("/signup", data=data)
        assert answer.status_code == 303, answer.text
        assert (await browser.get("/")).status_code == 200
        again = await browser.post("/signup", data={**data, "csrf": csrf_of(form.text)})
        assert again.status_code == 409
        assert "already exists" in again.text


# -- the permalink and the codemark page ---------------------------------------------------------------


async def test_the_permalink_answers_json_to_programs_and_a_page_to_browsers(app: FastAPI, api: Api) -> None:
    ada, bo, team, repo = await crew(api)
    cm = await api.codemark(ada, team, repo)
    r = await api.http.get(cm["permalink"], headers={**bo.headers, "Accept": "application/json"})
    assert r.status_code == 200
    assert r.json()["id"] == cm["id"]
    assert r.headers["vary"] == "Accept"
    r = await api.http.get(cm["permalink"], headers={"Accept": "application/json"})
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "not_authenticated"
    async with browser_client(app) as browser:
        anonymous = await browser.get(cm["permalink"])
        assert anonymous.status_code == 303
        assert anonymous.headers["location"] == f"/signin?next=/c/{cm['id']}"
        await sign_in(browser, bo)
        shown = await browser.get(cm["permalink"])
        assert shown.status_code == 200
        assert shown.headers["content-type"].startswith("text/html")
        assert shown.headers["cache-control"] == "no-store"
        assert shown.headers["vary"] == "Accept"
        policy = shown.headers["content-security-policy"]
        assert "script-src 'self'" in policy
        assert "unsafe-inline" not in policy
        assert "frame-ancestors 'none'" in policy
        missing = await browser.get("/c/0000000000000000")
        assert missing.status_code == 404
        assert missing.headers["content-type"].startswith("text/html")


async def test_what_people_wrote_stays_text(app: FastAPI, api: Api) -> None:
    ada, _bo, team, repo = await crew(api)
    cm = await api.codemark(
        ada,
        team,
        repo,
        title="<img src=x onerror=alert(1)>",
        text="**bold** <script>alert('text')</script> [x](javascript:alert(1))",
        marker={"path": "src/<b>.py", "code": "x = '<script>alert(2)</script>'\n"},
    )
    r = await api.http.post(
        f"/api/v1/codemarks/{cm['id']}/replies",
        json={"text": '<script>alert("reply")</script>'},
        headers=ada.headers,
    )
    assert r.status_code == 201
    async with browser_client(app) as browser:
        await sign_in(browser, ada)
        html = (await browser.get(cm["permalink"])).text
    # The only script element is our own, loaded from the server.
    assert len(re.findall(r"<script[^>]*>", html)) == 1
    assert re.search(r'<script src="/static/live\.js\?v=\w+" defer></script>', html)
    assert "<img" not in html
    assert 'href="javascript:' not in html
    assert "&lt;script&gt;alert(&#39;text&#39;)&lt;/script&gt;" in html
    assert "<strong>bold</strong>" in html
    assert " style=" not in html
    assert "src/&lt;b&gt;.py" in html


async def test_the_page_shows_the_code_where_it_is_now_and_the_thread(app: FastAPI, api: Api) -> None:
    ada, bo, team, repo = await crew(api)
    cm = await api.codemark(ada, team, repo, tags=["perf"], assignees=[bo.id])
    marker = cm["markers"][0]
    r = await api.http.post(
        f"/api/v1/teams/{team}/locations",
        json={
            "commit": "c" * 40,
            "algorithm": "v1",
            "locations": [
                {
                    "marker_id": marker["id"],
                    "path": "src/moved.py",
                    "start_line": 30,
                    "end_line": 32,
                    "status": "moved",
                    "confidence": 0.9,
                }
            ],
        },
        headers=bo.headers,
    )
    assert r.status_code == 200, r.text
    async with browser_client(app) as browser:
        await sign_in(browser, bo)
        html = (await browser.get(cm["permalink"])).text
    assert '<span class="normal">3</span>' in html  # numbered from the recorded first line
    assert "src/moved.py" in html
    assert "lines 30–32" in html
    assert "(moved)" in html
    assert ">perf<" in html
    assert "Bo" in html
    assert 'title="20' in html
    assert "UTC" in html
    for nav in ("feed", "inbox", "search", "settings"):
        assert f'href="/t/{team}/{nav}"' in html


async def test_a_code_free_team_says_where_the_code_lives(app: FastAPI, api: Api) -> None:
    ada, _bo, team, repo = await crew(api)
    r = await api.http.patch(f"/api/v1/teams/{team}", json={"code_free": True}, headers=ada.headers)
    assert r.status_code == 200, r.text
    cm = await api.codemark(ada, team, repo)
    async with browser_client(app) as browser:
        await sign_in(browser, ada)
        html = (await browser.get(cm["permalink"])).text
    assert "the code lives only in the developers' clones" in html.replace("&#39;", "'")
    assert "def f()" not in html


async def test_the_forms_reply_edit_react_resolve_and_follow(app: FastAPI, api: Api) -> None:
    ada, bo, team, repo = await crew(api)
    cm = await api.codemark(ada, team, repo)
    page = cm["permalink"]
    async with browser_client(app) as browser:
        await sign_in(browser, bo)
        csrf = await page_csrf(browser, page)
        answer = await browser.post(f"{page}/reply", data={"csrf": csrf, "text": "Because *reasons*."})
        assert answer.status_code == 303
        assert answer.headers["location"].startswith(f"{page}#r-")
        reply_id = answer.headers["location"].split("#r-")[1]
        edited = await browser.post(f"/r/{reply_id}/edit", data={"csrf": csrf, "text": "Because reasons."})
        assert edited.status_code == 303
        answer = await browser.post(f"{page}/react", data={"csrf": csrf, "emoji": "🎉"})
        assert answer.status_code == 303
        assert (
            await browser.post(f"/r/{reply_id}/react", data={"csrf": csrf, "emoji": "👀"})
        ).status_code == 303
        assert (
            await browser.post(f"{page}/follow", data={"csrf": csrf, "action": "follow"})
        ).status_code == 303
        # Bo is neither the author, an assignee nor an admin.
        refused = await browser.post(f"{page}/status", data={"csrf": csrf, "status": "resolved"})
        assert refused.status_code == 403
        refused = await browser.post(f"{page}/edit", data={"csrf": csrf, "title": "mine", "text": "now"})
        assert refused.status_code == 403
        blank = await browser.post(f"{page}/reply", data={"csrf": csrf, "text": "   "})
        assert blank.status_code == 422
        html = (await browser.get(page)).text
        assert "Because reasons." in html
        assert "edited" in html
        assert "Unfollow" in html
    async with browser_client(app) as browser:
        await sign_in(browser, ada)
        csrf = await page_csrf(browser, page)
        assert (
            await browser.post(f"{page}/status", data={"csrf": csrf, "status": "resolved"})
        ).status_code == 303
        refused = await browser.post(f"/r/{reply_id}/edit", data={"csrf": csrf, "text": "not mine"})
        assert refused.status_code == 403
        html = (await browser.get(page)).text
        assert "Reopen" in html
    r = await api.http.get(f"/api/v1/codemarks/{cm['id']}", headers=ada.headers)
    out = r.json()
    assert out["status"] == "resolved"
    assert [x["emoji"] for x in out["reactions"]] == ["🎉"]
    assert bo.id in out["followers"]


async def test_an_edited_reply_shows_its_earlier_texts(app: FastAPI, api: Api) -> None:
    ada, bo, team, repo = await crew(api)
    cm = await api.codemark(ada, team, repo)
    page = cm["permalink"]
    async with browser_client(app) as browser:
        await sign_in(browser, bo)
        csrf = await page_csrf(browser, page)
        first = await browser.post(f"{page}/reply", data={"csrf": csrf, "text": "First <script>x()</script>"})
        reply_id = first.headers["location"].split("#r-")[1]
        for text in ("Second *try*", "Third and last"):
            edited = await browser.post(f"/r/{reply_id}/edit", data={"csrf": csrf, "text": text})
            assert edited.status_code == 303
        await browser.post(f"{page}/reply", data={"csrf": csrf, "text": "Never edited"})
    async with browser_client(app) as browser:
        await sign_in(browser, ada)  # any member of the team reads the history, as with the API
        html = (await browser.get(page)).text
    item = html.split(f'id="r-{reply_id}"', 1)[1].split("</li>\n      <li", 1)[0]
    assert "Third and last" in item
    assert "Earlier versions (2)" in item
    versions = item.split('class="versions"', 1)[1]
    # Newest first, rendered from Markdown and cleaned like every text.
    assert versions.index("Second <em>try</em>") < versions.index("First &lt;script&gt;")
    assert "<script>x()" not in html
    assert html.count('class="history"') == 1  # the reply never edited has no history
    api_history = await api.http.get(f"/api/v1/replies/{reply_id}/history", headers=ada.headers)
    assert [v["text"] for v in api_history.json()] == ["Second *try*", "First <script>x()</script>"]


def thread_item(html: str, reply_id: str) -> str:
    """Return one reply's item of a codemark page ("" if the thread has none)."""
    if f'<li id="r-{reply_id}"' not in html:
        return ""
    return html.split(f'<li id="r-{reply_id}"', 1)[1].split("\n      </li>\n", 1)[0]


def reaction_button(item: str, emoji: str) -> str:
    """Return the button of one emoji in a thread item."""
    return item.split(f'value="{emoji}"', 1)[1].split("</button>", 1)[0]


async def test_kept_thread_items_show_new_reactions_edits_and_each_viewers_own_buttons(
    app: FastAPI, api: Api
) -> None:
    ada, bo, team, repo = await crew(api)
    cm = await api.codemark(ada, team, repo)
    page = cm["permalink"]
    said = await api.http.post(
        f"/api/v1/codemarks/{cm['id']}/replies", json={"text": "First *words*"}, headers=bo.headers
    )
    assert said.status_code == 201, said.text
    bos = said.json()["id"]
    async with browser_client(app) as ada_browser, browser_client(app) as bo_browser:
        await sign_in(ada_browser, ada)
        await sign_in(bo_browser, bo)
        seen = (await ada_browser.get(page)).text  # Bo's item is kept from here on
        item = thread_item(seen, bos)
        assert "<em>words</em>" in item
        assert "Edit your reply" not in item
        assert 'name="add" value="👍" aria-pressed="false"' in item
        ada_csrf = csrf_of(seen)

        # Bo reacts through the page's one form: a button's name says add or remove.
        bo_csrf = await page_csrf(bo_browser, page)
        assert bo_csrf != ada_csrf
        reacted = await bo_browser.post(f"/r/{bos}/react", data={"csrf": bo_csrf, "add": "👍"})
        assert reacted.status_code == 303, reacted.text
        item = thread_item((await ada_browser.get(page)).text, bos)
        assert 'name="add" value="👍" aria-pressed="false"' in item
        assert 'title="Bo"' in reaction_button(item, "👍")
        assert "👍 1" in reaction_button(item, "👍")

        # Bo sees his own buttons on the same item: take back his reaction, edit his reply; his token.
        bo_page = (await bo_browser.get(page)).text
        item = thread_item(bo_page, bos)
        assert 'name="remove" value="👍" aria-pressed="true"' in item
        assert "yours: take back" in item
        assert "Edit your reply" in item
        assert set(re.findall(r'name="csrf" value="([^"]+)"', bo_page)) == {bo_csrf}
        ada_page = (await ada_browser.get(page)).text
        assert set(re.findall(r'name="csrf" value="([^"]+)"', ada_page)) == {ada_csrf}
        assert "Edit your reply" not in thread_item(ada_page, bos)

        # Ada adds the same emoji: Bo's kept item (his emoji unchanged) counts her too.
        reacted = await ada_browser.post(f"/r/{bos}/react", data={"csrf": ada_csrf, "add": "👍"})
        assert reacted.status_code == 303, reacted.text
        button = reaction_button(thread_item((await bo_browser.get(page)).text, bos), "👍")
        assert "👍 2" in button
        assert 'title="Bo, Ada"' in button

        # An edit is a new text: the new words and the earlier ones show.
        edited = await api.http.patch(
            f"/api/v1/replies/{bos}", json={"text": "Second words"}, headers=bo.headers
        )
        assert edited.status_code == 200, edited.text
        item = thread_item((await ada_browser.get(page)).text, bos)
        assert "Second words" in item
        assert "edited" in item
        assert "Earlier version (1)" in item
        assert "<em>words</em>" in item.split('class="versions"', 1)[1]

        # Taking the reactions back shows at once, to both.
        for browser, token in ((bo_browser, bo_csrf), (ada_browser, ada_csrf)):
            taken = await browser.post(f"/r/{bos}/react", data={"csrf": token, "remove": "👍"})
            assert taken.status_code == 303, taken.text
        for browser in (ada_browser, bo_browser):
            item = thread_item((await browser.get(page)).text, bos)
            assert 'name="add" value="👍" aria-pressed="false"' in item
            assert "👍 1" not in item
            assert "👍 2" not in item

        # Erased, Bo and what he wrote are gone from the page, kept items and all.
        gone = await api.http.request("DELETE", "/api/v1/me", json={"password": PASSWORD}, headers=bo.headers)
        assert gone.status_code == 200, gone.text
        after = (await ada_browser.get(page)).text
        assert thread_item(after, bos) == ""
        assert "Second words" not in after
        assert "First" not in after


async def test_another_team_gets_404_and_the_allowlist_applies(app: FastAPI, api: Api) -> None:
    ada, _bo, team, repo = await crew(api)
    cm = await api.codemark(ada, team, repo)
    eve = await api.person("Eve")
    await api.team(eve, "elsewhere")
    async with browser_client(app) as browser:
        await sign_in(browser, eve)
        assert (await browser.get(cm["permalink"])).status_code == 404
        csrf = await page_csrf(browser, "/")
        assert (
            await browser.post(f"{cm['permalink']}/reply", data={"csrf": csrf, "text": "hi"})
        ).status_code == 404
    r = await api.http.put(
        f"/api/v1/teams/{team}/allowlist", json={"cidrs": ["127.0.0.1/32"]}, headers=ada.headers
    )
    assert r.status_code == 200, r.text
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=("203.0.113.9", 4000))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://kibitz.test", headers={"Accept": "text/html"}
    ) as outside:
        await sign_in(outside, ada)
        denied = await outside.get(cm["permalink"])
        assert denied.status_code == 403
        assert "network address" in denied.text
    async with browser_client(app) as inside:
        await sign_in(inside, ada)
        assert (await inside.get(cm["permalink"])).status_code == 200


async def test_the_login_throttle_and_the_sign_up_mode_apply_to_the_pages(settings: Settings) -> None:
    strict = settings.model_copy(update={"login_rate_limit": "2/minute", "signup_mode": "closed"})
    async with started(strict) as closed_app, browser_client(closed_app) as browser:
        form = await browser.get("/signup")
        assert form.status_code == 403
        assert "does not take new sign-ups" in form.text
        data = {"csrf": csrf_of(form.text), "email": "x@example.com", "name": "X", "password": PASSWORD}
        assert (await browser.post("/signup", data=data)).status_code == 403
        attempt = {"csrf": csrf_of(form.text), "email": "nobody@example.com", "password": "wrong"}
        assert [(await browser.post("/signin", data=attempt)).status_code for _ in range(3)] == [
            401,
            401,
            429,
        ]
        throttled = await browser.post("/signin", data=attempt)
        assert throttled.status_code == 429
        assert int(throttled.headers["retry-after"]) > 0
        assert "Too many login attempts" in throttled.text


async def test_a_session_lives_while_used_and_ends_when_idle(app: FastAPI, api: Api) -> None:
    ada = await api.person("Ada")
    sessions: Sessions = app.state.kibitz.sessionmaker

    async def expiry(token: str) -> dt.datetime:
        async with sessions() as session:
            found = await session.scalar(
                select(ApiToken.expires_at).where(ApiToken.token_hash == hash_token(token))
            )
            assert found is not None
            return found

    async def expire_in(token: str, delta: dt.timedelta) -> None:
        async with transaction(sessions) as session:
            await session.execute(
                update(ApiToken)
                .where(ApiToken.token_hash == hash_token(token))
                .values(expires_at=utcnow() + delta)
            )

    async with browser_client(app) as browser:
        await sign_in(browser, ada)
        token = browser.cookies["kibitz_session"]
        idle = dt.timedelta(minutes=60)
        assert abs(await expiry(token) - (utcnow() + idle)) < dt.timedelta(seconds=30)
        await expire_in(token, dt.timedelta(minutes=5))
        await asyncio.sleep(0.6)  # the half-second cache of callers
        assert (await browser.get("/")).status_code == 200
        assert abs(await expiry(token) - (utcnow() + idle)) < dt.timedelta(seconds=30)
        await expire_in(token, -dt.timedelta(seconds=1))
        await asyncio.sleep(0.6)
        ended = await browser.get("/")
        assert ended.status_code == 303
        assert ended.headers["location"] == "/signin"


async def test_failures_of_pages_are_pages(app: FastAPI, api: Api) -> None:
    ada = await api.person("Ada")
    failures = (("/no/such/page", 404), ("/c/abcdefghjkmnpqrs/reply", 405))
    async with browser_client(app) as browser:
        await sign_in(browser, ada)
        for path, status in failures:
            answer = await browser.get(path)
            assert answer.status_code == status
            assert answer.headers["content-type"].startswith("text/html")
            # Failed before the route looked at the session: the page looks, and says who is signed in.
            assert 'href="/signin"' not in answer.text
            assert ">Ada</a>" in answer.text
            assert 'action="/signout"' in answer.text
        # Its sign-out form works (it carries the session's CSRF token).
        signed_out = await browser.post("/signout", data={"csrf": csrf_of(answer.text)})
        assert (signed_out.status_code, signed_out.headers["location"]) == (303, "/signin")
        # A cookie of a session that ended: the pages offer to sign in.
        browser.cookies.set("kibitz_session", "kbz_" + "x" * 40)
        for path, status in failures:
            answer = await browser.get(path)
            assert "kibitz_session=kbz_" in answer.request.headers["cookie"]
            assert answer.status_code == status
            assert 'href="/signin"' in answer.text
            assert 'action="/signout"' not in answer.text
    # Programs keep their JSON errors.
    missing = await api.http.get("/no/such/page")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
