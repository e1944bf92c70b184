"""The authorization matrix: every route of the app × every kind of caller, against `permissions.ROUTES`.

The routes are read from the app's own route table (HTTP and WebSocket), so a route added without an entry
in ROUTES, an entry for a route the app lacks, or a route this test has no request recipe for, fails here.
Each cell is one real request through the in-process app: exactly the cells ROUTES allows succeed (2xx); the
others get 401 (anonymous), 404 (another team's owner: its objects look missing) or 403 (too weak a role),
and a refused request adds nothing to the team's event log. The objects are the owner's, so `author` and
`author-or-admin` routes refuse a plain member. Then each route that takes a token is called with a named
token one scope short (403) and with exactly the scope its rule names (2xx).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import json
import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import _IncludedRouter
from sqlalchemy import select
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.types import Message

from kibitz.ids import new_id
from kibitz.server import permissions
from kibitz.server.app import create_app
from kibitz.server.auth.models import ApiToken
from kibitz.server.auth.service import TOKEN_PREFIX, hash_token
from kibitz.server.auth.tokens import seal_token_name
from kibitz.server.permissions import PAGE_ROUTES, PERSONAS, ROUTES, SCOPES, Scope, Who
from kibitz.settings import Settings
from tests.server.conftest import PASSWORD, Api, Person, codemark_body
from tests.server.event_log import head

Ids = dict[str, str]
Key = tuple[str, str]
_RANK = {"member": 0, "admin": 1, "owner": 2}
_NEEDS: dict[Who, str] = {
    "member": "member",
    "author-or-admin": "admin",
    "self-or-admin": "admin",
    "admin": "admin",
    "owner": "owner",
}
ERROR_CODES = {401: "not_authenticated", 403: "forbidden", 404: "not_found"}
_numbers = itertools.count()


def expected_refusal(who: Who, persona: str) -> int | None:
    """Return the status a persona must get on the owner's object of a route open to `who` (None: 2xx)."""
    if who == "anyone":
        return None
    if persona == "anonymous":
        return 401
    if who == "user":
        return None
    if persona == "another team":
        return 404
    if who == "author":  # the owner wrote every object the matrix acts on
        return None if persona == "owner" else 403
    return None if _RANK[persona] >= _RANK[_NEEDS[who]] else 403


# -- the world the requests act on ----------------------------------------------------------------------


@dataclass
class World:
    """Team T with an owner, an admin and a member; the owner of another team; objects the owner made."""

    http: httpx.AsyncClient
    app: FastAPI
    api: Api
    people: dict[str, Person]
    team: str
    side_team: str  # invites to join come from here, so joining never changes anyone's place in T
    target: Person  # a plain member of T whom admins act on
    repo: str
    ids: Ids
    passwords: dict[str, str] = field(default_factory=dict)

    def token_headers(self, token: str) -> dict[str, str]:
        """Return the headers of a bearer token."""
        return {"Authorization": f"Bearer {token}"}

    async def token(self, user_id: str, scopes: str, kind: str = "token") -> tuple[str, str]:
        """Store a token of `kind` with `scopes` for a user straight in the database; return (id, token)."""
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        now = dt.datetime.now(dt.UTC)
        token_id = new_id()
        async with self.app.state.kibitz.sessionmaker() as session:
            row = ApiToken(
                id=token_id,
                user_id=user_id,
                # Sealed as the app seals token names (the listing opens them).
                name=await seal_token_name(session, user_id, token_id, f"matrix {next(_numbers)}"),
                kind=kind,
                scopes=scopes,
                token_hash=hash_token(token),
                created_at=now,
                expires_at=now + dt.timedelta(days=1),
            )
            session.add(row)
            await session.commit()
        return row.id, token

    async def stand_in(self, token: str) -> str:
        """Sign up a new person and give them a token with the scopes of `token`; return it (for routes that
        erase the caller's own account)."""
        async with self.app.state.kibitz.sessionmaker() as session:
            scopes = await session.scalar(
                select(ApiToken.scopes).where(ApiToken.token_hash == hash_token(token))
            )
        person = await self.api.person("Leaving")
        _, fresh = await self.token(person.id, scopes or "")
        return fresh

    async def member(self, role: str = "member") -> Person:
        """Sign up a new person and let them join T with `role`."""
        person = await self.api.person("Extra")
        await self.api.join(self.people["owner"], self.team, person, role)
        return person

    async def codemark(self, **fields: Any) -> dict[str, Any]:
        """Create a codemark of the owner in T."""
        return await self.api.codemark(self.people["owner"], self.team, self.repo, **fields)


