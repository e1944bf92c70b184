"""Benchmark the HTTP API against a bare Starlette endpoint served the same way, in the same run.

    .venv/bin/python bench/api.py                       # SQLite, 10,000 codemarks, 10 s per measurement
    .venv/bin/python bench/api.py --duration 5 --codemarks 2000
    .venv/bin/python bench/api.py --database-url postgresql://postgres@127.0.0.1:5432/postgres

What it does:

1. seeds a temporary data directory (or a scratch PostgreSQL database it creates and drops) with the
   server's own service functions: three people in one team, one repo, N codemarks spread evenly over 200
   files, one marker each with a realistic code block and context, a few tags and assignees, some resolved,
   some with replies (`--seed-via api` creates the same data through the HTTP API instead, much slower);
   then starts the Kibitz server as a real process (uvicorn, one worker) on a free loopback port;
2. starts a bare Starlette app (no middleware, no database) in the same way; `/small` returns a page of one
   codemark, `/page` returns a page of the same size and shape as a real 50-item listing;
3. drives each endpoint with an async httpx load generator holding a fixed number of connections for a
   fixed time after a warm-up: the two bare endpoints, `GET /teams/{team}/codemarks?path=...&limit=50`
   (rotating over the 200 files, 50 codemarks each) and `POST /codemarks/{id}/replies`;
4. prints a table (requests/s, p50/p99 latency, server CPU per request, client CPU use) and the ratio
   listing / bare (target ≥ 0.5), and writes the numbers, the parameters and the machine to JSON.

The load generator competes with the servers for the CPUs. By default the server processes are pinned to
the first CPU and the load generator to the others, the same for every measurement (`--no-pin` lets the
scheduler decide). When the load generator uses most of its CPU the server may not be saturated; the
`client CPU` column shows it. Every process the benchmark starts is stopped on exit, Ctrl-C or error.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import itertools
import json
import math
import os
import platform
import random
import resource
import secrets
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import httpx

# The server-process helper lives with the tests: a checkout of the repository has both directories.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.server_process import HOST, ServerDidNotStart, ServerProcess, free_port, kibitz_server

from entry import log, run_benchmark

HERE = Path(__file__).resolve().parent

API = "/api/v1"
TARGET_RATIO = 0.5
FILES = 200
PASSWORD = "bench-password-123"
PEOPLE = [
    ("ada@example.org", "Ada Lovelace"),
    ("linus@example.org", "Linus Torvalds"),
    ("grace@example.org", "Grace Hopper"),
]
REMOTE = "git@example.org:acme/widgets.git"

# ----------------------------------------------------------------------------------------------------
# Realistic content, generated deterministically.

_NAMES: list[str] = []
_NAMES += ["user", "request", "session", "payload", "token", "repo", "config", "result"]
_NAMES += ["items", "cursor", "buffer", "offset", "limit", "timeout", "retries", "handler"]
_NAMES += ["record", "entry", "parent", "context", "response", "headers", "path", "commit"]
_METHODS = ["get", "load", "fetch", "parse", "render", "flush", "resolve", "update", "lookup", "encode"]
_TYPES = ["str", "int", "bytes", "list[str]", "dict[str, Any]", "Path", "Session", "Response"]
_COMMENTS = [
    "keep the old behaviour for clients older than 2.3",
    "this runs once per request, so avoid a query here",
    "the upstream API returns null instead of an empty list",
    "retry only idempotent calls",
    "order matters: the cache must be warm before we fork",
    "TODO: remove when the migration has run everywhere",
]
_SENTENCES = [
    "Why do we retry here when the call is not idempotent?",
    "This swallows the exception, so a failed write looks like success to the caller.",
    "Can we move this query out of the loop? It runs once per item.",
    "I think this breaks when the list is empty.",
    "Nice, this is much easier to read than the old version.",
    "We should document why the timeout is 30 seconds and not 10.",
    "This duplicates the logic in the importer; let's extract a helper.",
    "Does this need a lock? Two workers can reach it at the same time.",
    "The error message leaks the internal path, please make it generic.",
    "Let's add a test for the unicode case before changing this.",
    "Is this still used? I could not find any caller.",
    "Performance: this sorts the whole list to take the first element.",
    "The naming is confusing: `result` is a list here but a dict below.",
    "Blocked on the schema change in the next release.",
]
_TITLES = [
    "Retry on non-idempotent call",
    "Query inside loop",
    "Swallowed exception in writer",
    "Empty list edge case",
    "Magic timeout value",
    "Duplicate parsing logic",
    "Race between workers",
    "Error message leaks internals",
    "Dead code?",
    "Sort to take the minimum",
    "",
]
_TAGS = ["perf", "bug", "security", "refactor", "docs", "tests", "ux", "api/v2"]
# No bookmarks (they may be private to their author) and no links (they have no thread): every seeded
# codemark is visible to the benchmark's user and can take replies.
_TYPES_OF_CODEMARK = ["comment"] * 5 + ["question"] * 3 + ["issue"] * 2


def _code_line(rng: random.Random) -> str:
    indent = "    " * rng.randint(1, 3)
    a, b, c = rng.sample(_NAMES, 3)
    m = rng.choice(_METHODS)
    return indent + rng.choice(
        [
            f"{a} = {b}.{m}({c})",
            f"if {a} is None:",
            f"    return {b}",
            f"for {a} in {b}.{m}():",
            f'raise ValueError(f"bad {a}: {{{a}!r}}")',
            f'logger.debug("%s %s", {a}, {b})',
            f"{a}: dict[str, {rng.choice(_TYPES)}] = {{}}",
            f"# {rng.choice(_COMMENTS)}",
            f"{a}.append(self._{m}({b}, {c}=len({c})))",
            f"with {b}.{m}({c}) as {a}:",
            f"{a} = [x for x in {b} if x.{c} is not None]",
        ]
    )


def _code(rng: random.Random, lines: int) -> str:
    return "\n".join(_code_line(rng) for _ in range(lines)) + "\n"


def _text(rng: random.Random, low: int, high: int) -> str:
    return " ".join(rng.sample(_SENTENCES, rng.randint(low, high)))


def _paths(rng: random.Random, files: int = FILES) -> list[str]:
    dirs = ["api", "core", "storage", "auth", "jobs", "web", "cli", "sync", "search", "billing"]
    stems = ["models", "service", "routes", "utils", "client", "cache", "schema", "tasks", "views", "errors"]
    exts = [".py"] * 6 + [".ts", ".go", ".rs", ".java"]
    out: list[str] = []
    for d, s in itertools.product(dirs, stems):
        out.append(f"src/{d}/{s}{rng.choice(exts)}")
        out.append(f"src/{d}/internal/{s}_impl{rng.choice(exts)}")
    return out[:files]


def codemark_body(
    rng: random.Random, repo_id: str, path: str, commits: list[str], teammates: list[str]
) -> Any:
    """Return the body of a realistic codemark on one block of `path`."""
    start = rng.randint(1, 1500)
    lines = rng.randint(3, 18)
    return {
        "type": rng.choice(_TYPES_OF_CODEMARK),
        "title": rng.choice(_TITLES),
        "text": _text(rng, 1, 4),
        "tags": rng.sample(_TAGS, rng.choice([0, 0, 1, 1, 2])),
        "assignees": [rng.choice(teammates)] if rng.random() < 0.25 else [],
        "markers": [
            {
                "repo_id": repo_id,
                "path": path,
                "commit": rng.choice(commits),
                "start_line": start,
                "end_line": start + lines - 1,
                "code": _code(rng, lines),
                "context_before": _code(rng, 3),
                "context_after": _code(rng, 3),
            }
        ],
    }


def _follow_ups(rng: random.Random) -> tuple[int, bool]:
    """Return how many replies a codemark gets and whether it is resolved (about 0.4 and 15 %)."""
    return rng.choice([0, 0, 0, 0, 0, 1, 2]), rng.random() < 0.15


# ----------------------------------------------------------------------------------------------------
# Processes.


def bare_server(log_dir: Path, doc_path: Path, cpus: list[int]) -> ServerProcess:
    """Return the bare Starlette baseline (bench/_serve.py) serving the page in `doc_path`, not started."""
    port = free_port()
    return ServerProcess(
        [sys.executable, str(HERE / "_serve.py"), HOST, str(port), str(doc_path)],
        port=port,
        log_path=log_dir / "bare.log",
        cpus=cpus,
        name="bare server",
    )


def cpu_seconds(pid: int) -> float:
    """Return the user + system CPU time a process (all its threads) has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # After the command name: state is field 3 of proc(5), utime 14 and stime 15.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy() -> tuple[float, float]:
    """Return (busy, total) jiffies of all CPUs, to compute how busy the machine was over an interval."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    total = sum(values[:8])
    return total - idle, total


# ----------------------------------------------------------------------------------------------------
# PostgreSQL scratch database.


async def _pg_execute(url: str, statement: str) -> str:
    import asyncpg

    connection = await asyncpg.connect(url, timeout=10)
    try:
        if statement.lstrip().upper().startswith("SELECT"):
            return str(await connection.fetchval(statement))
        await connection.execute(statement)
        return ""
    finally:
        await connection.close()


@contextlib.contextmanager
def scratch_database(admin_url: str) -> Iterator[str]:
    """Create a fresh database next to `admin_url`, yield its URL, and drop it afterwards."""
    name = "kibitz_bench_" + secrets.token_hex(5)
    asyncio.run(_pg_execute(admin_url, f'CREATE DATABASE "{name}"'))
    parts = urlsplit(admin_url)
    try:
        yield urlunsplit(parts._replace(path="/" + name))
    finally:
        asyncio.run(_pg_execute(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


# ----------------------------------------------------------------------------------------------------
# Seeding through the API.


@dataclass
class Seeded:
    """What the seeding produced and what the measurements need."""

    token: str
    team_id: str
    paths: list[str]
    codemark_ids: list[str]
    seconds: float
    requests: int
    codemarks: int
    replies: int
    resolved: int


def _check(response: httpx.Response, expected: int) -> Any:
    if response.status_code != expected:
        raise RuntimeError(
            f"{response.request.method} {response.request.url.path} answered {response.status_code}, "
            f"expected {expected}: {response.text[:500]}"
        )
    return response.json() if response.content else None


async def _account(client: httpx.AsyncClient, email: str, name: str) -> tuple[str, str]:
    signup = {"email": email, "name": name, "password": PASSWORD}
    _check(await client.post(f"{API}/auth/signup", json=signup), 201)
    body = _check(await client.post(f"{API}/auth/login", json={"email": email, "password": PASSWORD}), 200)
    return body["token"], body["user"]["id"]


@dataclass(frozen=True)
class Call:
    """One seeding request, made as one of the seeded people."""

    who: int
    method: str
    path: str
    body: Any
    expected: int


async def _run_calls(base_url: str, tokens: list[str], calls: list[Call], workers: int) -> list[Any]:
    """Make the calls over `workers` connections per person and return the decoded answers, in order."""
    results: list[Any] = [None] * len(calls)
    queue = iter(enumerate(calls))

    async def worker() -> None:
        clients = [
            httpx.AsyncClient(
                base_url=base_url,
                timeout=60,
                headers={"Authorization": f"Bearer {t}"},
                limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
            )
            for t in tokens
        ]
        try:
            for index, call in queue:
                response = await clients[call.who].request(call.method, call.path, json=call.body)
                results[index] = _check(response, call.expected)
        finally:
            for client in clients:
                await client.aclose()

    await asyncio.gather(*(worker() for _ in range(workers)))
    return results


async def seed_api(base_url: str, codemarks: int, workers: int, rng: random.Random) -> Seeded:
    """Create three people, a team, a repo, the codemarks and some replies through the API."""
    started = time.perf_counter()
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as anon:
        accounts = [await _account(anon, email, name) for email, name in PEOPLE]
    tokens = [t for t, _ in accounts]
    user_ids = [u for _, u in accounts]
    requests = 2 * len(PEOPLE)

    async def one(call: Call) -> Any:
        nonlocal requests
        requests += 1
        return (await _run_calls(base_url, tokens, [call], 1))[0]

    team_id = (await one(Call(0, "POST", f"{API}/teams", {"name": "Acme Widgets"}, 201)))["id"]
    for who in range(1, len(PEOPLE)):
        invite = await one(Call(0, "POST", f"{API}/teams/{team_id}/invites", {"role": "member"}, 201))
        await one(Call(who, "POST", f"{API}/teams/join", {"code": invite["code"]}, 200))
    repo_body = {
        "root_commits": [secrets.token_hex(20)],
        "remotes": [REMOTE],
        "name": "widgets",
    }
    repo_id = (await one(Call(0, "POST", f"{API}/teams/{team_id}/repos/match", repo_body, 201)))["id"]

    paths = _paths(rng)
    commits = [secrets.token_hex(20) for _ in range(30)]
    creates = []
    for i in range(codemarks):
        who = i % len(PEOPLE)
        others = [u for j, u in enumerate(user_ids) if j != who]
        body = codemark_body(rng, repo_id, paths[i % len(paths)], commits, others)
        creates.append(Call(who, "POST", f"{API}/teams/{team_id}/codemarks", body, 201))
    ids = [str(c["id"]) for c in await _run_calls(base_url, tokens, creates, workers)]

    follow_ups: list[Call] = []
    for cid in ids:
        count, resolve = _follow_ups(rng)
        for _ in range(count):
            text = {"text": _text(rng, 1, 3)}
            follow_ups.append(
                Call(rng.randrange(len(PEOPLE)), "POST", f"{API}/codemarks/{cid}/replies", text, 201)
            )
        if resolve:
            follow_ups.append(Call(0, "PATCH", f"{API}/codemarks/{cid}", {"status": "resolved"}, 200))
    await _run_calls(base_url, tokens, follow_ups, workers)
    requests += len(creates) + len(follow_ups)
    return Seeded(
        token=tokens[0],
        team_id=team_id,
        paths=paths,
        codemark_ids=ids,
        seconds=time.perf_counter() - started,
        requests=requests,
        codemarks=len(ids),
        replies=sum(1 for c in follow_ups if c.method == "POST"),
        resolved=sum(1 for c in follow_ups if c.method == "PATCH"),
    )


@contextlib.asynccontextmanager
async def in_process_client(app: Any, token: str) -> AsyncIterator[httpx.AsyncClient]:
    """Run the app's start-up and give a client that calls it in this process, signed in with `token`."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(
            transport=transport, base_url="http://kibitz.test", headers=headers
        ) as client:
            yield client


