"""Who may sign up (open, invite-only, closed; allowed email domains; internal domains), which addresses and
names are refused (look-alikes, invisible controls), and passwords: strength against common and personal
words, and Unicode NFC at sign-up, login and password change, old hashes included. On SQLite and
PostgreSQL where accounts and invites are stored."""

from __future__ import annotations

import unicodedata
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from sqlalchemy import update

from kibitz.server.auth.models import User
from kibitz.settings import Settings
from tests.server.conftest import PASSWORD, Api, client_of, started

STRONG = "violet tractor mimics seventeen owls"


@asynccontextmanager
async def serving(settings: Settings, **changes: Any) -> AsyncIterator[httpx.AsyncClient]:
    """Start the app with `changes` to its settings and yield a client of it."""
    async with started(settings.model_copy(update=changes)) as app, client_of(app) as http:
        yield http


async def signup(http: httpx.AsyncClient, email: str, **fields: Any) -> httpx.Response:
    """Sign up with `email` (a strong password unless given) and return the raw answer."""
    body = {"email": email, "name": "Newcomer", "password": STRONG, **fields}
    return await http.post("/api/v1/auth/signup", json=body)


async def login(http: httpx.AsyncClient, email: str, password: str = STRONG) -> httpx.Response:
    """Log in and return the raw answer."""
    return await http.post("/api/v1/auth/login", json={"email": email, "password": password})


def refused(r: httpx.Response, status: int, *words: str) -> None:
    """Check that a request was refused with `status` and a message holding every one of `words`."""
    assert r.status_code == status, r.text
    # The sentence, or (for a field the schema refuses) the field's own message in the details.
    error = r.json()["error"]
    details = error.get("details")
    fields = details if isinstance(details, list) else []
    said = " ".join([error["message"], *(str(d.get("msg", "")) for d in fields)])
    for word in words:
        assert word in said, said


async def test_sign_up_modes(settings: Settings) -> None:
    async with serving(settings, signup_mode="closed") as http:
        refused(await signup(http, "nobody@example.com"), 403, "does not take new sign-ups")
        refused(await login(http, "nobody@example.com"), 401)

    async with serving(settings, signup_mode="invite") as http:
        refused(await signup(http, "a@example.com"), 403, "invitation only", "invite")
        # A code that lets nobody in leaves no account behind.
        refused(await signup(http, "owner@example.com", invite="kbzi_nope"), 410)
        refused(await login(http, "owner@example.com"), 401)

    # The first account of an invite-only server comes from an open start (or an import); here, open.
    async with serving(settings) as http:
        api = Api(http)
        owner = await api.person("Owner")
        team = await api.team(owner)
        r = await http.post(f"/api/v1/teams/{team}/invites", json={}, headers=owner.headers)
        code = r.json()["code"]

    # An invite code from a team admin lets one person in, straight into the team.
    async with serving(settings, signup_mode="invite") as http:
        r = await signup(http, "invited@example.com", invite=code)
        assert r.status_code == 201, r.text
        token = (await login(http, "invited@example.com")).json()["token"]
        r = await http.get(f"/api/v1/teams/{team}/members", headers={"Authorization": f"Bearer {token}"})
        assert "invited@example.com" in [m["email"] for m in r.json()]
        # Single use: the code is spent.
        refused(await signup(http, "second@example.com", invite=code), 410)
        refused(await login(http, "second@example.com"), 401)


async def test_allowed_email_domains(settings: Settings) -> None:
    async with serving(settings, signup_email_domains="example.com, corp.example") as http:
        for email in ("ada@example.com", "bo@eu.example.com", "cy@corp.example"):
            assert (await signup(http, email)).status_code == 201, email
        for email in ("eve@evil.org", "eve@example.com.evil.org", "eve@notexample.com"):
            r = await signup(http, email)
            refused(r, 422, "only from addresses at example.com, corp.example")
            assert r.json()["error"]["details"][0]["loc"] == ["body", "email"]
            refused(await login(http, email), 401)


@pytest.mark.database_agnostic
async def test_internal_domains_are_accepted_as_configured(settings: Settings) -> None:
    async with serving(settings) as http:
        for email in ("ada@nas.home.arpa", "bo@box.local", "cy@git.internal", "di@router.lan"):
            assert (await signup(http, email)).status_code == 201, email
            assert (await login(http, email)).status_code == 200, email
        for email in ("eve@localhost", "eve@x.test", "eve@x.onion", "eve@4.3.2.1.in-addr.arpa"):
            refused(await signup(http, email), 422, "not accepted on this server")
    async with serving(settings, internal_email_domains="home.arpa") as http:
        assert (await signup(http, "fay@nas.home.arpa")).status_code == 201
        refused(await signup(http, "gus@box.local"), 422, ".local", "KIBITZ_INTERNAL_EMAIL_DOMAINS")