async def build_world(http: httpx.AsyncClient, app: FastAPI) -> World:
    """Create the team, the personas (with full-scope named tokens, which a password change keeps) and the
    owner's objects."""
    api = Api(http)
    people = {name: await api.person(name.split()[-1].title()) for name in PERSONAS if name != "anonymous"}
    team = await api.team(people["owner"], "matrix")
    await api.team(people["another team"], "elsewhere")
    side_team = await api.team(people["owner"], "side")
    await api.join(people["owner"], team, people["admin"], "admin")
    await api.join(people["owner"], team, people["member"])
    target = await api.person("Target")
    await api.join(people["owner"], team, target)
    repo = await api.repo(people["owner"], team)
    world = World(http, app, api, people, team, side_team, target, repo, {})
    for person in people.values():
        _, token = await world.token(person.id, permissions.scopes_up_to("admin"))
        person.token, person.headers = token, world.token_headers(token)
        world.passwords[person.id] = PASSWORD
    cm = await world.codemark()
    reply = await http.post(
        f"/api/v1/codemarks/{cm['id']}/replies",
        json={"text": "the owner's reply"},
        headers=people["owner"].headers,
    )
    assert reply.status_code == 201, reply.text
    world.ids = {
        "team_id": team,
        "repo_id": repo,
        "codemark_id": cm["id"],
        "marker_id": cm["markers"][0]["id"],
        "other_id": (await world.codemark())["id"],
        "reply_id": reply.json()["id"],
        "user_id": target.id,
        "emoji": "%F0%9F%91%8D",
        "token_id": "z" * 16,
    }
    return world


# -- request recipes ------------------------------------------------------------------------------------

Body = Callable[[World, Ids], Any]
Fresh = Callable[[World, str], Awaitable[Ids]]
After = Callable[[World, Ids], Awaitable[None]]


@dataclass(frozen=True)
class Recipe:
    """How to call a route: its body and query, fresh objects per call for routes that use theirs up, and
    what puts the world back after a call that succeeded."""

    body: Body | None = None
    query: dict[str, str] | None = None
    fresh: Fresh | None = None
    after: After | None = None
    # The call erases the caller's account: a new person stands in, with a token of the same scopes.
    stand_in: bool = False


async def _fresh_codemark(world: World, persona: str) -> Ids:
    return {"codemark_id": (await world.codemark())["id"]}


async def _fresh_reply(world: World, persona: str) -> Ids:
    owner = world.people["owner"]
    r = await world.http.post(
        f"/api/v1/codemarks/{world.ids['codemark_id']}/replies", json={"text": "x"}, headers=owner.headers
    )
    assert r.status_code == 201, r.text
    return {"reply_id": r.json()["id"]}


async def _fresh_member(world: World, persona: str) -> Ids:
    return {"user_id": (await world.member()).id}


async def _fresh_provisional(world: World, persona: str) -> Ids:
    cm = await world.codemark(marker={"provisional": True})
    return {"codemark_id": cm["id"], "marker_id": cm["markers"][0]["id"]}


async def _fresh_repo(world: World, persona: str) -> Ids:
    # A repo of its own per call, with no codemark pinned to it (removing one that has them is refused).
    root = f"{next(_numbers):040x}"
    return {"repo_id": await world.api.repo(world.people["owner"], world.team, root=root)}


async def _own_token(world: World, persona: str) -> Ids:
    if persona == "anonymous":
        return {}
    token_id, _ = await world.token(world.people[persona].id, permissions.scopes_up_to("read"))
    return {"token_id": token_id}