def _service_function(name: str, *modules: str) -> Any:
    """Return a service function from the first module that has it (services move between modules)."""
    for module in modules:
        with contextlib.suppress(ImportError):
            found = getattr(importlib.import_module(module), name, None)
            if found is not None:
                return found
    raise SeedingError(f"no service function {name} in {', '.join(modules)}")


class SeedingError(RuntimeError):
    """The server's service functions no longer match what the seeding expects."""


async def seed_service(settings: Any, codemarks: int, rng: random.Random, files: int = FILES) -> Seeded:
    """Create the same data as `seed`, through the server's own service functions, before it starts.

    The codemarks are spread evenly over `files` files.
    """
    import datetime as dt

    from kibitz.server.auth.passwords import Passwords
    from kibitz.server.auth.service import authenticate, login, signup
    from kibitz.server.codemarks.models import Codemark
    from kibitz.server.codemarks.schemas import CodemarkIn, CodemarkPatch
    from kibitz.server.offline import opened
    from kibitz.server.repos.service import match_repo
    from kibitz.server.teams.models import Membership
    from kibitz.server.teams.service import create_invite, create_team, join_team

    create_codemark = _service_function("create_codemark", "kibitz.server.codemarks.service")
    update_codemark = _service_function("update_codemark", "kibitz.server.codemarks.service")
    add_reply = _service_function(
        "add_reply", "kibitz.server.codemarks.replies", "kibitz.server.codemarks.service"
    )
    started = time.perf_counter()
    # Opened as the server opens it (migrated, the keystore attached to the sessions' sealer), so every
    # content cell is sealed and every lookup column keyed exactly as the API would have written them.
    async with opened(settings) as database:
        sessions = database.sessions
        passwords = Passwords(fast=True)
        async with sessions() as session:
            callers = []
            token = ""
            for email, name in PEOPLE:
                await signup(session, passwords, email, name, PASSWORD)
                issued, _row, _user = await login(session, passwords, email, PASSWORD, dt.timedelta(days=1))
                token = token or issued
                callers.append(await authenticate(session, issued))
            team, owner = await create_team(session, callers[0], "Acme Widgets")
            for caller in callers[1:]:
                code, _ = await create_invite(session, callers[0], owner, "member", dt.timedelta(hours=1))
                await join_team(session, caller, code)
            repo, _ = await match_repo(session, team.id, [secrets.token_hex(20)], [REMOTE], "widgets")
            await session.commit()
        user_ids = [c.user.id for c in callers]
        paths = _paths(rng, files)
        commits = [secrets.token_hex(20) for _ in range(30)]
        ids: list[str] = []
        batch = 500
        for first in range(0, codemarks, batch):
            async with sessions() as session:
                for i in range(first, min(codemarks, first + batch)):
                    who = i % len(callers)
                    others = [u for j, u in enumerate(user_ids) if j != who]
                    body = codemark_body(rng, repo.id, paths[i % len(paths)], commits, others)
                    created = await create_codemark(
                        session, callers[who], team.id, CodemarkIn.model_validate(body)
                    )
                    ids.append(created.id)
                await session.commit()
        replies = resolved = 0
        for first in range(0, len(ids), batch):
            async with sessions() as session:
                membership = await session.get(Membership, (team.id, user_ids[0]))
                assert membership is not None
                for cid in ids[first : first + batch]:
                    count, resolve = _follow_ups(rng)
                    if not count and not resolve:
                        continue
                    codemark = await session.get(Codemark, cid)
                    assert codemark is not None
                    for _ in range(count):
                        caller = callers[rng.randrange(len(callers))]
                        await add_reply(session, caller, codemark, _text(rng, 1, 3))
                        replies += 1
                    if resolve:
                        patch = CodemarkPatch(status="resolved")
                        await update_codemark(session, callers[0], membership, codemark, patch)
                        resolved += 1
                await session.commit()
    return Seeded(
        token=token,
        team_id=team.id,
        paths=paths,
        codemark_ids=ids,
        seconds=time.perf_counter() - started,
        requests=0,
        codemarks=len(ids),
        replies=replies,
        resolved=resolved,
    )


