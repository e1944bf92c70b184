"""Show where a request's time goes: SQL statements and CPU per request, and a cProfile top list.

    .venv/bin/python bench/profile_requests.py                     # both requests, 100 of each
    .venv/bin/python bench/profile_requests.py --requests 300 --top 40 --sort tottime
    .venv/bin/python bench/profile_requests.py --only reply

What it does: seeds a temporary data directory exactly as `api.py` does (its own service functions,
encryption at rest on, cheap password hashing), but with every codemark on one file, so that a listing by
file returns a full page of 50; then runs the app in this process (httpx's ASGI transport, the app's
middleware included) and makes

- uncached listings, `GET /teams/{id}/codemarks?path=…&limit=50`, the answer cache emptied before each
  (and the same listing answered from the cache, for comparison);
- reply creations, `POST /codemarks/{id}/replies`, over the 50 codemarks in turn, each by someone who does
  not follow the codemark yet (their follow is removed before each, outside the figures): as in `api.py`,
  whose replies go to 10,000 codemarks and so are mostly a codemark's first from that person, the reply
  then also records the codemark's `codemark.updated` (its followers changed).

For each it prints the SQL statements per request (counted on the engine) and the CPU time per request of
this process (every thread, the database driver's included, the least over rounds of ten requests: wall
time means little on a shared machine), next to the same for `GET /healthz` (what the in-process client
and the middleware cost by themselves); then the statements of one request with each one's time, and a
second pass under cProfile with its top functions. The profile sees only the event loop's thread, not
SQLite's work in the driver's thread. The server process of `api.py` spends less per request than this
process, which also runs the client.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import pstats
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import event, text

sys.path.insert(0, str(Path(__file__).resolve().parent))

from api import API, _text, in_process_client, seed_service
from kibitz.server.app import create_app
from kibitz.server.deps import AppState
from kibitz.settings import Settings

PAGE = 50
ROUND = 10

Request = Callable[[int], Awaitable[httpx.Response]]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=100, help="requests of each kind per pass")
    parser.add_argument("--top", type=int, default=25, help="functions shown per profile")
    parser.add_argument("--sort", default="cumulative", choices=["cumulative", "tottime"])
    parser.add_argument("--only", choices=["listing", "reply"], help="profile one kind of request")
    parser.add_argument("--seed", type=int, default=1)
    return parser.parse_args(argv)


class Setup:
    """CPU and statements spent preparing requests (not theirs): taken out of the figures per request."""

    seconds = 0.0
    statements = 0


class Statements:
    """Counts the SQL statements an engine runs and the wall time their execution takes."""

    def __init__(self) -> None:
        self.count = 0
        self.seconds = 0.0
        self.log: list[tuple[str, float]] | None = None
        self._started = 0.0

    def before(self, *_args: Any) -> None:
        """Count a statement about to run."""
        self.count += 1
        self._started = time.perf_counter()

    def after(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        """Add the time the statement took."""
        took = time.perf_counter() - self._started
        self.seconds += took
        if self.log is not None:
            self.log.append((" ".join(statement.split()), took))


async def measure(label: str, request: Request, n: int, statements: Statements) -> tuple[float, float]:
    """Make `n` requests in rounds of ten; print and return (statements, CPU ms) per request.

    The CPU per request is the least of the rounds': other processes on the machine only ever add to it.
    """
    await request(-1)  # warm: first-use costs (key reads, compiled statements) are not per request
    before_count, before_sql, before_setup = statements.count, statements.seconds, Setup.statements
    rounds: list[float] = []
    for first in range(0, n, ROUND):
        started, setup = time.process_time(), Setup.seconds
        for i in range(first, min(n, first + ROUND)):
            await request(i)
        spent = time.process_time() - started - (Setup.seconds - setup)
        rounds.append(spent * 1000 / (min(n, first + ROUND) - first))
    per_statement = (statements.count - before_count - (Setup.statements - before_setup)) / n
    per_sql = (statements.seconds - before_sql) * 1000 / n
    print(
        f"{label:<44} {per_statement:6.1f} statements ({per_sql:5.2f} ms wall executing them)"
        f"  {min(rounds):7.2f} ms CPU per request (least of {len(rounds)} rounds; median "
        f"{statistics.median(rounds):.2f})"
    )
    return per_statement, min(rounds)


async def show_statements(label: str, request: Request, statements: Statements) -> None:
    """Make one request and print each statement it ran, with its execution's wall time."""
    statements.log = []
    await request(-2)
    print(f"\n=== statements of one request: {label} ===")
    for statement, took in statements.log:
        print(f"{took * 1000:7.2f} ms  {statement[:150]}")
    statements.log = None


