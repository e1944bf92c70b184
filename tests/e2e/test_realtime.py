"""The realtime feed across two real Kibitz server processes sharing one PostgreSQL database and Redis.

A subscriber on one process receives what is written through the other; a subscriber whose socket dies
resumes with `after=` and gets every missed event exactly once; 20 concurrent writers spread over both
processes produce 2,000 replies that every subscriber receives in `seq` order with no gap or duplicate;
refusals (mentions of non-members, reactions across teams, oversized or malformed socket messages) hurt
nobody else. See DESIGN.md §4 and the protocol in `kibitz.server.events.stream`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import asyncpg
import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.conftest import fresh_postgres_database
from tests.e2e.conftest import PASSWORD
from tests.server_process import ServerProcess, kibitz_server

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.timeout(240)]

WS_MAX_BYTES = 4096
WAIT_SECONDS = 60.0
COMMIT = "a" * 40
# Twenty writers at once on two processes: each subscriber must see every reply once, in seq order. The
# interleavings come from the concurrency, so forty rounds each (800 replies) find what a hundred did.
WRITERS = 20
REPLIES_PER_WRITER = 40
_names = itertools.count()


@dataclass
class Cluster:
    """Two server processes on one database and one Redis."""

    a: ServerProcess
    b: ServerProcess
    database_url: str

    def logs(self) -> str:
        """Return the tail of both servers' logs, for failure messages."""
        return f"--- server A\n{self.a.log_tail()}\n--- server B\n{self.b.log_tail()}"


def _start(name: str, data_dir: Path, env: dict[str, str]) -> ServerProcess:
    """Start a Kibitz server named `name` with its own directory under `data_dir` and `KIBITZ_*` `env`."""
    server = kibitz_server(
        data_dir / f"server-{name}.log",
        settings={"data_dir": data_dir / name},
        env=env,
        name=f"server {name}",
    )
    return server.start()


@pytest.fixture(scope="module")
def cluster(
    tmp_path_factory: pytest.TempPathFactory, postgres_available: bool, redis_url: str
) -> Iterator[Cluster]:
    """Start two server processes sharing a fresh PostgreSQL database and the local Redis."""
    if not postgres_available:
        pytest.skip("PostgreSQL is not reachable at 127.0.0.1:5432 (set KIBITZ_REQUIRE_POSTGRES=1 to fail)")
    data_dir = tmp_path_factory.mktemp("realtime")
    with fresh_postgres_database() as database_url, fresh_postgres_database() as keystore_url:
        env = {
            # Both processes seal and open with the same keys: one key-encryption key, one keystore.
            "KIBITZ_KEK_FILE": str(data_dir / "kek.key"),
            "KIBITZ_KEYSTORE_URL": keystore_url,
            # The writers all sign in from 127.0.0.1: lift the per-address login throttle.
            "KIBITZ_LOGIN_RATE_LIMIT": "1000/minute",
            "KIBITZ_DATABASE_URL": database_url,
            "KIBITZ_REDIS_URL": redis_url,
            "KIBITZ_STREAM_HEARTBEAT_SECONDS": "1",
            "KIBITZ_STREAM_POLL_SECONDS": "0.5",
            "KIBITZ_WS_MAX_BYTES": str(WS_MAX_BYTES),
            "KIBITZ_LOG_LEVEL": "warning",
        }
        # One after the other: the first one applies the migrations.
        a = _start("a", data_dir, env)
        try:
            b = _start("b", data_dir, env)
            try:
                yield Cluster(a, b, database_url)
            finally:
                b.stop()
        finally:
            a.stop()


# --- people and teams over HTTP --------------------------------------------------------------------


@dataclass
class Person:
    """A signed-up, logged-in user."""

    id: str
    email: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        """Return the Authorization header."""
        return {"Authorization": f"Bearer {self.token}"}


async def _ok(response: httpx.Response, *expected: int) -> Any:
    assert response.status_code in expected, (
        f"{response.request.method} {response.request.url}: {response.text}"
    )
    return response.json() if response.content else None


async def person(http: httpx.AsyncClient, base: str, name: str) -> Person:
    """Sign a new person up through `base` and log them in."""
    email = f"{name.lower()}{next(_names)}-{time.monotonic_ns()}@example.com"
    await _ok(
        await http.post(
            f"{base}/api/v1/auth/signup", json={"email": email, "name": name, "password": PASSWORD}
        ),
        201,
    )
    body = await _ok(
        await http.post(f"{base}/api/v1/auth/login", json={"email": email, "password": PASSWORD}), 200
    )
    return Person(body["user"]["id"], email, body["token"])


