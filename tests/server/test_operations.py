"""Operations routes: Prometheus metrics and who may read them, readiness, and security.txt (RFC 9116)."""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families
from pydantic import ValidationError
from sqlalchemy import event

from kibitz.server.app import create_app
from kibitz.settings import Settings
from tests.server.conftest import Api, codemark_body

Client = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]
# /metrics answers only this machine's own host names.
LOCAL = {"Host": "localhost"}


@pytest.fixture
def client(settings: Settings) -> Client:
    """Return a maker of clients for a started app with some settings changed, seen from a chosen peer."""

    @asynccontextmanager
    async def make(peer: str = "127.0.0.1", **overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
        app = create_app(settings.model_copy(update=overrides))
        transport = httpx.ASGITransport(app=app, client=(peer, 40000))
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://localhost") as http,
        ):
            yield http

    return make


def sample(metrics: str, name: str, **labels: str) -> float:
    """Return the value of one sample of the Prometheus text `metrics` (0 when it is absent)."""
    for family in text_string_to_metric_families(metrics):
        for found in family.samples:
            if found.name == name and found.labels == labels:
                return float(found.value)
    return 0.0


@pytest.mark.database_agnostic
async def test_metrics_count_requests_by_route_template_latency_and_events(
    http: httpx.AsyncClient, api: Api
) -> None:
    ada = await api.person()
    team = await api.team(ada)
    for _ in range(3):
        assert (await http.get(f"/api/v1/teams/{team}/members", headers=ada.headers)).status_code == 200
    assert (await http.get("/api/v1/teams/nosuchteam/members", headers=ada.headers)).status_code == 404
    assert (await http.get("/no/such/route/at-all")).status_code == 404
    before = await http.get("/metrics", headers=LOCAL)
    assert before.status_code == 200
    assert before.headers["content-type"].startswith("text/plain")
    text = before.text
    members = "/api/v1/teams/{team_id}/members"
    assert sample(text, "kibitz_http_requests_total", method="GET", route=members, status="200") == 3
    assert sample(text, "kibitz_http_requests_total", method="GET", route=members, status="404") == 1
    assert sample(text, "kibitz_http_requests_total", method="GET", route="unmatched", status="404") == 1
    assert sample(text, "kibitz_http_request_duration_seconds_count", method="GET", route=members) == 4
    assert (
        sample(text, "kibitz_http_request_duration_seconds_bucket", method="GET", route=members, le="+Inf")
        == 4
    )
    # Concrete ids and paths never become labels: the label set stays bounded.
    assert team not in text
    assert "nosuchteam" not in text
    assert "at-all" not in text
    assert "\nkibitz_websocket_connections 0.0\n" in text
    published = sample(text, "kibitz_events_published_total")

    repo = await api.repo(ada, team)
    await api.codemark(ada, team, repo)
    after = (await http.get("/metrics", headers=LOCAL)).text
    assert sample(after, "kibitz_events_published_total") > published
    assert sample(after, "kibitz_http_requests_total", method="GET", route="/metrics", status="200") == 1


@pytest.mark.database_agnostic
async def test_each_app_has_its_own_registry(client: Client) -> None:
    async with client() as first, client() as second:
        for _ in range(2):
            await first.get("/healthz")
        await second.get("/healthz")
        one = (await first.get("/metrics")).text
        two = (await second.get("/metrics")).text
    assert sample(one, "kibitz_http_requests_total", method="GET", route="/healthz", status="200") == 2
    assert sample(two, "kibitz_http_requests_total", method="GET", route="/healthz", status="200") == 1


@pytest.mark.database_agnostic
async def test_metrics_only_for_loopback_and_trusted_proxies(client: Client) -> None:
    async with client(peer="::1") as local:
        assert (await local.get("/metrics")).status_code == 200
    async with client(peer="203.0.113.5") as outsider:
        r = await outsider.get("/metrics")
        assert r.status_code == 404
        assert r.json()["error"]["code"] == "not_found"
        assert "kibitz_" not in r.text
        # Forwarded headers from an untrusted peer do not make it local.
        r = await outsider.get("/metrics", headers={"X-Forwarded-For": "127.0.0.1"})
        assert r.status_code == 404
    async with client(peer="10.0.0.7", trusted_proxies="10.0.0.0/24") as proxy:
        # The proxy's own network (a scraper next to it) may read them...
        assert (await proxy.get("/metrics")).status_code == 200
        # ...but not a client on the internet whose request the proxy forwards.
        r = await proxy.get("/metrics", headers={"X-Forwarded-For": "198.51.100.7"})
        assert r.status_code == 404
        r = await proxy.get("/metrics", headers={"X-Forwarded-For": "127.0.0.1"})
        assert r.status_code == 200


