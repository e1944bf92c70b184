"""Benchmark the web pages against the JSON API answering the same data, in the same run.

    .venv/bin/python bench/web.py                        # SQLite, 10,000 codemarks, 200-reply threads
    .venv/bin/python bench/web.py --duration 3 --codemarks 2000
    .venv/bin/python bench/web.py --database-url postgresql://postgres@127.0.0.1:5432/postgres

What it does:

1. seeds the team of bench/api.py through the server's own service functions (three people, one repo, N
   codemarks over 200 files, replies, resolutions), then two more codemarks with `--replies` replies each:
   the *tuned* thread, whose texts are Markdown made from bench/api.py's sentences (code spans, emphasis,
   lists, links, fenced code), and the *held-out* thread, whose texts are docstrings of the standard
   library of the Python running the benchmark and whose code is cut from one of its modules, drawn with
   another seed. The web code is profiled and tuned on the tuned thread and the unfiltered feed only; the
   held-out thread and the filtered feed are reported apart, to show whether a fix holds on content it was
   not made for;
2. starts the Kibitz server as a real process (tests/server_process.py) and signs in through the sign-in
   form as a browser does: the page requests carry its session cookie and ask for HTML, the API requests a
   bearer token;
3. drives each page and its API counterpart with a raw HTTP/1.1 keep-alive load generator: first over one
   connection (each answer's latency is then the server's time plus loopback: p50/p95), then over
   `--concurrency` connections (requests/s). The thread page `/c/<id>` is set against
   `GET /api/v1/codemarks/<id>` followed by `GET /api/v1/codemarks/<id>/replies?limit=200` on the same
   connection, timed as one; the feed `/t/<team>/feed` against `GET /api/v1/teams/<team>/codemarks?limit=50`
   (the same filters for the filtered feed);
4. prints a table and the ratios page / API (target ≤ 2 for p50 and p95; thread page p95 ≤ 50 ms), and writes
   the numbers, the parameters and the machine to JSON.

The server is pinned to the first CPU and the load generator to the others (`--no-pin` lets the scheduler
decide). Every process the benchmark starts is stopped on exit, Ctrl-C or error.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import inspect
import os
import random
import re
import resource
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.server_process import ServerDidNotStart, kibitz_server

from api import (
    _SENTENCES,
    PASSWORD,
    PEOPLE,
    RawSender,
    SeedingError,
    _code,
    _percentile,
    _pg_execute,
    cpu_seconds,
    machine_busy,
    machine_info,
    scratch_database,
    seed_service,
)
from entry import log, run_benchmark

HERE = Path(__file__).resolve().parent
API = "/api/v1"
TARGET_RATIO = 2.0
TARGET_THREAD_P95_MS = 50.0
FEED_PAGE_SIZE = 50
HTML_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')
# The standard library modules whose docstrings are the held-out replies (prose with code examples).
HELD_OUT_MODULES = ("argparse", "json", "textwrap", "collections", "pathlib", "inspect", "difflib", "string")
HELD_OUT_CODE = "inspect"

# ----------------------------------------------------------------------------------------------------
# Content of the two threads.

_LINKS = ["https://example.org/docs/retries", "https://example.org/issues/42", "mailto:ada@example.org"]


def tuned_reply(rng: random.Random) -> str:
    """Return a Markdown reply made from bench/api.py's sentences, with the markup people use in reviews."""
    parts = [" ".join(rng.sample(_SENTENCES, rng.randint(1, 3)))]
    kind = rng.random()
    if kind < 0.3:
        name = rng.choice(["retry", "cursor", "timeout", "flush", "session"])
        parts[0] += f" See `{name}()` and **the caller** in _the importer_."
    elif kind < 0.5:
        parts.append("\n".join(f"- {s}" for s in rng.sample(_SENTENCES, rng.randint(2, 4))))
    elif kind < 0.65:
        parts.append("```python\n" + _code(rng, rng.randint(2, 6)) + "```")
    elif kind < 0.75:
        parts.append(f"[The discussion]({rng.choice(_LINKS)}) has the details.")
    elif kind < 0.8:
        parts.append("> " + rng.choice(_SENTENCES))
    return "\n\n".join(parts)


