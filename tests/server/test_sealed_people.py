"""People at rest: emails, names and handles are sealed, and logins, uniqueness and mentions still work
through their blind indexes (docs/security.md, "Encryption at rest")."""

from __future__ import annotations

import base64

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from kibitz.server.crypto.envelope import PREFIX
from tests.server.conftest import PASSWORD, Api

EMAIL = "Grace.Hopper@Example.com"
NAME = "Grace Brewster Hopper"
HANDLE = "amazing-grace"


async def signup(http: httpx.AsyncClient, email: str = EMAIL, handle: str | None = HANDLE) -> httpx.Response:
    body = {"email": email, "name": NAME, "password": PASSWORD}
    if handle is not None:
        body["handle"] = handle
    return await http.post("/api/v1/auth/signup", json=body)


async def login(http: httpx.AsyncClient, email: str) -> httpx.Response:
    return await http.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})


async def raw_user(app: FastAPI, user_id: str) -> dict[str, str]:
    """Return a user's row as stored, read with plain SQL (no model, no sealer)."""
    async with app.state.kibitz.engine.connect() as connection:
        row = (
            await connection.execute(
                text(
                    "SELECT email, name, handle, email_index, handle_index FROM user_account WHERE id = :id"
                ),
                {"id": user_id},
            )
        ).one()
    return dict(row._mapping)


async def test_the_stored_row_holds_no_plaintext(http: httpx.AsyncClient, app: FastAPI) -> None:
    r = await signup(http)
    assert r.status_code == 201, r.text
    user = r.json()
    assert (user["email"], user["name"], user["handle"]) == (EMAIL.lower(), NAME, HANDLE)
    stored = await raw_user(app, user["id"])
    dump = repr(stored).lower()
    for plain in (EMAIL.lower(), "grace.hopper", "hopper", NAME.lower(), HANDLE):
        assert plain not in dump
    for column in ("email", "name", "handle"):
        assert stored[column].startswith(PREFIX)
    # Blind indexes: 64 hex digits each, unrelated to each other.
    assert len(stored["email_index"]) == len(stored["handle_index"]) == 64
    assert stored["email_index"] != stored["handle_index"]


async def test_login_by_email_ignores_case_and_space(http: httpx.AsyncClient) -> None:
    r = await signup(http)
    assert r.status_code == 201, r.text
    for spelling in (EMAIL, EMAIL.upper(), f"  {EMAIL.lower()} "):
        r = await login(http, spelling)
        assert r.status_code == 200, (spelling, r.text)
        assert r.json()["user"]["email"] == EMAIL.lower()
    assert (await login(http, "grace.hopper@example.org")).status_code == 401


async def test_a_taken_email_or_handle_is_a_conflict(http: httpx.AsyncClient) -> None:
    assert (await signup(http)).status_code == 201
    r = await signup(http, email=EMAIL.upper(), handle="someone-else")
    assert r.status_code == 409, r.text
    assert r.json()["error"]["details"] == {"field": "email"}
    r = await signup(http, email="other@example.com", handle=HANDLE)
    assert r.status_code == 409, r.text
    assert r.json()["error"]["details"] == {"field": "handle"}


async def test_handles_derived_from_emails_stay_unique(http: httpx.AsyncClient) -> None:
    handles = []
    for domain in ("a.example", "b.example", "c.example"):
        r = await signup(http, email=f"sam@{domain}", handle=None)
        assert r.status_code == 201, r.text
        handles.append(r.json()["handle"])
    assert handles == ["sam", "sam2", "sam3"]
    # A handle someone chose counts too.
    assert (await signup(http, email="x@example.com", handle="sam4")).status_code == 201
    r = await signup(http, email="sam@d.example", handle=None)
    assert r.json()["handle"] == "sam5"


async def test_mentions_by_handle_and_email_still_resolve(http: httpx.AsyncClient, api: Api) -> None:
    ada = await api.person("Ada")
    team = await api.team(ada)
    r = await signup(http)
    grace_id = r.json()["id"]
    token = (await login(http, EMAIL)).json()["token"]
    grace = type(ada)(grace_id, EMAIL.lower(), token, {"Authorization": f"Bearer {token}"})
    await api.join(ada, team, grace)
    repo = await api.repo(ada, team)
    by_handle = await api.codemark(ada, team, repo, text=f"Look, @{HANDLE}")
    by_email = await api.codemark(ada, team, repo, text=f"And you, @{EMAIL}")
    assert by_handle["mentions"] == [grace_id]
    assert by_email["mentions"] == [grace_id]
    r = await http.get(f"/api/v1/teams/{team}/inbox", headers=grace.headers)
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert {i["codemark_id"] for i in items} == {by_handle["id"], by_email["id"]}
    assert {i["actor"]["email"] for i in items} == {ada.email}


@pytest.mark.parametrize("column", ["email", "name", "handle"])
async def test_a_broken_seal_is_a_clean_500(http: httpx.AsyncClient, app: FastAPI, column: str) -> None:
    r = await signup(http)
    user_id = r.json()["id"]
    token = (await login(http, EMAIL)).json()["token"]
    sealed = (await raw_user(app, user_id))[column]
    body = sealed[len(PREFIX) :]
    raw = bytearray(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    raw[-1] ^= 0x01  # the last byte of the tag: the envelope still parses, the check fails
    flipped = PREFIX + base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode("ascii")
    async with app.state.kibitz.engine.begin() as connection:
        await connection.execute(
            text(f"UPDATE user_account SET {column} = :v WHERE id = :id"),  # noqa: S608 - a fixed column
            {"v": flipped, "id": user_id},
        )
    r = await http.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 500
    assert r.headers["content-type"].startswith("application/json")
    error = r.json()["error"]
    assert error["message"] == "Internal error."
    for leaked in (EMAIL.lower(), NAME, HANDLE, "Traceback", "seal"):
        assert leaked not in r.text