# ----------------------------------------------------------------------------------------------------
# Load generation.

Request = tuple[str, str, bytes | None]


@dataclass
class Measurement:
    """The outcome of driving one endpoint for a fixed time."""

    name: str
    label: str
    client: str
    requests: int
    errors: int
    seconds: float
    requests_per_s: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float
    response_bytes: int
    server_cpu_ms_per_request: float
    server_cpu_percent: float
    client_cpu_percent: float
    machine_cpu_percent: float
    other_cpu_percent: float
    statuses: dict[str, int] = field(default_factory=dict)
    first_error: str | None = None


def _percentile(ordered: list[float], q: float) -> float:
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


class Sender:
    """One keep-alive connection of the load generator."""

    def __init__(self, base_url: str, headers: dict[str, str]) -> None:
        self.base_url = base_url

    async def request(self, method: str, target: str, body: bytes | None) -> tuple[int, bytes]:
        """Send one request and return the status and the body."""
        raise NotImplementedError

    async def aclose(self) -> None:
        """Close the connection."""


class HttpxSender(Sender):
    """An httpx.AsyncClient limited to one connection.

    One client per connection: a single client shared by many tasks spends most of its time in its
    connection pool (measured here: 16 tasks on one client made about a third of the requests that 16
    clients made), which would make the load generator the bottleneck.
    """

    def __init__(self, base_url: str, headers: dict[str, str]) -> None:
        self.base_url = base_url
        self.headers = headers
        self.client: httpx.AsyncClient | None = None

    async def request(self, method: str, target: str, body: bytes | None) -> tuple[int, bytes]:
        if self.client is None:
            # Made on first use, and again after a failed request closed it (as RawSender reconnects):
            # a closed httpx client refuses every later request.
            self.client = httpx.AsyncClient(
                base_url=self.base_url,
                headers=self.headers,
                timeout=60,
                limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
            )
        response = await self.client.request(method, target, content=body)
        return response.status_code, response.content

    async def aclose(self) -> None:
        if self.client is not None:
            await self.client.aclose()
        self.client = None