@pytest.mark.database_agnostic
async def test_metrics_only_for_the_configured_host_names(client: Client) -> None:
    async with client() as local:
        assert (await local.get("/metrics")).status_code == 200
        assert (await local.get("/metrics", headers={"Host": "127.0.0.1:8383"})).status_code == 200
        r = await local.get("/metrics", headers={"Host": "rebind.attacker.example"})
        assert r.status_code == 404
        assert "kibitz_" not in r.text
    async with client(metrics_hosts="metrics.kibitz.internal") as named:
        assert (await named.get("/metrics", headers={"Host": "metrics.kibitz.internal"})).status_code == 200
        assert (await named.get("/metrics")).status_code == 404


def test_metrics_hosts_must_be_host_names() -> None:
    assert Settings.load(host="10.1.2.3").metrics_host_names() >= {
        "localhost",
        "127.0.0.1",
        "::1",
        "10.1.2.3",
    }
    assert "0.0.0.0" not in Settings.load(host="0.0.0.0").metrics_host_names()  # noqa: S104
    assert Settings.load(metrics_hosts="A.example, [::1]").metrics_host_names() == {"a.example", "::1"}
    with pytest.raises(ValidationError, match=r"'http://a\.example' is not a host name"):
        Settings.load(metrics_hosts="http://a.example")


async def test_readyz_answers_when_the_database_does(http: httpx.AsyncClient) -> None:
    r = await http.get("/readyz")
    assert r.status_code == 200
    assert r.json() == {"status": "ready"}


