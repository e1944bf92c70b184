"""Benchmark what privacy costs: API throughput with encryption at rest on and off, and erasing a person.

    .venv/bin/python bench/privacy.py             # 2 x 2 rounds of 2,000 requests, then 10,000 replies erased
    .venv/bin/python bench/privacy.py --requests 500 --replies 1000                # a quick look

What it does:

1. (throughput) seeds two temporary data directories with the same content through the server's own
   services (`kibitz.server.offline.opened`, sealing as the server does): two people in a team, one repo,
   `--codemarks` codemarks with a marker over 50 files; one directory with encryption at rest off (values
   stored as they are: the baseline). Then starts a Kibitz server process on each, on SQLite (as
   bench/api.py does: `kibitz.server.runner.serve`, one uvicorn worker), the baseline's with encryption at
   rest off (a switch set in code by tests/launch_server.py, which no environment can set);
2. drives both with the same mixed workload of `--requests` requests over `--concurrency` keep-alive
   connections, a round on each in turn (on, off, on, off, … for `--rounds` rounds each, so that a drift of
   the machine touches both alike): per 10 requests, 1 codemark created with a marker, 2 replies added, 3
   listings of a file's codemarks (with a rotating limit; the writes change the team every few requests, so
   the server's answer cache, keyed by the team's seq, practically never hits), 2 codemarks read, 1 thread
   of replies read, 1 search;
3. (erasure) seeds a third data directory in the same way, where a member has written `--replies` replies
   on 100 codemarks of the team's owner, starts a server on it with encryption on, and times the member's
   `DELETE /api/v1/me` end to end: until the answer, and until a search for a word of every reply they
   wrote finds nothing and their login is refused;
4. prints a table and the verdicts — encryption on at most 10 % slower than off, the erasure within 5 s —
   and writes JSON (`--json-out`, default bench/results/privacy.json).

By default the servers are pinned to the first CPU and the load generator to the others (`--no-pin` lets the
scheduler decide). Every process it starts is stopped on exit, Ctrl-C, SIGTERM or error.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import resource
import secrets
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
# The server-process helper lives with the tests: a checkout of the repository has both directories.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.server_process import ServerProcess, kibitz_server

from api import (
    API,
    PASSWORD,
    SENDERS,
    Request,
    _check,
    _percentile,
    _text,
    codemark_body,
    cpu_seconds,
    machine_busy,
    machine_info,
)
from entry import log, run_benchmark

HERE = Path(__file__).resolve().parent
TARGET_SLOWDOWN = 0.10
TARGET_ERASURE_SECONDS = 5.0
FILES = 50
REMOTE = "git@example.org:acme/widgets.git"
SEARCH_WORDS = ["retry", "exception", "query loop", "lock", "timeout", "helper", "unicode", "schema"]
# The workload's shape per 10 requests (see the module docstring).
MIX = ["codemark", "reply", "listing", "codemark_get", "listing", "reply", "search", "listing", "replies"]
MIX.append("codemark_get")


# ----------------------------------------------------------------------------------------------------
# Seeding, through the server's own services before it starts (`kibitz.server.offline.opened`).


@dataclass
class Team:
    """A seeded team: the owner's and the member's tokens, emails and ids, and the owner's codemarks."""

    tokens: list[str]
    emails: list[str]
    user_ids: list[str]
    team_id: str
    repo_id: str
    paths: list[str]
    codemark_ids: list[str]