def held_out_texts(count: int, rng: random.Random) -> list[str]:
    """Return `count` docstrings of the standard library (held out: never used while tuning the pages)."""
    found: dict[str, None] = {}
    for name in HELD_OUT_MODULES:
        module = __import__(name)
        for _attr, obj in inspect.getmembers(module):
            doc = inspect.getdoc(obj) if inspect.isroutine(obj) or inspect.isclass(obj) else None
            if doc and 40 <= len(doc) <= 1500:
                found[doc] = None
    texts = sorted(found)
    if len(texts) < count:
        texts = texts * (count // max(1, len(texts)) + 1)
    return rng.sample(texts, count)


def held_out_code(lines: int, rng: random.Random) -> tuple[str, str, int]:
    """Return (path, code, first line) of `lines` lines cut from a standard library module."""
    module = __import__(HELD_OUT_CODE)
    source = inspect.getsource(module).splitlines()
    start = rng.randrange(0, max(1, len(source) - lines))
    return f"Lib/{HELD_OUT_CODE}.py", "\n".join(source[start : start + lines]) + "\n", start + 1


@dataclass
class Thread:
    """A codemark seeded with a long thread."""

    kind: str
    codemark_id: str
    replies: int
    text_chars: int


async def seed_threads(settings: Any, team_id: str, replies: int, seed: int) -> list[Thread]:
    """Add the tuned and the held-out codemark, each with `replies` replies from the three people."""
    import datetime as dt

    from sqlalchemy import select

    from kibitz.server.auth.passwords import Passwords
    from kibitz.server.auth.service import authenticate, login
    from kibitz.server.codemarks import replies as reply_service
    from kibitz.server.codemarks import service
    from kibitz.server.codemarks.models import Codemark
    from kibitz.server.codemarks.schemas import CodemarkIn
    from kibitz.server.offline import opened
    from kibitz.server.repos.models import Repo

    threads: list[Thread] = []
    async with opened(settings, migrate=False) as database:
        sessions = database.sessions
        async with sessions() as session:
            passwords = Passwords(fast=True)
            callers = []
            for email, _name in PEOPLE:
                issued, _row, _user = await login(session, passwords, email, PASSWORD, dt.timedelta(days=1))
                callers.append(await authenticate(session, issued))
            repo_id = (await session.scalars(select(Repo.id).where(Repo.team_id == team_id))).one()
            await session.commit()
        for kind in ("tuned", "held-out"):
            rng = random.Random(seed if kind == "tuned" else seed + 1_000_003)
            if kind == "tuned":
                texts = [tuned_reply(rng) for _ in range(replies)]
                path, code, start = "src/api/retries.py", _code(rng, 18), 120
                text = "Why do we retry here?\n\n- `flush()` is not idempotent\n- see [the docs](https://example.org)"
            else:
                texts = held_out_texts(replies, rng)
                path, code, start = held_out_code(18, rng)
                text = inspect.getdoc(inspect.signature) or "signature"
            body = {
                "type": "question",
                "title": f"A long thread ({kind})",
                "text": text,
                "tags": ["perf"],
                "assignees": [callers[1].user.id],
                "markers": [
                    {
                        "repo_id": repo_id,
                        "path": path,
                        "commit": "ab" * 20,
                        "start_line": start,
                        "end_line": start + code.count("\n") - 1,
                        "code": code,
                        "context_before": "",
                        "context_after": "",
                    }
                ],
            }
            async with sessions() as session:
                created = await service.create_codemark(
                    session, callers[0], team_id, CodemarkIn.model_validate(body)
                )
                await session.commit()
            async with sessions() as session:
                codemark = await session.get(Codemark, created.id)
                assert codemark is not None
                for i, reply_text in enumerate(texts):
                    out = await reply_service.add_reply(
                        session, callers[i % len(callers)], codemark, reply_text
                    )
                    if i % 7 == 0:
                        # Some replies carry reactions, as real threads do: the page shows who reacted.
                        await service.react(session, callers[(i + 1) % 3], codemark, out.id, "👍", True)
                await session.commit()
            threads.append(Thread(kind, created.id, len(texts), sum(len(t) for t in texts)))
    return threads


# ----------------------------------------------------------------------------------------------------
# Signing in as a browser does.


def browser_session(base_url: str, email: str) -> str:
    """Sign in through the sign-in form and return the `Cookie` header of the browser session."""
    with httpx.Client(base_url=base_url, headers={"Accept": HTML_ACCEPT}, timeout=30) as browser:
        form = browser.get("/signin")
        found = _CSRF.search(form.text)
        if form.status_code != 200 or found is None:
            raise SeedingError(f"the sign-in page answered {form.status_code} without a CSRF token")
        data = {"csrf": found.group(1), "email": email, "password": PASSWORD, "next": "/"}
        signed = browser.post("/signin", data=data)
        if signed.status_code not in (302, 303):
            raise SeedingError(f"signing in through the form answered {signed.status_code}")
        return "; ".join(f"{name}={value}" for name, value in browser.cookies.items())


def api_token(base_url: str, email: str) -> str:
    """Return a bearer token from the API's login."""
    body = {"email": email, "password": PASSWORD}
    answer = httpx.post(f"{base_url}{API}/auth/login", json=body, timeout=30)
    if answer.status_code != 200:
        raise SeedingError(f"the API's login answered {answer.status_code}: {answer.text[:300]}")
    token: str = answer.json()["token"]
    return token


# ----------------------------------------------------------------------------------------------------
# Load generation: a unit is one page, or the API requests that answer the same data, in a row.

Unit = Sequence[str]


@dataclass
class Measurement:
    """One page or its API counterpart: latency over one connection, throughput over several."""

    name: str
    label: str
    part: str
    units: int
    errors: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    mean_ms: float
    units_per_s: float
    server_cpu_ms_per_unit: float
    response_bytes: int
    other_cpu_percent: float
    client_cpu_percent: float
    statuses: dict[str, int] = field(default_factory=dict)
    first_error: str | None = None


async def _drive(
    senders: list[RawSender], unit: Unit, seconds: float
) -> tuple[list[float], Counter[int], int, str | None, int]:
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    failures = 0
    first_error: str | None = None
    size = 0
    stop_at = time.perf_counter() + seconds

    async def worker(sender: RawSender) -> None:
        nonlocal failures, first_error, size
        while time.perf_counter() < stop_at:
            t0 = time.perf_counter()
            total = 0
            worst = 200
            try:
                for target in unit:
                    status, content = await sender.request("GET", target, None)
                    total += len(content)
                    if status >= 300 and first_error is None:
                        first_error = f"{status} {target}: {content[:300].decode(errors='replace')}"
                    worst = max(worst, status)
            except (OSError, asyncio.IncompleteReadError) as exc:
                failures += 1
                first_error = first_error or f"{type(exc).__name__}: {exc}"
                await sender.aclose()
                continue
            latencies.append(time.perf_counter() - t0)
            statuses[worst] += 1
            size = total

    await asyncio.gather(*(worker(s) for s in senders))
    return latencies, statuses, failures, first_error, size


async def measure(
    name: str,
    label: str,
    part: str,
    base_url: str,
    server_pid: int,
    headers: dict[str, str],
    unit: Unit,
    *,
    connections: int,
    duration: float,
    warmup: float,
) -> Measurement:
    """Warm up, then load `unit` over `connections` keep-alive connections for `duration` seconds."""
    senders = [RawSender(base_url, headers) for _ in range(connections)]
    try:
        if warmup > 0:
            await _drive(senders, unit, warmup)
        cpu0 = cpu_seconds(server_pid)
        busy0, total0 = machine_busy()
        usage0 = resource.getrusage(resource.RUSAGE_SELF)
        started = time.perf_counter()
        latencies, statuses, failures, first_error, size = await _drive(senders, unit, duration)
        elapsed = time.perf_counter() - started
        usage1 = resource.getrusage(resource.RUSAGE_SELF)
        busy1, total1 = machine_busy()
        server_cpu = cpu_seconds(server_pid) - cpu0
    finally:
        for sender in senders:
            await sender.aclose()
    client_cpu = (usage1.ru_utime - usage0.ru_utime) + (usage1.ru_stime - usage0.ru_stime)
    machine = 100 * (busy1 - busy0) / max(1, total1 - total0)
    ordered = sorted(latencies)
    done = len(ordered)
    ok = statuses.get(200, 0)
    return Measurement(
        name=name,
        label=label,
        part=part,
        units=done,
        errors=failures + done - ok,
        p50_ms=round(_percentile(ordered, 0.50) * 1000, 2),
        p95_ms=round(_percentile(ordered, 0.95) * 1000, 2),
        p99_ms=round(_percentile(ordered, 0.99) * 1000, 2),
        mean_ms=round(sum(ordered) / max(1, done) * 1000, 2),
        units_per_s=round(ok / elapsed, 1),
        server_cpu_ms_per_unit=round(server_cpu / max(1, done) * 1000, 3),
        response_bytes=size,
        other_cpu_percent=round(
            max(0.0, machine * (os.cpu_count() or 1) - 100 * (server_cpu + client_cpu) / elapsed), 1
        ),
        client_cpu_percent=round(100 * client_cpu / elapsed, 1),
        statuses={str(k): v for k, v in sorted(statuses.items())},
        first_error=first_error,
    )


@dataclass(frozen=True)
class Pair:
    """A page and the API requests answering the same data."""

    name: str
    part: str
    page: str
    api: Unit
    page_label: str
    api_label: str


def pairs(team_id: str, threads: list[Thread]) -> list[Pair]:
    """Return what is measured: each thread page, the feed and a filtered feed, each with its API twin."""
    out = []
    for thread in threads:
        cid = thread.codemark_id
        out.append(
            Pair(
                f"thread-{thread.kind}",
                thread.kind,
                f"/c/{cid}",
                [f"{API}/codemarks/{cid}", f"{API}/codemarks/{cid}/replies?limit=200"],
                f"thread page /c/<id>, {thread.replies} replies",
                "GET codemarks/<id> + its replies (limit=200)",
            )
        )
    filters = {"tuned": "", "held-out": "&type=question&status=open"}
    for part, extra in filters.items():
        shown = extra.lstrip("&") or "no filter"
        out.append(
            Pair(
                f"feed-{part}",
                part,
                f"/t/{team_id}/feed" + ("?" + extra.lstrip("&") if extra else ""),
                [f"{API}/teams/{team_id}/codemarks?limit={FEED_PAGE_SIZE}{extra}"],
                f"feed page /t/<team>/feed ({shown})",
                f"GET teams/<team>/codemarks?limit={FEED_PAGE_SIZE} ({shown})",
            )
        )
    return out


# ----------------------------------------------------------------------------------------------------
# Reporting.


def render_table(results: list[Measurement]) -> str:
    """Return the results as a Markdown table."""
    lines = [
        "| part | what | p50 ms | p95 ms | p99 ms | server CPU ms | req/s | errors | other CPU % | bytes |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for r in results:
        lines.append(
            f"| {r.part} | {r.label} | {r.p50_ms:.1f} | {r.p95_ms:.1f} | {r.p99_ms:.1f} "
            f"| {r.server_cpu_ms_per_unit:.2f} | {r.units_per_s:,.0f} | {r.errors} "
            f"| {r.other_cpu_percent:.0f} | {r.response_bytes:,} |"
        )
    return "\n".join(lines)


def _ratio(a: float, b: float) -> float:
    return round(a / b, 2) if b else float("nan")


def verdicts(latency: list[Measurement], throughput: list[Measurement]) -> dict[str, dict[str, Any]]:
    """Return, per pair, the ratios page / API and whether the targets hold."""
    out: dict[str, dict[str, Any]] = {}
    by_name = {(r.name, r.label): r for r in latency}
    rate = {(r.name, r.label): r for r in throughput}
    for name in dict.fromkeys(r.name for r in latency):
        page, api = [r for (n, _l), r in by_name.items() if n == name]
        page_rate, api_rate = [r for (n, _l), r in rate.items() if n == name] or [page, api]
        p95_ratio = _ratio(page.p95_ms, api.p95_ms)
        p50_ratio = _ratio(page.p50_ms, api.p50_ms)
        met = p50_ratio <= TARGET_RATIO and p95_ratio <= TARGET_RATIO
        if name.startswith("thread"):
            met = met and page.p95_ms <= TARGET_THREAD_P95_MS
        out[name] = {
            "part": page.part,
            "p50_page_over_api": p50_ratio,
            "p95_page_over_api": p95_ratio,
            "rate_api_over_page": _ratio(api_rate.units_per_s, page_rate.units_per_s),
            "cpu_page_over_api": _ratio(page.server_cpu_ms_per_unit, api.server_cpu_ms_per_unit),
            "met": met and not page.errors and not api.errors,
        }
    return out


def report_text(report: dict[str, Any]) -> str:
    """Return the human-readable report."""
    p, m = report["parameters"], report["machine"]
    pin = m["pinning"]
    where = (
        f"server pinned to CPU {pin['server_cpus']}, load generator to CPU {pin['load_generator_cpus']}"
        if pin["enabled"]
        else "no CPU pinning"
    )
    lines = [
        f"Kibitz web pages against the JSON API: {m['db_kind']} ({m['db_version']}), {p['codemarks']} "
        f"codemarks, threads of {p['replies']} replies, {p['duration_s']:g} s per measurement after "
        f"{p['warmup_s']:g} s warm-up, encryption at rest on; {where}; load average {report['load']}.",
        "",
        "Latency, one connection (server time plus loopback):",
        render_table([Measurement(**r) for r in report["latency"]]),
        "",
        f"Throughput, {p['concurrency']} connections:",
        render_table([Measurement(**r) for r in report["throughput"]]),
        "",
    ]
    for name, v in report["verdicts"].items():
        lines.append(
            f"{name} ({v['part']}): page / API p50 {v['p50_page_over_api']:.2f}, p95 "
            f"{v['p95_page_over_api']:.2f} (target ≤ {TARGET_RATIO:g}"
            + (f", page p95 ≤ {TARGET_THREAD_P95_MS:g} ms" if name.startswith("thread") else "")
            + f"): {'met' if v['met'] else 'NOT met'}; API req/s over page req/s "
            f"{v['rate_api_over_page']:.2f}; server CPU page / API {v['cpu_page_over_api']:.2f}"
        )
    busy = [
        f"{r['label']} ({r['other_cpu_percent']:.0f}%)"
        for r in report["latency"]
        if r["other_cpu_percent"] > 25
    ]
    if busy:
        lines.append("warning: other processes used more than a quarter of a CPU during: " + "; ".join(busy))
    errors = [
        f"{r['label']}: {r['first_error']}" for r in report["latency"] + report["throughput"] if r["errors"]
    ]
    if errors:
        lines.append("errors: " + " | ".join(errors))
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------------------
# Main.


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(
        description="Benchmark the Kibitz web pages against the JSON API answering the same data.",
        epilog="See docs/benchmarks.md for recorded results.",
    )
    parser.add_argument("--codemarks", type=int, default=10_000, help="codemarks in the team (default 10000)")
    parser.add_argument("--replies", type=int, default=200, help="replies of each long thread (default 200)")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per measurement (default 5)")
    parser.add_argument("--warmup", type=float, default=1.5, help="warm-up seconds before each (default 1.5)")
    parser.add_argument(
        "--concurrency", type=int, default=4, help="connections for the throughput runs (default 4)"
    )
    parser.add_argument("--database-url", default=None, help="PostgreSQL URL (a scratch database next to it)")
    parser.add_argument("--no-pin", action="store_true", help="do not pin the server and the load generator")
    parser.add_argument(
        "--seed", type=int, default=1, help="random seed of the generated content (default 1)"
    )
    parser.add_argument(
        "--json-out",
        type=Path,
        default=HERE / "results" / "web.json",
        help="JSON output (bench/results/web.json)",
    )
    args = parser.parse_args(argv)
    if args.codemarks < 200 or args.replies < 1 or args.duration <= 0 or args.concurrency < 1:
        parser.error("need --codemarks >= 200, --replies >= 1, --duration > 0 and --concurrency >= 1")
    return args


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Seed, start the server, sign in, measure every page and its API twin, stop everything."""
    cpus = sorted(os.sched_getaffinity(0))
    pin = not args.no_pin and len(cpus) >= 2
    server_cpus = cpus[:1] if pin else []
    client_cpus = cpus[1:] if pin else cpus
    pinning = {"enabled": pin, "server_cpus": server_cpus, "load_generator_cpus": client_cpus}
    load_before = os.getloadavg()
    with contextlib.ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="kibitz-bench-web-")))
        database_url = ""
        db_kind, db_version = "sqlite", sqlite3.sqlite_version
        if args.database_url:
            database_url = stack.enter_context(scratch_database(args.database_url))
            db_kind = urlsplit(database_url).scheme.split("+")[0]
            db_version = asyncio.run(_pg_execute(database_url, "SELECT version()")).split(" on ")[0]
        served = {
            "data_dir": tmp / "data",
            "database_url": database_url,
            "encrypt_at_rest": True,
            "log_level": "warning",
        }
        from kibitz.settings import Settings

        settings = Settings.load(**served, fast_password_hashing=True)
        log(f"seeding {args.codemarks} codemarks and two threads of {args.replies} replies ({db_kind})...")
        try:
            seeded = asyncio.run(seed_service(settings, args.codemarks, random.Random(args.seed)))
            threads = asyncio.run(seed_threads(settings, seeded.team_id, args.replies, args.seed))
        except (ImportError, TypeError, AttributeError) as exc:
            raise SeedingError(
                f"seeding through the server's service functions failed ({type(exc).__name__}: {exc}); "
                "they have probably changed: update seed_service (bench/api.py) or seed_threads (here)"
            ) from exc
        log(f"seeded in {seeded.seconds:.1f} s (+ threads)")
        env = {"KIBITZ_LOGIN_RATE_LIMIT": "100000/minute"}
        server = stack.enter_context(
            kibitz_server(tmp / "kibitz.log", settings=served, env=env, cpus=server_cpus)
        )
        email = PEOPLE[0][0]
        page_headers = {"Accept": HTML_ACCEPT, "Cookie": browser_session(server.url, email)}
        api_headers = {
            "Accept": "application/json",
            "Authorization": f"Bearer {api_token(server.url, email)}",
        }
        if pin:
            os.sched_setaffinity(0, set(client_cpus))
        latency: list[Measurement] = []
        throughput: list[Measurement] = []
        for pair in pairs(seeded.team_id, threads):
            for label, unit, headers in (
                (pair.page_label, [pair.page], page_headers),
                (pair.api_label, pair.api, api_headers),
            ):
                for connections, into in ((1, latency), (args.concurrency, throughput)):
                    log(f"[{pair.part}] {label}, {connections} connection(s)...")
                    result = asyncio.run(
                        measure(
                            pair.name,
                            label,
                            pair.part,
                            server.url,
                            server.pid,
                            headers,
                            unit,
                            connections=connections,
                            duration=args.duration,
                            warmup=args.warmup,
                        )
                    )
                    log(f"  p50 {result.p50_ms} ms, p95 {result.p95_ms} ms, {result.units_per_s:,.0f}/s")
                    into.append(result)
    load_after = os.getloadavg()
    return {
        "benchmark": "web",
        "parameters": {
            "codemarks": args.codemarks,
            "replies": args.replies,
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "concurrency": args.concurrency,
            "seed": args.seed,
            "held_out": f"docstrings of {', '.join(HELD_OUT_MODULES)}; code of {HELD_OUT_CODE}",
            "encryption_at_rest": True,
        },
        "machine": machine_info(db_kind, db_version, pinning),
        "load": f"{load_before[0]:.1f} → {load_after[0]:.1f}",
        "threads": [asdict(t) for t in threads],
        "seeding": {
            "seconds": round(seeded.seconds, 1),
            "codemarks": seeded.codemarks,
            "replies": seeded.replies,
        },
        "latency": [asdict(r) for r in latency],
        "throughput": [asdict(r) for r in throughput],
        "verdicts": verdicts(latency, throughput),
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print the tables and write the JSON."""
    return run_benchmark(parse_args(argv), run, report_text, failures=(SeedingError, ServerDidNotStart))


if __name__ == "__main__":
    sys.exit(main())