class RawSender(Sender):
    """A minimal HTTP/1.1 keep-alive client on asyncio streams, a few times cheaper per request than httpx.

    It understands exactly what uvicorn sends (Content-Length or chunked bodies, `Connection: close`).
    """

    def __init__(self, base_url: str, headers: dict[str, str]) -> None:
        parts = urlsplit(base_url)
        self.host = parts.hostname or HOST
        self.port = parts.port or 80
        self.head = "".join(f"{k}: {v}\r\n" for k, v in {"Host": parts.netloc, **headers}.items())
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, target: str, body: bytes | None) -> tuple[int, bytes]:
        if self.writer is None or self.reader is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        reader, writer = self.reader, self.writer
        length = "" if body is None else f"Content-Length: {len(body)}\r\n"
        writer.write(f"{method} {target} HTTP/1.1\r\n{self.head}{length}\r\n".encode() + (body or b""))
        await writer.drain()
        lines = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        fields = {}
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                fields[name.strip().lower()] = value.strip().lower()
        if "content-length" in fields:
            content = await reader.readexactly(int(fields["content-length"]))
        elif fields.get("transfer-encoding") == "chunked":
            chunks = []
            while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
                chunks.append(await reader.readexactly(size))
                await reader.readexactly(2)
            await reader.readuntil(b"\r\n")
            content = b"".join(chunks)
        else:
            content = b""
        if fields.get("connection") == "close":
            await self.aclose()
        return status, content

    async def aclose(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError):
                await self.writer.wait_closed()
        self.reader = self.writer = None


