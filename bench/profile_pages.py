"""Show where a web page's time goes: CPU per page next to its API twin, and a cProfile top list.

    .venv/bin/python bench/profile_pages.py                      # thread page and feed, 2,000 codemarks
    .venv/bin/python bench/profile_pages.py --only feed --top 40 --sort tottime

What it does: seeds a temporary data directory as bench/web.py does (bench/api.py's team, then the tuned
and the held-out thread of `--replies` replies), runs the app in this process (httpx's ASGI transport, the
app's middleware included), signs in through the sign-in form as a browser does, and for the tuned thread
page, the held-out thread page, the feed and the filtered feed prints the CPU time per page of this process
and per API twin (the same pairs as bench/web.py; the least over rounds of ten: other processes only ever
add to it), then profiles each page under cProfile and prints its top functions (`--api`: each API twin's
too). The profile sees only the event loop's thread, not SQLite's work in the driver's thread.
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
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from api import API, PASSWORD, PEOPLE, seed_service
from kibitz.server.app import create_app
from kibitz.settings import Settings
from web import _CSRF, FEED_PAGE_SIZE, HTML_ACCEPT, seed_threads

ROUND = 10
# The held-out feed of bench/web.py.
FILTERED = "type=question&status=open"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--codemarks", type=int, default=2000)
    parser.add_argument("--replies", type=int, default=200)
    parser.add_argument("--requests", type=int, default=40, help="pages of each kind per pass")
    parser.add_argument("--top", type=int, default=30, help="functions shown per profile")
    parser.add_argument("--sort", default="cumulative", choices=["cumulative", "tottime"])
    parser.add_argument(
        "--only", choices=["thread", "held-out", "feed", "feed-filtered"], help="profile one page"
    )
    parser.add_argument("--no-profile", action="store_true", help="only the CPU per page")
    parser.add_argument("--api", action="store_true", help="profile the API twins too")
    parser.add_argument("--seed", type=int, default=1)
    return parser.parse_args(argv)


async def cpu_per_request(client: httpx.AsyncClient, urls: list[str], n: int) -> tuple[float, float]:
    """Fetch `urls` in a row `n` times; return the least and the median CPU ms per row over rounds of ten."""
    for url in urls:  # warm: first-use costs are not per request
        (await client.get(url)).raise_for_status()
    rounds = []
    for first in range(0, n, ROUND):
        count = min(n, first + ROUND) - first
        started = time.process_time()
        for _ in range(count):
            for url in urls:
                (await client.get(url)).raise_for_status()
        rounds.append((time.process_time() - started) * 1000 / count)
    return min(rounds), statistics.median(rounds)


async def profile(client: httpx.AsyncClient, urls: list[str], n: int, top: int, sort: str) -> str:
    """Fetch `urls` in a row `n` times under cProfile and return its top functions."""
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(n):
        for url in urls:
            (await client.get(url)).raise_for_status()
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).strip_dirs().sort_stats(sort).print_stats(top)
    return out.getvalue()


async def run(args: argparse.Namespace) -> None:
    """Seed, start the app in process, sign in, measure and profile."""
    with tempfile.TemporaryDirectory(prefix="kibitz-profile-pages-") as tmp:
        settings = Settings.load(data_dir=Path(tmp) / "data", fast_password_hashing=True)
        seeded = await seed_service(settings, args.codemarks, random.Random(args.seed))
        threads = await seed_threads(settings, seeded.team_id, args.replies, args.seed)
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            base = "http://kibitz.test"
            async with (
                httpx.AsyncClient(
                    transport=transport, base_url=base, headers={"Accept": HTML_ACCEPT}
                ) as page,
                httpx.AsyncClient(transport=transport, base_url=base) as api,
            ):
                form = (await page.get("/signin")).raise_for_status()
                found = _CSRF.search(form.text)
                assert found is not None, "the sign-in page has no CSRF token"
                data = {"csrf": found.group(1), "email": PEOPLE[0][0], "password": PASSWORD, "next": "/"}
                signed = await page.post("/signin", data=data)
                assert signed.status_code in (302, 303), f"signing in answered {signed.status_code}"
                login = {"email": PEOPLE[0][0], "password": PASSWORD}
                token = (await api.post(f"{API}/auth/login", json=login)).raise_for_status().json()["token"]
                api.headers["Authorization"] = f"Bearer {token}"
                by_kind = {t.kind: t.codemark_id for t in threads}
                pairs = {
                    "thread": (
                        f"/c/{by_kind['tuned']}",
                        [
                            f"{API}/codemarks/{by_kind['tuned']}",
                            f"{API}/codemarks/{by_kind['tuned']}/replies?limit=200",
                        ],
                    ),
                    "held-out": (
                        f"/c/{by_kind['held-out']}",
                        [
                            f"{API}/codemarks/{by_kind['held-out']}",
                            f"{API}/codemarks/{by_kind['held-out']}/replies?limit=200",
                        ],
                    ),
                    "feed": (
                        f"/t/{seeded.team_id}/feed",
                        [f"{API}/teams/{seeded.team_id}/codemarks?limit={FEED_PAGE_SIZE}"],
                    ),
                    "feed-filtered": (
                        f"/t/{seeded.team_id}/feed?{FILTERED}",
                        [f"{API}/teams/{seeded.team_id}/codemarks?limit={FEED_PAGE_SIZE}&{FILTERED}"],
                    ),
                }
                chosen = [k for k in pairs if args.only in (None, k)]
                for kind in chosen:
                    url, twin = pairs[kind]
                    size = len((await page.get(url)).content)
                    page_least, page_median = await cpu_per_request(page, [url], args.requests)
                    api_least, api_median = await cpu_per_request(api, twin, args.requests)
                    print(
                        f"{kind:<9} page {page_least:7.2f} ms CPU (median {page_median:.2f}), {size:,} bytes;"
                        f" API {api_least:7.2f} ms (median {api_median:.2f});"
                        f" ratio {page_least / api_least:.2f}"
                    )
                if not args.no_profile:
                    for kind in chosen:
                        top = await profile(page, [pairs[kind][0]], args.requests, args.top, args.sort)
                        print(
                            f"\n=== cProfile: {kind} page, {args.requests} pages, sorted by {args.sort} ==="
                        )
                        print(top)
                        if args.api:
                            top = await profile(api, pairs[kind][1], args.requests, args.top, args.sort)
                            print(
                                f"\n=== cProfile: {kind} API twin, {args.requests} times, by {args.sort} ==="
                            )
                            print(top)


def main(argv: list[str] | None = None) -> int:
    """Run the profile and print it."""
    asyncio.run(run(parse_args(argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