async def _own_session(world: World, persona: str) -> Ids:
    if persona == "anonymous":
        return {}
    _, token = await world.token(world.people[persona].id, permissions.scopes_up_to("admin"), "session")
    return {"token": token}


async def _invite_code(world: World, persona: str) -> Ids:
    r = await world.http.post(
        f"/api/v1/teams/{world.side_team}/invites",
        json={"role": "member"},
        headers=world.people["owner"].headers,
    )
    assert r.status_code == 201, r.text
    return {"code": r.json()["code"]}


async def _fresh_invite(world: World, persona: str) -> Ids:
    r = await world.http.post(
        f"/api/v1/teams/{world.team}/invites", json={"role": "member"}, headers=world.people["owner"].headers
    )
    assert r.status_code == 201, r.text
    return {"invite_id": r.json()["id"]}


async def _fresh_team(world: World, persona: str) -> Ids:
    # A team of its own per call (the owner erases it), where the admin and member personas have their roles.
    name = f"doomed {next(_numbers)}"
    team_id = await world.api.team(world.people["owner"], name)
    await world.api.join(world.people["owner"], team_id, world.people["admin"], "admin")
    await world.api.join(world.people["owner"], team_id, world.people["member"])
    return {"team_id": team_id, "team_name": name}


async def _new_owner(world: World, persona: str) -> Ids:
    person = await world.member()
    return {"new_owner": person.id, "new_owner_token": person.token}


async def _transfer_back(world: World, ids: Ids) -> None:
    # The new owner hands the team back, so the owner persona is owner again for the next cells.
    r = await world.http.post(
        f"/api/v1/teams/{world.team}/transfer",
        json={"user_id": world.people["owner"].id},
        headers=world.token_headers(ids["new_owner_token"]),
    )
    assert r.status_code == 200, r.text


def _password_body(world: World, ids: Ids) -> dict[str, str]:
    ids["new_password"] = f"{PASSWORD} {next(_numbers)}"
    current = world.passwords.get(ids.get("caller_id", ""), PASSWORD)
    return {"current_password": current, "new_password": ids["new_password"]}


async def _password_changed(world: World, ids: Ids) -> None:
    world.passwords[ids["caller_id"]] = ids["new_password"]


def _location_body(world: World, ids: Ids) -> dict[str, Any]:
    return {
        "commit": "7" * 40,
        "algorithm": "v1",
        "locations": [{"marker_id": ids["marker_id"], "status": "deleted", "confidence": 0.5}],
    }


_BLOCK = {"commit": "8" * 40, "path": "x.py", "start_line": 1, "end_line": 2}
API = permissions.API