SENDERS: dict[str, type[Sender]] = {"httpx": HttpxSender, "raw": RawSender}


async def _drive(
    senders: list[Sender], make: Callable[[int], Request], seconds: float
) -> tuple[list[float], Counter[int], int, str | None, int]:
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    failures = 0
    first_error: str | None = None
    size = 0
    counter = itertools.count()
    stop_at = time.perf_counter() + seconds

    async def worker(sender: Sender) -> None:
        nonlocal failures, first_error, size
        while time.perf_counter() < stop_at:
            method, target, body = make(next(counter))
            t0 = time.perf_counter()
            try:
                status, content = await sender.request(method, target, body)
            except (OSError, asyncio.IncompleteReadError, httpx.HTTPError) as exc:
                failures += 1
                first_error = first_error or f"{type(exc).__name__}: {exc}"
                await sender.aclose()
                continue
            latencies.append(time.perf_counter() - t0)
            statuses[status] += 1
            size = len(content)
            if status >= 300 and first_error is None:
                first_error = f"{status}: {content[:300].decode(errors='replace')}"

    await asyncio.gather(*(worker(s) for s in senders))
    return latencies, statuses, failures, first_error, size


async def measure(
    name: str,
    label: str,
    client: str,
    base_url: str,
    server_pid: int,
    headers: dict[str, str],
    make: Callable[[int], Request],
    concurrency: int,
    duration: float,
    warmup: float,
) -> Measurement:
    """Warm up, then drive one endpoint over `concurrency` connections for `duration` seconds."""
    senders = [SENDERS[client](base_url, headers) for _ in range(concurrency)]
    try:
        if warmup > 0:
            await _drive(senders, make, warmup)
        server_cpu0 = cpu_seconds(server_pid)
        busy0, total0 = machine_busy()
        usage0 = resource.getrusage(resource.RUSAGE_SELF)
        started = time.perf_counter()
        latencies, statuses, failures, first_error, size = await _drive(senders, make, duration)
        elapsed = time.perf_counter() - started
        usage1 = resource.getrusage(resource.RUSAGE_SELF)
        busy1, total1 = machine_busy()
        server_cpu = cpu_seconds(server_pid) - server_cpu0
    finally:
        for sender in senders:
            await sender.aclose()
    client_cpu = (usage1.ru_utime - usage0.ru_utime) + (usage1.ru_stime - usage0.ru_stime)
    # How busy the whole machine was, and what other processes (a database server, anything else running
    # on the machine) used, in percent of one CPU.
    machine = 100 * (busy1 - busy0) / max(1, total1 - total0)
    cpus = os.cpu_count() or 1
    ordered = sorted(latencies)
    ok = sum(n for status, n in statuses.items() if 200 <= status < 300)
    done = len(latencies)
    return Measurement(
        name=name,
        label=label,
        client=client,
        requests=done,
        errors=failures + done - ok,
        seconds=round(elapsed, 3),
        requests_per_s=round(ok / elapsed, 1),
        p50_ms=round(_percentile(ordered, 0.50) * 1000, 2),
        p90_ms=round(_percentile(ordered, 0.90) * 1000, 2),
        p99_ms=round(_percentile(ordered, 0.99) * 1000, 2),
        mean_ms=round(sum(ordered) / max(1, done) * 1000, 2),
        max_ms=round((ordered[-1] if ordered else float("nan")) * 1000, 2),
        response_bytes=size,
        server_cpu_ms_per_request=round(server_cpu / max(1, done) * 1000, 3),
        server_cpu_percent=round(100 * server_cpu / elapsed, 1),
        client_cpu_percent=round(100 * client_cpu / elapsed, 1),
        machine_cpu_percent=round(machine, 1),
        other_cpu_percent=round(max(0.0, machine * cpus - 100 * (server_cpu + client_cpu) / elapsed), 1),
        statuses={str(k): v for k, v in sorted(statuses.items())},
        first_error=first_error,
    )