async def team(http: httpx.AsyncClient, base: str, owner: Person) -> str:
    """Create a team owned by `owner` and return its id."""
    body = await _ok(await http.post(f"{base}/api/v1/teams", json={"name": "rt"}, headers=owner.headers), 201)
    return str(body["id"])


async def join(http: httpx.AsyncClient, base: str, owner: Person, team_id: str, member: Person) -> None:
    """Invite `member` into the team and have them join."""
    invite = await _ok(
        await http.post(
            f"{base}/api/v1/teams/{team_id}/invites", json={"role": "member"}, headers=owner.headers
        ),
        201,
    )
    await _ok(
        await http.post(f"{base}/api/v1/teams/join", json={"code": invite["code"]}, headers=member.headers),
        200,
    )


async def codemark(
    http: httpx.AsyncClient, base: str, author: Person, team_id: str, text: str
) -> dict[str, Any]:
    """Create a comment codemark in a fresh repo of the team and return it."""
    repo = await _ok(
        await http.post(
            f"{base}/api/v1/teams/{team_id}/repos/match",
            json={"root_commits": ["b" * 40]},
            headers=author.headers,
        ),
        200,
        201,
    )
    marker = {
        "repo_id": repo["id"],
        "path": "src/app.py",
        "commit": COMMIT,
        "start_line": 3,
        "end_line": 5,
        "code": "def f():\n    return 1\n\n",
        "context_before": "import os\n",
        "context_after": "\n",
    }
    body = {"type": "comment", "text": text, "markers": [marker]}
    result: dict[str, Any] = await _ok(
        await http.post(f"{base}/api/v1/teams/{team_id}/codemarks", json=body, headers=author.headers), 201
    )
    return result


async def reply(
    http: httpx.AsyncClient, base: str, author: Person, codemark_id: str, text: str
) -> dict[str, Any]:
    """Add a reply and return it."""
    result: dict[str, Any] = await _ok(
        await http.post(
            f"{base}/api/v1/codemarks/{codemark_id}/replies", json={"text": text}, headers=author.headers
        ),
        201,
    )
    return result


# --- subscribers ----------------------------------------------------------------------------------


@dataclass
class Subscriber:
    """A WebSocket subscriber that checks every event it receives: seq grows by exactly one each time.

    A server that cuts it off as too slow (close code 4408) is the protocol's way of protecting the others;
    the subscriber then resumes with `after=` like any client would, and the count is kept in `resumes`.
    Any other close ends it (`closed` holds the code).
    """

    name: str
    stream_url: str
    person: Person
    team_id: str
    after: int = 0
    events: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    heartbeats: int = 0
    resumes: int = 0
    closed: int | None = None
    ws: ClientConnection | None = None
    _task: asyncio.Task[None] | None = None
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def last(self) -> int:
        """Return the newest seq received (or the `after` it started from)."""
        return int(self.events[-1]["seq"]) if self.events else self.after

    async def start(self) -> None:
        """Connect, subscribe after `after`, wait for the `subscribed` answer and start reading."""
        await self._connect(self.last)
        self._task = asyncio.create_task(self._read(), name=f"subscriber-{self.name}")

    async def _connect(self, after: int) -> None:
        self.ws = await connect(self.stream_url, additional_headers=self.person.headers, max_size=None)
        await self.ws.send(json.dumps({"type": "subscribe", "team_id": self.team_id, "after": after}))
        first = json.loads(await asyncio.wait_for(self.ws.recv(), WAIT_SECONDS))
        assert first["type"] == "subscribed", first
        assert first["team_id"] == self.team_id

    async def _read(self) -> None:
        while True:
            assert self.ws is not None
            try:
                raw = await self.ws.recv()
            except ConnectionClosed as closed:
                code = closed.rcvd.code if closed.rcvd is not None else 1006
                if code == 4408:
                    self.resumes += 1
                    await self._connect(self.last)
                    continue
                self.closed = code
                self._changed.set()
                return
            message = json.loads(raw)
            kind = message.get("type")
            if kind == "heartbeat":
                assert message["seq"] <= self.last, (self.name, message, self.last)
                self.heartbeats += 1
            elif kind in ("error", "pong"):
                self.errors.append(message)
            else:
                assert message["team_id"] == self.team_id, message
                assert message["seq"] == self.last + 1, f"{self.name}: got {message['seq']} after {self.last}"
                self.events.append(message)
            self._changed.set()

    async def wait_for(self, seq: int, seconds: float = WAIT_SECONDS) -> None:
        """Wait until the subscriber has received every event up to `seq`."""
        deadline = time.monotonic() + seconds
        while self.last < seq:
            if self.closed is not None:
                pytest.fail(f"{self.name} was closed ({self.closed}) at seq {self.last}, waiting for {seq}")
            if self._task is not None and self._task.done():
                self._task.result()
            self._changed.clear()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                pytest.fail(f"{self.name} reached seq {self.last} only, waiting for {seq}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)

    async def wait_until(self, predicate: Any, what: str, seconds: float = WAIT_SECONDS) -> None:
        """Wait until `predicate(self)` holds."""
        deadline = time.monotonic() + seconds
        while not predicate(self):
            if self._task is not None and self._task.done():
                self._task.result()
            self._changed.clear()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                pytest.fail(f"{self.name}: {what} did not happen in {seconds}s")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)

    def abort(self) -> None:
        """Drop the TCP connection without a closing handshake, as a crash or a lost network would."""
        assert self.ws is not None
        if self._task is not None:
            self._task.cancel()
        self.ws.transport.abort()

    async def stop(self) -> None:
        """Stop reading and close the socket."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionClosed):
                await self._task
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.ws.close(), 5)

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        """Return the events of one type received so far."""
        return [e for e in self.events if e["type"] == kind]


async def head(cluster: Cluster, team_id: str) -> int:
    """Return the team's newest seq, read from the shared database."""
    connection = await asyncpg.connect(cluster.database_url, timeout=5)
    try:
        value = await connection.fetchval("SELECT event_seq FROM team WHERE id = $1", team_id)
    finally:
        await connection.close()
    return int(value or 0)