RECIPES: dict[Key, Recipe] = {
    ("GET", "/healthz"): Recipe(),
    ("GET", "/readyz"): Recipe(),
    ("GET", "/metrics"): Recipe(),
    ("GET", "/.well-known/security.txt"): Recipe(),
    ("GET", f"{API}/openapi.json"): Recipe(),
    ("POST", f"{API}/auth/signup"): Recipe(
        lambda w, i: {"email": f"new{next(_numbers)}@example.com", "name": "New", "password": PASSWORD}
    ),
    ("POST", f"{API}/auth/login"): Recipe(
        lambda w, i: {
            "email": i.get("caller_email", w.people["owner"].email),
            "password": w.passwords.get(i.get("caller_id", w.people["owner"].id), PASSWORD),
        }
    ),
    ("POST", f"{API}/auth/logout"): Recipe(fresh=_own_session),
    ("POST", f"{API}/auth/password"): Recipe(_password_body, after=_password_changed),
    ("GET", f"{API}/me"): Recipe(),
    ("GET", f"{API}/me/export"): Recipe(),
    ("DELETE", f"{API}/me"): Recipe(lambda w, i: {"password": PASSWORD}, stand_in=True),
    ("GET", f"{API}/tokens"): Recipe(),
    ("POST", f"{API}/tokens"): Recipe(lambda w, i: {"name": "matrix", "scope": "read", "expires_days": 1}),
    ("DELETE", f"{API}/tokens/{{token_id}}"): Recipe(fresh=_own_token),
    ("POST", f"{API}/teams"): Recipe(lambda w, i: {"name": "new"}),
    ("GET", f"{API}/teams"): Recipe(),
    ("POST", f"{API}/teams/join"): Recipe(lambda w, i: {"code": i["code"]}, fresh=_invite_code),
    # Off: the world's team stays one whose markers keep their code.
    ("PATCH", f"{API}/teams/{{team_id}}"): Recipe(lambda w, i: {"code_free": False}),
    ("GET", f"{API}/teams/{{team_id}}/members"): Recipe(),
    ("POST", f"{API}/teams/{{team_id}}/invites"): Recipe(lambda w, i: {"role": "member"}),
    ("GET", f"{API}/teams/{{team_id}}/invites"): Recipe(),
    ("DELETE", f"{API}/teams/{{team_id}}/invites/{{invite_id}}"): Recipe(fresh=_fresh_invite),
    ("PATCH", f"{API}/teams/{{team_id}}/members/{{user_id}}"): Recipe(lambda w, i: {"role": "member"}),
    ("DELETE", f"{API}/teams/{{team_id}}/members/{{user_id}}"): Recipe(fresh=_fresh_member),
    ("DELETE", f"{API}/teams/{{team_id}}/members/{{user_id}}/tokens"): Recipe(),
    ("POST", f"{API}/teams/{{team_id}}/transfer"): Recipe(
        lambda w, i: {"user_id": i["new_owner"]}, fresh=_new_owner, after=_transfer_back
    ),
    ("GET", f"{API}/teams/{{team_id}}/allowlist"): Recipe(),
    ("PUT", f"{API}/teams/{{team_id}}/allowlist"): Recipe(lambda w, i: {"cidrs": ["0.0.0.0/0", "::/0"]}),
    ("GET", f"{API}/teams/{{team_id}}/audit"): Recipe(),
    ("DELETE", f"{API}/teams/{{team_id}}"): Recipe(
        lambda w, i: {"confirm": i["team_name"]}, fresh=_fresh_team
    ),
    ("GET", f"{API}/teams/{{team_id}}/erasures"): Recipe(),
    ("GET", f"{API}/teams/{{team_id}}/export"): Recipe(),
    ("POST", f"{API}/teams/{{team_id}}/repos/match"): Recipe(lambda w, i: {"root_commits": ["b" * 40]}),
    ("GET", f"{API}/teams/{{team_id}}/repos"): Recipe(),
    ("GET", f"{API}/teams/{{team_id}}/repos/{{repo_id}}"): Recipe(),
    ("PATCH", f"{API}/teams/{{team_id}}/repos/{{repo_id}}"): Recipe(
        lambda w, i: {"name": f"renamed {next(_numbers)}"}
    ),
    ("DELETE", f"{API}/teams/{{team_id}}/repos/{{repo_id}}"): Recipe(fresh=_fresh_repo),
    ("POST", f"{API}/teams/{{team_id}}/codemarks"): Recipe(lambda w, i: codemark_body(w.repo)),
    ("GET", f"{API}/teams/{{team_id}}/codemarks"): Recipe(),
    ("GET", f"{API}/teams/{{team_id}}/ids"): Recipe(query={"prefix": "0000"}),
    ("GET", f"{API}/codemarks/{{codemark_id}}"): Recipe(),
    ("GET", "/c/{codemark_id}"): Recipe(),
    ("PATCH", f"{API}/codemarks/{{codemark_id}}"): Recipe(lambda w, i: {"tags": ["matrix"]}),
    ("DELETE", f"{API}/codemarks/{{codemark_id}}"): Recipe(fresh=_fresh_codemark),
    ("GET", f"{API}/codemarks/{{codemark_id}}/history"): Recipe(),
    ("PUT", f"{API}/codemarks/{{codemark_id}}/follow"): Recipe(),
    ("DELETE", f"{API}/codemarks/{{codemark_id}}/follow"): Recipe(),
    ("PUT", f"{API}/codemarks/{{codemark_id}}/related/{{other_id}}"): Recipe(),
    ("DELETE", f"{API}/codemarks/{{codemark_id}}/related/{{other_id}}"): Recipe(),
    ("PUT", f"{API}/codemarks/{{codemark_id}}/reactions/{{emoji}}"): Recipe(),
    ("DELETE", f"{API}/codemarks/{{codemark_id}}/reactions/{{emoji}}"): Recipe(),
    ("POST", f"{API}/codemarks/{{codemark_id}}/replies"): Recipe(lambda w, i: {"text": "matrix"}),
    ("GET", f"{API}/codemarks/{{codemark_id}}/replies"): Recipe(),
    ("PATCH", f"{API}/replies/{{reply_id}}"): Recipe(lambda w, i: {"text": "edited"}),
    ("DELETE", f"{API}/replies/{{reply_id}}"): Recipe(fresh=_fresh_reply),
    ("GET", f"{API}/replies/{{reply_id}}/history"): Recipe(),
    ("PUT", f"{API}/replies/{{reply_id}}/reactions/{{emoji}}"): Recipe(),
    ("DELETE", f"{API}/replies/{{reply_id}}/reactions/{{emoji}}"): Recipe(),
    ("POST", f"{API}/codemarks/{{codemark_id}}/markers/{{marker_id}}/references"): Recipe(
        lambda w, i: {"kind": "other", **_BLOCK}
    ),
    ("POST", f"{API}/codemarks/{{codemark_id}}/markers/{{marker_id}}/promote"): Recipe(
        lambda w, i: _BLOCK, fresh=_fresh_provisional
    ),
    ("POST", f"{API}/teams/{{team_id}}/locations"): Recipe(_location_body),
    ("POST", f"{API}/teams/{{team_id}}/locations/query"): Recipe(
        lambda w, i: {"commit": "7" * 40, "algorithm": "v1", "marker_ids": [i["marker_id"]]}
    ),
    ("GET", f"{API}/teams/{{team_id}}/inbox"): Recipe(),
    ("POST", f"{API}/teams/{{team_id}}/inbox/read"): Recipe(lambda w, i: {"all": True}),
    ("GET", f"{API}/teams/{{team_id}}/search"): Recipe(query={"q": "return"}),
    ("GET", f"{API}/stream"): Recipe(),
}


