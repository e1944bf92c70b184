"""Bad input gets a clear JSON error with a stable code, never a 500, and changes nothing."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from kibitz.server.models import Base
from tests.server.conftest import Api, Person, codemark_body, one_app_per_module

BIG = 64 * 1024

# Every test makes its own team and counts only what changes during it: one app serves the module.
module_data_dir, module_database_url, module_settings, module_app = one_app_per_module()

# Bad input is refused before it reaches the database (what the database itself refuses is tested on both).
pytestmark = pytest.mark.database_agnostic


async def row_counts(app: FastAPI) -> dict[str, int]:
    """Count the rows of every table."""
    counts = {}
    async with app.state.kibitz.sessionmaker() as session:
        for table in Base.metadata.sorted_tables:
            counts[table.name] = int(
                (await session.execute(select(func.count()).select_from(table))).scalar_one()
            )
    return counts


def assert_error(r: httpx.Response, status: int, code: str) -> None:
    """Assert the response is the JSON error envelope with this status and code."""
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str)
    assert body["error"]["message"]
    assert "Traceback" not in r.text


async def post_json(
    http: httpx.AsyncClient, url: str, body: Any, headers: dict[str, str] | None = None
) -> httpx.Response:
    """POST a body as ASCII-escaped JSON, so lone surrogates reach the server as a client could send them."""
    raw = json.dumps(body).encode()
    return await http.post(url, content=raw, headers={**(headers or {}), "content-type": "application/json"})


class Setup:
    """A team with a repo and an owner, ready for bad requests."""

    def __init__(self, person: Person, team: str, repo: str) -> None:
        self.person, self.team, self.repo = person, team, repo


@pytest.fixture
async def ready(api: Api) -> Setup:
    """Return a team with a repo, owned by a signed-in person."""
    person = await api.person()
    team = await api.team(person)
    return Setup(person, team, await api.repo(person, team))


MARKER_CASES: list[tuple[str, dict[str, Any]]] = [
    ("commit too short", {"commit": "a" * 39}),
    ("commit 41 digits", {"commit": "a" * 41}),
    ("commit abbreviated", {"commit": "abc1234"}),
    ("commit not hex", {"commit": "g" * 40}),
    ("commit 63 digits", {"commit": "a" * 63}),
    ("line zero", {"start_line": 0}),
    ("negative line", {"start_line": -3, "end_line": 2}),
    ("start after end", {"start_line": 9, "end_line": 5}),
    ("line as text", {"start_line": "three"}),
    ("absurd line", {"end_line": 10**12}),
    ("absolute path", {"path": "/etc/passwd"}),
    ("climbing path", {"path": "src/../../etc/passwd"}),
    ("dot dot only", {"path": ".."}),
    ("dot component", {"path": "./src/app.py"}),
    ("NUL in path", {"path": "src/a\x00b.py"}),
    ("backslash path", {"path": "src\\app.py"}),
    ("drive path", {"path": "C:/app.py"}),
    ("empty path", {"path": ""}),
    ("double slash", {"path": "src//app.py"}),
    ("path too long", {"path": "a/" * 2048 + "b"}),
    ("code too long", {"code": "x" * (BIG + 1)}),
    ("multibyte code too long", {"code": "é" * (BIG // 2 + 1)}),
    ("context too long", {"context_before": "x" * (BIG + 1)}),
    ("NUL in code", {"code": "a\x00b"}),
    ("lone surrogate in code", {"code": "\ud800"}),
    ("unknown marker field", {"colour": "red"}),
    ("unknown repo", {"repo_id": "z" * 16}),
    ("malformed repo id", {"repo_id": "../../x"}),
]

BODY_CASES: list[tuple[str, dict[str, Any]]] = [
    ("text too long", {"text": "x" * (BIG + 1)}),
    ("NUL in text", {"text": "hi\x00"}),
    ("unknown type", {"type": "rant"}),
    ("no markers", {"markers": []}),
    ("too many markers", {"markers": "many"}),
    ("unknown field", {"priority": 1}),
    ("nothing said", {"text": " ", "title": ""}),
    ("title too long", {"title": "t" * 513}),
    ("bad tag", {"tags": ["no spaces"]}),
    ("too many tags", {"tags": [f"t{i}" for i in range(21)]}),
    ("non-member assignee", {"assignees": ["z" * 16]}),
    ("text not a string", {"text": 5}),
]


@pytest.mark.parametrize(("case", "fields"), MARKER_CASES, ids=[c for c, _ in MARKER_CASES])
async def test_bad_markers_are_refused(
    http: httpx.AsyncClient, app: FastAPI, ready: Setup, case: str, fields: dict[str, Any]
) -> None:
    before = await row_counts(app)
    body = codemark_body(ready.repo, marker=fields)
    r = await post_json(http, f"/api/v1/teams/{ready.team}/codemarks", body, ready.person.headers)
    assert_error(r, 422, "validation_failed")
    assert await row_counts(app) == before


@pytest.mark.parametrize(("case", "fields"), BODY_CASES, ids=[c for c, _ in BODY_CASES])
async def test_bad_codemarks_are_refused(
    http: httpx.AsyncClient, app: FastAPI, ready: Setup, case: str, fields: dict[str, Any]
) -> None:
    before = await row_counts(app)
    body = codemark_body(ready.repo, **fields)
    r = await post_json(http, f"/api/v1/teams/{ready.team}/codemarks", body, ready.person.headers)
    assert_error(r, 422, "validation_failed")
    assert await row_counts(app) == before


@pytest.mark.databases("sqlite", "postgres")
async def test_limits_are_inclusive(http: httpx.AsyncClient, ready: Setup) -> None:
    body = codemark_body(
        ready.repo,
        text="x" * BIG,
        marker={
            "code": "é" * (BIG // 2),
            "path": "a/" * 2047 + "bc",
            "commit": "F" * 64,
            "start_line": 7,
            "end_line": 7,
        },
    )
    r = await http.post(f"/api/v1/teams/{ready.team}/codemarks", json=body, headers=ready.person.headers)
    assert r.status_code == 201, r.text
    assert r.json()["markers"][0]["commit"] == "f" * 64


async def test_oversize_bodies_are_refused(http: httpx.AsyncClient, app: FastAPI, ready: Setup) -> None:
    before = await row_counts(app)
    url = f"/api/v1/teams/{ready.team}/codemarks"
    huge = json.dumps(codemark_body(ready.repo, text="x" * (1024 * 1024))).encode()
    r = await http.post(
        url, content=huge, headers={**ready.person.headers, "content-type": "application/json"}
    )
    assert_error(r, 413, "payload_too_large")

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(huge), 65536):
            yield huge[start : start + 65536]

    # Without a Content-Length (chunked), the limit still holds.
    r = await http.post(
        url, content=chunks(), headers={**ready.person.headers, "content-type": "application/json"}
    )
    assert_error(r, 413, "payload_too_large")
    assert await row_counts(app) == before


async def test_malformed_bodies(http: httpx.AsyncClient, app: FastAPI, ready: Setup) -> None:
    before = await row_counts(app)
    url = f"/api/v1/teams/{ready.team}/codemarks"
    headers = {**ready.person.headers, "content-type": "application/json"}
    assert_error(await http.post(url, content=b"{not json", headers=headers), 400, "invalid_json")
    assert_error(await http.post(url, content=b"\xff\xfe\x00", headers=headers), 400, "invalid_json")
    assert_error(await http.post(url, content=b"[]", headers=headers), 422, "validation_failed")
    assert_error(await http.post(url, content=b"null", headers=headers), 422, "validation_failed")
    assert_error(await http.post(url, content=b"", headers=headers), 422, "validation_failed")
    plain = {**ready.person.headers, "content-type": "text/plain"}
    assert_error(await http.post(url, content=b"hello", headers=plain), 415, "unsupported_media_type")
    assert await row_counts(app) == before


async def test_unknown_routes_methods_and_ids(http: httpx.AsyncClient, ready: Setup) -> None:
    h = ready.person.headers
    assert_error(await http.get("/api/v1/nothing", headers=h), 404, "not_found")
    assert_error(
        await http.put(f"/api/v1/teams/{ready.team}/codemarks", headers=h), 405, "method_not_allowed"
    )
    for bad in ("z" * 16, "x", "%00", "..%2f..", "a" * 300):
        assert_error(await http.get(f"/api/v1/codemarks/{bad}", headers=h), 404, "not_found")
        assert_error(await http.get(f"/api/v1/teams/{bad}/members", headers=h), 404, "not_found")


async def test_bad_query_parameters(http: httpx.AsyncClient, ready: Setup) -> None:
    url = f"/api/v1/teams/{ready.team}/codemarks"
    h = ready.person.headers
    for params in (
        {"limit": 0},
        {"limit": 201},
        {"limit": "many"},
        {"status": "closed"},
        {"type": "rant"},
        {"path": "../x"},
        {"path": "a\x00b"},
        {"tag": "a b"},
        {"cursor": "garbage"},
        {"cursor": "WyJ4IiwieCJd"},
    ):
        assert_error(await http.get(url, params=params, headers=h), 422, "validation_failed")


async def test_bad_reply_and_signup_bodies(
    http: httpx.AsyncClient, app: FastAPI, api: Api, ready: Setup
) -> None:
    cm = await api.codemark(ready.person, ready.team, ready.repo)
    before = await row_counts(app)
    url = f"/api/v1/codemarks/{cm['id']}/replies"
    for body in ({"text": ""}, {"text": "  "}, {"text": "x" * (BIG + 1)}, {"text": "a", "extra": 1}, {}):
        assert_error(await http.post(url, json=body, headers=ready.person.headers), 422, "validation_failed")
    for body in (
        {"email": "not-an-email", "name": "N", "password": "p" * 20},
        {"email": "n@example.com", "name": "", "password": "p" * 20},
        {"email": "n@example.com", "name": "\x07bell", "password": "p" * 20},
        {"email": "n@example.com", "name": "N", "password": "p" * 20, "admin": True},
        {"email": "n@example.com", "name": "N", "password": "\ud800" * 20},
    ):
        assert_error(await post_json(http, "/api/v1/auth/signup", body), 422, "validation_failed")
    assert_error(
        await post_json(http, "/api/v1/auth/login", {"email": "n@example.com", "password": "\ud800"}),
        422,
        "validation_failed",
    )
    assert await row_counts(app) == before


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
field_names = st.sampled_from(["type", "title", "text", "markers", "assignees", "tags", "status", "x"])


@pytest.mark.databases("sqlite")
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    top=st.dictionaries(field_names, json_values, max_size=6),
    marker=st.dictionaries(
        st.sampled_from(["repo_id", "path", "commit", "start_line", "end_line", "code", "y"]),
        json_values,
        max_size=7,
    ),
)
async def test_random_bodies_never_fail_the_server(
    http: httpx.AsyncClient, ready: Setup, top: dict[str, Any], marker: dict[str, Any]
) -> None:
    body = codemark_body(ready.repo, marker=marker, **top)
    r = await post_json(http, f"/api/v1/teams/{ready.team}/codemarks", body, ready.person.headers)
    assert r.status_code in (201, 400, 422), r.text
    if r.status_code != 201:
        assert r.json()["error"]["code"] in ("validation_failed", "invalid_json")
    raw = json.dumps(top).encode()
    headers = {**ready.person.headers, "content-type": "application/json"}
    r = await http.patch(f"/api/v1/codemarks/{'a' * 16}", content=raw, headers=headers)
    assert r.status_code in (404, 422), r.text


async def test_nul_characters_are_refused_everywhere(
    http: httpx.AsyncClient, app: FastAPI, ready: Setup
) -> None:
    # Found by Schemathesis: a NUL in an id list reached PostgreSQL, which cannot store it (a 500 there).
    h = ready.person.headers
    before = await row_counts(app)
    for url, body in (
        (f"/api/v1/teams/{ready.team}/inbox/read", {"ids": ["a\x00b"]}),
        (f"/api/v1/teams/{ready.team}/inbox/read", {"ids": ["\\\x00"]}),
        ("/api/v1/teams", {"name": "nul\x00team"}),
    ):
        r = await post_json(http, url, body, h)
        assert_error(r, 422, "validation_failed")
        assert r.json()["error"]["details"][0]["type"] == "nul_character"
    r = await http.get(f"/api/v1/teams/{ready.team}/search", params={"q": "a\x00b"}, headers=h)
    assert_error(r, 422, "validation_failed")
    assert await row_counts(app) == before
    # An escaped backslash followed by `u0000` is ordinary text, not a NUL.
    r = await post_json(http, "/api/v1/teams", {"name": "\\u0000 team"}, h)
    assert r.status_code == 201, r.text
    assert r.json()["name"] == "\\u0000 team"
