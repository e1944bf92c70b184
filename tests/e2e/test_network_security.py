"""Login throttling and IP allowlists end to end, against real Kibitz server processes.

The servers run behind a (pretend) TLS-terminating proxy on 127.0.0.1: KIBITZ_BEHIND_PROXY=1 and
KIBITZ_TRUSTED_PROXIES=127.0.0.1/32, so each request acts from the address its X-Forwarded-For names. One
process on SQLite serves the throttling and allowlist tests; two processes sharing PostgreSQL and Redis show
that the throttle's counters are shared.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.conftest import fresh_postgres_database
from tests.e2e.conftest import PASSWORD
from tests.e2e.test_realtime import _start
from tests.server_process import HOST, ServerProcess

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

PROXY_ENV = {"KIBITZ_BEHIND_PROXY": "1", "KIBITZ_TRUSTED_PROXIES": "127.0.0.1/32"}
OFFICE = "203.0.113.0/24"
INSIDE = "203.0.113.5"
OUTSIDE = "198.51.100.7"
COMMIT = "a" * 40


def random_address() -> str:
    """Return an address no other test (nor an earlier run sharing Redis) uses."""
    return f"2001:db8:{secrets.token_hex(2)}:{secrets.token_hex(2)}::{secrets.token_hex(2)}"


def from_(address: str, token: str | None = None) -> dict[str, str]:
    """Return the headers of a request the proxy forwards from `address`."""
    headers = {"X-Forwarded-For": address}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return headers


@dataclass
class Someone:
    id: str
    email: str
    token: str


async def ok(response: httpx.Response, *expected: int) -> Any:
    assert response.status_code in expected, (
        f"{response.request.method} {response.request.url}: {response.text}"
    )
    return response.json() if response.content else None


async def signup(http: httpx.AsyncClient, base: str) -> str:
    """Create an account and return its email (signing up is not a login: nothing is counted)."""
    email = f"n{secrets.token_hex(6)}@example.com"
    body = {"email": email, "name": "N", "password": PASSWORD}
    await ok(await http.post(f"{base}/api/v1/auth/signup", json=body, headers=from_(random_address())), 201)
    return email


def login(http: httpx.AsyncClient, base: str, email: str, address: str) -> Any:
    body = {"email": email, "password": PASSWORD}
    return http.post(f"{base}/api/v1/auth/login", json=body, headers=from_(address))


async def someone(http: httpx.AsyncClient, base: str) -> Someone:
    """Sign a new person up and log them in, each from an address of their own."""
    email = await signup(http, base)
    body = await ok(await login(http, base, email, random_address()), 200)
    return Someone(body["user"]["id"], email, body["token"])


def assert_throttled(response: httpx.Response) -> None:
    assert response.status_code == 429, response.text
    assert response.json()["error"]["code"] == "too_many_attempts"
    assert 1 <= int(response.headers["Retry-After"]) <= 60


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """Start one server process on SQLite behind the pretend proxy, with the default login limit."""
    data_dir = tmp_path_factory.mktemp("network-security")
    env = {
        **PROXY_ENV,
        "KIBITZ_LOG_LEVEL": "warning",
    }
    started = _start("solo", data_dir, env)
    try:
        yield started
    finally:
        started.stop()


async def test_the_eleventh_login_in_a_minute_is_refused(server: ServerProcess) -> None:
    async with httpx.AsyncClient(timeout=30) as http:
        email, other = await signup(http, server.url), await signup(http, server.url)
        here, there = random_address(), random_address()
        for _ in range(10):
            await ok(await login(http, server.url, email, here), 200)
        assert_throttled(await login(http, server.url, email, here))
        # The account is spent from everywhere and this address for everyone; others are unaffected.
        assert_throttled(await login(http, server.url, email, there))
        assert_throttled(await login(http, server.url, other, here))
        await ok(await login(http, server.url, other, there), 200)


async def test_the_allowlist_guards_the_api_the_web_page_and_the_stream(server: ServerProcess) -> None:
    async with httpx.AsyncClient(timeout=30) as http:
        owner, member = await someone(http, server.url), await someone(http, server.url)
        base = f"{server.url}/api/v1"
        team = (
            await ok(
                await http.post(f"{base}/teams", json={"name": "t"}, headers=from_(INSIDE, owner.token)), 201
            )
        )["id"]
        invite = await ok(
            await http.post(
                f"{base}/teams/{team}/invites", json={"role": "member"}, headers=from_(INSIDE, owner.token)
            ),
            201,
        )
        await ok(
            await http.post(
                f"{base}/teams/join", json={"code": invite["code"]}, headers=from_(INSIDE, member.token)
            ),
            200,
        )
        repo = await ok(
            await http.post(
                f"{base}/teams/{team}/repos/match",
                json={"root_commits": ["b" * 40]},
                headers=from_(INSIDE, owner.token),
            ),
            201,
        )
        marker = {
            "repo_id": repo["id"],
            "path": "src/app.py",
            "commit": COMMIT,
            "start_line": 3,
            "end_line": 5,
            "code": "def f():\n    return 1\n\n",
            "context_before": "",
            "context_after": "",
        }
        codemark = await ok(
            await http.post(
                f"{base}/teams/{team}/codemarks",
                json={"type": "comment", "text": "why 1?", "markers": [marker]},
                headers=from_(INSIDE, owner.token),
            ),
            201,
        )

        allowlist = f"{base}/teams/{team}/allowlist"
        saved = await ok(
            await http.put(
                allowlist, json={"cidrs": [OFFICE, "2001:db8::/32"]}, headers=from_(INSIDE, owner.token)
            ),
            200,
        )
        assert saved == {"cidrs": [OFFICE, "2001:db8::/32"], "your_address": INSIDE}

        # An admin cannot save a list that leaves out the address they are at.
        r = await http.put(allowlist, json={"cidrs": ["2001:db8::/32"]}, headers=from_(INSIDE, owner.token))
        assert r.status_code == 409, r.text
        assert "lock you out" in r.json()["error"]["message"]
        assert (await ok(await http.get(allowlist, headers=from_(INSIDE, owner.token)), 200))["cidrs"] == [
            OFFICE,
            "2001:db8::/32",
        ]

        for url in (
            f"{base}/codemarks/{codemark['id']}",
            f"{server.url}/c/{codemark['id']}",
            f"{base}/teams/{team}/codemarks",
        ):
            r = await http.get(url, headers=from_(OUTSIDE, member.token))
            assert r.status_code == 403, (url, r.text)
            assert r.json()["error"]["code"] == "address_not_allowed"
            await ok(await http.get(url, headers=from_(INSIDE, member.token)), 200)

        assert await subscribe(server, member, team, OUTSIDE) == (
            "error",
            "address_not_allowed",
            4403,
        )
        assert await subscribe(server, member, team, "2001:db8:5::1") == ("subscribed", None, None)

        trail = await ok(
            await http.get(
                f"{base}/teams/{team}/audit",
                params={"action": "address.denied"},
                headers=from_(INSIDE, owner.token),
            ),
            200,
        )
        denials = [(i["actor"]["id"], i["address"], i["details"]["via"]) for i in trail["items"]]
        assert denials == [(member.id, OUTSIDE, "websocket")] + [(member.id, OUTSIDE, "api")] * 3
        changes = await ok(
            await http.get(
                f"{base}/teams/{team}/audit",
                params={"action": "allowlist"},
                headers=from_(INSIDE, owner.token),
            ),
            200,
        )
        assert [i["details"]["new"] for i in changes["items"]] == [[OFFICE, "2001:db8::/32"]]


async def subscribe(
    server: ServerProcess, who: Someone, team: str, address: str
) -> tuple[str, str | None, int | None]:
    """Subscribe to the team's stream from `address`; return the first frame's type, its error code, and the
    close code if the server closed the socket."""
    async with connect(server.stream_url, additional_headers=from_(address, who.token)) as ws:
        await ws.send(json.dumps({"type": "subscribe", "team_id": team, "after": 0}))
        first = json.loads(await asyncio.wait_for(ws.recv(), timeout=10))
        if first["type"] != "error":
            return first["type"], None, None
        try:
            await asyncio.wait_for(ws.recv(), timeout=10)
        except ConnectionClosed as closed:
            return first["type"], first["code"], closed.rcvd.code if closed.rcvd else None
        raise AssertionError("the server kept the refused socket open")


def get_with_lines(
    server: ServerProcess, path: str, lines: list[tuple[str, str]]
) -> http.client.HTTPResponse:
    """GET `path` sending each (name, value) as a header line of its own, repeated names included."""
    connection = http.client.HTTPConnection(HOST, server.port, timeout=30)
    connection.putrequest("GET", path)
    for name, value in lines:
        connection.putheader(name, value)
    connection.endheaders()
    response = connection.getresponse()
    response.read()
    connection.close()
    return response


def test_a_forwarded_for_line_of_the_clients_own_does_not_open_the_metrics(server: ServerProcess) -> None:
    # The loopback reads the metrics, the outside does not.
    assert get_with_lines(server, "/metrics", []).status == 200
    assert get_with_lines(server, "/metrics", [("X-Forwarded-For", OUTSIDE)]).status == 404
    # A client outside writes its own line naming the loopback; the proxy adds its line after it.
    spoofed = [("X-Forwarded-For", "127.0.0.1"), ("X-Forwarded-For", OUTSIDE)]
    assert get_with_lines(server, "/metrics", spoofed).status == 404


def test_a_forwarded_proto_line_of_the_clients_own_does_not_count(server: ServerProcess) -> None:
    hsts = "strict-transport-security"
    assert get_with_lines(server, "/healthz", [("X-Forwarded-Proto", "https")]).getheader(hsts)
    assert get_with_lines(server, "/healthz", [("X-Forwarded-Proto", "http")]).getheader(hsts) is None
    # The client said https on plain HTTP; the proxy's own line (the last one) says http.
    spoofed = [("X-Forwarded-Proto", "https"), ("X-Forwarded-Proto", "http")]
    assert get_with_lines(server, "/healthz", spoofed).getheader(hsts) is None
    assert get_with_lines(server, "/healthz", [("X-Forwarded-Proto", "https, http")]).getheader(hsts) is None


@pytest.fixture(scope="module")
def shared_pair(
    tmp_path_factory: pytest.TempPathFactory, postgres_available: bool, redis_url: str
) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    """Start two server processes sharing a fresh PostgreSQL database and the local Redis."""
    if not postgres_available:
        pytest.skip("PostgreSQL is not reachable at 127.0.0.1:5432 (set KIBITZ_REQUIRE_POSTGRES=1 to fail)")
    data_dir: Path = tmp_path_factory.mktemp("throttle-pair")
    with fresh_postgres_database() as database_url, fresh_postgres_database() as keystore_url:
        env = {
            # Both processes seal and open with the same keys: one key-encryption key, one keystore.
            "KIBITZ_KEK_FILE": str(data_dir / "kek.key"),
            "KIBITZ_KEYSTORE_URL": keystore_url,
            **PROXY_ENV,
            "KIBITZ_DATABASE_URL": database_url,
            "KIBITZ_REDIS_URL": redis_url,
            "KIBITZ_LOG_LEVEL": "warning",
        }
        a = _start("a", data_dir, env)  # first alone: it applies the migrations
        try:
            b = _start("b", data_dir, env)
            try:
                yield a, b
            finally:
                b.stop()
        finally:
            a.stop()


@pytest.mark.postgres
async def test_processes_sharing_redis_share_the_count(
    shared_pair: tuple[ServerProcess, ServerProcess],
) -> None:
    a, b = shared_pair
    async with httpx.AsyncClient(timeout=30) as http:
        email = await signup(http, a.url)
        here = random_address()
        for n in range(10):
            await ok(await login(http, (a, b)[n % 2].url, email, here), 200)
        assert_throttled(await login(http, a.url, email, here))
        assert_throttled(await login(http, b.url, email, here))
        other = await signup(http, b.url)
        await ok(await login(http, b.url, other, random_address()), 200)
