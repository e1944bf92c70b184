"""The pages in a real browser (Playwright driving Debian's Chromium) against a real server process: a
permalink opened signed out leads back to it after sign-in, and a reply one person posts appears on the
page another person has open, without a reload. One server and one browser for the module."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, expect, sync_playwright
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect
from websockets.typing import Origin

from tests.server.conftest import PASSWORD, codemark_body
from tests.server_process import kibitz_server
from tests.web.conftest import CHROMIUM_ARGS, axe_source, chromium_path, csrf_of

pytestmark = pytest.mark.e2e


@dataclass
class World:
    """A server with a team of two (Ada, Bo) and one codemark."""

    url: str
    ada: str
    bo: str
    permalink: str
    team: str


def _person(api: httpx.Client, name: str) -> tuple[str, dict[str, str]]:
    email = f"{name.lower()}@example.com"
    r = api.post("/api/v1/auth/signup", json={"email": email, "name": name, "password": PASSWORD})
    assert r.status_code == 201, r.text
    r = api.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return email, {"Authorization": f"Bearer {r.json()['token']}"}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """Start a server and give it a team of two with a codemark."""
    data_dir = tmp_path_factory.mktemp("web-data")
    env = {"KIBITZ_LOGIN_RATE_LIMIT": "1000/minute"}
    with kibitz_server(
        data_dir.parent / "web-server.log", settings={"data_dir": data_dir}, env=env
    ) as server:
        with httpx.Client(base_url=server.url) as api:
            ada, ada_auth = _person(api, "Ada")
            bo, bo_auth = _person(api, "Bo")
            team = api.post("/api/v1/teams", json={"name": "core"}, headers=ada_auth).json()["id"]
            code = api.post(f"/api/v1/teams/{team}/invites", json={"role": "member"}, headers=ada_auth)
            assert (
                api.post(
                    "/api/v1/teams/join", json={"code": code.json()["code"]}, headers=bo_auth
                ).status_code
                == 200
            )
            r = api.post(
                f"/api/v1/teams/{team}/repos/match", json={"root_commits": ["b" * 40]}, headers=ada_auth
            )
            body = codemark_body(r.json()["id"], title="Why return 1?")
            cm = api.post(f"/api/v1/teams/{team}/codemarks", json=body, headers=ada_auth).json()
        yield World(server.url, ada, bo, cm["permalink"], team)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Start Debian's Chromium once for the module."""
    executable = chromium_path()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(executable), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _watch_policy(page: Page, refusals: list[str]) -> None:
    """Collect what the page's content security policy refused (it must refuse nothing of ours)."""

    def noted(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text or "Refused to" in message.text:
            refusals.append(message.text)

    page.on("console", noted)


def _sign_in(page: Page, email: str) -> None:
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_a_permalink_opened_signed_out_leads_back_after_sign_in(world: World, browser: Browser) -> None:
    context = browser.new_context()
    page = context.new_page()
    refusals: list[str] = []
    _watch_policy(page, refusals)
    page.goto(world.url + world.permalink)
    expect(page).to_have_url(f"{world.url}/signin?next={world.permalink}")
    # Keyboard only: the email field has the focus, Tab reaches the password, Enter sends the form.
    page.keyboard.type(world.bo)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page).to_have_url(world.url + world.permalink)
    expect(page.get_by_role("heading", level=1)).to_have_text("Why return 1?")
    expect(page.locator("#codemark")).to_have_attribute("data-live", "on")
    assert refusals == []
    context.close()