async def seed_team(settings: Any, codemarks: int, replies: list[str], rng: random.Random) -> Team:
    """Make an owner and a member, their team and repo; the owner writes `codemarks`, the member `replies`.

    Sealed as the server seals (the same services and keystore), so the data is what the API would have
    written, in a fraction of the time.
    """
    import datetime as dt

    from kibitz.server.auth.passwords import Passwords
    from kibitz.server.auth.service import authenticate, login, signup
    from kibitz.server.codemarks.models import Codemark
    from kibitz.server.codemarks.replies import add_reply
    from kibitz.server.codemarks.schemas import CodemarkIn
    from kibitz.server.codemarks.service import create_codemark
    from kibitz.server.offline import opened
    from kibitz.server.repos.service import match_repo
    from kibitz.server.teams.service import create_invite, create_team, join_team

    suffix = secrets.token_hex(4)
    emails = [f"owner-{suffix}@example.org", f"member-{suffix}@example.org"]
    paths = [f"src/{d}/{s}.py" for d in ("api", "core", "jobs", "web", "sync") for s in "abcdefghij"][:FILES]
    commits = [secrets.token_hex(20) for _ in range(10)]
    passwords = Passwords(fast=True)
    async with opened(settings) as database:
        async with database.sessions() as session:
            tokens, callers = [], []
            for email, name in zip(emails, ("Ada Lovelace", "Linus Torvalds"), strict=True):
                await signup(session, passwords, email, name, PASSWORD)
                token, _row, _user = await login(session, passwords, email, PASSWORD, dt.timedelta(days=1))
                tokens.append(token)
                callers.append(await authenticate(session, token))
            team, owner = await create_team(session, callers[0], "Acme Widgets")
            code, _ = await create_invite(session, callers[0], owner, "member", dt.timedelta(hours=1))
            await join_team(session, callers[1], code)
            repo, _ = await match_repo(session, team.id, [secrets.token_hex(20)], [REMOTE], None)
            user_ids = [c.user.id for c in callers]
            ids = []
            for i in range(codemarks):
                body = codemark_body(rng, repo.id, paths[i % FILES], commits, user_ids[1:])
                made = await create_codemark(session, callers[0], team.id, CodemarkIn.model_validate(body))
                ids.append(made.id)
            await session.commit()
        for first in range(0, len(replies), 1000):
            async with database.sessions() as session:
                caller = await authenticate(session, tokens[1])
                for i in range(first, min(len(replies), first + 1000)):
                    codemark = await session.get(Codemark, ids[i % len(ids)])
                    assert codemark is not None
                    await add_reply(session, caller, codemark, replies[i])
                await session.commit()
    return Team(tokens, emails, user_ids, team.id, repo.id, paths, ids)


# ----------------------------------------------------------------------------------------------------
# The mixed workload.


def workload(team: Team, count: int, round_number: int, seed: int) -> list[tuple[str, Request]]:
    """Return `count` requests of the mix, each with its kind; the same ones for the same seed and round."""
    rng = random.Random(f"{seed}/{round_number}")
    commits = [secrets.token_hex(20) for _ in range(4)]
    requests: list[tuple[str, Request]] = []
    for i in range(count):
        kind = MIX[i % len(MIX)]
        target = team.codemark_ids[rng.randrange(len(team.codemark_ids))]
        path = team.paths[rng.randrange(len(team.paths))]
        if kind == "codemark":
            body = codemark_body(rng, team.repo_id, path, commits, [team.user_ids[1]])
            requests.append(
                (kind, ("POST", f"{API}/teams/{team.team_id}/codemarks", json.dumps(body).encode()))
            )
        elif kind == "reply":
            body = {"text": _text(rng, 1, 3)}
            requests.append((kind, ("POST", f"{API}/codemarks/{target}/replies", json.dumps(body).encode())))
        elif kind == "listing":
            # The writes in between change the team's seq, and with it every key of the answer cache.
            limit = 20 + (round_number * count + i) % 180
            query = f"path={quote(path, safe='')}&limit={limit}"
            requests.append((kind, ("GET", f"{API}/teams/{team.team_id}/codemarks?{query}", None)))
        elif kind == "codemark_get":
            requests.append((kind, ("GET", f"{API}/codemarks/{target}", None)))
        elif kind == "replies":
            requests.append((kind, ("GET", f"{API}/codemarks/{target}/replies?limit=50", None)))
        else:
            q = quote(SEARCH_WORDS[i % len(SEARCH_WORDS)])
            requests.append((kind, ("GET", f"{API}/teams/{team.team_id}/search?q={q}&limit=20", None)))
    return requests


@dataclass
class Round:
    """One round of the workload on one server."""

    mode: str
    round: int
    requests: int
    errors: int
    seconds: float
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    server_cpu_ms_per_request: float
    other_cpu_percent: float
    p50_ms_by_kind: dict[str, float]
    statuses: dict[str, int]
    first_error: str | None