async def profile(label: str, request: Request, n: int, top: int, sort: str) -> None:
    """Make `n` requests under cProfile and print its top functions."""
    profiler = cProfile.Profile()
    profiler.enable()
    for i in range(n):
        await request(n + i)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).strip_dirs().sort_stats(sort).print_stats(top)
    print(f"\n=== cProfile: {label}, {n} requests, sorted by {sort} ===")
    print(out.getvalue())


async def run(args: argparse.Namespace) -> None:
    """Seed, start the app in process, measure and profile."""
    with tempfile.TemporaryDirectory(prefix="kibitz-profile-") as tmp:
        settings = Settings.load(data_dir=Path(tmp) / "data", fast_password_hashing=True)
        seeded = await seed_service(settings, PAGE, random.Random(args.seed), files=1)
        app = create_app(settings)
        state: AppState = app.state.kibitz
        statements = Statements()
        event.listen(state.engine.sync_engine, "before_cursor_execute", statements.before)
        event.listen(state.engine.sync_engine, "after_cursor_execute", statements.after)
        async with in_process_client(app, seeded.token) as c:
            listing_url = f"{API}/teams/{seeded.team_id}/codemarks"
            params = {"path": seeded.paths[0], "limit": str(PAGE)}
            rng = random.Random(args.seed)
            texts = [_text(rng, 1, 3) for _ in range(100)]

            async def health(_i: int) -> httpx.Response:
                return (await c.get("/healthz")).raise_for_status()

            async def cached(_i: int) -> httpx.Response:
                return (await c.get(listing_url, params=params)).raise_for_status()

            async def listing(_i: int) -> httpx.Response:
                state.caches.listings.clear()
                answer = (await c.get(listing_url, params=params)).raise_for_status()
                assert len(answer.json()["items"]) == PAGE, "the page is not full"
                return answer

            unfollow = text("DELETE FROM follower WHERE codemark_id = :codemark AND user_id = :user")
            me = (await c.get(f"{API}/me")).raise_for_status().json()["user"]["id"]

            async def reply(i: int) -> httpx.Response:
                target = seeded.codemark_ids[i % len(seeded.codemark_ids)]
                # Through the app's own engine: a write from another connection would make SQLite drop
                # the app's page caches, which its requests would then pay for.
                started = time.process_time()
                async with state.engine.begin() as connection:
                    await connection.execute(unfollow, {"codemark": target, "user": me})
                Setup.seconds += time.process_time() - started
                Setup.statements += 1
                body = {"text": texts[i % len(texts)]}
                return (await c.post(f"{API}/codemarks/{target}/replies", json=body)).raise_for_status()

            kinds: list[tuple[str, str, Request]] = [
                ("listing", f"GET codemarks?path=…&limit={PAGE}, uncached", listing),
                ("reply", "POST codemarks/{id}/replies", reply),
            ]
            kinds = [k for k in kinds if args.only in (None, k[0])]
            await measure("GET /healthz (in-process floor)", health, args.requests, statements)
            if args.only in (None, "listing"):
                await measure("the same listing, answer cached", cached, args.requests, statements)
            for _name, label, request in kinds:
                await measure(label, request, args.requests, statements)
            for _name, label, request in kinds:
                await show_statements(label, request, statements)
            for _name, label, request in kinds:
                await profile(label, request, args.requests, args.top, args.sort)


def main(argv: list[str] | None = None) -> int:
    """Run the profile and print it."""
    asyncio.run(run(parse_args(argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
