"""The permission matrix of the pages: every page and form × every kind of caller, against
`permissions.PAGE_ROUTES`, with browser sessions and CSRF tokens as a browser sends them.

Exactly the cells the table allows succeed (a page: 200; a form: a redirect that is not to the sign-in page);
the others get the sign-in page (signed out), 404 (another team's owner: the objects look missing) or 403
(too weak a role). The objects are the owner's. A page or form added to PAGE_ROUTES without a recipe here
fails the first test. Routes open to anyone (sign-in, sign-up, assets) are tested in test_pages.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from kibitz.server.permissions import PAGE_ROUTES, PERSONAS, ROUTES, Who
from tests.server.conftest import Api, Person, client_of, one_app_per_module
from tests.web.conftest import browser_client, page_csrf, sign_in

data_dir, database_url, settings, app = one_app_per_module()

Ids = dict[str, str]
Key = tuple[str, str]
_RANK = {"member": 0, "admin": 1, "owner": 2}
_NEEDS: dict[Who, str] = {"member": "member", "author-or-admin": "admin", "admin": "admin", "owner": "owner"}


@dataclass
class Recipe:
    """How to call a page or form: the form's fields (None: a GET)."""

    form: dict[str, str] | None = None
    # Fields that name the fresh objects (by their ids), added to `form`.
    fields_of: Callable[[Ids], dict[str, str]] = field(default=lambda ids: {})


RECIPES: dict[Key, Recipe] = {
    ("GET", "/"): Recipe(),
    ("GET", "/c/{codemark_id}"): Recipe(),
    ("POST", "/c/{codemark_id}/reply"): Recipe({"text": "A reply."}),
    ("POST", "/c/{codemark_id}/edit"): Recipe({"title": "New title", "text": "New text."}),
    ("POST", "/c/{codemark_id}/status"): Recipe({"status": "resolved"}),
    ("POST", "/c/{codemark_id}/react"): Recipe({"emoji": "👍"}),
    ("POST", "/c/{codemark_id}/follow"): Recipe({"action": "follow"}),
    ("POST", "/r/{reply_id}/edit"): Recipe({"text": "Changed."}),
    ("POST", "/r/{reply_id}/react"): Recipe({"emoji": "👀"}),
}
# The permalink is an API route too (its JSON is in the API's matrix); its page is checked here.
# The team's pages and the account page act on objects of their own per call (members, invites, tokens, the
# caller's account): test_team_account_matrix.py holds them to the same table.
BROWSER_KEYS = [
    key
    for key, rule in PAGE_ROUTES.items()
    if rule.who != "anyone" and not key[1].startswith(("/t/", "/account"))
] + [("GET", "/c/{codemark_id}")]


def expected(who: Who, persona: str) -> int | None:
    """Return what a persona must get on the owner's object (None: success; 303: the sign-in page)."""
    if persona == "anonymous":
        return 303
    if who == "user":
        return None
    if persona == "another team":
        return 404
    if who == "author":
        return None if persona == "owner" else 403
    return None if _RANK[persona] >= _RANK[_NEEDS[who]] else 403


def test_every_page_has_a_recipe() -> None:
    assert sorted(set(BROWSER_KEYS) - RECIPES.keys()) == [], "pages without a recipe in this test"
    assert sorted(RECIPES.keys() - set(BROWSER_KEYS)) == [], "recipes for pages that have no rule"


@dataclass
class World:
    """Team T with an owner, an admin and a member; the owner of another team; browsers signed in as each."""

    api: Api
    team: str
    repo: str
    people: dict[str, Person]
    browsers: dict[str, httpx.AsyncClient]
    # The CSRF token of each browser's forms: a signed-out browser's from the sign-in form, a signed-in
    # one's from its session.
    csrf: dict[str, str] = field(default_factory=dict)

    async def ids(self) -> Ids:
        """Make a fresh codemark and reply of the owner's and return their ids."""
        owner = self.people["owner"]
        cm = await self.api.codemark(owner, self.team, self.repo)
        r = await self.api.http.post(
            f"/api/v1/codemarks/{cm['id']}/replies", json={"text": "First."}, headers=owner.headers
        )
        assert r.status_code == 201, r.text
        return {"codemark_id": cm["id"], "reply_id": r.json()["id"]}


@pytest.fixture
async def world(app: FastAPI) -> AsyncIterator[World]:
    async with client_of(app) as http:
        api = Api(http)
        people = {
            name: await api.person(name.split()[-1].title()) for name in PERSONAS if name != "anonymous"
        }
        team = await api.team(people["owner"])
        await api.team(people["another team"], "elsewhere")
        for role in ("admin", "member"):
            await api.join(people["owner"], team, people[role], role)
        repo = await api.repo(people["owner"], team)
        browsers: dict[str, httpx.AsyncClient] = {}
        clients = [browser_client(app) for _ in PERSONAS]
        for persona, client in zip(PERSONAS, clients, strict=True):
            browsers[persona] = await client.__aenter__()
            if persona != "anonymous":
                answer = await sign_in(browsers[persona], people[persona])
                assert answer.status_code == 303, answer.text
        csrf = {
            persona: await page_csrf(browser, "/signin" if persona == "anonymous" else "/")
            for persona, browser in browsers.items()
        }
        try:
            yield World(api, team, repo, people, browsers, csrf)
        finally:
            for client in clients:
                await client.__aexit__(None, None, None)


async def call(world: World, key: Key, persona: str) -> httpx.Response:
    """Call a page or form as a persona on fresh objects of the owner's."""
    method, template = key
    ids = await world.ids()
    path = template.format(**ids)
    browser = world.browsers[persona]
    recipe = RECIPES[key]
    if recipe.form is None:
        return await browser.request(method, path)
    data: dict[str, Any] = {**recipe.form, **recipe.fields_of(ids), "csrf": world.csrf[persona]}
    return await browser.request(method, path, data=data)


async def test_page_matrix(world: World) -> None:
    wrong = []
    for key in BROWSER_KEYS:
        rule = ROUTES[key]
        for persona in PERSONAS:
            answer = await call(world, key, persona)
            want = expected(rule.who, persona)
            location = answer.headers.get("location", "")
            if want is None:
                ok = answer.status_code == 200 or (
                    answer.status_code == 303 and not location.startswith("/signin")
                )
            elif want == 303:
                ok = answer.status_code == 303 and location.startswith("/signin")
            else:
                ok = answer.status_code == want
            if not ok:
                wrong.append(
                    f"{key[0]} {key[1]} as {persona}: {answer.status_code} {location} (want {want or 'ok'})"
                )
    assert not wrong, "\n".join(wrong)