async def close_code(url: str, headers: dict[str, str], first: str) -> int:
    """Open a socket, send `first`, read until the server closes it and return the close code."""
    async with connect(url, additional_headers=headers) as ws:
        await ws.send(first)
        try:
            while True:
                await asyncio.wait_for(ws.recv(), 10)
        except ConnectionClosed as closed:
            # 1006: closed without a close frame.
            return closed.rcvd.code if closed.rcvd is not None else 1006


async def stop_all(subscribers: list[Subscriber]) -> None:
    """Stop every subscriber."""
    await asyncio.gather(*(s.stop() for s in subscribers))


# --- tests ------------------------------------------------------------------------------------------


async def test_events_cross_processes_and_a_dropped_subscriber_misses_nothing(cluster: Cluster) -> None:
    async with httpx.AsyncClient(timeout=30) as http:
        ada = await person(http, cluster.a.url, "Ada")
        bo = await person(http, cluster.b.url, "Bo")
        team_id = await team(http, cluster.a.url, ada)
        await join(http, cluster.b.url, ada, team_id, bo)
        start = await head(cluster, team_id)

        watcher = Subscriber("a-watcher", cluster.a.stream_url, ada, team_id, after=start)
        await watcher.start()
        try:
            # Written through B, received on A.
            cm = await codemark(http, cluster.b.url, bo, team_id, f"@{ada.email} look")
            first = await reply(http, cluster.b.url, bo, cm["id"], "first")
            await watcher.wait_until(lambda s: len(s.of_type("reply.added")) == 1, "the first reply", 20)
            [created] = watcher.of_type("codemark.created")
            assert created["data"]["id"] == cm["id"]
            assert created["data"]["text"] == cm["text"]
            assert watcher.of_type("reply.added")[0]["data"] == first
            assert all({"seq", "type", "team_id", "at", "data"} <= set(e) for e in watcher.events)

            # The socket dies without a closing handshake; meanwhile people write through both processes.
            await watcher.wait_for(await head(cluster, team_id), 20)
            seen = watcher.last
            watcher.abort()
            missed = [
                await reply(http, server.url, who, cm["id"], f"missed {i}")
                for i, (server, who) in enumerate(
                    itertools.islice(itertools.cycle([(cluster.a, ada), (cluster.b, bo)]), 10)
                )
            ]
            # It comes back on the other process, from where it was.
            back = Subscriber("b-back", cluster.b.stream_url, ada, team_id, after=seen)
            await back.start()
            try:
                await back.wait_until(
                    lambda s: len(s.of_type("reply.added")) == len(missed), "the replay", 20
                )
                # Live again: one more event arrives after the replay, once.
                after = await reply(http, cluster.a.url, bo, cm["id"], "live again")
                await back.wait_until(lambda s: len(s.of_type("reply.added")) == len(missed) + 1, "live", 20)
                final = await head(cluster, team_id)
                await back.wait_for(final, 20)
                got = [e["data"]["id"] for e in back.of_type("reply.added")]
                assert got == [r["id"] for r in [*missed, after]]
                assert [e["seq"] for e in back.events] == list(range(seen + 1, final + 1))
                # Nothing more arrives: the next heartbeats report the same seq.
                beats = back.heartbeats
                await back.wait_until(lambda s: s.heartbeats >= beats + 2, "two heartbeats", 10)
                assert back.last == final
            finally:
                await back.stop()
        finally:
            await watcher.stop()