# -- the app's route table ------------------------------------------------------------------------------


def app_routes(app: FastAPI) -> set[Key]:
    """Return (method, path) of every route the app serves; a WebSocket route counts as GET."""
    found = _keys(app.routes, "")
    # The walk must see at least what the OpenAPI document lists (routes hidden from it come on top).
    listed = {(m.upper(), path) for path, ops in app.openapi()["paths"].items() for m in ops}
    assert listed <= found, sorted(listed - found)
    return found


def _keys(routes: Sequence[BaseRoute], prefix: str) -> set[Key]:
    found: set[Key] = set()
    for route in routes:
        if isinstance(route, WebSocketRoute):
            found.add(("GET", prefix + route.path))
        elif isinstance(route, Route):  # FastAPI's APIRoute too; HEAD is only Starlette's echo of GET
            methods = route.methods or set()
            found |= {(m, prefix + route.path) for m in methods if not (m == "HEAD" and "GET" in methods)}
        elif isinstance(route, _IncludedRouter):
            # FastAPI keeps an included router as one entry holding the router and its prefix.
            found |= _keys(route.original_router.routes, prefix + route.include_context.prefix)
        else:
            raise AssertionError(f"{route!r} is neither a route nor a router: teach this test about it")
    return found


@pytest.fixture
def settings(database_url: str, data_dir: Path) -> Settings:
    """Return settings whose login throttle lets the matrix sign in its cast (throttling is tested apart)."""
    return Settings.load(
        data_dir=data_dir,
        database_url=database_url,
        fast_password_hashing=True,
        login_rate_limit="10000/minute",
        security_contact="mailto:security@example.com",
        # The in-process clients name the server kibitz.test; /metrics answers only the names it is given.
        metrics_hosts="kibitz.test",
    )