async def _readyz_without_lifespan(settings: Settings) -> httpx.Response:
    # The lifespan would migrate (and fail) first; readiness is what a load balancer asks meanwhile.
    app: FastAPI = create_app(settings, migrate=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://kibitz.test") as http:
        r = await http.get("/readyz")
        assert (await http.get("/healthz")).status_code == 200  # alive, but not ready
    await app.state.kibitz.engine.dispose()
    return r


async def test_readyz_is_503_when_postgresql_is_unreachable(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Nothing listens on port 9 (discard) of the loopback interface: the connection is refused at once.
    url = "postgresql://kibitz:canary-db-password@127.0.0.1:9/kibitz"
    with caplog.at_level(logging.WARNING, logger="kibitz.server"):
        r = await _readyz_without_lifespan(Settings.load(data_dir=tmp_path, database_url=url))
    assert r.status_code == 503
    assert r.json()["error"]["code"] == "not_ready"
    assert "canary-db-password" not in r.text
    assert "canary-db-password" not in caplog.text
    assert "readiness check failed" in caplog.text


async def test_readyz_is_503_when_the_sqlite_file_cannot_be_opened(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    (data_dir / "kibitz.db").mkdir(parents=True)  # a directory where the database file should be
    r = await _readyz_without_lifespan(Settings.load(data_dir=data_dir))
    assert r.status_code == 503
    assert r.json()["error"]["code"] == "not_ready"


def _sqlite_pragma(pragma: str) -> Callable[[Any, Any], None]:
    def restrict(connection: Any, _record: Any) -> None:
        cursor = connection.cursor()
        if pragma == "max_page_count":
            cursor.execute("PRAGMA page_count")
            cursor.execute(f"PRAGMA max_page_count = {cursor.fetchone()[0]}")
        else:
            cursor.execute(f"PRAGMA {pragma} = ON")
        cursor.close()

    return restrict


def _postgres_read_only(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("SET default_transaction_read_only = on")
    cursor.close()
    connection.commit()  # the driver opened a transaction for the SET; rolled back, it would not hold


async def _cannot_write(
    app: FastAPI,
    http: httpx.AsyncClient,
    api: Api,
    caplog: pytest.LogCaptureFixture,
    restrict: Callable[[Any, Any], None],
    cause: str,
    where: str,
) -> None:
    """Restrict every new database connection of `app` with `restrict`; check what a write and /readyz say."""
    ada = await api.person()
    team = await api.team(ada)
    repo = await api.repo(ada, team)
    assert (await http.get("/readyz")).status_code == 200
    engine = app.state.kibitz.engine
    await engine.dispose()  # every connection from now on is restricted
    event.listen(engine.sync_engine, "connect", restrict)
    with caplog.at_level(logging.INFO, logger="kibitz.server"):
        r = await http.post(
            f"/api/v1/teams/{team}/codemarks",
            json=codemark_body(repo, text="x" * 60_000, marker={"code": "y" * 60_000}),
            headers=ada.headers,
        )
        assert r.status_code == 503, r.text
        assert r.json()["error"]["code"] == "storage_unavailable"
        assert r.json()["error"]["details"] == {"cause": cause}
        assert r.headers["retry-after"] == "60"
        assert "connection" not in r.headers
        ready = await http.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["error"]["details"] == {"cause": cause}
        # Reads go on.
        assert (await http.get(f"/api/v1/teams/{team}/codemarks", headers=ada.headers)).status_code == 200
    failures = [record for record in caplog.records if record.getMessage().startswith("the database cannot")]
    assert len(failures) == 1  # once, not once per request
    assert f"({cause}, {where}" in failures[0].getMessage()
    assert "unhandled error" not in caplog.text


@pytest.mark.databases("sqlite")
@pytest.mark.parametrize(
    ("pragma", "cause"),
    [
        # SQLite's own limit on the file's pages: writes that need one more fail as on a full disk.
        ("max_page_count", "disk_full"),
        ("query_only", "read_only"),
    ],
)
async def test_an_sqlite_database_that_cannot_be_written_is_503_and_not_ready(
    app: FastAPI, http: httpx.AsyncClient, api: Api, caplog: pytest.LogCaptureFixture, pragma: str, cause: str
) -> None:
    await _cannot_write(app, http, api, caplog, _sqlite_pragma(pragma), cause, "SQLite in ")


@pytest.mark.databases("postgres")
async def test_a_read_only_postgresql_is_503_and_not_ready(
    app: FastAPI, http: httpx.AsyncClient, api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    await _cannot_write(app, http, api, caplog, _postgres_read_only, "read_only", "PostgreSQL")


def _fields(body: str) -> dict[str, str]:
    fields = {}
    for line in body.splitlines():
        name, _, value = line.partition(": ")
        fields[name] = value
    return fields


@pytest.mark.database_agnostic
async def test_security_txt_follows_rfc_9116(client: Client) -> None:
    async with client(security_contact="mailto:security@kibitz.example") as http:
        r = await http.get("/.well-known/security.txt")
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/plain; charset=utf-8"
    assert r.text.endswith("\n")
    fields = _fields(r.text)
    assert fields["Contact"] == "mailto:security@kibitz.example"
    assert fields["Preferred-Languages"] == "en"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", fields["Expires"])
    expires = dt.datetime.fromisoformat(fields["Expires"].replace("Z", "+00:00"))
    now = dt.datetime.now(dt.UTC)
    assert now + dt.timedelta(days=30) < expires < now + dt.timedelta(days=365)
    # Every line is a known field (RFC 9116 §2.5); nothing else leaks in.
    assert set(fields) <= {"Contact", "Expires", "Preferred-Languages", "Canonical", "Policy"}


@pytest.mark.database_agnostic
async def test_security_txt_is_missing_without_a_contact(client: Client) -> None:
    async with client(security_contact="") as http:
        r = await http.get("/.well-known/security.txt")
    assert r.status_code == 404
    assert "KIBITZ_SECURITY_CONTACT" in r.json()["error"]["message"]


@pytest.mark.parametrize("contact", ["security@kibitz.example", "http://kibitz.example/report", "mailto:"])
def test_a_security_contact_must_be_a_uri(contact: str) -> None:
    with pytest.raises(ValidationError):
        Settings.load(security_contact=contact)