async def _write(
    http: httpx.AsyncClient, servers: list[ServerProcess], who: Person, codemark_id: str, n: int
) -> None:
    for i in range(REPLIES_PER_WRITER):
        await reply(http, servers[(n + i) % 2].url, who, codemark_id, f"writer {n} reply {i}")


async def test_concurrent_writers_on_both_processes_reach_every_subscriber(cluster: Cluster) -> None:
    async with httpx.AsyncClient(timeout=60) as http:
        owner = await person(http, cluster.a.url, "Owner")
        team_id = await team(http, cluster.a.url, owner)
        writers = list(
            await asyncio.gather(*(person(http, cluster.b.url, f"Writer{n}") for n in range(WRITERS)))
        )
        for n, writer in enumerate(writers):
            await join(http, (cluster.a, cluster.b)[n % 2].url, owner, team_id, writer)
        threads = [await codemark(http, cluster.a.url, owner, team_id, f"thread {n}") for n in range(4)]
        start = await head(cluster, team_id)
        subscribers = [
            Subscriber(f"{name}{n}", server.stream_url, owner, team_id, after=start)
            for name, server in (("a", cluster.a), ("b", cluster.b))
            for n in range(2)
        ]
        await asyncio.gather(*(s.start() for s in subscribers))
        try:
            clients = [httpx.AsyncClient(timeout=60, headers=w.headers) for w in writers]
            try:
                began = time.monotonic()
                await asyncio.gather(
                    *(
                        _write(client, [cluster.a, cluster.b], writer, threads[n % len(threads)]["id"], n)
                        for n, (client, writer) in enumerate(zip(clients, writers, strict=True))
                    )
                )
                written = time.monotonic() - began
            finally:
                await asyncio.gather(*(c.aclose() for c in clients))
            final = await head(cluster, team_id)
            for sub in subscribers:
                await sub.wait_for(final, WAIT_SECONDS)
        finally:
            await stop_all(subscribers)

        total = WRITERS * REPLIES_PER_WRITER
        reference = [(e["seq"], e["type"]) for e in subscribers[0].events]
        for sub in subscribers:
            assert [e["seq"] for e in sub.events] == list(range(start + 1, final + 1)), sub.name
            assert [(e["seq"], e["type"]) for e in sub.events] == reference, sub.name
            replies = sub.of_type("reply.added")
            assert len(replies) == total, (sub.name, len(replies))
            assert len({e["data"]["id"] for e in replies}) == total, sub.name
            texts = {e["data"]["text"] for e in replies}
            assert texts == {
                f"writer {n} reply {i}" for n in range(WRITERS) for i in range(REPLIES_PER_WRITER)
            }

        # The database holds every reply: through the API, and in the table itself.
        counted = 0
        for thread in threads:
            got = await _ok(
                await http.get(f"{cluster.b.url}/api/v1/codemarks/{thread['id']}", headers=owner.headers), 200
            )
            counted += got["reply_count"]
        assert counted == total
        connection = await asyncpg.connect(cluster.database_url, timeout=5)
        try:
            rows = await connection.fetchval(
                "SELECT count(*) FROM reply WHERE codemark_id = ANY($1::text[])", [t["id"] for t in threads]
            )
        finally:
            await connection.close()
        assert rows == total
        print(
            f"\n{total} replies in {written:.1f}s ({total / written:.0f}/s);"
            f" resumes after a 4408: {[s.resumes for s in subscribers]}"
        )