def test_every_route_has_a_rule_and_a_recipe(tmp_path: Path) -> None:
    app = create_app(Settings.load(data_dir=tmp_path / "data", fast_password_hashing=True), migrate=False)
    served = app_routes(app)
    assert sorted(served - ROUTES.keys()) == [], "routes without an entry in permissions.ROUTES"
    assert sorted(ROUTES.keys() - served) == [], "permissions.ROUTES names routes the app does not serve"
    # The pages take browser sessions, not tokens: tests/web/test_page_matrix.py calls them.
    served -= PAGE_ROUTES.keys()
    assert sorted(served - RECIPES.keys()) == [], "routes without a request recipe in this test"
    assert sorted(RECIPES.keys() - ROUTES.keys()) == [], "recipes for routes that have no rule"


# -- calling a route ------------------------------------------------------------------------------------


@dataclass
class Answer:
    """The outcome of one call: an HTTP status, with the error code of a refusal."""

    status: int
    code: str | None
    text: str


async def call(world: World, key: Key, persona: str, token: str | None = None) -> Answer:
    """Call a route as a persona (or with `token`, as the owner); return its answer."""
    method, template = key
    recipe = RECIPES[key]
    ids = dict(world.ids)
    person = world.people.get(persona)
    if person is not None:
        ids |= {"caller_id": person.id, "caller_email": person.email}
    if recipe.fresh is not None:
        ids |= await recipe.fresh(world, persona)
    if token is None and person is not None:
        token = ids.get("token", person.token)
    if recipe.stand_in and token is not None:
        token = await world.stand_in(token)
    headers = world.token_headers(token) if token is not None else {}
    path = template.format(**{k: v for k, v in ids.items() if "{" + k + "}" in template})
    before = await head(world.app, world.team)
    if template == f"{API}/stream":
        answer = await subscribe(world.app, world.team, token)
    else:
        body = recipe.body(world, ids) if recipe.body is not None else None
        r = await world.http.request(method, path, json=body, params=recipe.query, headers=headers)
        code = r.json().get("error", {}).get("code") if r.status_code >= 400 else None
        answer = Answer(r.status_code, code, r.text[:300])
    if answer.status < 300 and recipe.after is not None:
        await recipe.after(world, ids)
    if answer.status >= 400:
        assert await head(world.app, world.team) == before, f"refused {method} {path} left an event"
    return answer


async def subscribe(app: FastAPI, team_id: str, token: str | None) -> Answer:
    """Open /api/v1/stream over raw ASGI and subscribe to a team: 200 when subscribed, else the close code's
    HTTP twin (4401 → 401, 4403 → 403, 4404 → 404)."""
    incoming: asyncio.Queue[Message] = asyncio.Queue()
    outgoing: asyncio.Queue[Message] = asyncio.Queue()
    incoming.put_nowait({"type": "websocket.connect"})
    message: dict[str, Any] = {"type": "subscribe", "team_id": team_id, "after": 0}
    if token is not None:
        message["token"] = token
    incoming.put_nowait({"type": "websocket.receive", "text": json.dumps(message)})
    scope = {
        "type": "websocket",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "scheme": "ws",
        "path": "/api/v1/stream",
        "raw_path": b"/api/v1/stream",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"kibitz.test")],
        "client": ("127.0.0.1", 50000),
        "server": ("kibitz.test", 80),
        "subprotocols": [],
        "state": {},
    }
    task = asyncio.create_task(app(scope, incoming.get, outgoing.put))
    frames: list[str] = []
    try:
        async with asyncio.timeout(10):
            while True:
                sent = await outgoing.get()
                if sent["type"] == "websocket.send":
                    frames.append(sent["text"])
                    if json.loads(sent["text"]).get("type") == "subscribed":
                        return Answer(200, None, sent["text"])
                elif sent["type"] == "websocket.close":
                    code = int(sent.get("code", 1000))
                    error = json.loads(frames[-1]).get("code") if frames else None
                    return Answer(code - 4000 if 4000 <= code < 5000 else code, error, " ".join(frames))
    finally:
        incoming.put_nowait({"type": "websocket.disconnect", "code": 1000})
        try:
            async with asyncio.timeout(5):
                await task
        except TimeoutError:
            task.cancel()


