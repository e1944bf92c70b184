"""The team's pages in a real browser (Debian's Chromium driven by Playwright) against a real server process:
the feed reached and used with the keyboard alone, the feed and settings laid out for a phone without
sideways scrolling, a `<script>` in a title staying text, and axe-core finding no serious or critical
accessibility violation on any of these pages in the light and the dark theme."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Literal

import httpx
import pytest
from playwright.async_api import Browser, Page, ViewportSize, async_playwright

from tests.e2e.conftest import running_server
from tests.server.conftest import PASSWORD, codemark_body
from tests.web.conftest import CHROMIUM_ARGS, axe_source, chromium_path

pytestmark = pytest.mark.e2e

PHONE: ViewportSize = {"width": 375, "height": 740}
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
SCRIPT = "<script>alert(1)</script>"


@dataclass
class Scene:
    """A server with a team of two and a few codemarks; Ada owns the team."""

    url: str
    team: str
    email: str
    codemarks: list[str]


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scene]:
    """Start a server and set the scene through the API."""
    chromium_path()
    with running_server(tmp_path_factory.mktemp("server-data")) as url, httpx.Client(base_url=url) as http:
        email = "ada@example.com"
        assert http.post(
            "/api/v1/auth/signup", json={"email": email, "name": "Ada", "password": PASSWORD}
        ).is_success
        token = http.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD}).json()["token"]
        headers = {"Authorization": f"Bearer {token}"}
        team = http.post("/api/v1/teams", json={"name": "phone team"}, headers=headers).json()["id"]
        repo = http.post(
            f"/api/v1/teams/{team}/repos/match", json={"root_commits": ["b" * 40]}, headers=headers
        ).json()["id"]
        made = []
        for title in ("first", SCRIPT, "a rather long title " * 8):
            r = http.post(
                f"/api/v1/teams/{team}/codemarks", json=codemark_body(repo, title=title), headers=headers
            )
            assert r.status_code == 201, r.text
            made.append(r.json()["id"])
        yield Scene(url, team, email, made)


@pytest.fixture(scope="module")
async def chromium() -> AsyncIterator[Browser]:
    """Start Debian's Chromium (never a browser Playwright downloads)."""
    path = chromium_path()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(path), args=CHROMIUM_ARGS)
        yield browser
        await browser.close()


async def signed_in(chromium: Browser, scene: Scene, path: str, viewport: ViewportSize = DESKTOP) -> Page:
    """Open `path` signed out, sign in on the page it leads to, and return the page once back at `path`."""
    context = await chromium.new_context(viewport=viewport)
    page = await context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: dialogs.append(dialog.message))
    await page.goto(scene.url + path)
    await page.get_by_label("Email").fill(scene.email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.keyboard.press("Enter")
    await page.wait_for_url(scene.url + path)
    assert dialogs == []
    return page


async def no_sideways_scroll(page: Page) -> bool:
    """Tell whether the page fits its viewport's width."""
    return bool(await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


async def test_the_feed_is_usable_with_the_keyboard_alone(chromium: Browser, scene: Scene) -> None:
    page = await signed_in(chromium, scene, f"/t/{scene.team}/feed")
    # Tab through the page until a codemark's link has the focus, then follow it with Enter.
    for _ in range(60):
        await page.keyboard.press("Tab")
        href = await page.evaluate("document.activeElement.getAttribute('href') || ''")
        if href.startswith("/c/"):
            break
    else:
        pytest.fail("no codemark link could be reached with Tab")
    assert href == f"/c/{scene.codemarks[-1]}"  # the newest comes first
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"{scene.url}{href}")
    # The filter form is labelled and submits with the keyboard too.
    await page.goto(f"{scene.url}/t/{scene.team}/feed")
    await page.get_by_label("Status").select_option("resolved")
    await page.get_by_role("button", name="Filter").focus()
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"{scene.url}/t/{scene.team}/feed?**")
    assert "status=resolved" in page.url
    assert await page.locator('a[href^="/c/"]').count() == 0
    await page.context.close()


async def test_feed_and_settings_fit_a_phone(chromium: Browser, scene: Scene) -> None:
    page = await signed_in(chromium, scene, f"/t/{scene.team}/feed", PHONE)
    assert await no_sideways_scroll(page)
    # The title with a script tag is shown as text, and nothing ran.
    assert await page.get_by_role("link", name=SCRIPT).count() == 1
    # Two filter fields a row: the first codemark shows within the first screen.
    assert await page.locator('a[href^="/c/"]').first.is_visible()
    box = await page.locator('a[href^="/c/"]').first.bounding_box()
    assert box is not None
    assert box["y"] + box["height"] <= PHONE["height"]
    await page.goto(f"{scene.url}/t/{scene.team}/settings")
    assert await page.get_by_role("heading", name="Members").is_visible()
    assert await no_sideways_scroll(page)
    # The tables' rows are cards there, and each cell names its column, the header row being hidden.
    assert await cell_labels(page) == ["Name", "Email", "Role", "Joined"]
    await page.goto(f"{scene.url}/account")
    assert await no_sideways_scroll(page)
    assert (await cell_labels(page))[:5] == ["Name", "Kind", "Scopes", "Made", "Expires"]
    await page.context.close()


async def cell_labels(page: Page) -> list[str]:
    """Return the column names shown before the cells of the page's first table's first row."""
    labels: list[str] = await page.evaluate(
        """[...document.querySelector("table tbody tr").cells]
            .map(cell => getComputedStyle(cell, "::before").content)
            .filter(content => content !== "none")
            .map(content => JSON.parse(content))"""
    )
    return labels


@pytest.mark.parametrize("scheme", ["light", "dark"])
async def test_no_serious_accessibility_violation(
    chromium: Browser, scene: Scene, scheme: Literal["light", "dark"]
) -> None:
    axe = axe_source()
    page = await signed_in(chromium, scene, f"/t/{scene.team}/feed")
    await page.emulate_media(color_scheme=scheme)
    found = {}
    for path in ("feed", "inbox", "search?q=first", "settings", "settings/audit"):
        await page.goto(f"{scene.url}/t/{scene.team}/{path}")
        found[path] = await violations(page, axe)
    await page.goto(f"{scene.url}/account")
    found["account"] = await violations(page, axe)
    assert {path: bad for path, bad in found.items() if bad} == {}
    await page.context.close()


async def violations(page: Page, axe: str) -> list[str]:
    """Run axe-core in the page (evaluated by the browser's debugger, which the page's CSP does not govern)
    and return its serious and critical findings."""
    await page.evaluate(axe)
    found = await page.evaluate(
        """axe.run().then(result => result.violations
            .filter(v => v.impact === "serious" || v.impact === "critical")
            .map(v => v.id + ": " + v.nodes.map(n => n.html).join(" | ")))"""
    )
    return [str(item) for item in found]