async def drive(
    server: ServerProcess, token: str, requests: list[tuple[str, Request]], concurrency: int, client: str
) -> tuple[float, dict[str, list[float]], Counter[int], int, str | None]:
    """Send every request once over `concurrency` connections; return time, latencies by kind, statuses."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    senders = [SENDERS[client](server.url, headers) for _ in range(concurrency)]
    queue = iter(requests)
    latencies: dict[str, list[float]] = {kind: [] for kind in MIX}
    statuses: Counter[int] = Counter()
    failures = 0
    first_error: str | None = None

    async def worker(sender: Any) -> None:
        nonlocal failures, first_error
        for kind, (method, target, body) in queue:
            t0 = time.perf_counter()
            try:
                status, content = await sender.request(method, target, body)
            except (OSError, asyncio.IncompleteReadError, httpx.HTTPError) as exc:
                failures += 1
                first_error = first_error or f"{type(exc).__name__}: {exc}"
                await sender.aclose()
                continue
            latencies[kind].append(time.perf_counter() - t0)
            statuses[status] += 1
            if status >= 300 and first_error is None:
                first_error = (
                    f"{method} {target.split('?')[0]}: {status} {content[:300].decode(errors='replace')}"
                )

    started = time.perf_counter()
    try:
        await asyncio.gather(*(worker(s) for s in senders))
    finally:
        for sender in senders:
            await sender.aclose()
    return time.perf_counter() - started, latencies, statuses, failures, first_error


def measure(
    mode: str,
    number: int,
    server: ServerProcess,
    team: Team,
    args: argparse.Namespace,
    requests: list[tuple[str, Request]],
) -> Round:
    """Run one round of the workload on one server and summarise it."""
    cpu0 = cpu_seconds(server.pid)
    busy0, total0 = machine_busy()
    usage0 = resource.getrusage(resource.RUSAGE_SELF)
    seconds, by_kind, statuses, failures, first_error = asyncio.run(
        drive(server, team.tokens[0], requests, args.concurrency, args.client)
    )
    usage1 = resource.getrusage(resource.RUSAGE_SELF)
    busy1, total1 = machine_busy()
    cpu = cpu_seconds(server.pid) - cpu0
    mine = cpu + (usage1.ru_utime - usage0.ru_utime) + (usage1.ru_stime - usage0.ru_stime)
    # What other processes (other work on the machine) took meanwhile, in percent of one CPU.
    machine = (busy1 - busy0) / max(1, total1 - total0) * (os.cpu_count() or 1)
    other = max(0.0, 100 * (machine - mine / seconds))
    latencies = [t for values in by_kind.values() for t in values]
    ordered = sorted(latencies)
    ok = sum(n for status, n in statuses.items() if 200 <= status < 300)
    return Round(
        mode=mode,
        round=number,
        requests=len(requests),
        errors=failures + len(latencies) - ok,
        seconds=round(seconds, 3),
        requests_per_s=round(ok / seconds, 1),
        p50_ms=round(_percentile(ordered, 0.50) * 1000, 2),
        p99_ms=round(_percentile(ordered, 0.99) * 1000, 2),
        server_cpu_ms_per_request=round(cpu / max(1, len(latencies)) * 1000, 3),
        other_cpu_percent=round(other, 1),
        p50_ms_by_kind={k: round(_percentile(sorted(v), 0.5) * 1000, 2) for k, v in by_kind.items() if v},
        statuses={str(k): v for k, v in sorted(statuses.items())},
        first_error=first_error,
    )


# ----------------------------------------------------------------------------------------------------
# Erasure.


def erasable_word(rng: random.Random) -> str:
    """Return a word that only the erased person's replies hold (to search for them)."""
    return "erasable" + "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(12))