def _label(key: Key, who: str) -> str:
    return f"{key[0]} {key[1]} ({who})"


async def test_authorization_matrix(http: httpx.AsyncClient, app: FastAPI) -> None:
    # One app and one world per database for both parts: the roles, then the token scopes.
    world = await build_world(http, app)
    keys = [key for key in ROUTES if key in app_routes(app) and key not in PAGE_ROUTES]
    assert len(keys) >= 55
    wrong = await check_roles(world, keys)
    # The owner persona is still the owner after every transfer was handed back.
    r = await http.get(f"/api/v1/teams/{world.team}/members", headers=world.people["owner"].headers)
    roles = {m["user_id"]: m["role"] for m in r.json()}
    assert (roles[world.people["owner"].id], roles[world.people["admin"].id]) == ("owner", "admin")
    wrong += await check_scopes(world, keys)
    assert not wrong, "\n".join(wrong)


async def check_roles(world: World, keys: list[Key]) -> list[str]:
    """Call every route as every persona; return the cells that disagree with ROUTES."""
    wrong = []
    for key in keys:
        rule = ROUTES[key]
        for persona in PERSONAS:
            answer = await call(world, key, persona)
            refusal = expected_refusal(rule.who, persona)
            if refusal is None:
                ok = 200 <= answer.status < 300
            else:
                ok = (answer.status, answer.code) == (refusal, ERROR_CODES[refusal])
            if not ok:
                wanted = "2xx" if refusal is None else refusal
                wrong.append(
                    f"{_label(key, rule.who)} as {persona}: {answer.status} {answer.text} (want {wanted})"
                )
    return wrong


async def check_scopes(world: World, keys: list[Key]) -> list[str]:
    """Call every route that takes a token as the owner with a named token one scope short (403) and with
    exactly the scope of its rule (2xx); return the calls that disagree."""
    owner = world.people["owner"]
    wrong = []
    short = 0
    for key in keys:
        scope: Scope | str = ROUTES[key].scope
        if scope == "none":
            continue
        # Every token carries `read`, so only write and admin routes can meet a token one scope short.
        if scope != "read":
            weaker = SCOPES[SCOPES.index(ROUTES[key].scope) - 1]
            _, token = await world.token(owner.id, permissions.scopes_up_to(weaker))
            answer = await call(world, key, "owner", token)
            if (answer.status, answer.code) != (403, "forbidden") or scope not in answer.text:
                wrong.append(f"{_label(key, scope)} with {weaker}: {answer.status} {answer.text}")
            short += 1
        _, token = await world.token(owner.id, permissions.scopes_up_to(ROUTES[key].scope))
        answer = await call(world, key, "owner", token)
        if not 200 <= answer.status < 300:
            wrong.append(f"{_label(key, scope)} with {scope}: {answer.status} {answer.text}")
    assert short >= 25
    return wrong


def test_expected_refusals_follow_the_table_in_the_docs() -> None:
    # The doc's words and this test's statuses come from the same `who`: they must agree cell by cell.
    whos: tuple[Who, ...] = (
        "anyone",
        "user",
        "member",
        "author",
        "author-or-admin",
        "self-or-admin",
        "admin",
        "owner",
    )
    for who in whos:
        for persona in PERSONAS:
            refusal = expected_refusal(who, persona)
            words = permissions.cell(who, persona)
            if refusal is None:
                assert words == "yes" or words.startswith("own only"), (who, persona, words)
            else:
                assert f"{refusal}" in words, (who, persona, words)


def test_permission_matrix_in_the_docs_is_the_table() -> None:
    doc = (Path(__file__).parents[2] / "docs" / "security.md").read_text(encoding="utf-8")
    start = doc.index("<!-- permission matrix: generated by")
    start = doc.index("\n", start) + 1
    end = doc.index("<!-- end of permission matrix -->")
    assert doc[start:end] == permissions.markdown_table(), (
        "docs/security.md's permission matrix differs from permissions.ROUTES: paste the output of "
        "`python -m kibitz.server.permissions` between its markers"
    )
