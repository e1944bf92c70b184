"""The permission matrix of the team's pages and the account page: every such route of `PAGE_ROUTES` × every
kind of caller, in a browser's shoes (a session cookie, forms with their CSRF token).

Exactly the cells the table allows succeed (2xx, or 303 onwards for a form); a signed-out browser is sent to
the sign-in page; another team's owner gets 404, a weaker role 403, like the API. Then every form is posted
by a caller it allows, without its CSRF token: 403, and the team's event log does not move.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field

import httpx
import pytest
from fastapi import FastAPI

from kibitz.server.permissions import PAGE_ROUTES, PERSONAS
from tests.server.conftest import PASSWORD, Api, Person, client_of, one_app_per_module
from tests.server.event_log import head
from tests.server.test_authz_matrix import expected_refusal
from tests.web.browser_client import Browser, browser

module_data_dir, module_database_url, module_settings, module_app = one_app_per_module()

Key = tuple[str, str]
Ids = dict[str, str]
# The routes this file holds to the table: the team's pages and the account page.
MINE = ("/t/", "/account")
_numbers = itertools.count()


@dataclass
class World:
    """Team T with an owner, an admin, a member and a plain member to act on; another team's owner."""

    app: FastAPI
    http: httpx.AsyncClient
    api: Api
    people: dict[str, Person]
    team: str
    target: Person
    browsers: dict[str, Browser]
    passwords: dict[str, str] = field(default_factory=dict)
    stack: AsyncExitStack = field(default_factory=AsyncExitStack)


Fresh = Callable[[World, str], Awaitable[Ids]]
Fields = Callable[[World, str], dict[str, str]]


@dataclass(frozen=True)
class Recipe:
    """How to call a route: its form fields (or query), fresh objects per call, and whether the call erases
    the caller (then a new person stands in)."""

    fields: Fields | None = None
    fresh: Fresh | None = None
    stand_in: bool = False


async def _fresh_member(world: World, persona: str) -> Ids:
    person = await world.api.person("Extra")
    await world.api.join(world.people["owner"], world.team, person)
    return {"user_id": person.id}


async def _fresh_invite(world: World, persona: str) -> Ids:
    r = await world.http.post(
        f"/api/v1/teams/{world.team}/invites",
        json={"role": "member"},
        headers=world.people["owner"].headers,
    )
    assert r.status_code == 201, r.text
    return {"invite_id": r.json()["id"]}


async def _own_token(world: World, persona: str) -> Ids:
    person = world.people.get(persona, world.people["owner"])
    r = await world.http.post(
        "/api/v1/tokens", json={"name": "matrix", "scope": "read", "expires_days": 1}, headers=person.headers
    )
    assert r.status_code == 201, r.text
    return {"token_id": r.json()["id"]}


def _password_fields(world: World, persona: str) -> dict[str, str]:
    person = world.people.get(persona, world.people["owner"])
    current = world.passwords.get(person.id, PASSWORD)
    new = f"{PASSWORD} {next(_numbers)}"
    if persona != "anonymous":  # every signed-in persona may change their own password
        world.passwords[person.id] = new
    return {"current_password": current, "new_password": new}


RECIPES: dict[Key, Recipe] = {
    ("GET", "/t/{team_id}/feed"): Recipe(),
    ("GET", "/t/{team_id}/inbox"): Recipe(),
    ("POST", "/t/{team_id}/inbox/read"): Recipe(lambda w, p: {"all": "1"}),
    ("GET", "/t/{team_id}/search"): Recipe(lambda w, p: {"q": "return"}),
    ("GET", "/t/{team_id}/settings"): Recipe(),
    ("GET", "/t/{team_id}/settings/audit"): Recipe(),
    ("POST", "/t/{team_id}/settings/members/{user_id}/role"): Recipe(lambda w, p: {"role": "member"}),
    ("POST", "/t/{team_id}/settings/members/{user_id}/remove"): Recipe(fresh=_fresh_member),
    ("POST", "/t/{team_id}/settings/invites"): Recipe(lambda w, p: {"role": "member"}),
    ("POST", "/t/{team_id}/settings/invites/{invite_id}/revoke"): Recipe(fresh=_fresh_invite),
    ("POST", "/t/{team_id}/settings/allowlist"): Recipe(lambda w, p: {"cidrs": "0.0.0.0/0\n::/0"}),
    ("POST", "/t/{team_id}/settings/code-free"): Recipe(lambda w, p: {"code_free": "off"}),
    ("GET", "/account"): Recipe(),
    ("POST", "/account/password"): Recipe(_password_fields),
    ("POST", "/account/tokens"): Recipe(lambda w, p: {"name": "matrix", "scope": "read"}),
    ("POST", "/account/tokens/{token_id}/revoke"): Recipe(fresh=_own_token),
    ("GET", "/account/export"): Recipe(),
    ("POST", "/account/delete"): Recipe(lambda w, p: {"password": PASSWORD}, stand_in=True),
}