async def erase_person(base_url: str, team: Team, word: str, replies: int) -> dict[str, Any]:
    """Time the member's erasure of themselves end to end; check that their replies are gone."""
    owner = {"Authorization": f"Bearer {team.tokens[0]}"}
    member = {"Authorization": f"Bearer {team.tokens[1]}"}
    search = f"{API}/teams/{team.team_id}/search"
    async with httpx.AsyncClient(base_url=base_url, timeout=600) as client:
        before = _check(await client.get(search, params={"q": word, "limit": 200}, headers=owner), 200)
        if len(before["items"]) != min(replies, len(team.codemark_ids)):
            raise RuntimeError(f"the search found {len(before['items'])} codemarks with the member's replies")
        started = time.perf_counter()
        answer = await client.request("DELETE", f"{API}/me", json={"password": PASSWORD}, headers=member)
        answered = time.perf_counter() - started
        if answer.status_code not in (200, 202, 204):
            raise RuntimeError(f"DELETE /me answered {answer.status_code}: {answer.text[:300]}")
        # End to end: the person's words are no longer found and they can no longer sign in.
        deadline = started + 120
        while True:
            found = _check(await client.get(search, params={"q": word}, headers=owner), 200)["items"]
            login = await client.post(
                f"{API}/auth/login", json={"email": team.emails[1], "password": PASSWORD}
            )
            if not found and login.status_code == 401:
                break
            if time.perf_counter() > deadline:
                raise RuntimeError("the person's replies were still found 120 s after the erasure began")
            await asyncio.sleep(0.05)
        done = time.perf_counter() - started
        thread = _check(
            await client.get(f"{API}/codemarks/{team.codemark_ids[0]}/replies?limit=200", headers=owner), 200
        )
    leftover = [r for r in thread["items"] if word in (r.get("text") or "")]
    if leftover:
        raise RuntimeError(f"{len(leftover)} of the erased person's replies still show their text")
    return {
        "replies": replies,
        "delete_status": answer.status_code,
        "delete_answered_seconds": round(answered, 3),
        "erased_seconds": round(done, 3),
        "thread_after": len(thread["items"]),
    }


def database_stats(data_dir: Path) -> dict[str, int]:
    """Return the size of a data directory's database files (to show what sealing adds on disk)."""
    sizes = {
        p.name: p.stat().st_size for p in data_dir.iterdir() if p.name.startswith(("kibitz.db", "keystore"))
    }
    with contextlib.closing(sqlite3.connect(data_dir / "kibitz.db")) as db:
        sizes["codemarks"] = db.execute("SELECT count(*) FROM codemark").fetchone()[0]
    return sizes


# ----------------------------------------------------------------------------------------------------
# Main.


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(
        description="Benchmark API throughput with encryption at rest on and off, and erasing a person.",
        epilog="See docs/benchmarks.md for recorded results.",
    )
    parser.add_argument("--requests", type=int, default=2000, help="requests per round (default 2000)")
    parser.add_argument("--rounds", type=int, default=4, help="rounds per mode, alternating (default 4)")
    parser.add_argument("--concurrency", type=int, default=8, help="concurrent connections (default 8)")
    parser.add_argument(
        "--codemarks", type=int, default=500, help="codemarks seeded per server (default 500)"
    )
    parser.add_argument("--replies", type=int, default=10_000, help="replies of the erased person (10000)")
    parser.add_argument("--client", choices=sorted(SENDERS), default="raw", help="load generator (raw)")
    parser.add_argument("--skip-erasure", action="store_true", help="measure the throughput only")
    parser.add_argument("--skip-throughput", action="store_true", help="measure the erasure only")
    parser.add_argument(
        "--json-out",
        type=Path,
        default=HERE / "results" / "privacy.json",
        help="JSON output (bench/results/privacy.json)",
    )
    parser.add_argument("--no-pin", action="store_true", help="do not pin servers and load generator to CPUs")
    parser.add_argument("--seed", type=int, default=1, help="random seed of the generated content")
    args = parser.parse_args(argv)
    if args.requests < len(MIX) or args.rounds < 1 or args.concurrency < 1 or args.codemarks < FILES:
        parser.error(
            f"need --requests >= {len(MIX)}, --rounds >= 1, --concurrency >= 1, --codemarks >= {FILES}"
        )
    return args