async def test_refusals_hurt_nobody_else(cluster: Cluster) -> None:
    async with httpx.AsyncClient(timeout=30) as http:
        ada = await person(http, cluster.a.url, "Ada")
        bo = await person(http, cluster.b.url, "Bo")
        outsider = await person(http, cluster.b.url, "Out")
        team_id = await team(http, cluster.a.url, ada)
        await join(http, cluster.a.url, ada, team_id, bo)
        other_team = await team(http, cluster.b.url, outsider)
        cm = await codemark(http, cluster.a.url, ada, team_id, "ours")
        theirs = await codemark(http, cluster.b.url, outsider, other_team, "theirs")
        start = await head(cluster, team_id)

        listeners = [
            Subscriber("a-listener", cluster.a.stream_url, ada, team_id, after=start),
            Subscriber("b-listener", cluster.b.stream_url, bo, team_id, after=start),
        ]
        rude = Subscriber("a-rude", cluster.a.stream_url, bo, team_id, after=start)
        huge = Subscriber("b-huge", cluster.b.stream_url, ada, team_id, after=start)
        everyone = [*listeners, rude, huge]
        await asyncio.gather(*(s.start() for s in everyone))
        try:
            # Mentions of people outside the team, and reactions on another team's codemark, are refused.
            for server in (cluster.a, cluster.b):
                r = await http.post(
                    f"{server.url}/api/v1/codemarks/{cm['id']}/replies",
                    json={"text": f"hey @{outsider.email}"},
                    headers=bo.headers,
                )
                assert r.status_code == 422, r.text
                assert outsider.email in r.json()["error"]["message"]
                r = await http.put(
                    f"{server.url}/api/v1/codemarks/{theirs['id']}/reactions/{quote('👍', safe='')}",
                    headers=ada.headers,
                )
                assert r.status_code == 404, r.text
            fields = ("repo_id", "path", "commit", "start_line", "end_line", "code", "context_before")
            marker = {key: cm["markers"][0][key] for key in fields}
            r = await http.post(
                f"{cluster.a.url}/api/v1/teams/{team_id}/codemarks",
                json={"type": "comment", "text": f"see @{outsider.email}", "markers": [marker]},
                headers=ada.headers,
            )
            assert r.status_code == 422, r.text
            assert outsider.email in r.json()["error"]["message"]

            # Malformed messages on a live socket get an error answer; the socket stays open and keeps
            # receiving.
            assert rude.ws is not None
            await rude.ws.send("{not json")
            await rude.ws.send(json.dumps({"type": "subscribe", "team_id": team_id}))
            await rude.ws.send(json.dumps([1, 2, 3]))
            await rude.ws.send(b"\x00\xff binary")
            await rude.wait_until(lambda s: len(s.errors) >= 3, "three error answers", 10)
            assert {e["code"] for e in rude.errors} >= {"invalid_json", "invalid_request"}, rude.errors
            # An oversized message closes that socket only (1009).
            assert huge.ws is not None
            await huge.ws.send(json.dumps({"type": "ping", "pad": "x" * (WS_MAX_BYTES + 100)}))
            await huge.wait_until(lambda s: s.closed is not None, "the close of the oversized socket", 10)
            assert huge.closed == 1009

            # Bad first messages are refused on their own connections.
            for first in ("nonsense", json.dumps({"type": "subscribe"}), "x" * (WS_MAX_BYTES + 1)):
                assert await close_code(cluster.a.stream_url, ada.headers, first) in (4400, 1009), first[:40]
            no_token = json.dumps({"type": "subscribe", "team_id": team_id, "token": "nope"})
            assert await close_code(cluster.b.stream_url, {}, no_token) == 4401
            not_member = json.dumps({"type": "subscribe", "team_id": team_id})
            assert await close_code(cluster.b.stream_url, outsider.headers, not_member) == 4404

            # Everybody else still receives, on both processes, and the refusals left no event behind.
            written = [
                await reply(http, server.url, bo, cm["id"], "still here") for server in (cluster.a, cluster.b)
            ]
            final = await head(cluster, team_id)
            for sub in [*listeners, rude]:
                await sub.wait_for(final, 20)
                assert [e["data"]["id"] for e in sub.of_type("reply.added")] == [r["id"] for r in written]
                # Following the thread may update the codemark; nothing refused left an event behind.
                assert {e["type"] for e in sub.events} <= {"reply.added", "codemark.updated"}
                assert sub.closed is None
        finally:
            await stop_all(everyone)