@pytest.mark.database_agnostic
async def test_look_alike_addresses_and_invisible_controls_are_refused(http: httpx.AsyncClient) -> None:
    # Cyrillic letters in a Latin address, in its domain, or a whole Cyrillic word that reads as Latin.
    for email in ("\u0430dmin@example.com", "admin@ex\u0430mple.com", "\u0440\u0430\u0443@example.com"):
        refused(await signup(http, email), 422, "could pass for another address")
        # At login the address is only parsed: an account made before this rule still signs in.
        refused(await login(http, email), 401)
    # Scripts on their own are welcome.
    for email in ("j\u00fcrgen@m\u00fcller.de", "\u03b4\u03bf\u03ba\u03b9\u03bc\u03ae@example.com"):
        assert (await signup(http, email)).status_code == 201, email

    bidi = "Mallory \u202egnp.exe"
    for name in (bidi, "ad\u200bmin", "Eve\u2066", "Zero\ufeffWidth", "ad\u200dmin"):
        r = await signup(http, f"n{len(name)}{ord(name[-1])}@example.com", name=name)
        assert r.status_code == 422, (name, r.text)
        assert "control" in r.text or "invisible" in r.text
    # A joiner where a script needs it (a Persian name) passes.
    persian = "\u0645\u062d\u0645\u062f\u200c\u0631\u0636\u0627"
    assert (await signup(http, "persian@example.com", name=persian)).status_code == 201
    # Team and token names follow the same rule.
    api = Api(http)
    ada = await api.person("Ada")
    r = await http.post("/api/v1/teams", json={"name": bidi}, headers=ada.headers)
    assert r.status_code == 422, r.text
    r = await http.post("/api/v1/tokens", json={"name": "ci\u200b", "scope": "read"}, headers=ada.headers)
    assert r.status_code == 422, r.text


async def test_weak_and_personal_passwords_are_refused(http: httpx.AsyncClient, api: Api) -> None:
    for password in ("password123456", "qwertyuiopasdf", "aaaaaaaaaaaaaaaa"):
        r = await signup(http, "weak@example.com", password=password)
        refused(r, 422, "too easy to guess")
        assert r.json()["error"]["details"][0]["loc"] == ["body", "password"]
    # The person's own email, handle and name are guessed first.
    for password, fields in (
        ("zebulonquixote1", {"name": "Zebulon Quixote"}),
        ("marmaduke.example", {}),
        ("ferdinandthegreat", {"handle": "ferdinandthegreat"}),
    ):
        r = await signup(http, "marmaduke@example.com", password=password, **fields)
        refused(r, 422, "too easy to guess", "your name, handle or email")
        assert r.json()["error"]["details"][0]["loc"] == ["body", "password"]
    refused(await login(http, "marmaduke@example.com", "zebulonquixote1"), 401)
    assert (await signup(http, "marmaduke@example.com")).status_code == 201

    # A new password is held to the same rule; a refused change changes nothing.
    ada = await api.person("Ada")
    r = await http.post(
        "/api/v1/auth/password",
        json={"current_password": PASSWORD, "new_password": "password123456"},
        headers=ada.headers,
    )
    refused(r, 422, "too easy to guess")
    assert r.json()["error"]["details"][0]["loc"] == ["body", "new_password"]
    assert (await login(http, ada.email, PASSWORD)).status_code == 200


@pytest.mark.database_agnostic
async def test_the_strength_rule_is_a_setting(settings: Settings) -> None:
    async with serving(settings, password_min_score=0) as http:
        assert (await signup(http, "lax@example.com", password="password123456")).status_code == 201


async def test_passwords_are_compared_in_nfc(http: httpx.AsyncClient) -> None:
    composed = "Cr\u00e8me br\u00fbl\u00e9e d'\u00e9t\u00e9 au caf\u00e9"
    decomposed = unicodedata.normalize("NFD", composed)
    assert composed != decomposed
    # Typed decomposed at sign-up (as some keyboards do), composed at login, and the other way round.
    assert (await signup(http, "nfd@example.com", password=decomposed)).status_code == 201
    assert (await signup(http, "nfc@example.com", password=composed)).status_code == 201
    for email in ("nfd@example.com", "nfc@example.com"):
        for typed in (composed, decomposed):
            assert (await login(http, email, typed)).status_code == 200, (email, typed == composed)


async def test_a_hash_made_before_normalising_still_signs_in(http: httpx.AsyncClient, app: FastAPI) -> None:
    composed = "Z\u00fcrich f\u00f6hn \u00fcber den H\u00e4usern"
    decomposed = unicodedata.normalize("NFD", composed)
    r = await signup(http, "old@example.com")
    assert r.status_code == 201, r.text
    # An account from before the rule: its hash is of the decomposed text, as it was typed.
    async with app.state.kibitz.sessionmaker() as session:
        await session.execute(
            update(User)
            .where(User.id == r.json()["id"])
            .values(
                password_hash=PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(decomposed)
            )
        )
        await session.commit()
    refused(await login(http, "old@example.com", "not the password"), 401)
    # Typed as before, it signs in (and the hash moves to the NFC form); typed composed, too.
    assert (await login(http, "old@example.com", decomposed)).status_code == 200
    assert (await login(http, "old@example.com", composed)).status_code == 200