def my_routes() -> list[Key]:
    """Return the routes of PAGE_ROUTES this file covers."""
    return [key for key in PAGE_ROUTES if key[1].startswith(MINE)]


def test_every_team_and_account_page_has_a_recipe() -> None:
    assert sorted(my_routes()) == sorted(RECIPES)


@pytest.fixture
async def world(app: FastAPI) -> AsyncIterator[World]:
    """Build the team and sign every persona in, each in a browser of their own."""
    async with AsyncExitStack() as stack:
        http = await stack.enter_async_context(client_of(app))
        api = Api(http)
        people = {
            name: await api.person(name.split()[-1].title()) for name in PERSONAS if name != "anonymous"
        }
        for person in people.values():
            # A named token for setting the scene: a password change on the pages ends login sessions.
            r = await http.post(
                "/api/v1/tokens", json={"name": "scene", "scope": "admin"}, headers=person.headers
            )
            assert r.status_code == 201, r.text
            person.headers = {"Authorization": f"Bearer {r.json()['token']}"}
        team = await api.team(people["owner"], "matrix")
        await api.team(people["another team"], "elsewhere")
        await api.join(people["owner"], team, people["admin"], "admin")
        await api.join(people["owner"], team, people["member"])
        target = await api.person("Target")
        await api.join(people["owner"], team, target)
        await api.codemark(people["owner"], team, await api.repo(people["owner"], team))
        browsers = {}
        for name in PERSONAS:
            browsers[name] = await stack.enter_async_context(browser(app))
            if name != "anonymous":
                await browsers[name].sign_in(people[name])
        yield World(app, http, api, people, team, target, browsers, stack=stack)


async def call(world: World, key: Key, persona: str, *, csrf: bool = True) -> tuple[httpx.Response, bool]:
    """Call one route as a persona, the way its page would; return the answer and whether the team's event
    log moved during the call itself."""
    method, template = key
    recipe = RECIPES[key]
    ids: Ids = {"team_id": world.team, "user_id": world.target.id}
    if recipe.fresh is not None:
        ids |= await recipe.fresh(world, persona)
    b = world.browsers[persona]
    if recipe.stand_in and persona != "anonymous":
        stand_in = await world.api.person("Leaving")
        b = await world.stack.enter_async_context(browser(world.app))
        await b.sign_in(stand_in)
    path = template.format(**{k: v for k, v in ids.items() if "{" + k + "}" in template})
    fields = recipe.fields(world, persona) if recipe.fields is not None else {}
    before = await head(world.app, world.team)
    r = await b.get(path, **fields) if method == "GET" else await b.post(path, fields, csrf=csrf)
    return r, await head(world.app, world.team) != before


def outcome(r: httpx.Response) -> int:
    """Return what an answer means: 2xx as 200, a redirect to the sign-in page as 401, else the status."""
    if r.status_code == 303:
        return 401 if r.headers["location"].startswith("/signin") else 200
    return 200 if 200 <= r.status_code < 300 else r.status_code


async def test_team_and_account_pages_follow_the_matrix(world: World) -> None:
    wrong = []
    for key in my_routes():
        rule = PAGE_ROUTES[key]
        for persona in PERSONAS:
            r, moved = await call(world, key, persona)
            want = expected_refusal(rule.who, persona) or 200
            if outcome(r) != want:
                wrong.append(f"{key[0]} {key[1]} ({rule.who}) as {persona}: {r.status_code} (want {want})")
            if want != 200:
                assert not moved, f"refused {key} as {persona} left an event"
    assert not wrong, "\n".join(wrong)


async def test_every_form_is_refused_without_its_csrf_token(world: World) -> None:
    for key in my_routes():
        if key[0] != "POST":
            continue
        r, moved = await call(world, key, "owner", csrf=False)
        assert r.status_code == 403, key
        assert "CSRF" in r.text, key
        assert not moved, key
