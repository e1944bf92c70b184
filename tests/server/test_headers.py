"""Security headers on every answer: JSON, errors of every kind, 500s, sign-in; HSTS only over HTTPS."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from kibitz.server.app import create_app
from kibitz.server.headers import CONTENT_SECURITY_POLICY
from kibitz.server.logs import JsonLines, RequestIdFilter
from kibitz.settings import Settings
from tests.server.conftest import PASSWORD, Api

# Headers are set by middleware, whatever the database.
pytestmark = pytest.mark.database_agnostic

ALWAYS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}

Client = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


def assert_security_headers(response: httpx.Response, *, no_store: bool) -> None:
    """Check the headers every answer carries, and the cache rule."""
    for name, value in ALWAYS.items():
        assert response.headers.get(name) == value, (name, response.status_code, response.headers)
    assert "server" not in response.headers
    assert "x-powered-by" not in response.headers
    assert response.headers["x-request-id"]
    if no_store:
        assert response.headers["cache-control"] == "no-store"
    else:
        assert "no-store" not in response.headers.get("cache-control", "")
    assert "strict-transport-security" not in response.headers


@pytest.fixture
def client(settings: Settings) -> Client:
    """Return a maker of clients for an app with some settings changed, reached over a chosen URL and peer."""

    @asynccontextmanager
    async def make(
        base_url: str = "http://kibitz.test", peer: str = "127.0.0.1", **overrides: Any
    ) -> AsyncIterator[httpx.AsyncClient]:
        app = create_app(settings.model_copy(update=overrides))
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=(peer, 40000))
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url=base_url) as http,
        ):
            yield http

    return make


async def test_json_answers_and_client_errors_carry_every_header(http: httpx.AsyncClient, api: Api) -> None:
    assert_security_headers(await http.get("/healthz"), no_store=False)
    assert_security_headers(await http.get("/api/v1/openapi.json"), no_store=False)
    missing = await http.get("/no/such/route")
    assert missing.status_code == 404
    assert_security_headers(missing, no_store=False)
    refused = await http.get("/api/v1/me")
    assert refused.status_code == 401
    assert_security_headers(refused, no_store=False)
    wrong_method = await http.put("/healthz")
    assert wrong_method.status_code == 405
    assert_security_headers(wrong_method, no_store=False)
    # Answered by RequestGuard itself, before any route: still inside SecurityHeaders.
    not_json = await http.post("/api/v1/teams", content=b"name=x", headers={"content-type": "text/plain"})
    assert not_json.status_code == 415
    assert_security_headers(not_json, no_store=False)
    too_large = await http.post("/api/v1/teams", content=b"x" * (2 * 1024 * 1024))
    assert too_large.status_code == 413
    assert_security_headers(too_large, no_store=False)


async def test_sign_in_answers_are_never_stored(http: httpx.AsyncClient, api: Api) -> None:
    signup = await http.post(
        "/api/v1/auth/signup", json={"email": "nostore@example.com", "name": "N", "password": PASSWORD}
    )
    assert signup.status_code == 201
    assert_security_headers(signup, no_store=True)
    login = await http.post("/api/v1/auth/login", json={"email": "nostore@example.com", "password": PASSWORD})
    assert login.status_code == 200
    assert "token" in login.json()
    assert_security_headers(login, no_store=True)
    failed = await http.post(
        "/api/v1/auth/login", json={"email": "nostore@example.com", "password": "wrong!"}
    )
    assert failed.status_code == 401
    assert_security_headers(failed, no_store=True)
    invalid = await http.post("/api/v1/auth/login", json={"email": "not an email"})
    assert invalid.status_code == 422
    assert_security_headers(invalid, no_store=True)


async def test_authenticated_answers_are_never_stored(http: httpx.AsyncClient, api: Api) -> None:
    ada = await api.person()
    team = await api.team(ada)
    for path in ("/api/v1/me", "/api/v1/teams", f"/api/v1/teams/{team}/members"):
        r = await http.get(path, headers=ada.headers)
        assert r.status_code == 200, r.text
        assert_security_headers(r, no_store=True)
    # A wrong token is a credential too: its answer is not stored either.
    r = await http.get("/api/v1/me", headers={"Authorization": "Bearer not-a-token"})
    assert r.status_code == 401
    assert_security_headers(r, no_store=True)
    r = await http.get(f"/api/v1/teams/{team}/members", headers={"Authorization": f"Bearer {ada.token}"})
    assert r.headers["cache-control"] == "no-store"
    # The same public route without credentials may be cached.
    assert "cache-control" not in (await http.get("/healthz")).headers


async def test_500s_are_generic_carry_the_headers_and_their_request_id_is_logged(
    app: FastAPI, http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "canary-internals-1b7f"

    async def boom() -> None:
        raise RuntimeError(secret)

    app.add_api_route("/boom", boom)
    with caplog.at_level(logging.INFO):
        r = await http.get("/boom", headers={"Authorization": "Bearer whatever"})
    assert r.status_code == 500
    assert_security_headers(r, no_store=True)
    # The server closes the connection after a 500 (the exception goes on up to it), and says so first.
    assert r.headers["connection"] == "close"
    assert r.json() == {
        "error": {
            "code": "internal_error",
            "message": "Internal error.",
            "details": {"request_id": r.headers["x-request-id"]},
        }
    }
    request_id = r.headers["x-request-id"]
    error = [rec for rec in caplog.records if rec.levelno == logging.ERROR and rec.name == "kibitz.server"]
    assert [getattr(rec, "request_id", None) for rec in error] == [request_id]
    # The JSON line an aggregator receives names the same request, and the access line counts a 500.
    line = json.loads(JsonLines().format(error[0]))
    assert line["request_id"] == request_id
    assert line["level"] == "ERROR"
    assert "builtins.RuntimeError (message withheld)" in line["exc_info"]
    assert secret not in json.dumps(line)
    assert secret not in r.text
    access = [rec for rec in caplog.records if rec.name == "kibitz.access"]
    assert [(getattr(a, "status", None), getattr(a, "request_id", None)) for a in access] == [
        (500, request_id)
    ]


async def test_records_written_while_serving_carry_the_request_id(
    app: FastAPI, http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    async def chatty() -> dict[str, str]:
        logging.getLogger("kibitz.test").warning("serving")
        return {"status": "ok"}

    app.add_api_route("/chatty", chatty)
    caplog.handler.addFilter(RequestIdFilter())
    with caplog.at_level(logging.INFO):
        r = await http.get("/chatty")
    logging.getLogger("kibitz.test").warning("after the request")
    [during] = [rec for rec in caplog.records if rec.getMessage() == "serving"]
    assert getattr(during, "request_id", None) == r.headers["x-request-id"]
    [after] = [rec for rec in caplog.records if rec.getMessage() == "after the request"]
    assert getattr(after, "request_id", None) is None


async def test_hsts_only_over_https(client: Client) -> None:
    async with client(base_url="https://kibitz.test", hsts_seconds=1234) as https:
        r = await https.get("/healthz")
        assert r.headers["strict-transport-security"] == "max-age=1234; includeSubDomains"
        missing = await https.get("/nope")
        assert missing.headers["strict-transport-security"] == "max-age=1234; includeSubDomains"
    async with client(base_url="http://kibitz.test", hsts_seconds=1234) as plain:
        r = await plain.get("/healthz")
        assert "strict-transport-security" not in r.headers
        # A client cannot claim HTTPS for itself: only trusted proxies' X-Forwarded-Proto counts.
        r = await plain.get("/healthz", headers={"X-Forwarded-Proto": "https"})
        assert "strict-transport-security" not in r.headers
    async with client(base_url="https://kibitz.test", hsts_seconds=0) as off:
        assert "strict-transport-security" not in (await off.get("/healthz")).headers


async def test_hsts_behind_a_trusted_proxy(client: Client) -> None:
    async with client(peer="10.1.2.3", trusted_proxies="10.0.0.0/8", hsts_seconds=600) as proxied:
        r = await proxied.get(
            "/healthz", headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "192.0.2.9"}
        )
        assert r.headers["strict-transport-security"] == "max-age=600; includeSubDomains"
        r = await proxied.get("/healthz", headers={"X-Forwarded-Proto": "http"})
        assert "strict-transport-security" not in r.headers
    async with client(peer="192.0.2.50", trusted_proxies="10.0.0.0/8", hsts_seconds=600) as untrusted:
        r = await untrusted.get("/healthz", headers={"X-Forwarded-Proto": "https"})
        assert "strict-transport-security" not in r.headers