# ----------------------------------------------------------------------------------------------------
# Reporting.


def machine_info(db_kind: str, db_version: str, pinning: dict[str, Any]) -> dict[str, Any]:
    """Describe the machine and the software the numbers were taken on."""
    import fastapi
    import sqlalchemy
    import starlette
    import uvicorn

    def has(module: str) -> bool:
        try:
            __import__(module)
        except ImportError:
            return False
        return True

    import kibitz

    # The code actually measured: the commit of the checkout `kibitz` is imported from, and whether the
    # server's sources differ from that commit.
    commit = "unknown"
    package = Path(kibitz.__file__).parent / "server"
    with contextlib.suppress(OSError, subprocess.CalledProcessError):
        git = ["git", "-C", str(package)]
        commit = subprocess.run(
            [*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        changes = subprocess.run(
            [*git, "status", "--porcelain", "--", "."], capture_output=True, text=True, check=True
        ).stdout.strip()
        commit += " + uncommitted server changes" if changes else ""
    return {
        "cpu_count": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "db_kind": db_kind,
        "db_version": db_version,
        "uvicorn": uvicorn.__version__,
        "uvicorn_http": "httptools" if has("httptools") else "h11",
        "uvicorn_loop": "uvloop" if has("uvloop") else "asyncio",
        "starlette": starlette.__version__,
        "fastapi": fastapi.__version__,
        "sqlalchemy": sqlalchemy.__version__,
        "httpx": httpx.__version__,
        "kibitz_commit": commit,
        "pinning": pinning,
    }


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor()


def render_table(results: list[Measurement]) -> str:
    """Return the results as a Markdown table."""
    head = (
        "| load generator | endpoint | req/s | p50 ms | p99 ms | errors | server CPU ms/req | server CPU % "
        "| client CPU % | other CPU % | response bytes |"
    )
    lines = [head, "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|"]
    for r in results:
        lines.append(
            f"| {r.client} | {r.label} | {r.requests_per_s:,.0f} | {r.p50_ms:.1f} | {r.p99_ms:.1f} "
            f"| {r.errors} | {r.server_cpu_ms_per_request:.2f} | {r.server_cpu_percent:.0f} "
            f"| {r.client_cpu_percent:.0f} | {r.other_cpu_percent:.0f} | {r.response_bytes:,} |"
        )
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------------------
# Main.


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(
        description="Benchmark the Kibitz HTTP API against a bare Starlette endpoint served the same way.",
        epilog="See docs/benchmarks.md for recorded results.",
    )
    parser.add_argument("--codemarks", type=int, default=10_000, help="codemarks to seed (default 10000)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per measurement (default 10)")
    parser.add_argument("--warmup", type=float, default=3.0, help="warm-up seconds before each (default 3)")
    parser.add_argument("--concurrency", type=int, default=16, help="concurrent connections (default 16)")
    parser.add_argument(
        "--client",
        choices=["httpx", "raw", "both"],
        default="both",
        help="load generator: httpx.AsyncClient, a minimal asyncio HTTP/1.1 client, or both in turn "
        "(default both: httpx alone cannot saturate even the bare endpoint on one CPU)",
    )
    parser.add_argument(
        "--seed-via",
        choices=["service", "api"],
        default="service",
        help="create the data with the server's service functions before it starts (default, fast), "
        "or through the HTTP API once it runs",
    )
    parser.add_argument(
        "--database-url",
        default=None,
        help="PostgreSQL URL instead of SQLite; a scratch database is created next to it and dropped after",
    )
    parser.add_argument(
        "--use-database-as-is",
        action="store_true",
        help="use --database-url itself instead of a scratch database next to it",
    )
    parser.add_argument(
        "--json-out",
        type=Path,
        default=HERE / "results" / "api.json",
        help="JSON output (bench/results/api.json)",
    )
    parser.add_argument(
        "--no-pin",
        action="store_true",
        help="do not pin the servers to the first CPU and the load generator to the others",
    )
    parser.add_argument("--seed", type=int, default=1, help="random seed of the generated content")
    args = parser.parse_args(argv)
    if args.codemarks < FILES or args.duration <= 0 or args.concurrency < 1:
        parser.error(f"need --codemarks >= {FILES}, --duration > 0 and --concurrency >= 1")
    return args


def _ratio(a: float, b: float) -> float:
    return round(a / b, 3) if b else float("nan")


def ratios(results: list[Measurement]) -> dict[str, dict[str, float]]:
    """Return, per load generator, throughput ratios and the ratio of server CPU per request."""
    out: dict[str, dict[str, float]] = {}
    for client in dict.fromkeys(r.client for r in results):
        by = {r.name: r for r in results if r.client == client}
        out[client] = {
            "listing_over_bare": _ratio(by["listing"].requests_per_s, by["bare"].requests_per_s),
            "listing_over_bare_page": _ratio(by["listing"].requests_per_s, by["bare_page"].requests_per_s),
            "cold_listing_over_bare_page": _ratio(
                by["listing_cold"].requests_per_s, by["bare_page"].requests_per_s
            ),
            "reply_over_bare": _ratio(by["reply"].requests_per_s, by["bare"].requests_per_s),
            # What listing / bare would be if the server's CPU were the only limit.
            "cpu_listing_over_bare": _ratio(
                by["bare"].server_cpu_ms_per_request, by["listing"].server_cpu_ms_per_request
            ),
        }
    return out


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Start the servers, seed, measure, stop everything; return the report."""
    rng = random.Random(args.seed)
    cpus = sorted(os.sched_getaffinity(0))
    pin = not args.no_pin and len(cpus) >= 2
    server_cpus = cpus[:1] if pin else []
    client_cpus = cpus[1:] if pin else cpus
    pinning = {"enabled": pin, "server_cpus": server_cpus, "load_generator_cpus": client_cpus}
    clients = ["httpx", "raw"] if args.client == "both" else [args.client]

    with contextlib.ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="kibitz-bench-")))
        database_url = ""
        db_kind, db_version = "sqlite", sqlite3.sqlite_version
        if args.database_url:
            database_url = args.database_url
            if not args.use_database_as_is:
                database_url = stack.enter_context(scratch_database(args.database_url))
            db_kind = urlsplit(database_url).scheme.split("+")[0]
            db_version = asyncio.run(_pg_execute(database_url, "SELECT version()")).split(" on ")[0]
        # The server as deployed (content sealed at rest; bench/privacy.py prices it against off), except that
        # every simulated person signs in from this one machine: the per-address login throttle is lifted.
        served = {
            "data_dir": tmp / "data",
            "database_url": database_url,
            "encrypt_at_rest": True,
            "log_level": "warning",
        }
        env = {"KIBITZ_LOGIN_RATE_LIMIT": "100000/minute"}
        seeded: Seeded | None = None
        if args.seed_via == "service":
            from kibitz.settings import Settings

            log(f"seeding {args.codemarks} codemarks through the service layer ({db_kind})...")
            settings = Settings.load(**served, fast_password_hashing=True)
            try:
                seeded = asyncio.run(seed_service(settings, args.codemarks, rng))
            except (SeedingError, ImportError, TypeError, AttributeError) as exc:
                raise SeedingError(
                    f"seeding through the server's service functions failed ({type(exc).__name__}: {exc}); "
                    "they have probably changed: update seed_service in bench/api.py, or use --seed-via api"
                ) from exc
        kibitz = stack.enter_context(
            kibitz_server(tmp / "kibitz.log", settings=served, env=env, cpus=server_cpus)
        )
        if pin:
            os.sched_setaffinity(0, set(client_cpus))
        if seeded is None:
            log(f"seeding {args.codemarks} codemarks through the API ({db_kind})...")
            seeded = asyncio.run(seed_api(kibitz.url, args.codemarks, min(8, args.concurrency), rng))
        log(
            f"seeded {seeded.codemarks} codemarks, {seeded.replies} replies, {seeded.resolved} resolved "
            f"in {seeded.seconds:.1f} s"
        )
        headers = {"Authorization": f"Bearer {seeded.token}"}
        listing_url = f"{API}/teams/{seeded.team_id}/codemarks?limit=50&path="
        sample = httpx.get(kibitz.url + listing_url + quote(seeded.paths[0], safe=""), headers=headers)
        page = _check(sample, 200)
        per_file = len(page["items"])
        doc_path = tmp / "page.json"
        doc_path.write_text(json.dumps(page), encoding="utf-8")

        bare = stack.enter_context(bare_server(tmp, doc_path, server_cpus))
        paths = [quote(p, safe="") for p in seeded.paths]
        reply_bodies = [json.dumps({"text": _text(rng, 1, 3)}).encode() for _ in range(500)]
        targets = seeded.codemark_ids

        def get(url: str) -> Callable[[int], Request]:
            return lambda _i: ("GET", url, None)

        def listing(i: int) -> Request:
            return "GET", listing_url + paths[i % len(paths)], None

        cold_url = f"{API}/teams/{seeded.team_id}/codemarks?path="

        def listing_cold(i: int) -> Request:
            # Every (path, limit) pair is asked once in a run (200 files x 150 limits), so every answer is
            # computed afresh: the server's seq-keyed answer cache never hits. The answer is the same page.
            limit = 51 + (i // len(paths)) % 150
            return "GET", f"{cold_url}{paths[i % len(paths)]}&limit={limit}", None

        def reply(i: int) -> Request:
            target = targets[(i * 7919) % len(targets)]
            return "POST", f"{API}/codemarks/{target}/replies", reply_bodies[i % len(reply_bodies)]

        posting = {**headers, "Content-Type": "application/json"}
        plan: list[tuple[str, str, ServerProcess, Callable[[int], Request], dict[str, str]]] = [
            ("bare", "bare Starlette, page of 1 codemark (baseline)", bare, get("/small"), headers),
            ("bare_page", f"bare Starlette, page of {per_file} codemarks", bare, get("/page"), headers),
            ("listing", f"GET codemarks?path=…&limit=50 ({per_file} items)", kibitz, listing, headers),
            (
                "listing_cold",
                "the same, answer not cached (new limit each time)",
                kibitz,
                listing_cold,
                headers,
            ),
            ("reply", "POST codemarks/{id}/replies", kibitz, reply, posting),
        ]
        results: list[Measurement] = []
        for client in clients:
            for name, label, server, make, hdrs in plan:
                if name == "listing":
                    # Ask for every file once first: this row measures answers the server has cached (the
                    # replies measured before may have changed the team and so every cache key).
                    with httpx.Client(base_url=server.url, headers=hdrs, timeout=60) as prime:
                        for path in paths:
                            _check(prime.get(listing_url + path), 200)
                log(f"[{client}] {label}: {args.warmup:g} s warm-up, {args.duration:g} s...")
                result = asyncio.run(
                    measure(
                        name,
                        label,
                        client,
                        server.url,
                        server.pid,
                        hdrs,
                        make,
                        args.concurrency,
                        args.duration,
                        args.warmup,
                    )
                )
                log(f"  {result.requests_per_s:,.0f} req/s, p50 {result.p50_ms} ms, p99 {result.p99_ms} ms")
                results.append(result)

    all_ratios = ratios(results)
    return {
        "benchmark": "api",
        "parameters": {
            "codemarks": args.codemarks,
            "files": FILES,
            "codemarks_per_listed_file": per_file,
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "concurrency": args.concurrency,
            "clients": clients,
            "seed": args.seed,
            "encryption_at_rest": True,
            "server": "kibitz.server.runner.serve, 1 uvicorn worker; the bare app with the same HTTP flags",
            "load_generator": "one process, one keep-alive HTTP/1.1 connection per concurrent task",
        },
        "machine": machine_info(db_kind, db_version, pinning),
        "seeding": {
            "via": args.seed_via,
            "seconds": round(seeded.seconds, 1),
            "codemarks": seeded.codemarks,
            "replies": seeded.replies,
            "resolved": seeded.resolved,
            "listing_response_bytes": len(sample.content),
        },
        "results": [asdict(r) for r in results],
        "ratios": all_ratios,
        # The bare endpoint that serves the same document is the baseline of the target: it prices exactly
        # what Kibitz adds (authentication, access, the query, serialisation) over a bare JSON endpoint.
        "target": {
            "listing_over_bare_page": TARGET_RATIO,
            "met": all(r["listing_over_bare_page"] >= TARGET_RATIO for r in all_ratios.values()),
        },
    }


def report_text(report: dict[str, Any]) -> str:
    """Return the human-readable report."""
    p, m = report["parameters"], report["machine"]
    results = [Measurement(**r) for r in report["results"]]
    pin = m["pinning"]
    where = (
        f"servers pinned to CPU {pin['server_cpus']}, load generator to CPU {pin['load_generator_cpus']}"
        if pin["enabled"]
        else "no CPU pinning"
    )
    lines = [
        f"Kibitz API benchmark: {m['db_kind']} ({m['db_version']}), {p['codemarks']} codemarks over "
        f"{p['files']} files, {p['concurrency']} connections, {p['duration_s']:g} s per measurement "
        f"after {p['warmup_s']:g} s warm-up, encryption at rest on",
        f"{m['cpu_count']} CPUs ({m['cpu_model']}), Python {m['python']}, uvicorn {m['uvicorn']} "
        f"({m['uvicorn_http']}, {m['uvicorn_loop']}), 1 worker per app.",
        f"The load generator shares the machine with the servers in every measurement: {where}.",
        "",
        render_table(results),
        "",
    ]
    for client, r in report["ratios"].items():
        verdict = "met" if r["listing_over_bare_page"] >= TARGET_RATIO else "NOT met"
        lines.append(
            f"[{client}] listing / bare endpoint serving the same page = {r['listing_over_bare_page']:.2f} "
            f"(target ≥ {TARGET_RATIO}: {verdict}); "
            f"uncached listing / same = {r['cold_listing_over_bare_page']:.2f}; "
            f"listing / bare page of 1 codemark = {r['listing_over_bare']:.2f}; "
            f"reply / bare = {r['reply_over_bare']:.2f}; "
            f"server CPU per request, bare / listing = {r['cpu_listing_over_bare']:.3f}"
        )
    saturated = [f"[{r.client}] {r.label}" for r in results if r.client_cpu_percent >= 90]
    if saturated:
        lines.append(
            "note: the load generator used ≥ 90% of its CPU for: "
            + "; ".join(saturated)
            + ", so the server may have had spare capacity there and those req/s are lower bounds."
        )
    disturbed = [
        f"[{r.client}] {r.label} ({r.other_cpu_percent:.0f}%)" for r in results if r.other_cpu_percent > 25
    ]
    if disturbed:
        lines.append(
            "warning: other processes (with PostgreSQL: the database server too) used more than a quarter "
            "of a CPU during: " + "; ".join(disturbed) + "; run again on a quiet machine."
        )
    errors = [f"[{r.client}] {r.label}: {r.first_error}" for r in results if r.errors]
    if errors:
        lines.append("errors: " + " | ".join(errors))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print the table and write the JSON."""
    return run_benchmark(parse_args(argv), run, report_text, failures=(SeedingError, ServerDidNotStart))


if __name__ == "__main__":
    sys.exit(main())