def test_a_reply_appears_live_on_the_other_persons_page(world: World, browser: Browser) -> None:
    ada_context, bo_context = browser.new_context(), browser.new_context()
    ada, bo = ada_context.new_page(), bo_context.new_page()
    refusals: list[str] = []
    _watch_policy(ada, refusals)
    for page, email in ((ada, world.ada), (bo, world.bo)):
        page.goto(f"{world.url}/signin?next={world.permalink}")
        _sign_in(page, email)
        expect(page).to_have_url(world.url + world.permalink)
    # Ada's page listens to the stream before Bo writes.
    expect(ada.locator("#codemark")).to_have_attribute("data-live", "on")
    text = "Because the <script>window.pwned = 1</script> caller expects **one**."
    bo.get_by_label("Reply").fill(text)
    bo.get_by_role("button", name="Reply", exact=True).click()
    expect(bo.locator("#thread")).to_contain_text("Because the <script>window.pwned = 1</script> caller")
    # On Ada's page, without a reload: the reply, as text, with its Markdown rendered.
    reply = ada.locator("#thread > li").last
    expect(reply).to_contain_text("Because the <script>window.pwned = 1</script> caller expects one.")
    expect(reply.locator(".text strong")).to_have_text("one")
    assert ada.evaluate("window.pwned") is None
    # A status change arrives the same way.
    bo_context.close()
    resolve_page = ada_context.new_page()
    resolve_page.goto(world.url + world.permalink)
    resolve_page.get_by_role("button", name="Resolve").click()
    expect(ada.locator("#status")).to_contain_text("resolved")
    assert refusals == []
    ada_context.close()


def _session_cookie(world: World, email: str) -> str:
    with httpx.Client(base_url=world.url) as browser:
        form = browser.get("/signin")
        data = {"csrf": csrf_of(form.text), "email": email, "password": PASSWORD, "next": "/"}
        assert browser.post("/signin", data=data).status_code == 303
        return str(browser.cookies["kibitz_session"])


def test_the_stream_takes_a_session_cookie_only_from_the_servers_own_pages(world: World) -> None:
    cookie = {"Cookie": f"kibitz_session={_session_cookie(world, world.ada)}"}
    stream = world.url.replace("http://", "ws://") + "/api/v1/stream"
    subscribe = json.dumps({"type": "subscribe", "team_id": world.team, "after": 0})
    with connect(stream, additional_headers=cookie, origin=Origin(world.url)) as ws:
        ws.send(subscribe)
        assert json.loads(ws.recv(timeout=10))["type"] == "subscribed"
    for origin in (Origin("http://evil.example"), None):
        with connect(stream, additional_headers=cookie, origin=origin) as ws:
            ws.send(subscribe)
            assert json.loads(ws.recv(timeout=10))["code"] == "not_authenticated"
            with pytest.raises(ConnectionClosed) as closed:
                ws.recv(timeout=10)
            assert closed.value.rcvd is not None
            assert closed.value.rcvd.code == 4401


def serious_violations(page: Page, axe: str) -> list[str]:
    """Run axe-core in the page; return its serious and critical findings (WCAG 2 A and AA rules)."""
    page.evaluate(axe)
    found = page.evaluate(
        "async () => (await axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'best-practice']})).violations"
        ".filter(v => v.impact === 'serious' || v.impact === 'critical')"
        ".map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', '))"
    )
    return [str(item) for item in found]


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_pages_have_no_serious_accessibility_problems(
    world: World, browser: Browser, scheme: str
) -> None:
    axe = axe_source()
    context = browser.new_context(color_scheme=scheme)  # type: ignore[arg-type]
    page = context.new_page()
    found: dict[str, list[str]] = {}
    page.goto(f"{world.url}/signin")
    found["sign-in"] = serious_violations(page, axe)
    page.goto(f"{world.url}/signup")
    found["sign-up"] = serious_violations(page, axe)
    page.goto(f"{world.url}/signin?next={world.permalink}")
    _sign_in(page, world.ada)
    expect(page).to_have_url(world.url + world.permalink)
    found["codemark"] = serious_violations(page, axe)
    page.goto(f"{world.url}/")
    found["home"] = serious_violations(page, axe)
    page.goto(f"{world.url}/c/0000000000000000")
    found["not found"] = serious_violations(page, axe)
    context.close()
    assert {name: problems for name, problems in found.items() if problems} == {}