def _totals(rounds: list[Round], mode: str) -> dict[str, float]:
    mine = [r for r in rounds if r.mode == mode]
    ok = sum(r.requests - r.errors for r in mine)
    seconds = sum(r.seconds for r in mine)
    return {
        "requests_per_s": round(ok / seconds, 1) if seconds else float("nan"),
        "server_cpu_ms_per_request": round(sum(r.server_cpu_ms_per_request for r in mine) / len(mine), 3),
        "errors": sum(r.errors for r in mine),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Start the servers, seed, measure, stop everything; return the report."""
    cpus = sorted(os.sched_getaffinity(0))
    pin = not args.no_pin and len(cpus) >= 2
    server_cpus, client_cpus = (cpus[:1], cpus[1:]) if pin else ([], cpus)
    pinning = {"enabled": pin, "server_cpus": server_cpus, "load_generator_cpus": client_cpus}
    report: dict[str, Any] = {
        "benchmark": "privacy",
        "parameters": {
            "requests_per_round": args.requests,
            "rounds_per_mode": args.rounds,
            "concurrency": args.concurrency,
            "codemarks": args.codemarks,
            "replies": args.replies,
            "client": args.client,
            "mix": MIX,
            "seed": args.seed,
            "server": "kibitz.server.runner.serve, 1 uvicorn worker, SQLite",
        },
        "machine": machine_info("sqlite", sqlite3.sqlite_version, pinning),
    }
    with contextlib.ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="kibitz-bench-privacy-")))

        def seed(name: str, encrypt: bool, codemarks: int, replies: list[str]) -> Team:
            from kibitz.settings import Settings

            settings = Settings.load(
                data_dir=tmp / name, encrypt_at_rest=encrypt, fast_password_hashing=True, database_url=""
            )
            rng = random.Random(args.seed)  # the same content in every data directory
            return asyncio.run(seed_team(settings, codemarks, replies, rng))

        def start(name: str, encrypt: bool) -> ServerProcess:
            settings = {"data_dir": tmp / name, "encrypt_at_rest": encrypt, "log_level": "warning"}
            # Every simulated person signs in from this one machine: lift the per-address login throttle.
            env = {"KIBITZ_LOGIN_RATE_LIMIT": "100000/minute"}
            server = kibitz_server(tmp / f"{name}.log", settings=settings, env=env, cpus=server_cpus)
            return stack.enter_context(server)

        if not args.skip_throughput:
            teams: dict[str, Team] = {}
            for mode, name in (("on", "encrypted"), ("off", "clear")):
                log(f"seeding {args.codemarks} codemarks, encryption {mode}...")
                started = time.perf_counter()
                teams[mode] = seed(name, mode == "on", args.codemarks, [])
                report.setdefault("seeding_seconds", {})[mode] = round(time.perf_counter() - started, 1)
            servers = {"on": start("encrypted", True), "off": start("clear", False)}
            if pin:
                os.sched_setaffinity(0, set(client_cpus))
            for mode, server in servers.items():
                log(f"warm-up, encryption {mode}...")
                measure(mode, 0, server, teams[mode], args, workload(teams[mode], 200, 0, args.seed))
            rounds: list[Round] = []
            for number in range(1, args.rounds + 1):
                # on, off, on, off: a drift of the machine over the run touches both modes alike.
                for mode in ("on", "off"):
                    requests = workload(teams[mode], args.requests, number, args.seed)
                    result = measure(mode, number, servers[mode], teams[mode], args, requests)
                    log(
                        f"  round {number}, encryption {mode}: {result.requests_per_s:,.0f} req/s, "
                        f"p50 {result.p50_ms} ms, p99 {result.p99_ms} ms, errors {result.errors}"
                    )
                    rounds.append(result)
            on, off = _totals(rounds, "on"), _totals(rounds, "off")
            slowdown = 1 - on["requests_per_s"] / off["requests_per_s"]
            report["throughput"] = {
                "rounds": [asdict(r) for r in rounds],
                "on": on,
                "off": off,
                "on_over_off": round(on["requests_per_s"] / off["requests_per_s"], 3),
                "slowdown": round(slowdown, 3),
                "target_slowdown": TARGET_SLOWDOWN,
                "met": slowdown <= TARGET_SLOWDOWN and not on["errors"] and not off["errors"],
                "disk": {
                    mode: database_stats(tmp / name) for mode, name in (("on", "encrypted"), ("off", "clear"))
                },
            }
        if not args.skip_erasure:
            log(f"seeding {args.replies} replies of one person...")
            rng = random.Random(args.seed)
            word = erasable_word(rng)
            texts = [f"{word} {_text(rng, 1, 2)}" for _ in range(args.replies)]
            started = time.perf_counter()
            team = seed("erasure", True, 100, texts)
            seeding = time.perf_counter() - started
            server = start("erasure", True)
            log("erasing them...")
            try:
                erasure = asyncio.run(erase_person(server.url, team, word, args.replies))
            except RuntimeError as exc:
                # Keep the throughput numbers, and show what the server said.
                erasure = {"replies": args.replies, "error": str(exc), "server_log": server.log_tail(60)}
                erasure["erased_seconds"] = float("nan")
            erasure["seeding_seconds"] = round(seeding, 1)
            erasure["target_seconds"] = TARGET_ERASURE_SECONDS
            erasure["met"] = erasure["erased_seconds"] <= TARGET_ERASURE_SECONDS
            report["erasure"] = erasure
    return report


def _verdict(met: bool) -> str:
    return "PASS" if met else "FAIL"


def report_text(report: dict[str, Any]) -> str:
    """Return the human-readable report."""
    p, m = report["parameters"], report["machine"]
    lines = [
        f"Kibitz privacy benchmark: SQLite ({m['db_version']}), {m['cpu_count']} CPUs ({m['cpu_model']}), "
        f"Python {m['python']}, commit {m['kibitz_commit']}",
    ]
    throughput = report.get("throughput")
    if throughput:
        lines += [
            f"Mixed workload: {p['requests_per_round']} requests per round over {p['concurrency']} "
            f"connections ({p['client']} client), {p['rounds_per_mode']} rounds per mode alternating, "
            f"{p['codemarks']} codemarks seeded per server.",
            "",
            "| round | encryption | req/s | p50 ms | p99 ms | server CPU ms/req | other CPU % | errors |",
            "|--:|---|--:|--:|--:|--:|--:|--:|",
        ]
        for r in throughput["rounds"]:
            lines.append(
                f"| {r['round']} | {r['mode']} | {r['requests_per_s']:,.0f} | {r['p50_ms']:.1f} "
                f"| {r['p99_ms']:.1f} | {r['server_cpu_ms_per_request']:.2f} | {r['other_cpu_percent']:.0f} "
                f"| {r['errors']} |"
            )
        on, off = throughput["on"], throughput["off"]
        lines += [
            f"| all | on | {on['requests_per_s']:,.0f} | | | {on['server_cpu_ms_per_request']:.2f} | "
            f"| {on['errors']} |",
            f"| all | off | {off['requests_per_s']:,.0f} | | | {off['server_cpu_ms_per_request']:.2f} | "
            f"| {off['errors']} |",
            "",
            f"encryption on / off = {throughput['on_over_off']:.3f} "
            f"(slowdown {100 * throughput['slowdown']:.1f} %, target ≤ {100 * TARGET_SLOWDOWN:.0f} %): "
            f"{_verdict(throughput['met'])}",
        ]
        last = {r["mode"]: r["p50_ms_by_kind"] for r in throughput["rounds"]}
        kinds = ", ".join(
            f"{k} {last['on'][k]:.1f}/{last['off'][k]:.1f}" for k in last["on"] if k in last["off"]
        )
        lines.append(f"p50 ms by kind of request, on/off (last round): {kinds}")
        errors = [
            f"round {r['round']} {r['mode']}: {r['first_error']}" for r in throughput["rounds"] if r["errors"]
        ]
        if errors:
            lines.append("errors: " + " | ".join(errors))
    erasure = report.get("erasure")
    if erasure and "error" in erasure:
        lines += [
            "",
            f"Erasure of a person with {erasure['replies']:,} replies: FAIL: {erasure['error']}",
            "server log:",
            erasure["server_log"],
        ]
    elif erasure:
        lines += [
            "",
            f"Erasure of a person with {erasure['replies']:,} replies "
            f"(seeded in {erasure['seeding_seconds']} s): DELETE /api/v1/me answered "
            f"{erasure['delete_status']} in {erasure['delete_answered_seconds']:.2f} s, "
            f"erased end to end (search finds nothing, login refused) in {erasure['erased_seconds']:.2f} s "
            f"(target ≤ {TARGET_ERASURE_SECONDS:g} s): {_verdict(erasure['met'])}",
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print the table and write the JSON."""
    return run_benchmark(parse_args(argv), run, report_text, failures=(RuntimeError,))


if __name__ == "__main__":
    sys.exit(main())
